"""Rules for Python's arithmetic operators (keys are operator names used by the lowering pass).

Conventions at kinks and singular points (tested in tests/rules):
* ``x ** y``: the partial w.r.t. ``y`` is ``out * log(x)``, taken as 0 where ``x == 0`` (the
  limit along y > 0, as JAX does); for ``x < 0`` it is NaN, since the power is not real nearby.
* ``x % y``: partials (1, -(x // y)), the derivative of ``x - y * floor(x / y)`` off its jumps.
* ``x // y``: no derivative (piecewise constant).
"""
import math  # noqa: F401  (names used inside rule expressions)

from .. import runtime as _rt  # noqa: F401
from .registry import nondiff, partials, vjp

POS_DOM = (0.2, 3.0)


@partials("add")
def add(x, y):
    return 1, 1


@partials("sub")
def sub(x, y):
    return 1, -1


@partials("mul")
def mul(x, y):
    return y, x


@partials("truediv", domain=((-2.0, 2.0), (0.5, 3.0)))
def truediv(x, y, out):
    # one reciprocal for both partials (the compiler shares `1 / y`): a division costs as much
    # as several multiplications; -out * (1 / y) is within an ulp or two of -out / y
    return 1 / y, -out * (1 / y)


@partials("pow", domain=(POS_DOM, (-2.0, 2.0)))
def pow_(x, y, out):
    return y * x ** (y - 1), _rt.pow_dy(x, out)


@partials("mod", domain=((0.1, 5.0), (0.7, 2.0)))
def mod(x, y):
    return 1, -(x // y)


@partials("neg")
def neg(x):
    return -1


@partials("pos")
def pos(x):
    return 1


nondiff("floordiv", arity=2, call="//")


@vjp("matmul", arity=2, call="@", result="array")
def matmul(g, x, y):
    return _rt.matmul_grad_a(g, x, y), _rt.matmul_grad_b(g, x, y)


@vjp("transpose", arity=1, call=".T", result="array")
def transpose(g, x):
    return g.T


@vjp("copy", arity=1, call=".copy()", result="array")
def copy(g, x):
    return g
