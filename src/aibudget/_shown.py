"""How a result object of the Python API shows itself: a one-line repr, ``str()`` equal to what
the CLI prints, and that text coloured for Jupyter. The rendering lives in :mod:`aibudget.api`,
imported on first use so that defining a result type costs nothing at start-up."""

from __future__ import annotations


class ShownAsTheCli:
    """Mix into a result dataclass declared with ``repr=False`` (so this ``__repr__`` stands)."""

    __slots__ = ()

    def __repr__(self) -> str:
        from aibudget.api import result_repr

        return result_repr(self)

    def __str__(self) -> str:  # what the CLI prints
        from aibudget.api import result_text

        return result_text(self)

    def _repr_html_(self) -> str:  # Jupyter: the CLI's text, coloured, in a <pre>
        from aibudget.api import result_html

        return result_html(self)
