"""NumPy's and math's function surface written as plain Python over srcgrad's primitives.

A call that no primitive rule matches exactly (by its number of positional arguments, without
keywords) is inlined from here like a user's helper: keywords and defaults bind as in Python,
and branches on static values (`if axis is None:`, `if keepdims:`, `x.ndim`) are resolved while
the derivative is generated, so the generated code holds only the primitives the call needs.
A composite must itself be in srcgrad's subset; it needs no derivative of its own.
"""
import math

import numpy as np

from .. import runtime as _rt
from .registry import composite


@composite(math.log)
def log(x, base=math.e):
    return math.log(x) / math.log(base)


def _one_axis(a, axis):
    """`axis` as None (all axes) or one integer: a tuple naming every axis is all of them, a
    tuple of one is that one (NumPy's axis=(0, 1) of a matrix)."""
    if isinstance(axis, tuple):
        assert len(axis) == 1 or len(axis) == a.ndim, \
            "a reduction over a tuple of some of the axes (give one axis, or all of them)"
        if len(axis) == 1:
            return axis[0]
        return None
    return axis


@composite(np.mean)
def mean(a, axis=None, keepdims=False):
    axis = _one_axis(a, axis)
    if axis is None:
        m = np.sum(a) / a.size
    else:
        m = np.sum(a, axis) / a.shape[axis]
    if keepdims:
        m = _keep(m, a, axis)
    return m


@composite(np.sum)
def sum_(a, axis=None, keepdims=False):
    axis = _one_axis(a, axis)
    if axis is None:
        s = np.sum(a)
    else:
        s = np.sum(a, axis)
    if keepdims:
        s = _keep(s, a, axis)
    return s


@composite(np.nansum)
def nansum(a, axis=None, keepdims=False):
    """np.sum counting NaNs as 0: a NaN element gets no adjoint (NumPy's value, and its
    derivative where it has one)."""
    return np.sum(np.where(np.isnan(a), 0.0, a), axis=axis, keepdims=keepdims)


@composite(np.nanmean)
def nanmean(a, axis=None, keepdims=False):
    """The mean of the elements that are not NaN (NaN where all are, as NumPy's, which warns)."""
    counted = np.sum(np.where(np.isnan(a), 0.0, 1.0), axis=axis, keepdims=keepdims)
    return np.sum(np.where(np.isnan(a), 0.0, a), axis=axis, keepdims=keepdims) / counted


def _rows_along(a, axis):
    """A matrix whose rows are the lines of the 2-D array `a` along `axis` (its columns for
    axis 0): a reduction along an axis is the whole-array reduction of each row."""
    if axis == 0 or axis == -2:
        return a.T
    return a


def _keep(r, a, axis):
    """A reduction's result with the reduced axes kept as length 1 (keepdims=True)."""
    if axis is None or a.ndim == 1:
        if a.ndim == 2:
            return np.zeros((1, 1)) + r
        return np.zeros((1,) * a.ndim) + r
    return np.expand_dims(r, axis)


@composite(np.var)
def var(a, axis=None, ddof=0, keepdims=False):
    axis = _one_axis(a, axis)
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
def average(a, axis=None, weights=None):
    """np.average; `weights` of a's shape (or, along `axis` of a 2-D array, a 1-D one of that
    axis' length, as NumPy broadcasts it)."""
    if weights is None:
        return np.mean(a, axis)
    if axis is None:
        return np.sum(a * weights) / np.sum(weights)
    w = weights
    if a.ndim == 2 and weights.ndim == 1:
        if axis == 0 or axis == -2:
            w = np.expand_dims(weights, 1)
        else:
            w = np.expand_dims(weights, 0)
    return np.sum(a * w, axis) / np.sum(w * np.ones_like(a), axis)


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
    axis = _one_axis(a, axis)
    assert axis is None or a.ndim <= 2, "np.max/np.min along an axis of an array of more than 2 dimensions"
    if axis is None or a.ndim == 1:
        if largest:
            m = np.max(a)
        else:
            m = np.min(a)
    else:
        rows = _rows_along(a, axis)
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


@composite(np.linalg.slogdet)
def slogdet(a):
    """(sign, log|det|) of one square matrix: the sign has no derivative (srcgrad/rules/linalg.py)."""
    return _rt.det_sign(a), _rt.logabsdet(a)


@composite(np.linalg.norm)
def linalg_norm(x, ord=None, axis=None, keepdims=False):
    """The 2-norm (Frobenius for a whole matrix) with axis= and keepdims=: the whole-array
    rule, row by row (0 at a zero row: the subgradient of smallest norm)."""
    if isinstance(axis, tuple):     # two axes: a matrix norm (Frobenius by default)
        assert len(axis) == x.ndim and ord is None, \
            "np.linalg.norm over a tuple of axes: only the Frobenius norm (ord=None) of a whole matrix"
        axis = None
    assert ord is None or (ord == 2 and (x.ndim == 1 or axis is not None)), \
        "np.linalg.norm: only the 2-norm of vectors (ord=None or 2) and the Frobenius norm have a derivative here"
    assert axis is None or x.ndim <= 2, "np.linalg.norm along an axis of an array of more than 2 dimensions"
    if axis is None or x.ndim == 1:
        n = np.linalg.norm(x)
    else:
        rows = _rows_along(x, axis)
        n = np.empty(rows.shape[0])
        for i in range(rows.shape[0]):
            n[i] = np.linalg.norm(rows[i])
    if keepdims:
        n = _keep(n, x, axis)
    return n

# ---------------------------------------------------------------- assembly (issue 23)
# Shifts, differences, joins, triangles and flips of 1-D and 2-D arrays, written as slice reads
# of the arguments and slice writes into a new array (the adjoint of a write reads the same slice
# back).  Shifts, counts and axes must be numbers known while the derivative is generated when
# they choose a branch (axis=, n=); a tuple of arrays (np.concatenate((x, y))) is unrolled, since
# a tuple of arrays of different shapes cannot be indexed by a loop variable.

def _axis(a, axis):
    """A non-negative axis of `a` (axis=-1 is the last)."""
    if axis < 0:
        return axis + a.ndim
    return axis


@composite(np.roll)
def roll(a, shift, axis=None):
    assert a.ndim <= 2, "np.roll of an array of more than 2 dimensions"
    if isinstance(axis, tuple):         # np.roll(A, (1, 2), axis=(0, 1)): one axis after the other
        assert isinstance(shift, tuple), "np.roll with a tuple of axes and one shift"
        assert len(shift) == len(axis) and len(axis) <= 2, "np.roll with a tuple of axes and not as many shifts"
        out = _roll(a, shift[0], _axis(a, axis[0]))
        if len(axis) == 2:
            out = _roll(out, shift[1], _axis(a, axis[1]))
        return out
    assert not isinstance(shift, tuple), "np.roll with a tuple of shifts and one axis"
    if axis is None:
        if a.ndim == 1:
            return _roll(a, shift, 0)
        return np.reshape(_roll(np.reshape(a, (a.size,)), shift, 0), a.shape)
    return _roll(a, shift, _axis(a, axis))


def _roll(a, shift, axis):
    """np.roll of a 1-D or 2-D array along one (non-negative, static) axis."""
    n = a.shape[axis]
    k = shift % n if n > 0 else 0       # Python's %: a shift of -1 is a shift of n - 1
    out = np.empty(a.shape)
    if axis == 0:
        out[k:] = a[:n - k]
        out[:k] = a[n - k:]
    else:
        out[:, k:] = a[:, :n - k]
        out[:, :k] = a[:, n - k:]
    return out


@composite(np.diff)
def diff(a, n=1, axis=-1):
    assert a.ndim <= 2, "np.diff of an array of more than 2 dimensions"
    assert n <= 4, "np.diff with n > 4"
    ax = _axis(a, axis)
    d = a
    # unrolled, not `for _ in range(n)`: the reverse sweep of a loop-carried array whose shape
    # changes each trip reads the adjoint at the last trip's shape
    if n >= 1:
        d = _diff1(d, ax)
    if n >= 2:
        d = _diff1(d, ax)
    if n >= 3:
        d = _diff1(d, ax)
    if n >= 4:
        d = _diff1(d, ax)
    return d


def _diff1(a, axis):
    if axis == 0:
        return a[1:] - a[:-1]
    return a[:, 1:] - a[:, :-1]


@composite(np.concatenate)
def concatenate(arrays, axis=0):
    assert isinstance(arrays, tuple), "np.concatenate of one array (pass a tuple or list of arrays)"
    first = _asarray(arrays[0])
    assert first.ndim <= 2, "np.concatenate of arrays of more than 2 dimensions"
    return _join(arrays, axis, False)


@composite(np.stack)
def stack(arrays, axis=0):
    assert isinstance(arrays, tuple), "np.stack of one array (pass a tuple or list of arrays)"
    first = _asarray(arrays[0])
    assert first.ndim <= 1, "np.stack of arrays of more than 1 dimension"
    return _join(arrays, axis, True)


@composite(np.hstack)
def hstack(tup):
    assert isinstance(tup, tuple), "np.hstack of one array (pass a tuple or list of arrays)"
    first = _asarray(tup[0])
    assert first.ndim <= 2, "np.hstack of arrays of more than 2 dimensions"
    if first.ndim == 1:
        return _join(tup, 0, False)
    return _join(tup, 1, False)


@composite(np.vstack)
def vstack(tup):
    assert isinstance(tup, tuple), "np.vstack of one array (pass a tuple or list of arrays)"
    first = _asarray(tup[0])
    assert first.ndim <= 2, "np.vstack of arrays of more than 2 dimensions"
    if first.ndim == 1:
        return _join(tup, 0, True)
    return _join(tup, 0, False)


@composite(np.column_stack)
def column_stack(tup):
    assert isinstance(tup, tuple), "np.column_stack of one array (pass a tuple or list of arrays)"
    first = _asarray(tup[0])
    assert first.ndim <= 2, "np.column_stack of arrays of more than 2 dimensions"
    if first.ndim == 1:
        return _join(tup, 1, True)
    return _join(tup, 1, False)


@composite(np.append)
def append(arr, values, axis=None):
    if axis is None:
        return _join((arr, values), None, False)
    return _join((arr, values), axis, False)


@composite(np.ediff1d)
def ediff1d(ary):
    return _diff1(np.reshape(ary, (ary.size,)), 0)


def _join(arrays, axis, new_axis):
    """The arrays of a tuple joined along `axis` (a new axis for np.stack; flattened for
    axis=None), two at a time: the tuple's length is known while lowering, and each piece is
    read by a constant index."""
    assert len(arrays) <= 8, "joining more than 8 arrays"
    out = _piece(arrays[0], axis, new_axis)
    if len(arrays) >= 2:
        out = _cat2(out, _piece(arrays[1], axis, new_axis), axis)
    if len(arrays) >= 3:
        out = _cat2(out, _piece(arrays[2], axis, new_axis), axis)
    if len(arrays) >= 4:
        out = _cat2(out, _piece(arrays[3], axis, new_axis), axis)
    if len(arrays) >= 5:
        out = _cat2(out, _piece(arrays[4], axis, new_axis), axis)
    if len(arrays) >= 6:
        out = _cat2(out, _piece(arrays[5], axis, new_axis), axis)
    if len(arrays) >= 7:
        out = _cat2(out, _piece(arrays[6], axis, new_axis), axis)
    if len(arrays) >= 8:
        out = _cat2(out, _piece(arrays[7], axis, new_axis), axis)
    if len(arrays) == 1:
        out = out + 0.0         # NumPy returns a new array
    return out


def _asarray(a):
    """A list of numbers written in the call ([0.0] in np.concatenate(([0.0], x))) as an array."""
    assert not isinstance(a, float) and not isinstance(a, int), "joining a number with arrays (pass arrays)"
    if isinstance(a, tuple):
        return np.array(a)
    return a


def _piece(a, axis, new_axis):
    a = _asarray(a)
    if axis is None:
        return np.reshape(a, (a.size,))
    if new_axis:
        assert a.ndim == 1, "np.stack/np.vstack/np.column_stack of arrays of more than 1 dimension"
        return np.expand_dims(a, axis)
    assert a.ndim <= 2, "joining arrays of more than 2 dimensions"
    return a


def _cat2(a, b, axis):
    """Two 1-D or 2-D arrays joined along an existing axis."""
    assert a.ndim == b.ndim, "joining arrays with different numbers of dimensions"
    if axis is None:
        axis = 0
    axis = _axis(a, axis)
    if a.ndim == 1:
        out = np.empty(a.shape[0] + b.shape[0])
        out[:a.shape[0]] = a
        out[a.shape[0]:] = b
    elif axis == 0:
        out = np.empty((a.shape[0] + b.shape[0], a.shape[1]))
        out[:a.shape[0]] = a
        out[a.shape[0]:] = b
    else:
        out = np.empty((a.shape[0], a.shape[1] + b.shape[1]))
        out[:, :a.shape[1]] = a
        out[:, a.shape[1]:] = b
    return out


@composite(np.triu)
def triu(m, k=0):
    assert m.ndim == 2, "np.triu of an array that is not 2-D"
    out = np.zeros((m.shape[0], m.shape[1]))
    for i in range(m.shape[0]):
        j0 = min(max(i + k, 0), m.shape[1])     # row i keeps columns j >= i + k
        out[i, j0:] = m[i, j0:]
    return out


@composite(np.tril)
def tril(m, k=0):
    assert m.ndim == 2, "np.tril of an array that is not 2-D"
    out = np.zeros((m.shape[0], m.shape[1]))
    for i in range(m.shape[0]):
        j1 = min(max(i + k + 1, 0), m.shape[1])     # row i keeps columns j <= i + k
        out[i, :j1] = m[i, :j1]
    return out


@composite(np.flip)
def flip(m, axis=None):
    assert m.ndim <= 2, "np.flip of an array of more than 2 dimensions"
    if m.ndim == 1:
        return m[::-1]
    if axis is None:
        return m[::-1, ::-1]
    if _axis(m, axis) == 0:
        return m[::-1]
    return m[:, ::-1]


@composite(np.fliplr)
def fliplr(m):
    assert m.ndim == 2, "np.fliplr of an array that is not 2-D"
    return m[:, ::-1]


@composite(np.flipud)
def flipud(m):
    assert m.ndim <= 2, "np.flipud of an array of more than 2 dimensions"
    return m[::-1]


@composite(np.tile)
def tile(a, reps):
    assert a.ndim <= 2, "np.tile of an array of more than 2 dimensions"
    if isinstance(reps, tuple):         # (rows, columns): blocks of the array as a 2-D one
        assert len(reps) <= 2, "np.tile with more than 2 reps"
        if len(reps) == 1:
            return _tile(a, reps[0])
        b = a
        if a.ndim == 1:
            b = np.expand_dims(a, 0)
        m = b.shape[0]
        n = b.shape[1]
        out = np.empty((m * reps[0], n * reps[1]))
        for i in range(reps[0]):
            for j in range(reps[1]):
                out[i * m:(i + 1) * m, j * n:(j + 1) * n] = b
        return out
    return _tile(a, reps)


def _tile(a, reps):
    """np.tile with one integer count: copies along the last axis."""
    n = a.shape[a.ndim - 1]
    if a.ndim == 1:
        out = np.empty(n * reps)
    else:
        out = np.empty((a.shape[0], n * reps))
    for r in range(reps):               # copy r along the last axis
        if a.ndim == 1:
            out[r * n:(r + 1) * n] = a
        else:
            out[:, r * n:(r + 1) * n] = a
    return out


@composite(np.repeat)
def repeat(a, repeats, axis=None):
    assert a.ndim <= 2, "np.repeat of an array of more than 2 dimensions"
    if axis is None:
        a = np.reshape(a, (a.size,))
        axis = 0
    if isinstance(repeats, tuple):
        return _repeat_each(a, repeats, _axis(a, axis))
    return _repeat(a, repeats, _axis(a, axis))


def _repeat_each(a, repeats, axis):
    """np.repeat with one count per element (a list written in the call), element by element."""
    counts = np.array(repeats)
    assert counts.shape[0] == a.shape[axis]     # NumPy's ValueError; Numba would read past the end
    total = 0
    for i in range(counts.shape[0]):
        total += counts[i]
    if a.ndim == 1:
        out = np.empty(total)
    elif axis == 0:
        out = np.empty((total, a.shape[1]))
    else:
        out = np.empty((a.shape[0], total))
    pos = 0
    for i in range(counts.shape[0]):
        for r in range(counts[i]):
            if axis == 0:
                out[pos] = a[i]
            else:
                out[:, pos] = a[:, i]
            pos += 1
    return out


def _repeat(a, repeats, axis):
    n = a.shape[axis]
    if a.ndim == 1:
        out = np.empty(n * repeats)
    elif axis == 0:
        out = np.empty((n * repeats, a.shape[1]))
    else:
        out = np.empty((a.shape[0], n * repeats))
    for r in range(repeats):            # copy r of every element: positions r, r + repeats, ...
        if axis == 0:
            out[r::repeats] = a
        else:
            out[:, r::repeats] = a
    return out


@composite(np.kron)
def kron(a, b):
    assert a.ndim == b.ndim and a.ndim <= 2, "np.kron of arrays other than two 1-D or two 2-D arrays"
    if a.ndim == 1:
        p = b.shape[0]
        out = np.empty(a.shape[0] * p)
        for i in range(a.shape[0]):
            out[i * p:(i + 1) * p] = a[i] * b
        return out
    p = b.shape[0]
    q = b.shape[1]
    out = np.empty((a.shape[0] * p, a.shape[1] * q))
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i * p:(i + 1) * p, j * q:(j + 1) * q] = a[i, j] * b
    return out


# np.einsum: the common contractions, each a plain function over primitives, looked up by the
# subscripts (spaces removed, the implicit output written out as NumPy defines it).  The
# lowering reads the subscripts, which must be a string literal, and inlines the function.
def _es_sum(a):
    return np.sum(a)


def _es_copy(a):
    return a * 1.0


def _es_transpose(a):
    return a.T * 1.0


def _es_trace(a):
    return np.trace(a)


def _es_diag(a):
    return np.diag(a)


def _es_rows(a):
    return np.sum(a, axis=1)


def _es_cols(a):
    return np.sum(a, axis=0)


def _es_product(a, b):
    return a @ b


def _es_product_bt(a, b):
    return a @ b.T


def _es_product_at(a, b):
    return a.T @ b


def _es_dot(a, b):
    return np.sum(a * b)


def _es_row_dots(a, b):
    return np.sum(a * b, axis=1)


def _es_outer(a, b):
    return np.outer(a, b)


def _es_elementwise(a, b):
    return a * b


def _es_bilinear(x, a, y):
    return x @ (a @ y)


EINSUM = {
    "i->": _es_sum, "ij->": _es_sum, "i->i": _es_copy, "ij->ij": _es_copy, "ij->ji": _es_transpose,
    "ii->": _es_trace, "ii->i": _es_diag, "ij->i": _es_rows, "ij->j": _es_cols,
    "ij,jk->ik": _es_product, "ij,j->i": _es_product, "i,ij->j": _es_product, "ij,kj->ik": _es_product_bt,
    "ij,ik->jk": _es_product_at, "i,i->": _es_dot, "ij,ij->": _es_dot, "ij,ij->i": _es_row_dots,
    "i,j->ij": _es_outer, "i,i->i": _es_elementwise, "ij,ij->ij": _es_elementwise, "i,ij,j->": _es_bilinear,
}


def einsum_subscripts(spec: str) -> str:
    """`spec` without spaces and with NumPy's implicit output made explicit ('ij,jk' -> 'ij,jk->ik':
    the letters that appear once, in alphabetical order)."""
    spec = spec.replace(" ", "")
    if "->" in spec:
        return spec
    letters = spec.replace(",", "")
    return spec + "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))


# ---- aliases and small functions of real arrays (issue 23).  NumPy 2's names (np.trapezoid,
# np.linalg.vector_norm, ...) are looked up with getattr: absent from NumPy 1.x, they are skipped.

@composite(np.mod, np.remainder)
def mod(a, b):
    return a % b            # Python's % is NumPy's remainder: the sign of the divisor


@composite(np.floor_divide)
def floor_divide(a, b):
    return a // b


@composite(np.real, np.conj, np.conjugate)
def real(a):
    """The real part, or the conjugate, of a real value: the value itself."""
    return a


@composite(np.copy)
def copy(a):
    return a.copy()


@composite(np.vdot)
def vdot(a, b):
    """The dot product of the flattened arrays (real)."""
    return np.sum(a * b)


@composite(np.inner)
def inner(a, b):
    """Sum over the last axes: a dot product of vectors, a @ b.T of matrices."""
    if a.ndim == 1 and b.ndim == 1:
        return np.dot(a, b)
    if b.ndim == 1:
        return a @ b
    if a.ndim == 1:
        return b @ a
    return a @ b.T


@composite(np.swapaxes)
def swapaxes(a, axis1, axis2):
    assert a.ndim == 2, "np.swapaxes/np.moveaxis of an array that is not 2-D"
    if _axis(a, axis1) == _axis(a, axis2):
        return a
    return a.T


@composite(np.moveaxis)
def moveaxis(a, source, destination):
    """Of a 2-D array: swapaxes (moving an axis of two is swapping them)."""
    return swapaxes(a, source, destination)


@composite(getattr(np, "matrix_transpose", None), getattr(np.linalg, "matrix_transpose", None))
def matrix_transpose(a):
    assert a.ndim == 2, "a matrix transpose of an array that is not 2-D"
    return a.T


@composite(np.diagonal, getattr(np.linalg, "diagonal", None))
def diagonal(a):
    assert a.ndim == 2, "np.diagonal of an array that is not 2-D"
    return np.diag(a)


@composite(getattr(np.linalg, "outer", None))
def linalg_outer(a, b):
    return np.outer(a, b)


@composite(getattr(np.linalg, "matmul", None))
def linalg_matmul(a, b):
    return a @ b


@composite(getattr(np.linalg, "trace", None))
def linalg_trace(a):
    return np.trace(a)


@composite(getattr(np.linalg, "cross", None))
def linalg_cross(a, b):
    return np.cross(a, b)


@composite(getattr(np.linalg, "vector_norm", None))
def vector_norm(x):
    """The 2-norm of all of x's elements (NumPy's defaults: ord=2, axis=None)."""
    return np.linalg.norm(x)


@composite(getattr(np.linalg, "matrix_norm", None))
def matrix_norm(x):
    """The Frobenius norm (NumPy's default, ord='fro')."""
    assert x.ndim == 2, "np.linalg.matrix_norm of an array that is not 2-D"
    return np.linalg.norm(x)


@composite(np.ptp)
def ptp(a, axis=None, keepdims=False):
    return np.max(a, axis, keepdims=keepdims) - np.min(a, axis, keepdims=keepdims)


@composite(getattr(np, "trapezoid", None))
def trapezoid(y, x=None, dx=1.0):
    """The trapezoidal rule over a 1-D y (with sample points x, or a spacing dx)."""
    assert y.ndim == 1, "np.trapezoid of an array that is not 1-D"
    if x is None:
        return dx * (np.sum(y) - 0.5 * (y[0] + y[-1]))
    return 0.5 * np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]))


@composite(np.polyval)
def polyval(p, x):
    """Horner's rule: p[0] x^(n-1) + ... + p[n-1] (x a number or an array)."""
    r = p[0] + 0.0 * x
    for i in range(1, p.shape[0]):
        r = r * x + p[i]
    return r


@composite(np.cumprod)
def cumprod(a):
    """Running products of the flattened array (exact at zeros: no division)."""
    flat = np.reshape(a, (a.size,))
    out = np.empty(a.size)
    acc = 1.0
    for i in range(a.size):
        acc = acc * flat[i]
        out[i] = acc
    return out


@composite(np.linalg.matrix_power)
def matrix_power(a, n):
    """a @ a @ ... (n a constant integer; a negative n powers the inverse)."""
    assert a.ndim == 2, "np.linalg.matrix_power of an array that is not 2-D"
    if n == 0:
        return np.eye(a.shape[0])
    m = a
    k = n
    if n < 0:
        m = np.linalg.inv(a)
        k = -n
    r = m
    for _ in range(k - 1):
        r = r @ m
    return r


@composite(np.linalg.multi_dot)
def multi_dot(arrays):
    """The product of a tuple or list of up to 6 arrays written in the call, left to right."""
    assert isinstance(arrays, tuple), "np.linalg.multi_dot of one array (pass a list of arrays)"
    assert 2 <= len(arrays) <= 6, "np.linalg.multi_dot of 2 to 6 arrays"
    r = np.dot(arrays[0], arrays[1])
    if len(arrays) >= 3:
        r = np.dot(r, arrays[2])
    if len(arrays) >= 4:
        r = np.dot(r, arrays[3])
    if len(arrays) >= 5:
        r = np.dot(r, arrays[4])
    if len(arrays) >= 6:
        r = np.dot(r, arrays[5])
    return r


@composite(getattr(np, "cumulative_sum", None))
def cumulative_sum(x):
    """NumPy 2's np.cumulative_sum of a 1-D array (no include_initial): np.cumsum."""
    assert x.ndim == 1, "np.cumulative_sum of an array that is not 1-D"
    return np.cumsum(x)


@composite(getattr(np, "cumulative_prod", None))
def cumulative_prod(x):
    assert x.ndim == 1, "np.cumulative_prod of an array that is not 1-D"
    return np.cumprod(x)


@composite(np.fix)
def fix(x):
    """Rounding toward zero: np.trunc (no derivative; Numba has no np.fix)."""
    return np.trunc(x)


@composite(np.cumsum)
def cumsum(a, axis=None):
    """np.cumsum with axis= of a 2-D array: the flat running sum row by row (or column by
    column); without an axis, of the flattened array."""
    if axis is None or a.ndim == 1:
        return np.cumsum(a)
    assert a.ndim == 2, "np.cumsum along an axis of an array of more than 2 dimensions"
    rows = _rows_along(a, axis)
    out = np.empty((rows.shape[0], rows.shape[1]))
    for i in range(rows.shape[0]):
        out[i, :] = np.cumsum(rows[i])
    return _rows_along(out, axis)       # back to a's layout (the transpose is its own inverse)

