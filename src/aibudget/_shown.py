"""How a result of the Python API shows itself where its own layer cannot draw it.

A comparison, a sweep, the trade-offs or a validation prints, as ``str()``, the CLI's text, and
shows in Jupyter that text coloured; an estimate shows in Jupyter its summary, bill and chart.
Those views are drawn by the report layer, above the results. So a result does not import them:
it asks for its view by name here (:func:`view`), and the package's top, ``aibudget/__init__``
(which Python runs before any module of the package), provides them (:func:`provide`), each
loading its renderer on first use so that defining a result type costs nothing at start-up.
The dependency runs from the top down; the results know only this registry.

The views a result draws from its own data (its ``repr``, ``to_pandas()``) live beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PANDAS_HINT", "VIEWS", "ShownAsTheCli", "provide", "require_pandas", "view"]

#: The views a result may ask for: name → what it is.
VIEWS = {
    "text": "what the CLI prints for a comparison, sweep, trade-offs or validation",
    "html": "that text as HTML with inline colours, for Jupyter",
    "estimate_html": "an estimate in Jupyter: the summary, the bill by phase and the chart",
}

#: How the extra tells where to get pandas.
PANDAS_HINT = 'pip install "aibudget[pandas]"'

_provided: dict[str, Callable[[Any], str]] = {}


def provide(**views: Callable[[Any], str]) -> None:
    """Provide the views named (keys of :data:`VIEWS`), replacing any provided before."""
    unknown = sorted(set(views) - set(VIEWS))
    if unknown:
        raise ValueError(f"no view {', '.join(unknown)} (the views: {', '.join(VIEWS)})")
    _provided.update(views)


def view(name: str) -> Callable[[Any], str]:
    """The view ``name`` as provided (a LookupError naming it when none is)."""
    try:
        return _provided[name]
    except KeyError:
        raise LookupError(
            f"no renderer provided for the view {name!r} ({VIEWS.get(name, 'unknown')}): "
            "aibudget/__init__ provides them; was aibudget imported as a package?"
        ) from None


def require_pandas() -> None:
    """Say how to install pandas when it is not there (``import pandas`` follows)."""
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise ImportError(
            f"DataFrames need pandas, an optional extra of aibudget: {PANDAS_HINT}"
        ) from None


class ShownAsTheCli:
    """Mix into a result dataclass: ``str()`` is what the CLI prints for it and ``_repr_html_``
    that text coloured for Jupyter. The result defines its own one-line ``__repr__`` (declare
    the dataclass with ``repr=False``)."""

    __slots__ = ()

    def __str__(self) -> str:  # what the CLI prints
        return view("text")(self)

    def _repr_html_(self) -> str:  # Jupyter: the CLI's text, coloured, in a <pre>
        return view("html")(self)
