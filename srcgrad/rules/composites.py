"""NumPy's and math's function surface written as plain Python over srcgrad's primitives.

A call that no primitive rule matches exactly (by its number of positional arguments, without
keywords) is inlined from here like a user's helper: keywords and defaults bind as in Python,
and branches on static values (`if axis is None:`, `if keepdims:`, `x.ndim`) are resolved while
the derivative is generated, so the generated code holds only the primitives the call needs.
A composite must itself be in srcgrad's subset; it needs no derivative of its own.
"""
import math

import numpy as np

from .registry import composite


@composite(math.log)
def log(x, base=math.e):
    return math.log(x) / math.log(base)


@composite(np.mean)
def mean(a, axis=None, keepdims=False):
    if axis is None:
        m = np.sum(a) / a.size
    else:
        m = np.sum(a, axis) / a.shape[axis]
    if keepdims:
        m = _keep(m, a, axis)
    return m


@composite(np.sum)
def sum_(a, axis=None, keepdims=False):
    if axis is None:
        s = np.sum(a)
    else:
        s = np.sum(a, axis)
    if keepdims:
        s = _keep(s, a, axis)
    return s


def _keep(r, a, axis):
    """A reduction's result with the reduced axes kept as length 1 (keepdims=True)."""
    if axis is None or a.ndim == 1:
        return np.zeros((1,) * a.ndim) + r
    return np.expand_dims(r, axis)
