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


@composite(np.var)
def var(a, axis=None, ddof=0, keepdims=False):
    d = a - np.mean(a, axis, keepdims=True)
    if axis is None:
        n = a.size
    else:
        n = a.shape[axis]
    return np.sum(d * d, axis, keepdims=keepdims) / (n - ddof)


@composite(np.std)
def std(a, axis=None, ddof=0, keepdims=False):
    return np.sqrt(np.var(a, axis, ddof=ddof, keepdims=keepdims))


@composite(np.average)
def average(a, axis=None):
    return np.mean(a, axis)


@composite(np.square)
def square(x):
    return x * x


@composite(np.clip)
def clip(a, a_min, a_max):
    return np.minimum(np.maximum(a, a_min), a_max)


@composite(np.outer)
def outer(a, b):
    return np.expand_dims(np.reshape(a, (a.size,)), 1) * np.expand_dims(np.reshape(b, (b.size,)), 0)


@composite(np.logaddexp)
def logaddexp(a, b):
    m = np.maximum(a, b)
    return m + np.log(np.exp(a - m) + np.exp(b - m))


@composite(np.add)
def add(a, b):
    return a + b


@composite(np.subtract)
def subtract(a, b):
    return a - b


@composite(np.multiply)
def multiply(a, b):
    return a * b


@composite(np.divide, np.true_divide)
def divide(a, b):
    return a / b


@composite(np.power)
def power(a, b):
    return a ** b


@composite(np.negative)
def negative(a):
    return -a


@composite(np.matmul)
def matmul(a, b):
    return a @ b


@composite(np.trace)
def trace(a):
    s = 0.0
    for i in range(min(a.shape[0], a.shape[1])):
        s += a[i, i]
    return s


@composite(np.diag)
def diag(v):
    if v.ndim == 1:                 # a vector: the square matrix with it on the diagonal
        n = v.shape[0]
        m = np.zeros((n, n))
        for i in range(n):
            m[i, i] = v[i]
        return m
    n = min(v.shape[0], v.shape[1])     # a matrix: its diagonal
    d = np.zeros(n)
    for i in range(n):
        d[i] = v[i, i]
    return d


@composite(np.cross)
def cross(a, b):
    """3-vectors, or rows of 3-vectors (two (n, 3) arrays)."""
    assert a.ndim == b.ndim, "np.cross: both arguments 3-vectors, or both (n, 3) arrays of them"
    if a.ndim == 1:
        return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])
    out = np.empty((a.shape[0], 3))
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


@composite(np.max, np.amax)
def max_(a, axis=None, keepdims=False):
    return _extremum(a, axis, keepdims, True)


@composite(np.min, np.amin)
def min_(a, axis=None, keepdims=False):
    return _extremum(a, axis, keepdims, False)


def _extremum(a, axis, keepdims, largest):
    """np.max/np.min along an axis of a 1-D or 2-D array: the whole-array reduction row by row."""
    if axis is None or a.ndim == 1:
        if largest:
            m = np.max(a)
        else:
            m = np.min(a)
    else:
        rows = a
        if axis == 0 or axis == -2:
            rows = a.T
        m = np.empty(rows.shape[0])
        for i in range(rows.shape[0]):
            if largest:
                m[i] = np.max(rows[i])
            else:
                m[i] = np.min(rows[i])
    if keepdims:
        m = _keep(m, a, axis)
    return m


@composite(np.ravel)
def ravel(a):
    """np.ravel, x.ravel(), x.flatten(): the elements in C order, a new 1-D array."""
    return np.reshape(a, (a.size,))


@composite(np.take)
def take(a, indices, axis=None):
    """`a[indices]` / np.take for a 1-D integer array of indices: elements of a 1-D `a` (or of
    the flattened `a` when axis is None), rows of a 2-D `a` with axis=0, columns with axis=1.
    A gather written as a loop: its adjoint adds each output's adjoint into the element it was
    read from, so repeated indices accumulate (np.add.at's semantics)."""
    if a.ndim == 1:
        return _take_elements(a, indices)
    if axis is None:
        return _take_elements(np.reshape(a, (a.size,)), indices)
    if axis == 1 or axis == -1:
        return _take_rows(a.T, indices).T
    return _take_rows(a, indices)


def _take_elements(a, indices):
    out = np.empty(indices.shape[0])
    for k in range(indices.shape[0]):
        out[k] = a[indices[k]]
    return out


def take_pairs(a, rows, cols):
    """`a[rows, cols]` for two 1-D integer arrays of the same length (a[np.arange(n), labels])."""
    assert rows.shape[0] == cols.shape[0]
    out = np.empty(rows.shape[0])
    for k in range(rows.shape[0]):
        out[k] = a[rows[k], cols[k]]
    return out


def _take_rows(a, indices):
    out = np.empty((indices.shape[0], a.shape[1]))
    for k in range(indices.shape[0]):
        out[k, :] = a[indices[k], :]
    return out


@composite(np.linalg.norm)
def linalg_norm(x, ord=None, axis=None, keepdims=False):
    """The 2-norm (Frobenius for a whole matrix) with axis= and keepdims=: the whole-array
    rule, row by row (0 at a zero row: the subgradient of smallest norm)."""
    assert ord is None or (ord == 2 and (x.ndim == 1 or axis is not None)), \
        "np.linalg.norm: only the 2-norm of vectors (ord=None or 2) and the Frobenius norm have a derivative here"
    if axis is None or x.ndim == 1:
        n = np.linalg.norm(x)
    else:
        rows = x
        if axis == 0 or axis == -2:
            rows = x.T
        n = np.empty(rows.shape[0])
        for i in range(rows.shape[0]):
            n[i] = np.linalg.norm(rows[i])
    if keepdims:
        n = _keep(n, x, axis)
    return n
