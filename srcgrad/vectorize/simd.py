"""SIMD math for srcgrad.vectorize: glibc's vector math library (libmvec) called from Numba.

Numba compiles `math.exp` and friends to scalar libm calls, and LLVM cannot vectorize a loop
around them (the vector-library option that would let it, Intel SVML, needs an LLVM build that
PyPI's llvmlite is not).  Transcendental kernels (Black-Scholes: log, two erf, three exp per
gradient) then spend most of their time in one-at-a-time libm calls, where XLA uses its own SIMD
polynomials.  glibc >= 2.22 ships the same thing for x86-64 as `libmvec` (exp, log, sin, cos,
pow; erf, tanh, log1p... since 2.35), with the vector ABI names `_ZGVdN4v_exp` (AVX2, 4
doubles per call) and `_ZGVeN8v_exp` (AVX-512, 8).

float32 kernels get 8 floats per call (`_ZGVdN8v_expf`, `exp8f`) on AVX2 and AVX-512 alike.

This module loads libmvec into the process (so Numba's JIT and its on-disk cache can resolve
the symbols), finds which functions it has for the widest vector the CPU has (WIDTH lanes: 8 with AVX-512,
4 with AVX2), and defines for each a Numba intrinsic `<name><WIDTH>(a, b, c, d, ...)` that packs
WIDTH float64 scalars into one `<WIDTH x double>`, makes one vector call and returns the WIDTH
results as a tuple (`exp8`, `erf4`, ...).  `lanes.py` writes kernels that call them.

Accuracy: glibc documents at most 4 ulp for its vector variants (measured here: <= 2 ulp
for exp, log, erf on the benchmark's inputs), against libm's 1 ulp, so results differ from
the scalar derivative in the last bits.  `SRCGRAD_SIMD_MATH=0` or `srcgrad.vectorize(...,
simd_math=False)` keeps libm.

Available only on x86-64 with AVX2 or AVX-512 and a glibc that has libmvec; elsewhere `available()` is
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
# (CPU feature, doubles per call, symbol prefix): AVX-512 first (`_ZGVeN8v_exp`), then AVX2
# (`_ZGVdN4v_exp`).  SRCGRAD_SIMD_WIDTH=4 picks AVX2 on an AVX-512 machine.
_VARIANTS = (("avx512f", 8, "_ZGVeN8v_"), ("avx2", 4, "_ZGVdN4v_"))
# float32: AVX2's 8 floats per call (`_ZGVdN8v_expf`) on both kinds of CPU, so a float32 kernel
# has as many lanes (and as much code) as a float64 one on AVX-512
_VARIANT32 = ("avx2", 8, "_ZGVdN8v_")
_NOTHING = (None, (), 4, "", (), 8)


def _find() -> tuple:
    """(path of libmvec, the UNARY functions it has, lanes per call, symbol prefix, the UNARY
    functions it has for float32 at _VARIANT32's width, that width), or _NOTHING where vector
    math cannot be used."""
    if os.environ.get("SRCGRAD_SIMD_MATH", "1").strip().lower() in ("0", "false", "no", "off"):
        return _NOTHING
    if platform.machine() not in ("x86_64", "AMD64"):
        return _NOTHING
    if os.environ.get("NUMBA_CPU_NAME") or os.environ.get("NUMBA_CPU_FEATURES"):
        return _NOTHING      # Numba may target another CPU than this one: the vector ABI may not hold
    try:
        import llvmlite.binding as ll
        features = ll.get_host_cpu_features()
        path = ctypes.util.find_library("mvec") or "libmvec.so.1"
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        forced = os.environ.get("SRCGRAD_SIMD_WIDTH", "").strip()
        for feature, width, prefix in _VARIANTS:
            if not features.get(feature, False) or forced and forced != str(width):
                continue
            names = tuple(n for n in UNARY if hasattr(lib, prefix + n))
            if names:
                ll.load_library_permanently(path)
                feature32, width32, prefix32 = _VARIANT32
                names32 = tuple(n for n in UNARY if hasattr(lib, prefix32 + n + "f")) \
                    if features.get(feature32, False) else ()
                return path, names, width, prefix, names32, width32
    except (OSError, AttributeError, RuntimeError):
        pass
    return _NOTHING


LIBRARY, FUNCTIONS, WIDTH, _PREFIX, FUNCTIONS32, WIDTH32 = _find()


def available() -> bool:
    """True when vector math can be used in this process."""
    return LIBRARY is not None


def intrinsic_name(name: str, f32: bool = False) -> str:
    """The intrinsic calling libmvec's `name`: `exp8` (float64), `exp8f` (float32)."""
    return f"{name}{WIDTH32}f" if f32 else f"{name}{WIDTH}"


def _intrinsic(name: str, f32: bool = False):
    """The Numba intrinsic `intrinsic_name(name, f32)(x0, .., x<width-1>)`: one call of
    libmvec's `name` on `width` doubles (or floats, `f32`)."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    width = WIDTH32 if f32 else WIDTH
    symbol = (_VARIANT32[2] + name + "f") if f32 else (_PREFIX + name)
    fp, irfp = (types.float32, ir.FloatType()) if f32 else (types.float64, ir.DoubleType())

    def typer(lanes):
        if not all(isinstance(t, (types.Float, types.Integer, types.Boolean)) for t in lanes):
            return None
        sig = types.UniTuple(fp, width)(*lanes)

        def codegen(context, builder, signature, args):
            vt = ir.VectorType(irfp, width)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt]), symbol)
            vec = ir.Constant(vt, ir.Undefined)
            for k, (val, ty) in enumerate(zip(args, signature.args)):
                val = context.cast(builder, val, ty, fp)
                vec = builder.insert_element(vec, val, ir.Constant(ir.IntType(32), k))
            res = builder.call(fn, [vec])
            lanes = [builder.extract_element(res, ir.Constant(ir.IntType(32), k)) for k in range(width)]
            return context.make_tuple(builder, signature.return_type, lanes)

        return sig, codegen

    # Numba's intrinsics take no *args: a typer with one parameter per lane
    params = ", ".join(f"x{k}" for k in range(width))
    scope = {"typer": typer}
    fname = intrinsic_name(name, f32)
    exec(f"def {fname}(typingctx, {params}):\n    return typer(({params},))\n", scope)
    return intrinsic(scope[fname])


for _name in FUNCTIONS:
    globals()[intrinsic_name(_name)] = _intrinsic(_name)
for _name in FUNCTIONS32:
    globals()[intrinsic_name(_name, True)] = _intrinsic(_name, True)
