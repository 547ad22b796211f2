"""Rules for Python's arithmetic operators (keys are operator names used by the lowering pass).

Conventions at kinks and singular points (tested in tests/rules):
* ``x ** y``: the partial w.r.t. ``y`` is ``out * log(x)``, taken as 0 where ``x == 0`` (the
  limit along y > 0, as JAX does); for ``x < 0`` it is NaN, since the power is not real nearby.
* ``x % y``: partials (1, -(x // y)), the derivative of ``x - y * floor(x / y)`` off its jumps.
* ``x // y``: no derivative (piecewise constant).
"""
import math  # noqa: F401  (names used inside rule expressions)

from .. import runtime as _rt  # noqa: F401
from . import shapes
from .registry import nondiff, partials, vjp

POS_DOM = (0.2, 3.0)


@partials("add", dtype=None)
def add(x, y):
    return 1, 1


@partials("sub", dtype=None)
def sub(x, y):
    return 1, -1


@partials("mul", dtype=None)
def mul(x, y):
    return y, x


@partials("truediv", domain=((-2.0, 2.0), (0.5, 3.0)))
def truediv(x, y, out):
    # one reciprocal for both partials (the compiler shares `1 / y`): a division costs as much
    # as several multiplications; -out * (1 / y) is within an ulp or two of -out / y
    return 1 / y, -out * (1 / y)


@partials("pow", dtype=None, domain=(POS_DOM, (-2.0, 2.0)), nonfinite=True)
def pow_(x, y, out):
    return _rt.pow_dx(x, y), _rt.pow_dy(x, out)


@partials("mod", dtype=None, domain=((0.1, 5.0), (0.7, 2.0)))
def mod(x, y):
    return 1, -(x // y)


@partials("neg", dtype=None)
def neg(x):
    return -1


@partials("pos", dtype=None)
def pos(x):
    return 1


nondiff("floordiv", arity=2, call="//", typer=shapes.elementwise(None))


def _matmul_tangent_x(t, x, y):
    return t @ y


def _matmul_tangent_y(t, x, y):
    return x @ t


@vjp("matmul", arity=2, call="@", typer=shapes.matmul, tangent=(_matmul_tangent_x, _matmul_tangent_y))
def matmul(g, x, y):
    return _rt.matmul_grad_a(g, x, y), _rt.matmul_grad_b(g, x, y)


@vjp("transpose", arity=1, call=".T", typer=shapes.same, view=True, linear=True)
def transpose(g, x):
    return g.T


@vjp("copy", arity=1, call=".copy()", typer=shapes.same, linear=True)
def copy(g, x):
    return g
