"""Reading the files a user names, and writing cells of the CSVs aibudget emits, safely.

Every file a user points aibudget at (a scenario, a runs file) is read through
:func:`read_user_text`: it must be a regular file (not a FIFO, a device or a folder) no larger
than a stated size, checked before a byte is read and again on the open handle, so ``/dev/zero``
named ``x.yaml`` or a FIFO cannot hang the tool or fill its memory.

Every cell of a CSV aibudget writes goes through :func:`csv_cell`, which neutralises text that a
spreadsheet would run as a formula (OWASP's "CSV injection" advice).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aibudget._errors import ScenarioError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["MAX_RUNS_BYTES", "MAX_SCENARIO_BYTES", "csv_cell", "package_files", "read_user_text"]

#: The largest scenario file read (bytes). A scenario is a few kilobytes.
MAX_SCENARIO_BYTES = 5_000_000
#: The largest runs file read (bytes): about 100,000 runs in the reference schema.
MAX_RUNS_BYTES = 100_000_000

#: The first characters a spreadsheet reads as the start of a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain number ("-5", "+1.5e3"), which a spreadsheet reads as a number, not a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def package_files(package: str) -> Traversable:
    """``importlib.resources.files(package)``, the folder of a package's data files. For a
    package of plain files on disk (an installed wheel, a checkout) it is the very ``Path`` that
    call returns, found without the ~25 ms its first call spends importing its readers
    (``zipfile`` and the compression modules); elsewhere (a zip import) that call's answer."""
    import sys
    from importlib import import_module
    from importlib.machinery import SourceFileLoader, SourcelessFileLoader

    spec = (sys.modules.get(package) or import_module(package)).__spec__
    if (
        spec is not None
        and spec.origin
        and isinstance(spec.loader, SourceFileLoader | SourcelessFileLoader)
    ):
        return Path(spec.origin).parent
    from importlib import resources

    return resources.files(package)


def _size(n: int) -> str:
    return f"{n / 1e6:.3g} MB" if n >= 1e6 else f"{n / 1e3:.3g} kB"


def read_user_text(path: str | Path, *, what: str, max_bytes: int) -> str:
    """The UTF-8 text of the regular file at ``path``, at most ``max_bytes`` long.

    ``what`` names the file in errors ("scenario file", "runs file"). Raises
    :class:`~aibudget.ScenarioError` with one paragraph that says what is wrong and what would be
    valid: a missing file, a folder, a FIFO or device, a file over the limit, unreadable or not
    UTF-8."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"no such {what}: {path}") from None
    except OSError as error:
        raise ScenarioError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"{path} is a folder; give a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            f"{path} is not a regular file (a pipe, socket or device); give a {what} saved on disk"
        )
    if info.st_size > max_bytes:
        raise ScenarioError(
            f"{path} is {_size(info.st_size)}; a {what} may be at most {_size(max_bytes)}"
        )
    try:
        # O_NONBLOCK: were the path swapped for a FIFO after the check, opening it must not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise ScenarioError(f"cannot read the {what} {path}: {error.strerror or error}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ScenarioError(f"{path} is not a regular file; give a {what} saved on disk")
        try:
            data = _read_at_most(handle, max_bytes + 1)
        except OSError as error:
            raise ScenarioError(
                f"cannot read the {what} {path}: {error.strerror or error}"
            ) from None
    if len(data) > max_bytes:
        raise ScenarioError(f"{path} grew past {_size(max_bytes)}, the limit for a {what}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ScenarioError(
            f"{path} is not UTF-8 text (byte {error.start}); save the {what} as UTF-8"
        ) from None


def _read_at_most(handle: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes, a megabyte at a time: memory follows the file, not the limit
    (``read(limit)`` would reserve the whole limit up front)."""
    chunks: list[bytes] = []
    total = 0
    while total < limit:
        block = handle.read(min(1 << 20, limit - total))
        if not block:
            break
        chunks.append(block)
        total += len(block)
    return b"".join(chunks)


def csv_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet will not execute: text starting with ``= + - @``,
    a tab or a carriage return gets a leading apostrophe (OWASP); numbers, and text that is a
    plain number such as ``-5``, pass unchanged."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value
