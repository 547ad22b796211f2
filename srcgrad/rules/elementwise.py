"""Rules for the functions `math` and NumPy both have: one stanza per function, its partials
written once with NumPy calls (they hold for numbers and for broadcasting arrays).

For the `math` (and builtin) keys of a stanza the registry writes the partials with `math`
calls where `math` has the function (`np.cos` -> `math.cos`), so scalar code reads as the user
wrote it; `math` has no broadcasting and needs none.

Conventions: ``sqrt`` and ``log`` at 0: +inf (the one-sided limits); ``hypot`` at the origin:
0 (the norm's subgradient); ``copysign(x, y)``: no derivative in ``y``.
"""
import builtins
import math

import numpy as np

from .. import runtime as _rt  # noqa: F401
from .registry import partials

POS = (0.2, 4.0)
UNIT = (-0.9, 0.9)


@partials(math.exp, np.exp)
def exp(x, out):
    return out


@partials(math.expm1, np.expm1)
def expm1(x, out):
    return out + 1.0


@partials(math.log, np.log, domain=(POS,))
def log(x):
    return 1.0 / x


@partials(math.log1p, np.log1p, domain=((-0.8, 3.0),))
def log1p(x):
    return 1.0 / (1.0 + x)


@partials(math.log2, np.log2, domain=(POS,))
def log2(x):
    return 1.0 / (x * np.log(2.0))


@partials(math.log10, np.log10, domain=(POS,))
def log10(x):
    return 1.0 / (x * np.log(10.0))


@partials(math.sqrt, np.sqrt, domain=(POS,))
def sqrt(x, out):
    return 0.5 / out


@partials(math.pow, builtins.pow, np.power, np.float_power, domain=((0.2, 3.0), (-2.0, 2.0)), nonfinite=True,
          call={builtins.pow: "math.pow"})     # the builtin computed as math.pow: a float, never complex
def power(x, y, out):
    return _rt.pow_dx(x, y), _rt.pow_dy(x, out)


@partials(math.sin, np.sin)
def sin(x):
    return np.cos(x)


@partials(math.cos, np.cos)
def cos(x):
    return -np.sin(x)


@partials(math.tan, np.tan, domain=((-1.2, 1.2),), nonfinite=True)
def tan(x, out):
    return 1.0 + out * out


@partials(math.asin, np.arcsin, domain=(UNIT,))
def arcsin(x):
    return 1.0 / np.sqrt(1.0 - x * x)


@partials(math.acos, np.arccos, domain=(UNIT,))
def arccos(x):
    return -1.0 / np.sqrt(1.0 - x * x)


@partials(math.atan, np.arctan)
def arctan(x):
    return 1.0 / (1.0 + x * x)


@partials(math.atan2, np.arctan2, domain=((-2.0, 2.0), (0.3, 2.0)))
def arctan2(y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)


@partials(math.sinh, np.sinh)
def sinh(x):
    return np.cosh(x)


@partials(math.cosh, np.cosh)
def cosh(x):
    return np.sinh(x)


@partials(math.tanh, np.tanh)
def tanh(x, out):
    return 1.0 - out * out


@partials(math.asinh, np.arcsinh)
def arcsinh(x):
    return 1.0 / np.sqrt(x * x + 1.0)


@partials(math.acosh, np.arccosh, domain=((1.2, 4.0),))
def arccosh(x):
    return 1.0 / np.sqrt(x * x - 1.0)


@partials(math.atanh, np.arctanh, domain=(UNIT,))
def arctanh(x):
    return 1.0 / (1.0 - x * x)


@partials(math.hypot, np.hypot, domain=((0.3, 2.0), (0.3, 2.0)))
def hypot(x, y, out):
    return _rt.div0(x, out), _rt.div0(y, out)      # 0 at the origin: the norm's subgradient


@partials(math.copysign, np.copysign, domain=((0.1, 2.0), (-2.0, 2.0)))
def copysign(x, y):
    return np.copysign(1.0, x) * np.copysign(1.0, y), None
