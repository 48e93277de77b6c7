"""Broadcasting for the model's many small arrays, without numpy's per-call overhead.

``np.broadcast_to`` and ``np.broadcast_shapes`` cost microseconds a call (an ``nditer``, a
temporary array), which a point estimate pays a few hundred times over arrays of one to a few
dozen elements. These give the same arrays: :func:`spread` is ``np.broadcast_to`` (a read-only
view), except that an array already of the shape is returned as it is.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def common_shape(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to (``np.broadcast_shapes``)."""
    out: tuple[int, ...] = ()
    for shape in shapes:
        if shape == out or not shape:
            continue
        if not out:
            out = shape
            continue
        n = max(len(out), len(shape))
        a, b = (1,) * (n - len(out)) + out, (1,) * (n - len(shape)) + shape
        dims = []
        for x, y in zip(a, b, strict=True):
            if x != y and x != 1 and y != 1:
                raise ValueError(f"shapes {out} and {shape} cannot be broadcast together")
            dims.append(y if x == 1 else x)
        out = tuple(dims)
    return out


def spread(value: object, shape: tuple[int, ...]) -> Array:
    """``value`` as a float array of ``shape`` (``np.broadcast_to``: a read-only view where it
    is not of the shape already)."""
    array = np.asarray(value, float)
    if array.shape == shape:
        return array
    if array.size == 1 and array.ndim <= len(shape):  # one value: a view of it, no strides
        view: Array = np.ndarray(shape, float, array, 0, (0,) * len(shape))
        view.flags.writeable = False
        return view
    return np.broadcast_to(array, shape)
