"""Training memory: the bytes a model's training state and activations need, and the fewest
chips that hold them.

Assumptions (stated where an estimate shows them): the training state (weights, gradients,
optimizer state) is fully sharded across chips, as ZeRO stage 3 or FSDP do; activations are
held for one micro-batch per model replica. The check is a floor: real frameworks also need
workspace, communication buffers and headroom for fragmentation. Units: bytes, GB = 10⁹ bytes.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

BYTES_PER_GB: Final = 1e9

#: Bytes per stored weight, and per gradient, by training precision. Mixed-precision formats
#: keep 16-bit weights and gradients; TF32 is a compute mode over FP32 storage; FP8 training
#: (e.g. NVIDIA Transformer Engine) casts to FP8 inside matmuls but stores 16-bit weights.
WEIGHT_BYTES: Final = {"fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 2.0}
#: Bytes per parameter of the FP32 master copy that mixed precision keeps (none in pure FP32).
MASTER_WEIGHT_BYTES: Final = {"fp32": 0.0, "tf32": 0.0, "fp16": 4.0, "bf16": 4.0, "fp8": 4.0}
#: Bytes per parameter of optimizer state: Adam keeps two FP32 moments (Rajbhandari et al. 2020,
#: ZeRO, §3.1: 2 + 2 + 12 = 16 bytes per parameter for mixed-precision Adam); SGD with momentum
#: one; 8-bit Adam two 8-bit moments (Dettmers et al. 2021); Adafactor a factored second moment
#: and no first moment, negligible per parameter (Shazeer & Stern 2018).
OPTIMIZER_STATE_BYTES: Final = {
    "adam": 8.0,
    "adamw": 8.0,
    "sgd": 4.0,
    "adam_8bit": 2.0,
    "adafactor": 0.0,
}
#: Activation bytes per layer per (sequence × micro-batch × d_model) with 16-bit activations
#: (Korthikanti et al. 2022, "Reducing Activation Recomputation in Large Transformer Models",
#: §4): 34 with selective recomputation of attention (or FlashAttention), 2 with full
#: recomputation (only each layer's input is kept).
ACTIVATION_BYTES_PER_ELEMENT: Final = {"selective": 34.0, "full": 2.0}
#: Width-to-depth ratio used to infer a shape when only the parameter count is known: GPT-3 175B
#: (12288/96) and Llama-2 7B (4096/32) both have d_model/layers = 128.
INFERRED_WIDTH_PER_LAYER: Final = 128.0


def training_state_bytes_per_param(precision: str, optimizer: str) -> float:
    """Weights + gradients + master weights + optimizer state, in bytes per parameter."""
    return (
        2 * WEIGHT_BYTES[precision]
        + MASTER_WEIGHT_BYTES[precision]
        + OPTIMIZER_STATE_BYTES[optimizer]
    )


def training_state_bytes(params: ArrayLike, bytes_per_param: ArrayLike) -> Array:
    """Bytes of weights, gradients and optimizer state for ``params`` parameters (all of them,
    experts included: a mixture-of-experts model stores every expert)."""
    return np.asarray(params, float) * np.asarray(bytes_per_param, float)


def activation_bytes(
    layers: ArrayLike,
    d_model: ArrayLike,
    seq_len: ArrayLike,
    micro_batch_size: ArrayLike,
    bytes_per_element: ArrayLike,
    activation_dtype_bytes: ArrayLike = 2.0,
) -> Array:
    """Activation memory of one micro-batch through the whole model:
    coefficient × s × b × d × L, scaled from 16-bit to the activation dtype. Units: bytes."""
    return (
        np.asarray(bytes_per_element, float)
        * np.asarray(seq_len, float)
        * np.asarray(micro_batch_size, float)
        * np.asarray(d_model, float)
        * np.asarray(layers, float)
        * np.asarray(activation_dtype_bytes, float)
        / 2.0
    )


def min_chips(total_bytes: ArrayLike, memory_gb_per_chip: ArrayLike) -> Array:
    """The fewest chips whose memory together holds ``total_bytes``."""
    return np.ceil(
        np.asarray(total_bytes, float) / (np.asarray(memory_gb_per_chip, float) * BYTES_PER_GB)
    )


def inferred_shape(params: ArrayLike) -> tuple[Array, Array]:
    """Layers and d_model of a standard transformer with ``params`` parameters, from
    N ≈ 12·L·d² (Kaplan et al. 2020, Table 1, non-embedding) and d = 128·L."""
    layers = np.maximum(
        1.0, np.round(np.cbrt(np.asarray(params, float) / (12.0 * INFERRED_WIDTH_PER_LAYER**2)))
    )
    return layers, layers * INFERRED_WIDTH_PER_LAYER
