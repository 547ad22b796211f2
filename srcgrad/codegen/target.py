"""Code-generation targets: what runs the generated functions, in one place.

The passes write one body per derivative whatever the target: every generated function is
decorated `@_jit` (DECORATOR), calls only `math`, `np`, `_rt` (srcgrad/runtime.py) and `_List`
(a list of arrays), and starts its number stacks at STACK_START elements (they double when
full).  A target is what those names mean: the import block at the top of a generated module
(`Target.imports`), plus how a generated function is called (`call`: the arguments it is
passed, the context it runs in, the result handed back).

* NUMBA_CPU (here, the default): `_jit` is `runtime.jit`, Numba's nopython compiler with
  `jit_options`; `_List` is Python's list, which Numba compiles natively inside a function.
* PYTHON (python_target.py): the same module run by the Python interpreter, for pdb.

`by_name("python")` finds a target by the name `grad(f, target=...)` takes: NUMBA_CPU, or
`TARGET` of the module `srcgrad/codegen/<name>_target.py`, so a new target is one new file.
"""
from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field

from ..errors import SrcgradError

DECORATOR = "_jit"          # the decorator of every compiled generated function
STACK_START = 64            # the first size of the number stacks (they double when full)
NAMES = ("math", "np", "_rt", "_List", DECORATOR)    # what every target's header binds


def _call(fn, args):
    return fn(*args)


@dataclass(frozen=True)
class Target:
    name: str
    imports: str               # the import block of a generated module: binds NAMES
    compiled: bool = True      # native code that Numba functions can call (GradFunction.kernel)
    jit_options: dict = field(default_factory=dict)   # options of the compiler `_jit` calls
    call: object = _call       # (generated function, call arguments) -> what the call returns

    def njit_source(self, flags: str = "") -> str:
        """The decorator line of a function in a vectorize driver or lane kernel (Numba-compiled
        there directly, cached when the module is a file: `_CACHE`); `flags`: extra options
        written first, e.g. "parallel=True, "."""
        options = ", ".join(f"{k}={v!r}" for k, v in self.jit_options.items())
        return f"@numba.njit({flags}cache=_CACHE, {options})"


def function(name: str, args: ast.arguments, body: list, compiled: bool = True) -> ast.FunctionDef:
    """A generated function; `compiled=False`: plain Python (forward mode's tangent function)."""
    return ast.FunctionDef(name=name, args=args, body=body,
                           decorator_list=[ast.Name(DECORATOR, ast.Load())] if compiled else [],
                           returns=None, type_params=[])


NUMBA_CPU = Target(
    name="numba",
    # the tapes are lists made and emptied inside one compiled function: Numba's own list, not
    # numba.typed.List, whose methods took 2-3 s of every process's first derivative to compile
    # (the GMM's vjp: 36.5 -> 34.1 s cold, 8.0 -> 6.9 ms a call)
    imports='''import math

import numpy as np

from srcgrad import runtime as _rt
from srcgrad.runtime import jit as _jit

_List = list
''',
    # nopython; NumPy's error model: 1/0 is inf, not an exception (a derivative may divide by 0
    # on a path whose result is multiplied by a zero adjoint)
    jit_options={"error_model": "numpy"},
)

TARGET = NUMBA_CPU          # the default, and the only target srcgrad.vectorize compiles for


def by_name(name) -> Target:
    """The target `grad(f, target=name)` names."""
    if isinstance(name, Target):
        return name
    if name == NUMBA_CPU.name:
        return NUMBA_CPU
    if isinstance(name, str) and name.isidentifier():
        try:
            return importlib.import_module(f"{__package__}.{name}_target").TARGET
        except ModuleNotFoundError:
            pass
    raise SrcgradError(f"unknown target {name!r}: srcgrad generates for 'numba' (the default, compiled) "
                       "and 'python' (the same code run by the interpreter, e.g. to step through in pdb)")
