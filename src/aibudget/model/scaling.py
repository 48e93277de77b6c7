"""Scaling laws: the loss a model reaches, and the size and data that reach a loss cheapest.

The law is the Chinchilla parametric form (Hoffmann et al. 2022, "Training Compute-Optimal Large
Language Models", arXiv 2203.15556, eq. 2 and Appendix D.2):

    L(N, D) = E + A / N^alpha + B / D^beta

with N parameters, D training tokens and L the final training loss in nats per token on the
data the law was fitted to (MassiveText for the published fits; the catalog's
``scaling_laws.csv`` holds them). A law fitted to one corpus says little about another's
absolute loss, so compare losses only under the same law.

* :func:`compute_optimal` minimises L for a training budget C = 6·N·D (Hoffmann et al., eq. 4);
* :func:`lifetime_optimal` minimises training plus inference cost for a target loss
  (Sardana et al. 2024, "Beyond Chinchilla-Optimal", arXiv 2401.00448).

Every function takes arrays (or scalars) that broadcast together, the law's coefficients
included, and returns arrays of the broadcast shape. Units: parameters, tokens, FLOP, nats per
token; costs in whatever currency the per-FLOP prices are in (USD by name; with the default
prices of 1 per FLOP they are FLOPs).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aibudget._record import record
from aibudget.model.compute import FLOPS_PER_PARAM_PER_TOKEN, FORWARD_FLOPS_PER_PARAM

Array = NDArray[np.float64]

#: Bisection steps on ln v in :func:`lifetime_optimal`. The bracket is at most ~60 wide in ln v
#: for any sane inputs, so 64 halvings leave it far below float64 resolution.
_BISECTION_STEPS = 64


@record
class ScalingLaw:
    """Coefficients of L(N, D) = E + A/N^alpha + B/D^beta. Each may be a float or an array that
    broadcasts with the other inputs (to evaluate several laws, or samples of one, at once).

    ``E`` is the irreducible loss in nats per token; ``A`` and ``B`` are in nats per token times
    parameters^alpha and tokens^beta; ``alpha`` and ``beta`` are dimensionless and positive.
    """

    E: ArrayLike
    A: ArrayLike
    B: ArrayLike
    alpha: ArrayLike
    beta: ArrayLike

    def arrays(self) -> tuple[Array, Array, Array, Array, Array]:
        """The five coefficients as float arrays, in the order E, A, B, alpha, beta."""
        return (
            np.asarray(self.E, float),
            np.asarray(self.A, float),
            np.asarray(self.B, float),
            np.asarray(self.alpha, float),
            np.asarray(self.beta, float),
        )


@record
class Allocation:
    """A model size and its training data. Units: parameters, tokens."""

    params: Array
    tokens: Array


@record
class LifetimeAllocation:
    """The lifetime-cheapest model for a target loss, with the cost split.

    Units: parameters, tokens, FLOP, and the per-FLOP prices' currency (USD by name).
    """

    params: Array
    tokens: Array
    train_flops: Array
    inference_flops: Array
    cost_usd: Array


def loss(law: ScalingLaw, params: ArrayLike, tokens: ArrayLike) -> Array:
    """L = E + A/N^alpha + B/D^beta: the final training loss of N parameters trained on D tokens.

    Source: Hoffmann et al. 2022, eq. 2. Units: nats per token.
    """
    e, a, b, alpha, beta = law.arrays()
    n = np.asarray(params, float)
    d = np.asarray(tokens, float)
    return e + a / n**alpha + b / d**beta


def loss_floor(law: ScalingLaw, params: ArrayLike) -> Array:
    """E + A/N^alpha: the loss N parameters approach with unlimited data, the infimum that
    :func:`tokens_for_loss` can reach. Units: nats per token."""
    e, a, _, alpha, _ = law.arrays()
    return e + a / np.asarray(params, float) ** alpha


def tokens_for_loss(law: ScalingLaw, params: ArrayLike, target_loss: ArrayLike) -> Array:
    """D = (B / (L - E - A/N^alpha))^(1/beta): the training tokens at which N parameters reach
    ``target_loss``, the inverse of :func:`loss` in D.

    Where the target is at or below :func:`loss_floor` (N parameters never reach it on any
    amount of data) the result is ``inf``, so a cost computed from it is ``inf`` too, never a
    silent NaN. Units: tokens.
    """
    _, _, b, _, beta = law.arrays()
    gap = np.asarray(target_loss, float) - loss_floor(law, params)
    reachable = gap > 0
    with np.errstate(divide="ignore", over="ignore"):
        tokens = (b / np.where(reachable, gap, 1.0)) ** (1.0 / beta)
    return np.where(reachable, tokens, np.inf)


def compute_optimal(
    law: ScalingLaw,
    flops: ArrayLike,
    flops_per_param_token: ArrayLike = FLOPS_PER_PARAM_PER_TOKEN,
) -> Allocation:
    """The N and D that minimise :func:`loss` for a training budget C = k·N·D (k = 6).

    N_opt = G·(C/k)^(beta/(alpha+beta)), G = (alpha·A/(beta·B))^(1/(alpha+beta)),
    D_opt = C/(k·N_opt). E does not move the optimum. At the optimum the two excess-loss terms
    stand in the ratio A/N^alpha : B/D^beta = beta : alpha.

    Source: Hoffmann et al. 2022, eq. 4 and Appendix D.2. Units: parameters, tokens.
    """
    _, a, b, alpha, beta = law.arrays()
    per_param_token = np.asarray(flops_per_param_token, float)
    budget = np.asarray(flops, float) / per_param_token
    g = (alpha * a / (beta * b)) ** (1.0 / (alpha + beta))
    params = g * budget ** (beta / (alpha + beta))
    tokens = budget / params
    shape = np.broadcast_shapes(params.shape, tokens.shape)
    return Allocation(np.broadcast_to(params, shape), np.broadcast_to(tokens, shape))


def lifetime_optimal(
    law: ScalingLaw,
    target_loss: ArrayLike,
    inference_tokens: ArrayLike,
    train_flops_per_param_token: ArrayLike = FLOPS_PER_PARAM_PER_TOKEN,
    inference_flops_per_param_token: ArrayLike = FORWARD_FLOPS_PER_PARAM,
    train_usd_per_flop: ArrayLike = 1.0,
    inference_usd_per_flop: ArrayLike = 1.0,
) -> LifetimeAllocation:
    """The model that reaches ``target_loss`` and serves ``inference_tokens`` at least total cost.

    Minimises  p_t·k_t·N·D(N) + p_i·k_i·N·I  over N, where D(N) = :func:`tokens_for_loss`,
    k_t = 6 and k_i = 2 FLOP per parameter per token, p_t and p_i the prices per FLOP (differing
    MFU or hardware between training and serving goes into them), I the lifetime inference
    tokens. Source: Sardana, Portes, Doubov, Frankle 2024, "Beyond Chinchilla-Optimal: Accounting
    for Inference in Language Model Scaling Laws", arXiv 2401.00448, §2 (they solve the same
    first-order condition with Newton's method).

    Method. Write g = L - E and v = (B/D^beta)/g, the share of the reducible loss left to finite
    data (so A/N^alpha = (1 - v)·g). Setting the derivative of the cost in ln N to zero gives

        (alpha/beta)·(1 - v) = v·(1 + r·v^(1/beta)),   r = p_i·k_i·I / (p_t·k_t·(B/g)^(1/beta)),

    whose left side falls and right side rises in v on (0, 1): one root, one minimum. With no
    inference (r = 0) the root is v = alpha/(alpha + beta), the compute-optimal split of
    :func:`compute_optimal`; more inference lowers v, i.e. a smaller model on more tokens. The
    root is found by bisection on ln v, elementwise over the broadcast inputs, and N and D are
    recovered from v directly (no cancellation in L - E - A/N^alpha). Accuracy: N, D and the cost
    to about 1e-12 relative (float64 rounding); 1e5 scenarios take about 0.1 s on one core.

    Where the target is at or below E (no finite model reaches it) params, tokens and the costs
    are ``inf``. Units: parameters, tokens, FLOP, and the prices' currency.
    """
    e, a, b, alpha, beta = law.arrays()
    gap = np.asarray(target_loss, float) - e
    inference = np.asarray(inference_tokens, float)
    k_t = np.asarray(train_flops_per_param_token, float)
    k_i = np.asarray(inference_flops_per_param_token, float)
    p_t = np.asarray(train_usd_per_flop, float)
    p_i = np.asarray(inference_usd_per_flop, float)

    reachable = gap > 0
    g = np.where(reachable, gap, 1.0)
    ratio = alpha / beta
    # inf inference or prices (a limit, not an error) reach 0·inf inside; the results stay right.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # (B/g)^(1/beta): the tokens that would reach the target with infinitely many parameters.
        tokens_scale = (b / g) ** (1.0 / beta)
        r = p_i * k_i * inference / (p_t * k_t * tokens_scale)
        # A lower end where the left side exceeds the right (each right-hand term <= ratio/4 and
        # v <= 1/2 so the left side >= ratio/2); the upper end v = 1 has the left side 0.
        v_low = np.minimum(
            np.minimum(0.5, ratio / 4.0),
            (ratio / (4.0 * r)) ** (beta / (1.0 + beta)),
        )
        lo = np.log(v_low)
        hi = np.zeros_like(lo)
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            v = np.exp(mid)
            left_wins = ratio * (1.0 - v) > v * (1.0 + r * v ** (1.0 / beta))
            lo = np.where(left_wins, mid, lo)
            hi = np.where(left_wins, hi, mid)
        v = np.exp(0.5 * (lo + hi))

        params = (a / (g * (1.0 - v))) ** (1.0 / alpha)
        tokens = tokens_scale * v ** (-1.0 / beta)
        train_flops = k_t * params * tokens
        inference_flops = k_i * params * inference
        cost = p_t * train_flops + p_i * inference_flops

    values = [params, tokens, train_flops, inference_flops, cost]
    shape = np.broadcast_shapes(*(np.shape(x) for x in values), reachable.shape)
    out = [np.broadcast_to(np.where(reachable, x, np.inf), shape) for x in values]
    return LifetimeAllocation(*out)
