"""pydantic's plugins, looked for without ``importlib.metadata`` where none is installed.

pydantic builds each model's validator through its plugin loader, which imports
``importlib.metadata`` (and ``email``, ``zipfile``, ...) and reads the entry points of every
installed distribution to find plugins of the ``pydantic`` group: some 25 ms of the command
line's start-up, for plugins almost nobody installs. :func:`skip_plugin_loader` stands in for
the loader: on the first model built, its ``get_plugins()`` looks for plugins in the folders on
``sys.path`` (a directory listing and each ``entry_points.txt``, about 2 ms) and, where none
declares one, returns none, as the loader would; anything else asked of it loads the loader.
Where the scan cannot tell (a zip file on the path, a finder of distributions of its own), or a
plugin is installed, pydantic's own loader runs as usual.

Used by the command line only (its process is its own): ``import aibudget`` changes nothing in
a user's process.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import types
from collections.abc import Iterable
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any

#: pydantic's plugin loader (``pydantic.plugin._schema_validator`` imports it on first use).
LOADER = "pydantic.plugin._loader"

_GROUP = re.compile(r"^\s*\[\s*pydantic\s*\]\s*$", re.MULTILINE)


def _declares_plugin(folder: str) -> bool:
    """Whether the distributions in ``folder`` declare an entry point of the ``pydantic`` group;
    raises ``NotADirectoryError`` for a path entry that is a file (a zip)."""
    try:
        with os.scandir(folder) as entries:
            found = [e.path for e in entries if e.name.endswith((".dist-info", ".egg-info"))]
    except NotADirectoryError:
        raise
    except OSError:  # missing or unreadable: importlib.metadata finds nothing there either
        return False
    for meta in found:
        try:
            with open(os.path.join(meta, "entry_points.txt"), encoding="utf-8") as file:
                text = file.read()
        except OSError:
            continue
        if _GROUP.search(text):
            return True
    return False


def no_plugins_installed() -> bool:
    """True when no distribution on ``sys.path`` declares a pydantic plugin; False when one
    does, or when the path holds what only ``importlib.metadata`` reads (a zip file, a finder
    of distributions other than the path finder)."""
    for finder in sys.meta_path:
        if (
            finder is not PathFinder
            and finder is not _Finder
            and hasattr(finder, "find_distributions")
        ):
            return False
    try:
        return not any(_declares_plugin(entry or ".") for entry in sys.path)
    except NotADirectoryError:
        return False


class _Loader(types.ModuleType):
    """Stands in for pydantic's plugin loader: no plugin where none is installed, the loader
    itself where one is (or the scan cannot tell)."""

    _none_installed: bool | None = None

    def get_plugins(self) -> Iterable[Any]:
        """The plugins pydantic's loader would return: none where none is installed (looked for
        once, on the first model built)."""
        if self._none_installed is None:
            self._none_installed = no_plugins_installed()
        if self._none_installed:
            return ()
        plugins: Iterable[Any] = self._loader().get_plugins()
        return plugins

    def _loader(self) -> types.ModuleType:
        """pydantic's loader, imported in place of this stand-in from now on."""
        if sys.modules.get(LOADER) is self:
            del sys.modules[LOADER]
        return importlib.import_module(LOADER)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # what tools probe every module for (__file__, __path__)
            raise AttributeError(name)
        return getattr(self._loader(), name)  # anything else: its cache, its group's name


class _Finder:
    """Imports :class:`_Loader` as pydantic's plugin loader, once: the import system sees to
    the packages above it, as for the loader itself."""

    @classmethod
    def find_spec(cls, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name != LOADER:
            return None
        sys.meta_path.remove(cls)  # once: the stand-in imports the loader itself where asked
        return ModuleSpec(name, cls)  # type: ignore[arg-type]  # the class is the loader

    @staticmethod
    def create_module(spec: ModuleSpec) -> types.ModuleType:
        return _Loader(spec.name)

    @staticmethod
    def exec_module(module: types.ModuleType) -> None:
        """Nothing to run: the stand-in is its class."""


def skip_plugin_loader() -> None:
    """Before pydantic builds a model: stand in for its plugin loader when it is imported (see
    the module's docstring); nothing when it has loaded already. Costs nothing until a model is
    built: a command that builds none (``aibudget catalog``) scans nothing."""
    if LOADER not in sys.modules and _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
