"""Callbacks for training frameworks, built only when the framework is installed.

* :func:`huggingface_callback` returns a ``transformers.TrainerCallback`` that starts a tracker
  when training begins, reports the optimizer step and the tokens seen (when the Trainer counts
  them, ``include_num_input_tokens_seen=True``) at every logging step, and stops it at the end::

      trainer = Trainer(..., callbacks=[huggingface_callback("finetune", scenario="s.yaml")])

* :func:`lightning_callback` returns a ``lightning.pytorch.Callback`` (or
  ``pytorch_lightning.Callback``) that does the same, with the tokens counted by
  ``tokens_per_step`` when given.

Neither framework is a dependency of aibudget: each function imports its framework when called
and says how to install it when it is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

from aibudget._errors import AibudgetError
from aibudget.tracking.tracker import Tracker

__all__ = ["huggingface_callback", "lightning_callback"]


def _import(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    package = names[-1].split(".")[0]
    raise AibudgetError(f"this callback needs {package} installed (pip install {package})")


def huggingface_callback(name: str = "trainer", **options: Any) -> Any:
    """A Hugging Face ``TrainerCallback`` tracking the training run (``options`` as for
    :class:`~aibudget.tracking.Tracker`: scenario, ledger, interval_s)."""
    transformers = _import("transformers")

    class AibudgetCallback(transformers.TrainerCallback):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.tracker: Tracker | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.tracker = Tracker(name, **options).start()

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.tracker is not None:
                seen = getattr(state, "num_input_tokens_seen", 0) or None
                self.tracker.progress(tokens=seen, step=state.global_step)

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.tracker is not None:
                self.tracker.stop("finished", 0)

    return AibudgetCallback()


def lightning_callback(
    name: str = "lightning", tokens_per_step: float | None = None, **options: Any
) -> Any:
    """A PyTorch Lightning ``Callback`` tracking ``fit`` on the global-zero process."""
    pl = _import("lightning.pytorch", "pytorch_lightning")

    class AibudgetCallback(pl.Callback):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.tracker: Tracker | None = None

        def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
            if trainer.is_global_zero:
                self.tracker = Tracker(name, **options).start()

        def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            if self.tracker is not None:
                step = trainer.global_step
                tokens = step * tokens_per_step if tokens_per_step else None
                self.tracker.progress(tokens=tokens, step=step)

        def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
            if self.tracker is not None:
                self.tracker.stop("finished", 0)

        def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
            if self.tracker is not None:
                self.tracker.stop("failed", 1)

    return AibudgetCallback()
