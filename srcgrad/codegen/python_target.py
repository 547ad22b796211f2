"""The plain-Python target: the same generated derivative, run by the Python interpreter.

`srcgrad.grad(f, target="python")` generates the module NUMBA_CPU would (the same passes, the
same function bodies, line for line) and only its header differs: `_jit` leaves a function
as it is, tapes of arrays are Python lists, and `math` is `pymath` below.  So the derivative
can be stepped through in pdb, printed with `print` calls added to `.source`'s file, or run
where Numba is not wanted, and it computes what the compiled one computes.

What makes the numbers agree is Numba's error model, reproduced here: compiled, `1.0 / 0.0`
is inf, `math.log(-1.0)` NaN and `math.exp(1000.0)` inf, where Python raises.  A derivative
may divide by zero on a path whose result a zero adjoint multiplies away (`_rt.zsafe`), so the
Python target must not raise there either.  The arguments are therefore passed as NumPy
scalars (`np.float64`, whose arithmetic follows IEEE 754), `pymath` maps the `math` functions
that raise on a domain or range error to the NumPy ufuncs that return NaN or inf, and calls
run under `np.errstate(all="ignore")`, as compiled code never warns (`call`).

Adding a target is adding a module like this one, `srcgrad/codegen/<name>_target.py`, that
defines `TARGET` (a codegen/target.py `Target`); `grad(f, target="<name>")` finds it by name.
"""
from __future__ import annotations

import math as _math
import types

import numpy as np

from .target import Target


def _np_pow(x, y):
    return np.power(np.float64(x), y)


def _log(x, base=None):
    return np.log(np.float64(x)) if base is None else np.log(np.float64(x)) / np.log(np.float64(base))


# math.* -> NumPy's element functions where Python raises (ValueError, OverflowError,
# ZeroDivisionError) and compiled code gives NaN or inf; everything else is math's own
_IEEE = {
    "sqrt": np.sqrt, "exp": np.exp, "expm1": np.expm1, "log": _log, "log2": np.log2, "log10": np.log10,
    "log1p": np.log1p, "asin": np.arcsin, "acos": np.arccos, "acosh": np.arccosh, "atanh": np.arctanh,
    "sinh": np.sinh, "cosh": np.cosh, "pow": _np_pow, "fmod": np.fmod,
}

pymath = types.ModuleType("srcgrad.codegen.python_target.pymath",
                          "`math` with Numba's error model: NaN or inf where Python's math raises")
pymath.__dict__.update({k: v for k, v in vars(_math).items() if not k.startswith("__")})
pymath.__dict__.update(_IEEE)


def interpret(fn):
    """The Python target's `_jit`: the function as written."""
    return fn


def _as_floats(out):
    """NumPy scalars back to Python floats, as compiled code returns them."""
    if isinstance(out, tuple):
        return tuple(_as_floats(x) for x in out)
    return float(out) if type(out) is np.float64 else out


def call(fn, args):
    """`fn(*args)` as compiled code would run it: Python floats passed as np.float64 (so that
    dividing by zero gives inf), no floating-point warnings, Python floats back."""
    with np.errstate(all="ignore"):
        return _as_floats(fn(*(np.float64(v) if type(v) is float else v for v in args)))


TARGET = Target(
    name="python",
    compiled=False,
    imports='''import numpy as np

from srcgrad import runtime as _rt
from srcgrad.codegen.python_target import interpret as _jit
from srcgrad.codegen.python_target import pymath as math

_List = list
''',
    call=call,
)
