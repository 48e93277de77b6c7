"""Fitting the utilisation model on published runs, and measuring it out of sample.

The model (:mod:`aibudget.model.utilisation`) is linear in logs::

    ln MFU = a_family + b · ln(N / 10B) + c · ln(chips / 256)

An observation is one run's *effective* MFU, 6·N·D ÷ (16-bit dense peak × published
chip-hours): restarts, evaluation and idle time included, the share of the peak the money
bought. The fit is a penalised regression in logs:

* each family's intercept is shrunk toward its sourced value (``constants.csv``; Epoch AI's
  median for a family without one) with the weight of ``shrinkage`` pseudo-runs, so a sparse
  family keeps close to its source and one unusual run cannot set a default;
* the loss is least squares, or Huber's with threshold ``huber`` (in ln units), which keeps a
  run whose effective MFU is far from its family's (a 1B model spread over a large cluster) from
  dragging the family;
* which terms enter (none, size, size and chips), the shrinkage and the loss are chosen by
  ``tools/calibrate.py`` on the out-of-sample error, not on the fit.

Out of sample means refitted without the run: :func:`held_out` refits without every run of
the held-out group, where a group is a run (all rows of one ``run_key``) or an organisation
(all of a lab's runs, so Meta's runs never predict Meta's), and gives the held-out median and a
p10–p90 from the quantiles of residuals that are themselves out of sample (cross-validated
inside the remaining runs). :func:`coverage` counts how often the published value falls inside;
``docs/validation.md`` quotes what it returns.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace

import numpy as np
from numpy.typing import NDArray

from aibudget._quantiles import percentiles
from aibudget._record import record
from aibudget.model import utilisation
from aibudget.model.utilisation import REFERENCE_CHIPS, REFERENCE_PARAMS

__all__ = [
    "FORMS",
    "TERMS",
    "Form",
    "HeldOut",
    "MfuModel",
    "Observation",
    "coverage",
    "cross_validate",
    "fit",
    "folds",
    "held_out",
]

Array = NDArray[np.float64]

#: The terms the model may have besides the family intercept.
TERMS = ("log_params", "log_chips")
#: How many runs a leave-one-out refit may hold out one at a time; above it, 10 folds.
MAX_LEAVE_ONE_OUT = 60
#: Folds when there are too many groups to leave out one at a time.
FOLDS = 10
#: Iterations of the reweighted least squares that minimises Huber's loss.
HUBER_ITERATIONS = 50


@record
class Observation:
    """One run's effective MFU and what the model knows about the run."""

    run: str  # row id
    group: str  # the run it is a row of (run_key): left out together
    organisation: str  # left out together in k-fold by organisation
    family: str
    log_params: float  # ln(N / 10B); 0 when the active size is not known
    log_chips: float  # ln(chips / 256); 0 when the chips are not published
    mfu: float
    name: str = ""
    params: float | None = None
    chips: float | None = None

    def term(self, name: str) -> float:
        return self.log_params if name == "log_params" else self.log_chips


@record
class Form:
    """A candidate model: its terms, the shrinkage toward the sourced family values (in
    pseudo-runs) and the loss (``huber`` in ln units; None for least squares)."""

    terms: tuple[str, ...] = ()
    shrinkage: float = 2.0
    huber: float | None = None

    @property
    def label(self) -> str:
        terms = " + ".join(("family", *self.terms))
        loss = f"Huber δ={self.huber:g}" if self.huber is not None else "least squares"
        return f"{terms}; shrinkage {self.shrinkage:g} pseudo-runs; {loss}"


#: The candidate forms ``tools/calibrate.py`` compares.
FORMS = tuple(
    Form(terms, shrinkage, huber)
    for terms in ((), ("log_params",), ("log_chips",), ("log_params", "log_chips"))
    for shrinkage in (1.0, 2.0, 4.0, 8.0)
    for huber in (None, 0.2)
)


@record
class MfuModel:
    """Fitted coefficients (ln units) and the out-of-sample residual quantiles."""

    form: Form
    intercepts: Mapping[str, float]  # family → ln MFU at 10B parameters and 256 chips
    default_intercept: float  # a family with neither runs nor a sourced value
    slopes: Mapping[str, float]  # term → coefficient
    residual_p10: float = 0.0  # ln(published / predicted MFU), out of sample
    residual_p90: float = 0.0
    counts: Mapping[str, int] = field(default_factory=dict)
    std_errors: Mapping[str, float] = field(default_factory=dict)

    def intercept(self, family: str) -> float:
        return self.intercepts.get(family, self.default_intercept)

    def log_median(self, family: str, log_params: float, log_chips: float) -> float:
        """ln MFU for a run of ``family`` at ``ln(N/10B)`` and ``ln(chips/256)``."""
        x = {"log_params": log_params, "log_chips": log_chips}
        return self.intercept(family) + sum(b * x[t] for t, b in self.slopes.items())

    def quantiles(
        self, family: str, log_params: float, log_chips: float
    ) -> tuple[float, float, float]:
        """MFU p10, p50, p90 (fractions, the median clipped to 1)."""
        mid = math.exp(min(self.log_median(family, log_params, log_chips), 0.0))
        return mid * math.exp(self.residual_p10), mid, mid * math.exp(self.residual_p90)

    def deadline_chips(
        self, family: str, params: float | None, flops: float, peak: float, days: float
    ) -> float:
        """The chips a run finishing ``flops`` in ``days`` needs at the model's own MFU, where
        the MFU depends on the chips (:func:`aibudget.model.utilisation.mfu_for_deadline`)."""
        value = float(
            utilisation.mfu_for_deadline(
                self.intercept(family),
                self.slopes.get("log_params", 0.0),
                self.slopes.get("log_chips", 0.0),
                params or REFERENCE_PARAMS,
                flops,
                peak,
                days,
            )
        )
        return flops / (peak * value * 86_400.0 * days)


def features(params: float | None, chips: float | None) -> tuple[float, float]:
    """``ln(N / 10B)`` and ``ln(chips / 256)``, 0 for what is not known."""
    return (
        math.log(params / REFERENCE_PARAMS) if params else 0.0,
        math.log(chips / REFERENCE_CHIPS) if chips else 0.0,
    )


def fit(
    observations: Sequence[Observation],
    form: Form,
    priors: Mapping[str, float],
    default_prior: float,
    errors: bool = False,
) -> MfuModel:
    """The penalised fit of ``form`` (no residual quantiles: see :func:`held_out`). ``priors``
    are the sourced MFU values by family (fractions); a family in neither the runs nor the
    priors gets ``default_prior``. With ``errors``, the coefficients' standard errors too (the
    penalised normal equations' inverse, scaled by the weighted residual variance)."""
    families = sorted({o.family for o in observations} | set(priors))
    k, terms = len(families), form.terms
    n_coef = k + len(terms)
    index = {f: i for i, f in enumerate(families)}
    x = np.zeros((len(observations), n_coef))
    for row, o in enumerate(observations):
        x[row, index[o.family]] = 1.0
        for j, t in enumerate(terms):
            x[row, k + j] = o.term(t)
    y = np.log([o.mfu for o in observations]) if observations else np.zeros(0)
    target = np.array([math.log(priors.get(f, default_prior)) for f in families])
    penalty = np.zeros(n_coef)
    penalty[:k] = form.shrinkage
    goal = np.zeros(n_coef)
    goal[:k] = target
    weights = np.ones(len(y))
    beta = goal.copy()
    for _ in range(HUBER_ITERATIONS if form.huber is not None else 1):
        a = (x * weights[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(n_coef)
        b = (x * weights[:, None]).T @ y + penalty * goal
        new: Array = np.asarray(np.linalg.solve(a, b), dtype=float)
        if form.huber is not None:
            r = np.abs(y - x @ new)
            weights = np.minimum(1.0, form.huber / np.maximum(r, 1e-12))
        converged = float(np.max(np.abs(new - beta))) < 1e-7
        beta = new
        if converged:
            break
    names = [*families, *terms]
    std_errors: dict[str, float] = {}
    if errors:
        residual = y - x @ beta
        dof = max(len(y) - n_coef, 1)
        sigma2 = float(np.sum(weights * residual**2) / dof) if len(y) else 0.0
        a = (x * weights[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(n_coef)
        covariance = sigma2 * np.linalg.inv(a)
        std_errors = {n: float(math.sqrt(max(covariance[i, i], 0.0))) for i, n in enumerate(names)}
    return MfuModel(
        form=form,
        intercepts={f: float(beta[i]) for f, i in index.items()},
        default_intercept=math.log(default_prior),
        slopes={t: float(beta[k + j]) for j, t in enumerate(terms)},
        counts={f: sum(1 for o in observations if o.family == f) for f in families},
        std_errors=std_errors,
    )


def _key(by: str) -> Callable[[Observation], str]:
    if by not in ("group", "organisation"):
        raise ValueError(f"by must be 'group' or 'organisation', got {by!r}")
    return (lambda o: o.group) if by == "group" else (lambda o: o.organisation)


def folds(keys: Sequence[str]) -> list[set[str]]:
    """The held-out sets of keys: each key alone, or (more than :data:`MAX_LEAVE_ONE_OUT` keys)
    :data:`FOLDS` folds, each key placed by a stable hash of its name."""
    distinct = sorted(set(keys))
    if len(distinct) <= MAX_LEAVE_ONE_OUT:
        return [{k} for k in distinct]
    out: list[set[str]] = [set() for _ in range(FOLDS)]
    for k in distinct:
        out[zlib.crc32(k.encode()) % FOLDS].add(k)
    return [f for f in out if f]


def cross_validate(
    observations: Sequence[Observation],
    form: Form,
    priors: Mapping[str, float],
    default_prior: float,
    by: str = "organisation",
) -> Array:
    """Out-of-sample residuals ln(published / predicted MFU), one per observation, each from a
    fit without its group (``by="group"``) or its organisation (``by="organisation"``)."""
    key = _key(by)
    residuals = np.zeros(len(observations))
    for held in folds([key(o) for o in observations]):
        train = [o for o in observations if key(o) not in held]
        model = fit(train, form, priors, default_prior)
        for i, o in enumerate(observations):
            if key(o) in held:
                residuals[i] = math.log(o.mfu) - model.log_median(o.family, *_x(o))
    return residuals


def _x(o: Observation) -> tuple[float, float]:
    return o.log_params, o.log_chips


@record
class HeldOut:
    """A prediction for a run from a model fitted without its group or organisation."""

    log_median: float
    residual_p10: float  # from residuals cross-validated without the group either
    residual_p90: float
    train_size: int

    def quantiles(self) -> tuple[float, float, float]:
        mid = math.exp(min(self.log_median, 0.0))
        return mid * math.exp(self.residual_p10), mid, mid * math.exp(self.residual_p90)


@record
class Target:
    """What a prediction needs of a run: its family, size and chips, and what it is left out
    with."""

    group: str
    organisation: str
    family: str
    log_params: float
    log_chips: float


def residual_quantiles(residuals: Array) -> tuple[float, float]:
    """The 10th and 90th percentiles of ln residuals (0, 0 with fewer than two)."""
    if len(residuals) < 2:
        return 0.0, 0.0
    p10, p90 = percentiles(residuals, [10, 90])
    return float(min(p10, 0.0)), float(max(p90, 0.0))


def held_out(
    observations: Sequence[Observation],
    targets: Sequence[Target],
    form: Form,
    priors: Mapping[str, float],
    default_prior: float,
    by: str = "organisation",
) -> list[HeldOut]:
    """For each target, the model fitted on the observations outside its group or organisation,
    with residual quantiles cross-validated (the same way) inside those observations."""
    key = _key(by)
    target_key: Callable[[Target], str] = (
        (lambda t: t.group) if by == "group" else (lambda t: t.organisation)
    )
    keys = [key(o) for o in observations] + [target_key(t) for t in targets]
    out: list[HeldOut | None] = [None] * len(targets)
    for held in folds(keys):
        chosen = [i for i, t in enumerate(targets) if target_key(t) in held]
        if not chosen:
            continue
        train = [o for o in observations if key(o) not in held]
        model = fit(train, form, priors, default_prior)
        low, high = residual_quantiles(cross_validate(train, form, priors, default_prior, by))
        for i in chosen:
            t = targets[i]
            out[i] = HeldOut(
                model.log_median(t.family, t.log_params, t.log_chips), low, high, len(train)
            )
    missing = [targets[i] for i, h in enumerate(out) if h is None]
    if missing:  # every target's key is in some fold
        raise AssertionError(f"no fold held out {missing[0]}")
    return [h for h in out if h is not None]


def coverage(
    observations: Sequence[Observation],
    form: Form,
    priors: Mapping[str, float],
    default_prior: float,
    by: str = "organisation",
) -> dict[str, float]:
    """How the held-out predictions of the observations' own MFU do: the median and mean
    |ln(predicted / published)| and the share of published values inside the held-out p10–p90
    (an MFU inside its interval is a chip-hours inside its interval: chip-hours ∝ 1/MFU)."""
    targets = [
        Target(o.group, o.organisation, o.family, o.log_params, o.log_chips) for o in observations
    ]
    predictions = held_out(observations, targets, form, priors, default_prior, by)
    errors = np.array(
        [math.log(o.mfu) - p.log_median for o, p in zip(observations, predictions, strict=True)]
    )
    inside = [
        p.residual_p10 <= e <= p.residual_p90 for e, p in zip(errors, predictions, strict=True)
    ]
    return {
        "runs": float(len(errors)),
        "median_abs_log_ratio": float(np.median(np.abs(errors))) if len(errors) else math.nan,
        "mean_abs_log_ratio": float(np.mean(np.abs(errors))) if len(errors) else math.nan,
        "share_inside_p10_p90": float(np.mean(inside)) if inside else math.nan,
    }


def with_residuals(model: MfuModel, residuals: Array) -> MfuModel:
    """``model`` with the p10–p90 of out-of-sample ``residuals``."""
    low, high = residual_quantiles(residuals)
    return replace(model, residual_p10=low, residual_p90=high)
