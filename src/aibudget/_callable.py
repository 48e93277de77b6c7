"""Modules that are also the public function of their name: ``aibudget.report`` and
``aibudget.tradeoffs`` are packages of the library and functions of its API at once.

A package's submodule and a function cannot share a name: importing ``aibudget.tradeoffs``
(which the library does itself) rebinds the attribute to the module. So the module is made
callable instead, and calling it calls the function (:mod:`aibudget.api`); ``from aibudget.api
import tradeoffs`` is the same function, typed.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["make_callable"]


class _CallableModule(ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, name = self.__dict__["__call_target__"].partition(":")
        return getattr(import_module(module), name)(*args, **kwargs)


def make_callable(name: str, target: str) -> None:
    """Make the module ``name`` callable as ``target`` (``"package.module:function"``)."""
    module = sys.modules[name]
    module.__dict__["__call_target__"] = target
    module.__class__ = _CallableModule
