"""The code-generation target: how generated functions are compiled and what their modules
import, in one place.

Every generated module (codegen/emit.py) starts with `TARGET.imports`, which binds `math`, `np`,
`_rt` (srcgrad/runtime.py, the only helpers generated code calls) and the decorator
`TARGET.decorator` that every compiled function carries; `runtime.jit`, which that decorator
names, compiles with `TARGET.jit_options`.  The number stacks a derivative saves on start at
`TARGET.stack_start` elements and double when full.

A second target (e.g. `numba.cuda` device functions) is another `Target` here with its own
imports and decorator, and the runtime helpers it needs.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Target:
    name: str
    decorator: str             # the name compiled generated functions are decorated with
    imports: str               # the import block of a generated module (binds the decorator)
    jit_options: dict = field(default_factory=dict)   # options of the compiler the decorator calls
    stack_start: int = 64      # the first size of the number stacks (they double when full)

    def njit_source(self, flags: str = "") -> str:
        """The decorator line of a function in a vectorize driver or lane kernel (Numba-compiled
        there directly, cached when the module is a file: `_CACHE`); `flags`: extra options
        written first, e.g. "parallel=True, "."""
        options = ", ".join(f"{k}={v!r}" for k, v in self.jit_options.items())
        return f"@numba.njit({flags}cache=_CACHE, {options})"

    def function(self, name: str, args: ast.arguments, body: list, compiled: bool = True) -> ast.FunctionDef:
        """A generated function; `compiled=False`: plain Python (forward mode's tangent function)."""
        return ast.FunctionDef(name=name, args=args, body=body,
                               decorator_list=[ast.Name(self.decorator, ast.Load())] if compiled else [],
                               returns=None, type_params=[])


NUMBA_CPU = Target(
    name="numba-cpu",
    decorator="_jit",
    imports='''import math

import numpy as np
from numba.typed import List as _List

from srcgrad import runtime as _rt
from srcgrad.runtime import jit as _jit
''',
    # nopython; NumPy's error model: 1/0 is inf, not an exception (a derivative may divide by 0
    # on a path whose result is multiplied by a zero adjoint)
    jit_options={"error_model": "numpy"},
    stack_start=64,
)

TARGET = NUMBA_CPU
