"""Rules for NumPy: elementwise ufuncs (partials that work on scalars and on broadcasting arrays),
reductions and products (vjps), and array constructors (no derivative).

`np.mean(x, axis)` is lowered as `np.sum(x, axis) / x.shape[axis]` (Numba has no mean with an
axis), so it needs no rule of its own.

Conventions: ``np.abs`` at 0 has derivative 0; ``np.maximum``/``np.minimum`` (and ``np.fmax``/
``np.fmin``) give a tie to the first argument, like the builtins; ``np.where(c, a, b)`` has no derivative in ``c``.
"""
import numpy as np

from .. import runtime as _rt  # noqa: F401
from . import shapes
from .registry import nondiff, partials, vjp

POS = (0.2, 4.0)
UNIT = (-0.9, 0.9)


@partials(np.square)
def square(x):
    return 2.0 * x


@partials(np.exp2)
def exp2(x, out):
    return out * np.log(2.0)


@partials(np.cbrt, domain=((0.2, 3.0),))
def cbrt(x, out):
    return 1.0 / (3.0 * out * out)          # infinite at 0, as the derivative is


@partials(np.reciprocal, domain=((0.2, 3.0),), nonfinite=True)
def reciprocal(x, out):
    return -out * out


@partials(np.deg2rad, np.radians)
def deg2rad(x):
    return 0.017453292519943295             # pi / 180


@partials(np.rad2deg, np.degrees)
def rad2deg(x):
    return 57.29577951308232                # 180 / pi


@partials(np.positive)
def positive(x):
    return 1.0


@partials(np.logaddexp2)
def logaddexp2(x, y, out):
    return np.exp2(x - out), np.exp2(y - out)


@partials(np.fmod, domain=((0.1, 5.0), (0.7, 2.0)))
def fmod(x, y):
    return 1.0, -np.trunc(x / y)            # x - trunc(x / y) * y off its jumps


@partials(np.abs, np.absolute, np.fabs, call="np.abs", domain=((0.1, 2.0),))
def abs_(x):
    return np.sign(x)


@partials(np.maximum)
def maximum(x, y):
    return _rt.indicator(x >= y), _rt.indicator(x < y)


@partials(np.minimum)
def minimum(x, y):
    return _rt.indicator(x <= y), _rt.indicator(x > y)


@partials(np.fmax)
def fmax(x, y):     # NaN-ignoring: the other argument is the result where one is NaN
    return _rt.indicator(np.logical_or(x >= y, np.isnan(y))), _rt.indicator(np.logical_or(x < y, np.isnan(x)))


@partials(np.fmin)
def fmin(x, y):
    return _rt.indicator(np.logical_or(x <= y, np.isnan(y))), _rt.indicator(np.logical_or(x > y, np.isnan(x)))


@partials(np.where, domain=((-1.0, 1.0), (-2.0, 2.0), (-2.0, 2.0)), call="_rt.where")
def where(c, x, y):
    return None, _rt.indicator(c), _rt.indicator(np.logical_not(c))


nondiff(np.floor, np.ceil, np.trunc, np.sign, np.rint, call=None, typer=shapes.float_like_first)
nondiff(np.round, np.around, call=None, typer=shapes.float_like_first)     # with or without decimals
nondiff(np.isnan, np.isinf, np.isfinite, result="bool")


# ---- reductions and products (adjoints are not elementwise) ----

@vjp(np.sum, arity=1, typer=shapes.scalar_sum, linear=True)
def sum_(g, x):
    return _rt.sum_grad(g, x)


@vjp(np.sum, arity=2, typer=shapes.reduce_axis, linear=True)
def sum_axis(g, x, axis):
    return _rt.sum_axis_grad(g, x, axis), None


@vjp(np.mean, arity=1, typer=shapes.scalar_float, linear=True)
def mean(g, x):
    return _rt.sum_grad(g, x) / x.size


def _extremum_tangent(t, x, out):
    return np.sum(t * _rt.select_grad(1.0, x, out))


@vjp(np.max, np.amax, np.min, np.amin, arity=1, typer=shapes.scalar_float, tangent=_extremum_tangent)
def extremum(g, x, out):
    return _rt.select_grad(g, x, out)       # ties share the adjoint equally


@vjp(np.prod, arity=1, typer=shapes.scalar_float)
def prod(g, x):
    return _rt.prod_grad(g, x)              # products of the other elements: exact at zeros


@vjp(np.cumsum, arity=1, typer=shapes.flat, linear=True)
def cumsum(g, x):
    return _rt.cumsum_grad(g, x)


def _norm_tangent(t, x, out):
    return np.sum(t * _rt.norm_grad(1.0, x, out))


@vjp(np.linalg.norm, _rt.norm, arity=1, typer=shapes.scalar_float, call="_rt.norm", tangent=_norm_tangent)
def norm(g, x, out):
    return _rt.norm_grad(g, x, out)         # 0 at x == 0 (the subgradient of smallest norm)


def _dot_tangent_x(t, x, y):
    return np.dot(t, y)


def _dot_tangent_y(t, x, y):
    return np.dot(x, t)


@vjp(np.dot, arity=2, typer=shapes.matmul, tangent=(_dot_tangent_x, _dot_tangent_y))
def dot(g, x, y):
    return _rt.matmul_grad_a(g, x, y), _rt.matmul_grad_b(g, x, y)


@vjp(np.transpose, arity=1, typer=shapes.same, view=True, linear=True)
def transpose(g, x):
    return g.T


@vjp(np.expand_dims, arity=2, typer=shapes.expand_dims, linear=True)
def expand_dims(g, x, axis):
    return _rt.reshape_like(g, x), None


@vjp(np.reshape, arity=2, typer=shapes.reshape, linear=True)
def reshape(g, x, shape):
    return _rt.reshape_like(g, x), None


# ---- constructors and shape queries: no derivative ----
nondiff(np.zeros, np.ones, np.empty, arity=(1, 2), result="array")
nondiff(np.zeros_like, np.ones_like, np.empty_like, arity=(1, 2), result="array", array_only=True, typer=shapes.same)
_VALUES = "its values depend on its arguments, and srcgrad runs it with no derivative"
nondiff(np.arange, arity=(1, 2, 3), result="array",
        depends=(_VALUES, "write start + step * np.arange(n) with an integer n"))
nondiff(np.linspace, result="array",
        depends=(_VALUES, "write start + (stop - start) * np.linspace(0.0, 1.0, num)"))
nondiff(np.full, np.full_like, result="array",
        depends=(_VALUES, "write np.zeros(shape) + value (or np.zeros_like(a) + value)"))
nondiff(np.eye, np.identity, result="array")
