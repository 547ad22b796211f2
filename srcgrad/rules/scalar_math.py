"""Rules for the `math` module and the builtins abs/min/max/pow.

`math.log(x, base)` is lowered as `math.log(x) / math.log(base)` (Numba has no two-argument
log), so it needs no rule of its own.

Conventions at kinks (tested in tests/rules/test_conventions.py):
* ``abs(x)``, ``math.fabs(x)`` at 0: derivative 0 (the sign function, as NumPy's ``sign``).
* ``max(x, y)`` / ``min(x, y)`` on a tie: the whole adjoint goes to the argument Python returns,
  which is the first one; ``max(a, b, c)`` is ``max(max(a, b), c)``.  So ``max(0.0, x)`` (ReLU)
  has derivative 0 at 0 and ``max(x, 0.0)`` has 1.
* ``math.sqrt`` at 0: +inf, ``math.log`` at 0: +inf (the one-sided limits).
* ``math.copysign(x, y)``: d/dx is ``copysign(1, x) * copysign(1, y)``; no derivative in ``y``.
* ``floor``, ``ceil``, ``trunc``: no derivative (piecewise constant).
"""
import builtins
import math

from .. import runtime as _rt  # noqa: F401
from .registry import nondiff, partials

POS = (0.2, 4.0)
UNIT = (-0.9, 0.9)



@partials(math.exp)
def exp(x, out):
    return out


@partials(math.expm1)
def expm1(x, out):
    return out + 1.0


@partials(math.log, domain=(POS,))
def log(x):
    return 1.0 / x


@partials(math.log1p, domain=((-0.8, 3.0),))
def log1p(x):
    return 1.0 / (1.0 + x)


@partials(math.log2, domain=(POS,))
def log2(x):
    return 1.0 / (x * math.log(2.0))


@partials(math.log10, domain=(POS,))
def log10(x):
    return 1.0 / (x * math.log(10.0))


@partials(math.sqrt, domain=(POS,), notes="+inf at 0")
def sqrt(x, out):
    return 0.5 / out


@partials(math.pow, builtins.pow, domain=((0.2, 3.0), (-2.0, 2.0)), call="math.pow", nonfinite=True)
def pow_(x, y, out):
    return _rt.pow_dx(x, y), _rt.pow_dy(x, out)


@partials(math.sin)
def sin(x):
    return math.cos(x)


@partials(math.cos)
def cos(x):
    return -math.sin(x)


@partials(math.tan, domain=((-1.2, 1.2),), nonfinite=True)
def tan(x, out):
    return 1.0 + out * out


@partials(math.asin, domain=(UNIT,))
def asin(x):
    return 1.0 / math.sqrt(1.0 - x * x)


@partials(math.acos, domain=(UNIT,))
def acos(x):
    return -1.0 / math.sqrt(1.0 - x * x)


@partials(math.atan)
def atan(x):
    return 1.0 / (1.0 + x * x)


@partials(math.atan2, domain=((-2.0, 2.0), (0.3, 2.0)))
def atan2(y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)


@partials(math.sinh)
def sinh(x):
    return math.cosh(x)


@partials(math.cosh)
def cosh(x):
    return math.sinh(x)


@partials(math.tanh)
def tanh(x, out):
    return 1.0 - out * out


@partials(math.asinh)
def asinh(x):
    return 1.0 / math.sqrt(x * x + 1.0)


@partials(math.acosh, domain=((1.2, 4.0),))
def acosh(x):
    return 1.0 / math.sqrt(x * x - 1.0)


@partials(math.atanh, domain=(UNIT,))
def atanh(x):
    return 1.0 / (1.0 - x * x)


@partials(math.erf)
def erf(x):
    return 1.1283791670955126 * math.exp(-x * x)


@partials(math.erfc)
def erfc(x):
    return -1.1283791670955126 * math.exp(-x * x)


@partials(math.hypot, domain=((0.3, 2.0), (0.3, 2.0)))
def hypot(x, y, out):
    return _rt.div0(x, out), _rt.div0(y, out)      # 0 at the origin: the norm's subgradient


@partials(math.fabs, builtins.abs, call="abs", domain=((0.1, 2.0),), notes="0 at x == 0")
def fabs(x):
    return _rt.sign(x)


@partials(math.copysign, domain=((0.1, 2.0), (-2.0, 2.0)))
def copysign(x, y):
    return math.copysign(1.0, x) * math.copysign(1.0, y), None


@partials(builtins.max, call="max", notes="ties: the first argument")
def max_(x, y):
    return _rt.indicator(x >= y), _rt.indicator(x < y)


@partials(builtins.min, call="min", notes="ties: the first argument")
def min_(x, y):
    return _rt.indicator(x <= y), _rt.indicator(x > y)


nondiff(math.floor, math.ceil, math.trunc, result="int")
nondiff(builtins.round, arity=(1, 2), call="round")
nondiff(builtins.int, call="int", result="int")
nondiff(builtins.bool, call="bool", result="bool")
nondiff(math.isnan, math.isinf, math.isfinite, result="bool")
nondiff(builtins.len, call="len", result="int", array_only=True)


@partials(builtins.float, call="float")
def float_(x):
    return 1.0
