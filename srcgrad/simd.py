"""SIMD math for srcgrad.vectorize: glibc's vector math library (libmvec) called from Numba.

Numba compiles `math.exp` and friends to scalar libm calls, and LLVM cannot vectorize a loop
around them (the vector-library option that would let it, Intel SVML, needs an LLVM build that
PyPI's llvmlite is not).  Transcendental kernels (Black-Scholes: log, two erf, three exp per
gradient) then spend most of their time in one-at-a-time libm calls, where XLA uses its own SIMD
polynomials.  glibc >= 2.22 ships the same thing for x86-64 as `libmvec` (exp, log, sin, cos,
pow; erf, tanh, log1p... since 2.35), with the vector ABI names `_ZGVdN4v_exp` (AVX2, 4
doubles per call).

This module loads libmvec into the process (so Numba's JIT and its on-disk cache can resolve
the symbols), finds which functions it has, and defines for each a Numba intrinsic
`<name>4(a, b, c, d) -> (f(a), f(b), f(c), f(d))` that packs four float64 scalars into one
`<4 x double>` and makes one vector call.  `srcgrad/lanes.py` writes kernels that call them.

Accuracy: glibc documents at most 4 ulp for its vector variants (measured here: <= 2 ulp
for exp, log, erf on the benchmark's inputs), against libm's 1 ulp, so results differ from
the scalar derivative in the last bits.  `SRCGRAD_SIMD_MATH=0` or `srcgrad.vectorize(...,
simd_math=False)` keeps libm.

Available only on x86-64 with AVX2 and a glibc that has libmvec; elsewhere `available()` is
False and nothing calls the intrinsics.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# one-argument functions srcgrad's generated code calls as math.<name> or np.<name>
UNARY = ("exp", "log", "sin", "cos", "tan", "erf", "erfc", "expm1", "log1p", "log2", "log10",
         "exp2", "tanh", "sinh", "cosh", "atan", "asin", "acos", "asinh", "acosh", "atanh", "cbrt")
WIDTH = 4                      # AVX2: 4 doubles per vector call
_PREFIX = "_ZGVdN4v_"


def _find() -> tuple[str | None, tuple[str, ...]]:
    """(path of libmvec, the UNARY functions it has), or (None, ()) where it cannot be used."""
    if os.environ.get("SRCGRAD_SIMD_MATH", "1").strip().lower() in ("0", "false", "no", "off"):
        return None, ()
    if platform.machine() not in ("x86_64", "AMD64"):
        return None, ()
    try:
        import llvmlite.binding as ll
        features = ll.get_host_cpu_features()
        if not features.get("avx2", False):
            return None, ()
        path = ctypes.util.find_library("mvec") or "libmvec.so.1"
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        names = tuple(n for n in UNARY if hasattr(lib, _PREFIX + n))
        if not names:
            return None, ()
        ll.load_library_permanently(path)
    except (OSError, AttributeError, RuntimeError):
        return None, ()
    return path, names


LIBRARY, FUNCTIONS = _find()


def available() -> bool:
    """True when vector math can be used in this process."""
    return LIBRARY is not None


def _intrinsic(name: str):
    """The Numba intrinsic `name4(a, b, c, d)`: one call of libmvec's 4-wide `name`."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    symbol = _PREFIX + name

    def typer(typingctx, a, b, c, d):
        if not all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in (a, b, c, d)):
            return None
        sig = types.UniTuple(types.float64, WIDTH)(a, b, c, d)

        def codegen(context, builder, signature, args):
            vt = ir.VectorType(ir.DoubleType(), WIDTH)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt]), symbol)
            vec = ir.Constant(vt, ir.Undefined)
            for k, (val, ty) in enumerate(zip(args, signature.args)):
                val = context.cast(builder, val, ty, types.float64)
                vec = builder.insert_element(vec, val, ir.Constant(ir.IntType(32), k))
            res = builder.call(fn, [vec])
            lanes = [builder.extract_element(res, ir.Constant(ir.IntType(32), k)) for k in range(WIDTH)]
            return context.make_tuple(builder, signature.return_type, lanes)

        return sig, codegen

    typer.__name__ = f"{name}{WIDTH}"
    return intrinsic(typer)


for _name in FUNCTIONS:
    globals()[f"{_name}{WIDTH}"] = _intrinsic(_name)
