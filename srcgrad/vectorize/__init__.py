"""srcgrad.vectorize: a scalar function or its srcgrad derivative, applied elementwise over arrays
as a compiled, broadcasting, multi-threaded, ufunc-like function (issue #5).

    greeks = srcgrad.vectorize(srcgrad.grad(call_price, argnums=(0, 2, 3, 4)))
    dS, dT, dr, dsigma = greeks(S, 100.0, T, r, sigma)      # arrays; scalars broadcast

One module per part:

    ufunc.py       the Vectorized object and `vectorize`: binding, dtypes, the call paths
    broadcast.py   NumPy broadcasting as 2-D strided views; inputs that overlap an output
    drivers.py     the generated driver modules (blocks over threads), built and cached
    runtime.py     the helpers the drivers call, and the registry of per-element kernels
    float32.py     the derivative rewritten to compute float32 data in float32
    daskarrays.py  calls with Dask arrays: lazy, blockwise
    kernel.py      the per-element derivative taken apart for the block kernels below
    lanes.py       straight-line kernels WIDTH elements at a time, libmvec calls as vector calls
    lockstep.py    loop kernels whose elements advance through the loop together
    simd.py        glibc's libmvec as Numba intrinsics

`import srcgrad` binds `srcgrad.vectorize` to the function; this package is reached through
`sys.modules` (`from srcgrad.vectorize import simd`, `importlib.import_module(...)`).  It
exports what a generated driver imports from it: `load`, `segment`, `registered_kernel` (and
the submodule `simd`).
"""
from .runtime import load, registered_kernel, segment
from .ufunc import Vectorized, vectorize

__all__ = ["vectorize", "Vectorized", "load", "segment", "registered_kernel"]
