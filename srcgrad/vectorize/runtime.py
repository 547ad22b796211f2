"""The helpers srcgrad.vectorize's generated drivers call (drivers.py writes them), and the
registry through which a driver module finds its per-element kernel.

A driver imports these through the package (`from srcgrad.vectorize import load as _load`);
nothing else in a driver refers to srcgrad besides `srcgrad.runtime` (the derivatives' own
helpers) and `srcgrad.vectorize.simd` (libmvec's intrinsics).
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload


def segment(x, r, c, m):
    """Elements c .. c+m-1 of row r of a 2-D array as a 1-D view; a scalar stays itself."""
    return x[r, c:c + m] if isinstance(x, np.ndarray) else x


@overload(segment)
def _segment(x, r, c, m):
    if isinstance(x, types.Array):
        return lambda x, r, c, m: x[r, c:c + m]
    return lambda x, r, c, m: x


def load(x, j, z):
    """Element j of a 1-D segment, or a scalar itself; converted to the type of `z` unless `z`
    is None (a differentiated integer array read as the float dtype of the call)."""
    v = x[j] if isinstance(x, np.ndarray) else x
    return v if z is None else type(z)(v)


@overload(load)
def _load(x, j, z):
    if isinstance(x, types.Array):
        if isinstance(z, (types.NoneType, types.Omitted)) or z == x.dtype:
            return lambda x, j, z: x[j]
        conv = np.dtype(str(z)).type
        return lambda x, j, z: conv(x[j])
    return lambda x, j, z: x


KERNELS: dict = {}      # cache stem of a per-element kernel -> its Numba dispatcher


def registered_kernel(key: str):
    """The Numba dispatcher a driver module calls per element (registered before its import)."""
    return KERNELS[key]
