"""Rules for what only `math` and the builtins have: erf, erfc, abs/fabs, min/max, float and the
functions without a derivative (the functions NumPy also has, sin to pow, are in elementwise.py).

`math.log(x, base)` is lowered as `math.log(x) / math.log(base)` (Numba has no two-argument
log), so it needs no rule of its own.

Conventions at kinks (tested in tests/rules/test_conventions.py):
* ``abs(x)``, ``math.fabs(x)`` at 0: derivative 0 (the sign function, as NumPy's ``sign``).
* ``max(x, y)`` / ``min(x, y)`` on a tie: the whole adjoint goes to the argument Python returns,
  which is the first one; ``max(a, b, c)`` is ``max(max(a, b), c)``.  So ``max(0.0, x)`` (ReLU)
  has derivative 0 at 0 and ``max(x, 0.0)`` has 1.
* ``math.sqrt``, ``math.log``, ``math.copysign``: see elementwise.py.
* ``floor``, ``ceil``, ``trunc``: no derivative (piecewise constant).
"""
import builtins
import math

from .. import runtime as _rt  # noqa: F401
from .registry import nondiff, partials



@partials(math.erf)
def erf(x):
    return 1.1283791670955126 * math.exp(-x * x)


@partials(math.erfc)
def erfc(x):
    return -1.1283791670955126 * math.exp(-x * x)


@partials(math.fabs, builtins.abs, call="abs", domain=((0.1, 2.0),))      # 0 at x == 0
def fabs(x):
    return _rt.sign(x)


@partials(builtins.max, call="max", variadic=True)        # ties: the first argument
def max_(x, y):
    return _rt.indicator(x >= y), _rt.indicator(x < y)


@partials(builtins.min, call="min", variadic=True)        # ties: the first argument
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
