"""The errors aibudget raises, all rooted at :class:`AibudgetError`.

::

    AibudgetError                      anything aibudget reports about bad input or data
    ├── ScenarioError (ValueError)     a scenario file or override is invalid; names the field path
    ├── UnknownNameError (LookupError) a catalog name (accelerator, provider, location) is
    │                                  unknown; carries the closest matches
    ├── DoesNotFitError (ValueError)   the model does not fit in the memory of the chips given
    └── CatalogDataError (ValueError)  a shipped or user-supplied data file is malformed

Every message is written for the person who typed the input: it names the field and says what
would be valid. The CLI prints the message and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from contextvars import ContextVar

__all__ = [
    "FROM_CLI",
    "AibudgetError",
    "CatalogDataError",
    "DoesNotFitError",
    "ScenarioError",
    "UnknownNameError",
    "cli_words",
    "closest",
    "overrides_wording",
]

#: True while the command line runs a command: errors then name its options (``--set``); from
#: Python (a script, a notebook, the web API) they name the arguments given.
FROM_CLI: ContextVar[bool] = ContextVar("aibudget_from_cli", default=False)


class AibudgetError(Exception):
    """Base class of every error aibudget raises on purpose."""


class ScenarioError(AibudgetError, ValueError):
    """A scenario is invalid. ``problems`` holds one ``(field path, message)`` pair per problem."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems: list[tuple[str, str]] = problems or []


class UnknownNameError(AibudgetError, LookupError):
    """A name was not found in a catalog. ``suggestions`` lists the closest known names."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        super().__init__(message)
        self.suggestions: list[str] = suggestions or []

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class DoesNotFitError(AibudgetError, ValueError):
    """The model's training state does not fit in the memory of the chips given."""


class CatalogDataError(AibudgetError, ValueError):
    """A catalog data file is malformed."""


class SettingError(AibudgetError, ValueError):
    """An environment variable aibudget reads (``AIBUDGET_THREADS``) holds a value it cannot use."""


def closest(name: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """Return up to ``n`` candidates closest to ``name`` (case-insensitive), best first."""
    by_lower: dict[str, str] = {}
    for c in candidates:
        by_lower.setdefault(c.lower(), c)
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[m] for m in matches]


def overrides_wording(overrides: Sequence[str]) -> str:
    """How an error names the overrides a scenario was loaded with: ``with --set overrides`` on
    the command line; from Python the overrides themselves (``with overrides
    'training.chips=0'``), the first three, each cut at 60 characters."""
    if FROM_CLI.get():
        return "with --set overrides"
    shown = [repr(o if len(o) <= 60 else f"{o[:57]}...") for o in overrides[:3]]
    more = f" and {len(overrides) - 3} more" if len(overrides) > 3 else ""
    return f"with overrides {', '.join(shown)}{more}"


def cli_words(cli: str, python: str) -> str:
    """``cli`` (an option's name, ``--vary``) while the command line runs, else ``python`` (the
    argument's, ``vary``)."""
    return cli if FROM_CLI.get() else python
