"""The only helpers generated code may call (besides math and numpy).

Every helper works twice: as plain Python (so rule functions and tests can call it on floats
and arrays) and inside Numba, where an `@overload` picks a specialised body from the argument
types at compile time.  This is what lets one generated source serve scalars and arrays: the
type dispatch happens in Numba's compiler, not in srcgrad.
"""
from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import intrinsic, overload, register_jitable


def _is_array(t):
    return isinstance(t, types.Array)


# ---------------------------------------------------------------- elementwise helpers

def sign(x):
    """Derivative of abs: -1, 0 (at 0, by convention) or 1; NaN stays NaN."""
    if isinstance(x, np.ndarray):
        return np.sign(x).astype(np.result_type(x.dtype, np.float32))
    return 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else x))


@overload(sign)
def _sign(x):
    if _is_array(x):
        return lambda x: np.sign(x) * 1.0
    return lambda x: 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else x))


def indicator(b):
    """1.0 where `b` is true, else 0.0 (the routing factor of max/min/where)."""
    if isinstance(b, np.ndarray):
        return b.astype(np.float64)
    return 1.0 if b else 0.0


@overload(indicator)
def _indicator(b):
    if _is_array(b):
        return lambda b: b.astype(np.float64)
    return lambda b: 1.0 if b else 0.0


def where(c, x, y):
    """np.where(c, x, y); of three numbers it is a number (NumPy and Numba give a 0-d array)."""
    if isinstance(c, np.ndarray) or isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.where(c, x, y)
    return x if c else y


@overload(where)
def _where(c, x, y):
    if _is_array(c) or _is_array(x) or _is_array(y):
        return lambda c, x, y: np.where(c, x, y)
    return lambda c, x, y: x if c else y


def seed_array(seed, like):
    """The adjoint seed of an array result: a float copy of the cotangent `seed` (srcgrad adds
    into adjoints in place), or zeros when `seed` does not have the result's shape (the call
    that computes only the value passes an empty one)."""
    if np.shape(seed) != np.shape(like):
        return np.zeros(np.shape(like))
    return np.array(seed, dtype=np.float64)


@overload(seed_array)
def _seed_array(seed, like):
    def impl(seed, like):
        if seed.shape != like.shape:
            return np.zeros(like.shape)
        return np.copy(seed).astype(np.float64)
    return impl


def select_grad(g, x, out):
    """Adjoint of np.max(x) / np.min(x): g to the elements equal to the result, shared equally."""
    mask = (np.asarray(x) == out).astype(np.float64)
    return mask * (g / mask.sum())


@overload(select_grad)
def _select_grad(g, x, out):
    def impl(g, x, out):
        xf = x.ravel()
        r = np.zeros(xf.size)
        n = 0
        for i in range(xf.size):
            if xf[i] == out:
                r[i] = 1.0
                n += 1
        return (r * (g / n)).reshape(x.shape)
    return impl


def add_select_grad(acc, g, x, out):
    """`acc += select_grad(g, x, out)` (passes/first.py writes the adjoint's accumulation so):
    added in place, without the array of zeros holding g at the selected elements."""
    acc += select_grad(g, x, out)


@overload(add_select_grad)
def _add_select_grad(acc, g, x, out):
    if _is_array(acc) and _is_array(x) and acc.ndim == 1 and x.ndim == 1 and not _is_array(g):
        def impl(acc, g, x, out):
            if acc.shape[0] != x.shape[0] or not np.isfinite(g):   # 0 * inf: as select_grad
                acc += select_grad(g, x, out)
                return
            n, first = 0, 0
            for i in range(x.shape[0]):
                if x[i] == out:
                    if n == 0:
                        first = i
                    n += 1
            if n == 0:                          # out is nan: g / 0 to every element, as select_grad
                acc += select_grad(g, x, out)
                return
            share = g / n
            for i in range(first, x.shape[0]):
                if x[i] == out:
                    acc[i] += share
        return impl

    def impl(acc, g, x, out):
        acc += select_grad(g, x, out)
    return impl


def prod_grad(g, x):
    """Adjoint of np.prod(x): g times the product of the other elements (prefix and suffix
    products, so a zero element gets the product of the rest, not 0/0)."""
    xf = np.asarray(x, dtype=np.float64).ravel()
    n = xf.size
    left, right = np.ones(n), np.ones(n)
    for i in range(1, n):
        left[i] = left[i - 1] * xf[i - 1]
        right[n - 1 - i] = right[n - i] * xf[n - i]
    return (g * left * right).reshape(np.shape(x))


@overload(prod_grad)
def _prod_grad(g, x):
    def impl(g, x):
        xf = x.ravel()
        n = xf.size
        left, right = np.ones(n), np.ones(n)
        for i in range(1, n):
            left[i] = left[i - 1] * xf[i - 1]
            right[n - 1 - i] = right[n - i] * xf[n - i]
        return (g * left * right).reshape(x.shape)
    return impl


def cumsum_grad(g, x):
    """Adjoint of np.cumsum(x): the reversed running sum of g, in x's shape."""
    return np.cumsum(g[::-1])[::-1].reshape(np.shape(x))


@overload(cumsum_grad)
def _cumsum_grad(g, x):
    def impl(g, x):
        n = g.size
        r = np.empty(n)
        acc = 0.0
        for i in range(n - 1, -1, -1):
            acc += g[i]
            r[i] = acc
        return r.reshape(x.shape)
    return impl


def norm(x):
    """np.linalg.norm(x) with no other argument: the 2-norm of all the elements (Frobenius for
    a matrix), for any number of dimensions (Numba's takes 1-D and 2-D arrays only)."""
    return np.linalg.norm(x)


@overload(norm)
def _norm(x):
    if _is_array(x) and x.ndim > 2:
        return lambda x: np.linalg.norm(np.ascontiguousarray(x).reshape(x.size))
    return lambda x: np.linalg.norm(x)


def norm_grad(g, x, out):
    """Adjoint of np.linalg.norm(x) (2-norm, Frobenius for matrices): g x / out, 0 at x == 0."""
    return np.zeros(np.shape(x)) if out == 0 else g * np.asarray(x) / out


@overload(norm_grad)
def _norm_grad(g, x, out):
    def impl(g, x, out):
        if out == 0:
            return np.zeros(x.shape)
        return x * (g / out)
    return impl


def pow_dx(x, y):
    """Partial of x ** y w.r.t. x: y * x ** (y - 1), with the limit 0 where y == 0 (x ** 0 is
    1 around x = 0, where the formula would give 0 * inf).  Generated code only calls it for a
    variable exponent: for a literal one the rule is written out (registry.fold)."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = y * np.power(x, y - 1)
        return np.where(y == 0, 0.0, d)
    return 0.0 if y == 0 else y * x ** (y - 1)


@overload(pow_dx)
def _pow_dx(x, y):
    if not _is_array(x) and not _is_array(y):
        return lambda x, y: 0.0 if y == 0 else y * x ** (y - 1)
    if not _is_array(y):
        def impl_scalar_power(x, y):
            if y == 0:
                return np.zeros(x.shape)
            return y * np.power(x, y - 1)
        return impl_scalar_power
    return lambda x, y: np.where(y == 0, 0.0, y * np.power(x, y - 1))


def pow_dy(x, out):
    """Partial of x**y w.r.t. y: out * log(x), with the limit 0 at x == 0."""
    if isinstance(x, np.ndarray) or isinstance(out, np.ndarray):
        x = np.asarray(x, dtype=float)
        safe = np.where(x == 0, 1.0, x)
        return np.where(x == 0, 0.0, out * np.log(safe))
    if x == 0:
        return 0.0
    return out * math.log(x) if x > 0 else math.nan


@overload(pow_dy)
def _pow_dy(x, out):
    if _is_array(x) or _is_array(out):
        def impl(x, out):
            safe = np.where(x == 0, 1.0, x)
            return np.where(x == 0, 0.0, out * np.log(safe))
        return impl

    def impl(x, out):
        if x == 0:
            return 0.0
        return out * math.log(x) if x > 0 else math.nan
    return impl


# ---------------------------------------------------------------- adjoint plumbing

def zsafe(g, partial):
    """g * partial, but exactly 0 where the adjoint g is 0: a value dead on the path taken
    (NaN/inf partial, e.g. acos out of its domain in a branch not taken) adds nothing."""
    if isinstance(g, np.ndarray) or isinstance(partial, np.ndarray):
        return np.where(g == 0, 0.0, g * partial)
    return 0.0 * g if g == 0 else g * partial


@overload(zsafe)
def _zsafe(g, partial):
    if _is_array(g) or _is_array(partial):
        return lambda g, partial: np.where(g == 0, 0.0, g * partial)
    return lambda g, partial: g * 0.0 if g == 0 else g * partial


def div0(a, b):
    """a / b, and 0 where b is 0 (hypot's partials x / hypot(x, y) at the origin: the norm's
    subgradient of smallest size, as np.linalg.norm at 0)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return 0.0 if b == 0 else a / b


@overload(div0)
def _div0(a, b):
    if _is_array(a) or _is_array(b):
        return lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return lambda a, b: 0.0 if b == 0 else a / b


def zeros_like(x):
    """A zero adjoint shaped like `x`: 0.0 for scalars, a float array for arrays."""
    if isinstance(x, np.ndarray):
        dt = x.dtype if x.dtype.kind == "f" else np.float64
        return np.zeros(x.shape, dtype=dt)
    return 0.0


@overload(zeros_like)
def _zeros_like(x):
    if _is_array(x):
        if isinstance(x.dtype, types.Float):
            return lambda x: np.zeros(x.shape, dtype=x.dtype)
        return lambda x: np.zeros(x.shape, dtype=np.float64)
    if isinstance(x, types.Float):
        scalar = np.dtype(str(x)).type       # keep float32 adjoints in float32
        return lambda x: scalar(0.0)
    return lambda x: 0.0


def adjoint_take(c, like):
    """A new adjoint shaped like `like` holding the contribution `c`: `zeros_like(like) + c`.
    `c` is the generated code's own fresh value (an array expression just computed, or an
    adjoint nothing reads any more), so when it already has the adjoint's shape and type it
    becomes the adjoint, without the zero fill and the add (reverse.first_contributions)."""
    return zeros_like(like) + c


@overload(adjoint_take)
def _adjoint_take(c, like):
    if _is_array(like) and _is_array(c) and c.ndim == like.ndim and c.layout == "C" \
            and c.dtype == (like.dtype if isinstance(like.dtype, types.Float) else types.float64):
        def impl(c, like):
            if c.shape == like.shape:
                return c
            out = zeros_like(like)
            out += c
            return out
        return impl
    return _adjoint_copy(c, like)


def adjoint_empty(like):
    """An uninitialised adjoint of `like`'s shape and adjoint type (passes/fuse.py fills every
    element)."""
    return np.empty_like(zeros_like(like))


@overload(adjoint_empty)
def _adjoint_empty(like):
    dt = like.dtype if isinstance(like.dtype, types.Float) else types.float64
    return lambda like: np.empty(like.shape, dt)


def adjoint_copy(c, like):
    """`zeros_like(like) + c` for a `c` that something else may still hold (another adjoint, a
    view): one new array, filled once (a zero's sign aside: -0.0 stays -0.0)."""
    return zeros_like(like) + c


@overload(adjoint_copy)
def _adjoint_copy(c, like):
    if _is_array(like) and _is_array(c) and c.ndim == like.ndim:
        dt = like.dtype if isinstance(like.dtype, types.Float) else types.float64

        def impl(c, like):
            if c.shape != like.shape:
                out = zeros_like(like)
                out += c
                return out
            # a copy of c in the adjoint's type; not `out[...] = c`, whose broadcasting error
            # path compiles Numba's string formatting (about 1.5 s of every process's first
            # derivative)
            return c.astype(dt)
        return impl
    if _is_array(like):
        def impl(c, like):
            out = zeros_like(like)
            out += c
            return out
        return impl
    return lambda c, like: zeros_like(like) + c


def unbroadcast(c, like):
    """Reduce a contribution `c` to the shape of `like` (sum over broadcast dimensions)."""
    c_arr = isinstance(c, np.ndarray)
    l_arr = isinstance(like, np.ndarray)
    if not c_arr:
        return c
    if not l_arr:
        return c.sum()
    if c.shape == like.shape:
        return c
    while c.ndim > like.ndim:
        c = c.sum(axis=0)
    for ax, n in enumerate(like.shape):
        if n == 1 and c.shape[ax] != 1:
            c = c.sum(axis=ax, keepdims=True)
    return c


@overload(unbroadcast)
def _unbroadcast(c, like):
    if not _is_array(c):
        return lambda c, like: c
    if not _is_array(like):
        return lambda c, like: c.sum()
    if c.ndim == like.ndim == 1:
        def impl(c, like):
            if c.shape[0] == like.shape[0]:
                return c
            out = np.zeros(1, c.dtype)
            out[0] = c.sum()
            return out
        return impl
    if c.ndim == 2 and like.ndim == 1:
        def impl(c, like):
            s = c.sum(axis=0)
            if s.shape[0] == like.shape[0]:
                return s
            out = np.zeros(1, c.dtype)
            out[0] = s.sum()
            return out
        return impl
    if c.ndim == 2 and like.ndim == 2:
        def impl(c, like):
            r = c
            if like.shape[0] == 1 and c.shape[0] != 1:
                r = _sum_rows(r)
            if like.shape[1] == 1 and c.shape[1] != 1:
                r = _sum_cols(r)
            return r
        return impl
    if c.ndim == 3 and like.ndim in (1, 2, 3):
        nd = like.ndim

        def impl3(c, like):
            if nd == 3 and c.shape == like.shape:
                return c
            p = _padded3(like.shape)
            out = np.zeros(p, c.dtype)
            for i in range(c.shape[0]):
                a = i if p[0] != 1 else 0
                for j in range(c.shape[1]):
                    b = j if p[1] != 1 else 0
                    for k in range(c.shape[2]):
                        out[a, b, k if p[2] != 1 else 0] += c[i, j, k]
            return out.reshape(like.shape)
        return impl3
    return None


@register_jitable
def _padded3(shape):
    """A shape of 1 to 3 dimensions as three (leading 1s), for unbroadcast over 3-D arrays."""
    if len(shape) == 3:
        return (shape[0], shape[1], shape[2])
    if len(shape) == 2:
        return (1, shape[0], shape[1])
    return (1, 1, shape[0])


@register_jitable
def _sum_rows(c):
    out = np.zeros((1, c.shape[1]), c.dtype)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            out[0, j] += c[i, j]
    return out


@register_jitable
def _sum_cols(c):
    out = np.zeros((c.shape[0], 1), c.dtype)
    for i in range(c.shape[0]):
        for j in range(c.shape[1]):
            out[i, 0] += c[i, j]
    return out


# ---------------------------------------------------------------- array vjps

def reshape_like(g, x):
    """An adjoint `g` given the shape of `x` (the adjoint of a reshape or expand_dims)."""
    return np.reshape(np.ascontiguousarray(g), np.shape(x))


@overload(reshape_like)
def _reshape_like(g, x):
    if not _is_array(x):
        return lambda g, x: np.sum(g)
    return lambda g, x: np.ascontiguousarray(g).reshape(x.shape)


def sum_grad(g, x):
    """Adjoint of np.sum(x) for the incoming scalar adjoint g (broadcast when accumulated)."""
    return g


@overload(sum_grad)
def _sum_grad(g, x):
    return lambda g, x: g


def sum_axis_grad(g, x, axis):
    """Adjoint of np.sum(x, axis=axis): g re-expanded along `axis` to x's shape."""
    return np.broadcast_to(np.expand_dims(g, axis), x.shape).copy()


@overload(sum_axis_grad)
def _sum_axis_grad(g, x, axis):
    if not _is_array(x):
        return None
    if x.ndim == 1:
        def impl1(g, x, axis):
            return np.full(x.shape, g)
        return impl1
    if x.ndim == 2:
        def impl2(g, x, axis):
            out = np.empty(x.shape, g.dtype)
            rows = axis == 0 or axis == -2        # NumPy counts negative axes from the end
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    out[i, j] = g[j] if rows else g[i]
            return out
        return impl2
    return None


def matmul_grad_a(g, a, b):
    """Adjoint of a @ b (or np.dot(a, b)) w.r.t. a."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 2 and b_nd == 2:
        return g @ np.transpose(b)
    if a_nd == 2 and b_nd == 1:
        return np.outer(g, b)
    if a_nd == 1 and b_nd == 2:
        return b @ g
    return g * b


def matmul_grad_b(g, a, b):
    """Adjoint of a @ b (or np.dot(a, b)) w.r.t. b."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 2:
        return np.transpose(a) @ g
    if b_nd == 2:
        return np.outer(a, g)
    return g * a


def transposed(m):
    """`m.T` as Numba's np.dot takes it without a copy: the transpose of a C- or F-ordered
    matrix is F- or C-ordered, which BLAS reads as it is; only a matrix of another layout (a
    strided view) is copied, as np.dot would copy it anyway."""
    return m.T


@overload(transposed)
def _transposed(m):
    if m.layout in "CF":
        return lambda m: m.T
    return lambda m: np.ascontiguousarray(m.T)


@overload(matmul_grad_a)
def _matmul_grad_a(g, a, b):
    an = a.ndim if _is_array(a) else 0
    bn = b.ndim if _is_array(b) else 0
    if an == 2 and bn == 2:
        return lambda g, a, b: np.dot(g, transposed(b))
    if an == 2 and bn == 1:
        return lambda g, a, b: np.outer(g, b)
    if an == 1 and bn == 2:
        return lambda g, a, b: np.dot(b, g)
    return lambda g, a, b: g * b


@overload(matmul_grad_b)
def _matmul_grad_b(g, a, b):
    an = a.ndim if _is_array(a) else 0
    bn = b.ndim if _is_array(b) else 0
    if an == 2:
        return lambda g, a, b: np.dot(transposed(a), g)
    if bn == 2:
        return lambda g, a, b: np.outer(a, g)
    return lambda g, a, b: g * a


def add_matmul_grad_a(out, g, a, b):
    """`out += matmul_grad_a(g, a, b)` (passes/first.py writes the adjoint's accumulation so):
    the outer product of a matrix-vector product's adjoint is added in place, with no matrix
    temporary, as a hand-written RNN adjoint would."""
    out += matmul_grad_a(g, a, b)


@overload(add_matmul_grad_a)
def _add_matmul_grad_a(out, g, a, b):
    an = a.ndim if _is_array(a) else 0
    bn = b.ndim if _is_array(b) else 0
    if an == 2 and bn == 1 and _is_array(out) and out.ndim == 2 and _is_array(g) and g.ndim == 1:
        def impl(out, g, a, b):
            if out.shape[0] != g.shape[0] or out.shape[1] != b.shape[0]:
                raise ValueError("add_matmul_grad_a: the adjoint's shape is not the outer product's")
            for i in range(g.shape[0]):
                gi = g[i]
                for j in range(b.shape[0]):
                    out[i, j] += gi * b[j]
        return impl

    def impl(out, g, a, b):
        out += matmul_grad_a(g, a, b)
    return impl


# ---------------------------------------------------------------- np.linalg (srcgrad/rules/linalg.py)
# Written once in the subset both NumPy and Numba run (register_jitable), with contiguous
# transposes for Numba's np.dot.

@register_jitable
def _t(a):
    return np.ascontiguousarray(a.T)


# The forward sweep's calls: Numba's LAPACK wrappers return Fortran-ordered matrices, and a
# value that is Fortran-ordered on one path and C-ordered on another (r = inv(a) before a loop,
# r = r @ a in it) has layout 'A': it would be copied on every push to the tape (which holds
# C-ordered arrays, np.ascontiguousarray) and read through strides. C-ordered results keep it 'C'.
# (numba.typed.List, which the tape used to be, could not hold layout 'A' at all.)
@register_jitable
def inv(a):
    return np.ascontiguousarray(np.linalg.inv(a))


@register_jitable
def solve(a, b):
    return np.ascontiguousarray(np.linalg.solve(a, b))


@register_jitable
def cholesky(a):
    return np.ascontiguousarray(np.linalg.cholesky(a))


@register_jitable
def inv_grad(g, out):
    """Adjoint of X = inv(A): -X^T G X^T."""
    xt = _t(out)
    return -np.dot(np.dot(xt, g), xt)


@register_jitable
def solve_grad_b(g, a):
    """Adjoint of x = solve(A, b) w.r.t. b: A^-T g."""
    return np.linalg.solve(_t(a), g)


def solve_grad_a(g, a, out):
    """Adjoint of x = solve(A, b) w.r.t. A: -(A^-T g) x^T (summed over right-hand sides)."""
    gb = np.linalg.solve(a.T, g)
    return -np.outer(gb, out) if gb.ndim == 1 else -(gb @ out.T)


@overload(solve_grad_a)
def _solve_grad_a(g, a, out):
    if g.ndim == 1:
        return lambda g, a, out: -np.outer(np.linalg.solve(_t(a), g), out)
    return lambda g, a, out: -np.dot(np.linalg.solve(_t(a), g), _t(out))


@register_jitable
def _cofactors(a):
    """The cofactor matrix of a square matrix (adj(A)^T), from the minors: exact when A is
    singular, where det(A) A^-T is not defined."""
    n = a.shape[0]
    c = np.ones((n, n))
    if n == 1:
        return c
    minor = np.empty((n - 1, n - 1))
    for i in range(n):
        for j in range(n):
            for r in range(n - 1):
                rr = r if r < i else r + 1
                for k in range(n - 1):
                    minor[r, k] = a[rr, k if k < j else k + 1]
            c[i, j] = np.linalg.det(minor) * (1.0 if (i + j) % 2 == 0 else -1.0)
    return c


@register_jitable
def det_grad(g, a, out):
    """Adjoint of det(A): g adj(A)^T = g det(A) A^-T (the cofactors when A is singular)."""
    if out != 0.0:
        return (g * out) * _t(np.linalg.inv(a))
    return g * _cofactors(a)


@register_jitable
def det_sign(a):
    """The sign of det(A) (np.linalg.slogdet's first output): no derivative."""
    return np.linalg.slogdet(a)[0]


@register_jitable
def logabsdet(a):
    """log|det(A)| (np.linalg.slogdet's second output)."""
    return np.linalg.slogdet(a)[1]


@register_jitable
def logabsdet_grad(g, a):
    """Adjoint of log|det(A)|: g A^-T."""
    return g * _t(np.linalg.inv(a))


@register_jitable
def _phi(x):
    """The lower triangle of x with its diagonal halved (the Cholesky derivative's projection)."""
    n = x.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        out[i, i] = 0.5 * x[i, i]
        for j in range(i):
            out[i, j] = x[i, j]
    return out


@register_jitable
def _solve_lower(l, b):
    """L^-1 B for a lower-triangular L, by forward substitution (B a matrix)."""
    n = l.shape[0]
    x = np.empty(b.shape)
    for c in range(b.shape[1]):
        for i in range(n):
            s = b[i, c]
            for k in range(i):
                s -= l[i, k] * x[k, c]
            x[i, c] = s / l[i, i]
    return x


@register_jitable
def cholesky_grad(g, out):
    """Adjoint of L = cholesky(A) for NumPy's cholesky, which reads only A's lower triangle:
    S = L^-T phi(L^T G) L^-1 is the adjoint on symmetric A; entry (i, j) below the diagonal
    stands for both (i, j) and (j, i), so it gets S_ij + S_ji, the diagonal S_ii, the upper 0."""
    n = out.shape[0]
    li = _solve_lower(out, np.eye(n))                    # L^-1
    s = np.dot(np.dot(_t(li), _phi(np.dot(_t(out), g))), li)
    a = np.zeros((n, n))
    for i in range(n):                                   # fold into the lower triangle
        a[i, i] = s[i, i]
        for j in range(i):
            a[i, j] = s[i, j] + s[j, i]
    return a


@register_jitable
def cholesky_tangent(t, out):
    """Tangent of L = cholesky(A) for a tangent T of A (its lower triangle, as NumPy reads it):
    dL = L phi(L^-1 T_sym L^-T) with T_sym the symmetric matrix of T's lower triangle."""
    n = out.shape[0]
    ts = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ts[i, j] = t[i, j] if i >= j else t[j, i]
    m = _solve_lower(out, _t(_solve_lower(out, ts)))     # L^-1 (L^-1 T_sym)^T = L^-1 T_sym L^-T
    return np.dot(out, _phi(m))


@register_jitable
def copy(a):
    """A C-ordered copy of an array of any layout: Numba's np.copy of a value typed with layout
    'A' (F-ordered on one path into it, C-ordered on another) fails to compile ("Don't know how
    to allocate array with layout 'A'")."""
    return np.ascontiguousarray(a).copy()


@register_jitable
def tape_nbytes(tape):
    """The bytes of the arrays a tape (a list) holds."""
    n = 0
    for a in tape:
        n += a.nbytes
    return n


@register_jitable
def note_tape(stats, sizes):
    """Keep in `stats` the largest total of `sizes` seen (stats[0]) and its parts (stats[1:])."""
    total = 0
    for b in sizes:
        total += b
    if total > stats[0]:
        stats[0] = total
        for k in range(len(sizes)):
            stats[1 + k] = sizes[k]


def carried(a):
    """The value of an array carried around a loop, typed with layout 'A' unless it is C-ordered
    (no copy: the same array object, so `old = w; w += x` still changes `old`).

    Numba types a variable once for all trips, and an array expression takes the type of the
    variable it is assigned to.  A carried array that is F-ordered on entry (0.5 * A.T) and
    C-ordered after a trip is typed 'F' on the first pass of type inference and 'A' after it;
    an expression of it (m * s) is then 'F' and 'C' on the two passes, unified to 'A', and
    Numba cannot allocate an 'A' result ("Don't know how to allocate array with layout 'A'").
    Typed 'A' from the first pass on, every expression of the carried value has one layout
    (C, or F when another operand is F-ordered) and compiles.  Numba's own code crashes the
    same way on such a loop; srcgrad's split of `m *= s` into a temporary and a write made the
    crash reachable from loops that Numba compiles (array fuzzer seeds 957, 973, 1315).
    C-ordered values keep their type: most carried arrays are C-ordered on every trip, and
    'A' would cost them Numba's contiguous kernels (`Wh @ h` warns and copies)."""
    return a


@overload(carried)
def _carried(a):
    if _is_array(a) and a.layout != "C":
        return lambda a: _as_layout_a(a)
    return lambda a: a


@intrinsic
def _as_layout_a(typingctx, a):
    ret = a.copy(layout="A")

    def codegen(context, builder, sig, args):
        out = context.cast(builder, args[0], sig.args[0], sig.return_type)
        context.nrt.incref(builder, sig.return_type, out)
        return out
    return ret(a), codegen


# ---------------------------------------------------------------- control flow and storage

@register_jitable
def trip_count(start, stop, step):
    """len(range(start, stop, step)), computed once at loop entry."""
    if step > 0:
        n = (stop - start + step - 1) // step
    else:
        n = (start - stop - step - 1) // (-step)
    return n if n > 0 else 0


@register_jitable
def segment_length(trips, every):
    """Iterations per checkpointed segment: `every`, or about sqrt(trips) when it is 0."""
    if every > 0:
        return every
    k = int(math.sqrt(trips))
    return k if k > 0 else 1


@register_jitable
def grow(stack, need):
    """Return a stack with room for at least `need` entries (capacity doubles), contents kept."""
    cap = stack.shape[0]
    if need <= cap:
        return stack
    new_cap = 2 * cap if 2 * cap > need else need
    out = np.empty(new_cap + 16, stack.dtype)
    for i in range(cap):       # an explicit loop: slice assignment costs seconds of compile time
        out[i] = stack[i]
    return out




@register_jitable
def new_float_stack(n):
    return np.empty(n, np.float64)


@register_jitable
def new_int_stack(n):
    return np.empty(n, np.int64)


def cast_like(value, like):
    """`value` converted to the type of `like` (restoring a saved float32/bool/int exactly)."""
    return type(like)(value)


@overload(cast_like)
def _cast_like(value, like):
    if isinstance(like, types.Boolean):
        return lambda value, like: value != 0
    if isinstance(like, (types.Float, types.Integer)):
        scalar = np.dtype(str(like)).type
        return lambda value, like: scalar(value)
    return lambda value, like: value


def external(module: str, qualname: str):
    """A user object a derivative rule refers to, imported for generated code (plain Python
    functions are compiled with numba.njit so compiled code can call them)."""
    import importlib
    import sys

    import numba

    mod = sys.modules.get(module) or importlib.import_module(module)
    obj = mod
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if callable(obj) and not hasattr(obj, "py_func") and not isinstance(obj, np.ufunc) \
            and not getattr(obj, "_srcgrad_kernel", False):
        from .codegen.target import NUMBA_CPU
        obj = numba.njit(**NUMBA_CPU.jit_options)(obj)
    return obj


def jit(fn):
    """How generated functions are compiled (the decorator of codegen/target.py's NUMBA_CPU):
    nopython with the target's options, and Numba's on-disk cache when the function lives in a
    real file."""
    import os

    import numba

    from .codegen.target import NUMBA_CPU
    real_file = os.path.isfile(fn.__code__.co_filename)
    return numba.njit(cache=real_file, **NUMBA_CPU.jit_options)(fn)
