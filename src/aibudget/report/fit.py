"""Tables that fit the terminal: columns are left out or wrapped, never figures cut.

Rich shrinks a table wider than the console by narrowing its wrapping columns (below their
longest word, so a header such as "Accelerator" folds mid-word) and, when that is not enough,
by cutting every column with "…", numbers included. :func:`fit_table` instead leaves out the
columns a listing can spare (in the order given) until every column fits at its narrowest: a
column that does not wrap at its widest cell, one that wraps at its longest word. It then sets
the wrapping columns' widths itself, sharing out what is left, and says what it left out.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.measure import Measurement
from rich.table import Column, Table
from rich.text import Text

__all__ = ["fit_table", "left_out_note", "needed_width"]


def _without(table: Table, drop: str) -> Table:
    """A copy of ``table`` without the column headed ``drop``."""
    new = copy.copy(table)
    new.columns, new.rows = [], []
    kept = [c for c in table.columns if str(c.header) != drop]
    for c in kept:
        new.add_column(
            c.header,
            footer=c.footer,
            header_style=c.header_style,
            footer_style=c.footer_style,
            style=c.style,
            justify=c.justify,
            vertical=c.vertical,
            overflow=c.overflow,
            width=c.width,
            min_width=c.min_width,
            max_width=c.max_width,
            ratio=c.ratio,
            no_wrap=c.no_wrap,
        )
    cells = [list(c.cells) for c in kept]
    for index, row in enumerate(table.rows):
        new.add_row(
            *(column[index] for column in cells), style=row.style, end_section=row.end_section
        )
    return new


def _cell_widths(cell: RenderableType, no_wrap: bool, console: Console) -> tuple[int, int]:
    """A cell's narrowest and widest: for text, its longest line when it does not wrap, its
    longest word when it does; for anything else, what rich measures."""
    if isinstance(cell, str | Text):
        text = cell if isinstance(cell, Text) else Text(cell)
        lines = text.plain.splitlines() or [""]
        widest = max(Text(line).cell_len for line in lines)
        if no_wrap:
            return widest, widest
        words = text.plain.split() or [""]
        return max(Text(word).cell_len for word in words), widest
    measured = Measurement.get(console, console.options, cell)
    return measured.minimum, measured.maximum


#: How narrow a column that folds its words (``overflow="fold"``) may become: long names fold.
FOLDED = 10
#: Headers up to this wide never fold ("Accelerator"); longer ones (field paths) may.
SHORT_HEADER = 14


def _column_widths(table: Table, column: Column, console: Console) -> tuple[int, int]:
    """A column's narrowest and widest: its longest word, or (when it folds words) at most
    :data:`FOLDED`; its longest line."""
    header = _cell_widths(column.header, column.no_wrap, console)
    cells = [_cell_widths(cell, column.no_wrap, console) for cell in column.cells] or [(0, 0)]
    narrowest = max(header[0], max(p[0] for p in cells))
    if not column.no_wrap and column.overflow == "fold":  # a short header's words stay whole
        narrowest = max(min(narrowest, FOLDED), header[0] if header[0] <= SHORT_HEADER else 0)
    widest = max(header[1], max(p[1] for p in cells))
    if column.width is not None:
        return column.width, column.width
    if column.max_width is not None:
        narrowest, widest = min(narrowest, column.max_width), min(widest, column.max_width)
    if column.min_width is not None:
        narrowest, widest = max(narrowest, column.min_width), max(widest, column.min_width)
    return narrowest, widest


def _overhead(table: Table) -> int:
    """Padding and rules: every column's padding (less the outer edges without ``pad_edge``),
    a rule between columns, and the edges when shown."""
    _, right, _, left = table.padding
    count = len(table.columns)
    padding = count * (left + right) - (0 if table.pad_edge else left + right)
    rules = (count - 1 + (2 if table.show_edge else 0)) if table.box else 0
    return padding + rules


def needed_width(table: Table, console: Console) -> int:
    """The narrowest the table can be drawn without cutting a cell of a column that does not
    wrap, nor a word of one that does."""
    return sum(_column_widths(table, c, console)[0] for c in table.columns) + _overhead(table)


def fit_table(table: Table, console: Console, spare: Sequence[str] = ()) -> tuple[Table, list[str]]:
    """``table`` without as many of the ``spare`` columns (by header, the first given left out
    first) as it takes to fit ``console``'s width, its wrapping columns sized to share the
    rest; and the headers left out."""
    dropped: list[str] = []
    headers = {str(c.header) for c in table.columns}
    for header in spare:
        if needed_width(table, console) <= console.width:
            break
        if header in headers:
            table = _without(table, header)
            dropped.append(header)
    ranges = [_column_widths(table, c, console) for c in table.columns]
    room = console.width - _overhead(table)
    if sum(widest for _, widest in ranges) <= room:
        return table, dropped  # fits as it is
    if sum(narrowest for narrowest, _ in ranges) > room:
        return table, dropped  # nothing left to leave out: rich wraps what it can
    widths = [narrowest for narrowest, _ in ranges]
    extra = room - sum(widths)
    # The columns that want least first, each in full while it lasts: as few columns wrap as
    # can be, and the one that wants most (a long name, a note) takes what is left.
    for index in sorted(range(len(ranges)), key=lambda i: ranges[i][1] - ranges[i][0]):
        give = min(extra, ranges[index][1] - widths[index])
        widths[index] += give
        extra -= give
    for column, width in zip(table.columns, widths, strict=True):
        if not column.no_wrap:
            column.width = width
    return table, dropped


def left_out_note(dropped: Sequence[str], where: str = "--json") -> str:
    """``Left out at this width: Vendor, Year (--json has them).``, or nothing."""
    if not dropped:
        return ""
    return f"Left out at this width: {', '.join(dropped)} ({where} has them)."
