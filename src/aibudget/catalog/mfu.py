"""The fitted utilisation model: its coefficients (``mfu_model.csv``) and the runs it was fitted
on (``mfu_runs.csv``), both written by ``tools/calibrate.py``.

:func:`mfu_model` gives the coefficients as a :class:`aibudget.model.calibration.MfuModel`;
:func:`fitted_runs` the runs, each with its effective MFU and its out-of-sample prediction, for
the explanation of a default ("like Llama 2 70B and OPT-175B") and for the plot.
"""

from __future__ import annotations

import csv
import math
from functools import cache, lru_cache

from aibudget._errors import CatalogDataError
from aibudget._files import package_files
from aibudget._record import record
from aibudget.model import calibration
from aibudget.model.calibration import Form, MfuModel

__all__ = [
    "FittedRun",
    "ModelInfo",
    "default_quantiles",
    "fitted_runs",
    "mfu_model",
    "model_info",
]


def _rows(name: str) -> list[dict[str, str]]:
    text = package_files("aibudget.catalog").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


def _float(name: str, line: int, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CatalogDataError(f"{name} line {line}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CatalogDataError(f"{name} line {line}: {text!r} is not finite")
    return value


@record
class ModelInfo:
    """What the coefficients file says about the fit as a whole."""

    form: str  # the chosen form, in words
    as_of: str
    runs: int  # runs fitted on
    oos_median_abs_log_ratio: float  # chip-hours, out of sample by organisation
    oos_share_inside: float  # published chip-hours inside the held-out p10–p90
    family_errors: dict[str, tuple[float, int]]  # family → (median |ln|, runs), out of sample
    priors: dict[str, float]  # family → the sourced value its intercept is shrunk toward


@cache
def _parsed() -> tuple[MfuModel, ModelInfo]:
    name = "mfu_model.csv"
    intercepts: dict[str, float] = {}
    slopes: dict[str, float] = {}
    errors: dict[str, float] = {}
    counts: dict[str, int] = {}
    family_errors: dict[str, tuple[float, int]] = {}
    priors: dict[str, float] = {}
    default = math.log(0.375)
    residual = {"p10": 0.0, "p90": 0.0}
    info: dict[str, str] = {}
    shrinkage, huber, terms = 2.0, None, []
    for line, row in enumerate(_rows(name), start=2):
        term, key = row["term"], row["name"]
        value = _float(name, line, row["value"])
        if term == "intercept":
            intercepts[key] = value
            counts[key] = int(row["runs"] or 0)
            if row["prior"]:
                priors[key] = _float(name, line, row["prior"])
            if row["oos_median_abs_log_ratio"]:
                family_errors[key] = (
                    _float(name, line, row["oos_median_abs_log_ratio"]),
                    int(row["oos_runs"] or 0),
                )
        elif term == "default_intercept":
            default = value
        elif term == "slope":
            slopes[key] = value
            terms.append(key)
        elif term == "residual":
            residual[key] = value
        elif term == "shrinkage":
            shrinkage = value
        elif term == "huber":
            huber = value if value > 0 else None
        elif term == "fit":
            info[key] = row["value"]
        else:
            raise CatalogDataError(f"{name} line {line}: unknown term {term!r}")
        if row["std_error"]:
            errors[f"{term}.{key}"] = _float(name, line, row["std_error"])
        info.setdefault("form", row["form"])
        info.setdefault("as_of", row["as_of"])
    model = MfuModel(
        form=Form(tuple(terms), shrinkage, huber),
        intercepts=intercepts,
        default_intercept=default,
        slopes=slopes,
        residual_p10=residual["p10"],
        residual_p90=residual["p90"],
        counts=counts,
        std_errors=errors,
    )
    about = ModelInfo(
        form=info.get("form", ""),
        as_of=info.get("as_of", ""),
        runs=int(float(info.get("runs", "0"))),
        oos_median_abs_log_ratio=float(info.get("oos_median_abs_log_ratio", "nan")),
        oos_share_inside=float(info.get("oos_share_inside", "nan")),
        family_errors=family_errors,
        priors=priors,
    )
    return model, about


def mfu_model() -> MfuModel:
    """The shipped coefficients."""
    return _parsed()[0]


def model_info() -> ModelInfo:
    """The shipped fit's form, size and out-of-sample error."""
    return _parsed()[1]


def default_quantiles(
    family: str, active_params: float, chips: float | None
) -> tuple[float, float, float]:
    """The fitted MFU's p10, p50 and p90 for a run of ``active_params`` on ``chips`` (None: not
    known) chips of the accelerator ``family`` (the median at most 1): the MFU a scenario that
    gives none gets, and the one the validation predicts each published run with."""
    return mfu_model().quantiles(family, *calibration.features(active_params, chips))


@record
class FittedRun:
    """One run the model was fitted on."""

    row_id: str
    run_key: str
    name: str
    organisation: str
    family: str
    params: float | None
    chips: float | None
    mfu: float  # its effective MFU
    predicted_mfu: float  # out of sample (without its organisation)


@cache
def fitted_runs() -> tuple[FittedRun, ...]:
    """The runs of ``mfu_runs.csv``, in file order."""
    name = "mfu_runs.csv"
    out = []
    for line, row in enumerate(_rows(name), start=2):
        out.append(
            FittedRun(
                row_id=row["row_id"],
                run_key=row["run_key"],
                name=row["name"],
                organisation=row["organisation"],
                family=row["family"],
                params=_float(name, line, row["params"]) if row["params"] else None,
                chips=_float(name, line, row["chips"]) if row["chips"] else None,
                mfu=_float(name, line, row["mfu"]),
                predicted_mfu=_float(name, line, row["predicted_mfu"]),
            )
        )
    return tuple(out)


def nearest(family: str, params: float | None, chips: float | None, n: int = 3) -> list[FittedRun]:
    """The fitted runs most like a run: its family first, then the closest size and chips."""

    def distance(r: FittedRun) -> tuple[int, float]:
        size = abs(math.log((r.params or 1e10) / (params or 1e10)))
        scale = abs(math.log((r.chips or 256) / (chips or 256))) if chips and r.chips else 0.0
        return (0 if r.family == family else 1, size + 0.5 * scale)

    return sorted(fitted_runs(), key=distance)[:n]


def _size(value: float) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


def describe_run(r: FittedRun) -> str:
    """``Llama 2 70B (a100, 69B, MFU 0.43)``."""
    parts = [r.family]
    if r.params:
        parts.append(_size(r.params))
    if r.chips:
        parts.append(f"{r.chips:,.0f} chips")
    return f"{r.name} ({', '.join(parts)}, MFU {r.mfu:.2f})"


def formula(family: str, params: float | None, chips: float | None) -> str:
    """The fitted formula with this run's numbers plugged in: ``exp(a_h100 −1.53 +
    0.052·ln(6.74B/10B)) = 0.213``."""
    model = mfu_model()
    terms = [f"a_{family} {model.intercept(family):+.3f}"]
    if family not in model.intercepts:
        terms = [f"a (no run or source for {family}) {model.intercept(family):+.3f}"]
    if "log_params" in model.slopes:
        n = _size(params) if params else "10B (size not known)"
        terms.append(f"{model.slopes['log_params']:+.3f}·ln({n}/10B)")
    if "log_chips" in model.slopes:
        c = f"{chips:,.0f}" if chips else "256 (chips not known)"
        terms.append(f"{model.slopes['log_chips']:+.3f}·ln({c}/256)")
    from aibudget.model.calibration import features

    value = math.exp(min(model.log_median(family, *features(params, chips)), 0.0))
    return f"exp({' '.join(terms)}) = {value:.3g}"


@lru_cache(maxsize=1024)  # the same run each estimate of a scenario: written once
def explanation(family: str, params: float | None, chips: float | None) -> str:
    """The note of a fitted MFU default: its formula with this run's numbers, the fit's
    out-of-sample error, and the fitted runs it is most like."""
    info = model_info()
    family_error = info.family_errors.get(family)
    on_family = (
        f"; {family_error[1]} {family} runs {family_error[0]:.2f}"
        if family_error and family_error[1]
        else f"; no {family} run in the fit"
    )
    like = ", ".join(describe_run(r) for r in nearest(family, params, chips))
    return (
        f"{formula(family, params, chips)}: effective MFU (share of the dense 16-bit peak, "
        f"restarts and idle time included) fitted on {info.runs} published runs ({info.form}); "
        f"out of sample (without the run's organisation) median |ln(predicted / published "
        f"chip-hours)| {info.oos_median_abs_log_ratio:.2f}{on_family}; most like {like}"
    )
