"""The console every command draws on: as wide as the terminal, 40 to 100 columns.

Apart from :mod:`aibudget.report.terminal` so that a command that prints no estimate (``aibudget
catalog``, an error) loads rich alone, not the estimation stack.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from rich.console import Console

MAX_WIDTH = 100
#: The narrowest layout drawn: below it tables would fold every word.
MIN_WIDTH = 40


def console_width(
    is_terminal: bool, terminal_width: int, environ: Mapping[str, str] | None = None
) -> int:
    """The width to draw at: ``COLUMNS`` when set (as in a real terminal of that width), else
    the terminal's width, else (output to a file or a pipe) 100; never over 100 nor under 40."""
    environ = os.environ if environ is None else environ
    columns = environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        width = int(columns)
    elif is_terminal and terminal_width > 0:
        width = terminal_width
    else:
        width = MAX_WIDTH
    return max(MIN_WIDTH, min(width, MAX_WIDTH))


def console(stderr: bool = False) -> Console:
    """A console as wide as the terminal (or ``COLUMNS``), 40 to 100 columns; 100 when the
    output is a file or a pipe and ``COLUMNS`` is not set.

    Text prints as written: a scenario's name, a role or a path holding ``[/x]`` or ``:smile:``
    is neither rich markup (which would drop it, or fail on a tag that closes nothing) nor an
    emoji code. Styles are given as :class:`rich.text.Text` styles, never as markup."""
    probe = Console(stderr=stderr)
    width = console_width(probe.is_terminal, probe.width)
    return Console(stderr=stderr, width=width, markup=False, emoji=False)
