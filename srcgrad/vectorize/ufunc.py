"""The ufunc-like object of srcgrad.vectorize: `Vectorized` and the public `vectorize`.

    greeks = srcgrad.vectorize(srcgrad.grad(call_price, argnums=(0, 2, 3, 4)))
    dS, dT, dr, dsigma = greeks(S, 100.0, T, r, sigma)      # arrays; scalars broadcast

How a call runs:

* Arguments are bound like the function's own (keywords, defaults), given NumPy's dtype
  promotion, broadcast like a NumPy ufunc and described to the compiled driver as 2-D strided
  views (broadcast.py).  Scalars are passed as scalars, so the kernel sees them as constants.
* The per-element kernel is the derivative srcgrad generates (reverse mode, or a forward-mode
  gradient for a loop kernel with few inputs; its float32 rewrite for float32 data,
  float32.py), or the plain function compiled by Numba.  The driver that applies it over the
  elements (drivers.py) runs on Numba's threads (`NUMBA_NUM_THREADS` and
  `numba.set_num_threads` are honoured).
* Called with Dask arrays, it returns lazy Dask arrays (daskarrays.py); the object pickles by
  reference to the user's function, so it reaches `dask.distributed` workers when that function
  is importable there.
"""
from __future__ import annotations

import hashlib
import inspect
import math
import os
import re
import threading
from typing import Callable

import numba
import numpy as np

from ..codegen import compile as cache
from ..codegen.target import TARGET
from ..errors import SrcgradError
from . import daskarrays, drivers
from .broadcast import is_scalar, unalias, views
from .float32 import float32_source
from .runtime import KERNELS

BLOCK = 1024             # elements per block: the unit of a driver's loop and of its threads' work
CHUNKS_PER_THREAD = 8    # unequal-cost elements: each thread's share is handed out in this many chunks
_PLANNABLE = (np.ndarray, float, int, bool, np.float64, np.float32, np.float16, np.int64, np.int32,
              np.int16, np.int8, np.uint64, np.uint32, np.uint16, np.uint8, np.bool_)


class Vectorized:
    """`fn` applied elementwise with NumPy broadcasting; see `srcgrad.vectorize`."""

    def __init__(self, fn, parallel=True, threads=None, block=BLOCK, simd_math=True):
        from ..api import GradFunction
        if isinstance(fn, Vectorized):
            fn = fn.fn
        _check_function(fn)
        if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
            raise ValueError(f"block must be a positive number of elements, got {block!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                    or threads < 1):
            raise ValueError(f"threads must be None (all of Numba's threads) or a positive int, got {threads!r}")
        self.fn = fn
        self.parallel = bool(parallel)
        self.threads = threads
        self.block = int(block)
        self.simd_math = bool(simd_math)
        if isinstance(fn, GradFunction) and fn.kind not in ("grad", "value_and_grad"):
            raise SrcgradError(f"srcgrad.vectorize takes a function, a grad or a value_and_grad; "
                               f"got a {fn.kind} ({fn!r})")
        if isinstance(fn, GradFunction):
            self.kind = fn.kind
            self._py = fn.fun
            self._diff = set(fn.argnums)
            self.nout = len(fn.argnums) + (fn.kind == "value_and_grad")
        else:
            self.kind = "primal"
            self._py = getattr(fn, "py_func", fn)
            self._diff = set()
            self.nout = 1
        try:
            self._sig = inspect.signature(self._py)
        except (TypeError, ValueError):
            raise SrcgradError(f"cannot read the signature of {fn!r}") from None
        self.nin = len(self._sig.parameters)
        self.__name__ = getattr(self._py, "__name__", "vectorized")
        self.__qualname__ = getattr(self._py, "__qualname__", self.__name__)
        self.__doc__ = getattr(self._py, "__doc__", None)
        self._builds, self._builds_for = {}, None
        self._primal_stem = None
        self._float32_ok = True        # False once the float32 rewrite of the kernel failed to type
        self._float32_lanes = True     # False once its SIMD lanes failed to type
        self._lock = threading.Lock()
        self._plans = {}
        self._fast = None              # the pattern of the last common call (_call_fast)

    def __repr__(self):
        return f"<srcgrad.vectorize of {self.fn!r}, nin={self.nin}, nout={self.nout}>"

    def __reduce__(self):
        if self.kind == "primal":
            spec = (self.kind, self.fn, None)
        else:
            spec = (self.kind, self.fn.fun,
                    self.fn.argnums[0] if self.fn.single else self.fn.argnums)
        return _rebuild, (spec, dict(parallel=self.parallel, threads=self.threads, block=self.block,
                                     simd_math=self.simd_math))

    # ------------------------------------------------------------------ compiling
    FORWARD_MAX_INPUTS = 4

    def _engine(self):
        """The derivative the driver calls per element.  Reverse mode, except for kernels whose
        loops save values and that have at most FORWARD_MAX_INPUTS differentiated inputs: their
        whole gradient in one forward sweep (one tangent per input) needs no stack at all, which
        is what a hand-written per-element derivative of such a loop does."""
        fn = self.fn
        if fn.uses_stacks and len(fn.argnums) <= self.FORWARD_MAX_INPUTS:
            from ..higher import ForwardGradFunction
            if getattr(self, "_forward", None) is None or self._forward.fun is not fn.fun:
                self._forward = ForwardGradFunction(fn.fun, fn.argnums[0] if fn.single else fn.argnums,
                                                    kind=fn.kind)
            return self._forward
        return fn

    def _kernel_key(self):
        """(cache stem of the per-element kernel, the kernel, uses_stacks)."""
        if self.kind == "primal":
            return self._primal_key()
        eng = self._engine()
        mod = eng.module()
        if getattr(mod, "HIDDEN", ()):
            raise SrcgradError(
                f"srcgrad.vectorize: {self.__qualname__} reads arrays from its globals or closure "
                f"({', '.join(n for _, n in mod.HIDDEN)}); a per-element kernel takes numbers only: pass "
                "the values it needs as arguments")
        stem = mod.__name__.rpartition(".")[2]
        return stem, eng.vjp_kernel, eng.uses_stacks

    def _primal_key(self):
        if self._primal_stem is not None:      # a plain function is compiled once per object
            return self._primal_stem, KERNELS[self._primal_stem], False
        from ..frontend import resolve
        from ..frontend.source import parse_function
        py = self._py
        try:
            fp, _ = resolve.dependency_fingerprint(py, parse_function)
        except Exception:          # source unavailable: key on the code object instead
            fp = hashlib.sha256(py.__code__.co_code + repr(py.__code__.co_consts).encode()).hexdigest()
        from ..codegen.derivative import compiler_fingerprint as _compiler_fingerprint   # a changed srcgrad never reuses an old driver
        h = hashlib.sha256(f"{_compiler_fingerprint()}|{numba.__version__}|{fp}".encode()).hexdigest()
        stem = f"{_identifier(py.__name__)}_primal_{h[:24]}"
        kernel = self.fn if hasattr(self.fn, "py_func") else _jit_primal(py, {})
        KERNELS.setdefault(stem, kernel)
        self._primal_stem = stem
        return stem, KERNELS[stem], False

    def _float32_kernel(self, stem):
        """(stem, kernel, its module's source) of the derivative rewritten so float32 arguments
        compute in float32."""
        eng = self._engine()
        mod = eng.module()
        name = eng.vjp_name
        text = float32_source(mod.__srcgrad_source__, name, mod.COUNTERS)
        stem32 = f"{stem}_f32_{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        path = cache.path_for(stem32) if cache.read_valid(stem32) == text else cache.write(stem32, text)
        return stem32, getattr(cache.import_module(stem32, path, text), name), text

    def _get_build(self, f32=False) -> drivers.Build:
        """The compiled driver (for float32 arithmetic when `f32`), rebuilt if `fn` changed."""
        mod = None if self.kind == "primal" else self.fn.module()
        if mod is not self._builds_for:
            self._builds, self._builds_for = {}, mod
        b = self._builds.get(f32)
        if b is not None:
            return b
        with self._lock:
            if f32 in self._builds:
                return self._builds[f32]
            stem, kernel, stacks = self._kernel_key()
            source = None if self.kind == "primal" else self._engine().module().__srcgrad_source__
            if f32:
                stem, kernel, source = self._float32_kernel(stem)
            KERNELS[stem] = kernel
            name = _identifier(self.__name__)
            ngrads = self.nout - (self.kind == "value_and_grad") if self.kind != "primal" else 0
            what = (f"`{self.__qualname__}` ({self.kind}), {self.nin} input(s) -> "
                    f"{self.nout} output(s), kernel {stem}")
            block, slp = None, False
            balance = drivers.has_loops(source, self._py)
            if self.kind != "primal":
                eng = self._engine()
                block, slp = drivers.block_kernel(source, eng.vjp_name, self.kind, eng is not self.fn, f32,
                                                  self.simd_math, self._float32_lanes)
            self._builds[f32] = drivers.build(name, stem, what, self.kind, self.nin, ngrads, stacks, f32,
                                              block, slp, balance)
            return self._builds[f32]

    @property
    def source(self) -> str:
        """The generated driver source (the per-element kernel is `fn.source` for a derivative)."""
        return self._get_build().module.__srcgrad_source__

    @property
    def gufunc(self):
        """The elementwise kernel as a NumPy gufunc (layout `(),()->(),()`), float64 and float32
        loops (both with the float64 kernel: NumPy picks one loop for all types).

        NumPy's own loop calls it one element at a time (a loop kernel's stacks are allocated per
        element), single-threaded; calling this object directly is faster."""
        b = self._get_build()
        if b.gufunc is None:
            layout = ",".join(["()"] * self.nin) + "->" + ",".join(["()"] * self.nout)
            sigs = []
            for t in (numba.float64, numba.float32):
                sigs.append(numba.void(*([t] * self.nin), *([t[:]] * self.nout)))
            real = os.path.isfile(getattr(b.module, "__file__", ""))
            b.gufunc = numba.guvectorize(sigs, layout, cache=real)(b.gufunc_body)
        return b.gufunc

    # ------------------------------------------------------------------ calling
    def _bind(self, args, kwargs) -> list:
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.__name__}(): {exc}") from None
        bound.apply_defaults()
        return list(bound.args)

    def _operand(self, i, v):
        """A list, tuple or other array-like as an array, as NumPy's ufuncs take them; a clear
        TypeError for what is not numbers."""
        what = f"argument {i} ({list(self._sig.parameters)[i]}) of {self.__name__}"
        if v is None or isinstance(v, (str, bytes)):
            raise TypeError(f"{what} is {type(v).__name__} {v!r:.40}; pass a number or an array of numbers")
        try:
            a = np.asarray(v)
        except (ValueError, TypeError) as exc:      # ragged nesting
            raise TypeError(f"{what} is a {type(v).__name__} that is not a rectangular array of "
                            f"numbers ({exc})") from None
        if a.dtype.kind not in "biufc":
            raise TypeError(f"{what} is a {type(v).__name__} holding {a.dtype} values, not numbers; "
                            "pass a number or an array of numbers")
        return a

    def _float_dtype(self, vals) -> np.dtype:
        """The output dtype: NumPy's promotion of the differentiated and float inputs (Python
        scalars are weak), integers and float16 promoted to a float Numba computes with."""
        part = []
        for i, v in enumerate(vals):
            dt = v.dtype if hasattr(v, "dtype") else None
            if isinstance(v, bool) or (dt is not None and dt.kind == "b"):
                if i in self._diff:
                    raise TypeError(f"argument {i} of {self.__name__} is boolean and cannot be differentiated")
                continue
            if isinstance(v, complex) or (dt is not None and dt.kind == "c"):
                raise TypeError(f"argument {i} of {self.__name__} is complex; srcgrad works on real numbers")
            is_float = isinstance(v, float) or (dt is not None and dt.kind == "f")
            if i in self._diff or is_float:
                part.append(v if dt is None else dt)
        if not part:
            return np.dtype(np.float64)
        dt = np.result_type(*part)
        if dt.kind != "f":
            dt = np.result_type(dt, np.float64)
        if dt.itemsize < 4:
            dt = np.dtype(np.float32)
        if dt.itemsize > 8:
            raise TypeError(f"{dt} inputs are not supported (Numba computes in float64 at most)")
        return dt

    def __call__(self, *args, out=None, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs and len(args) == self.nin:
            result = self._call_fast(fast, args, out)
            if result is not None:
                return result
        vals = list(args) if not kwargs and len(args) == self.nin else self._bind(args, kwargs)
        if daskarrays.has_dask(vals):
            if out is not None:
                raise TypeError("out= is not supported with Dask arrays (results are lazy)")
            return daskarrays.apply(self, vals)
        vals = [v if isinstance(v, (np.ndarray, complex)) or is_scalar(v) else self._operand(i, v)
                for i, v in enumerate(vals)]
        if self.threads is not None and self.parallel:
            before = numba.get_num_threads()
            numba.set_num_threads(max(1, min(int(self.threads), numba.config.NUMBA_NUM_THREADS)))
            try:
                return self._run(vals, out, self.parallel, scalars=True)
            finally:
                numba.set_num_threads(before)
        return self._run(vals, out, self.parallel, scalars=True)

    # The common call -- C-contiguous arrays of one shape and dtype, Python scalars, no keywords,
    # out= absent or C-contiguous arrays of that shape and dtype apart from the inputs -- skips
    # binding, planning and broadcasting: at 1e5 elements of a cheap kernel those cost as much
    # as the kernel (~8 us of Python per call).
    def _call_fast(self, fast, args, out=None):
        """The result, or None when `args` do not fit the recorded pattern (the general path)."""
        pattern, dtype, build, module, zs = fast
        if self.threads is not None or (self.kind != "primal" and self.fn.module() is not module):
            return None
        shape = None
        inputs, arrays = [], []
        for a, (t, conv) in zip(args, pattern):
            if type(a) is not t:
                return None
            if conv is not None:                # a scalar, converted as the plan said
                inputs.append(conv(a))
                continue
            if a.dtype != dtype or not a.flags.c_contiguous or (shape is not None and a.shape != shape):
                return None
            shape = a.shape
            inputs.append(a)
            arrays.append(a)
        if not arrays or shape == () or arrays[0].size == 0:
            return None
        n = arrays[0].size
        if out is None:
            outs = [np.empty(shape, dtype) for _ in range(self.nout)]
        else:
            outs = out if type(out) is tuple else (out,)
            if len(outs) != self.nout:
                return None
            for o in outs:
                if type(o) is not np.ndarray or o.dtype != dtype or o.shape != shape or \
                        not o.flags.c_contiguous or not o.flags.writeable:
                    return None
                for a in arrays:      # an output over an input, other than element for element
                    if a is not o and np.may_share_memory(a, o):
                        return None
        threaded = n > self.block and self.parallel and numba.config.NUMBA_NUM_THREADS > 1
        if build.slp or threaded and build.balance:     # settings around the call: see _drive
            self._drive(build, inputs, zs, outs, arrays, shape, True, n, self.parallel)
        elif build.flat_serial is not None:     # straight to the compiled 1-D loop
            flat_outs = outs
            if len(shape) > 1:                  # C-contiguous: their flat views
                inputs = [a.reshape(-1) if type(a) is np.ndarray else a for a in inputs]
                flat_outs = [o.reshape(-1) for o in outs]
            (build.flat_parallel if threaded else build.flat_serial)(*inputs, *flat_outs)
        else:                                   # straight to the compiled block driver
            (build.parallel if threaded else build.serial)(
                *[a.reshape(1, -1) if type(a) is np.ndarray else a for a in inputs], *zs,
                *[o.reshape(1, -1) for o in outs], self.block)
        return tuple(outs) if self.nout > 1 else outs[0]

    def _remember_fast(self, vals, how, dtype, build, zs, same):
        """Record the pattern of a call that _call_fast can repeat (see there)."""
        if not same or any(z is not None for z in zs):
            return
        pattern = []
        for v, (kind, conv) in zip(vals, how):
            if kind == "scalar":
                if type(v) not in (float, int, bool, np.float64, np.float32):
                    return
                pattern.append((type(v), conv))
            else:
                if type(v) is not np.ndarray or v.ndim == 0 or not v.flags.c_contiguous:
                    return
                pattern.append((np.ndarray, None))
        module = None if self.kind == "primal" else self.fn.module()
        self._fast = (tuple(pattern), dtype, build, module, zs)

    def _plan(self, vals):
        """(output dtype, per argument: how to pass it), cached per argument types."""
        key = tuple((type(v), getattr(v, "dtype", None)) for v in vals)
        plan = self._plans.get(key) if all(t in _PLANNABLE for t, _ in key) else None
        if plan is not None:
            return plan
        dtype = self._float_dtype(vals)
        how = []
        for i, v in enumerate(vals):
            as_float = i in self._diff or isinstance(v, float) or (
                hasattr(v, "dtype") and v.dtype.kind == "f")
            if is_scalar(v):
                is_bool = isinstance(v, (bool, np.bool_)) or getattr(v, "dtype", None) == np.bool_
                how.append(("scalar", dtype.type if as_float else (bool if is_bool else np.int64)))
            else:
                dt = np.asarray(v).dtype
                if dt.kind not in "biuf":
                    raise TypeError(f"argument {i} of {self.__name__} has dtype {dt}; pass numbers")
                how.append(("array", dtype.type(0) if as_float and dt != dtype else None))
        plan = (dtype, how)
        if all(t in _PLANNABLE for t, _ in key):
            self._plans[key] = plan
        return plan

    def _run(self, vals, out, parallel, scalars):
        dtype, how = self._plan(vals)
        inputs, zs = [], []
        for v, (kind, conv) in zip(vals, how):
            if kind == "scalar":
                inputs.append(conv(v[()] if isinstance(v, np.ndarray) else v))
                zs.append(None)
            else:
                inputs.append(np.asarray(v))
                zs.append(conv)
        arrays = [a for a in inputs if isinstance(a, np.ndarray)]
        outs = self._outputs(out)
        shapes = {a.shape for a in arrays} | {o.shape for o in outs}
        same = len(shapes) == 1
        try:
            shape = next(iter(shapes)) if same else np.broadcast_shapes(*[a.shape for a in arrays],
                                                                            *[o.shape for o in outs])
        except ValueError:
            raise ValueError(f"{self.__name__}: operands could not be broadcast together with shapes "
                             + " ".join(str(a.shape) for a in arrays)
                             + "".join(f" and out= {o.shape}" for o in outs)) from None
        for o in outs:
            if o.shape != shape:
                raise ValueError(f"out= array has shape {o.shape}, the result has shape {shape}")
        if not outs:   # in the inputs' memory order, as NumPy's ufuncs do
            order = "F" if arrays and all(a.shape == shape and a.flags.f_contiguous
                                          and not a.flags.c_contiguous for a in arrays) else "C"
            outs = [np.empty(shape, dtype, order=order) for _ in range(self.nout)]
        else:
            inputs = unalias(inputs, outs)
        n = math.prod(shape)
        if n:
            f32 = dtype == np.float32 and self.kind != "primal" and self._float32_ok
            while True:
                build = self._get_build(f32)
                try:
                    self._drive(build, inputs, zs, outs, arrays, shape, same, n, parallel)
                    break
                except (numba.core.errors.TypingError, numba.core.errors.LoweringError):
                    if not f32:
                        raise
                    if build.slp:               # the float32 lanes did not type: the float32
                        self._float32_lanes = False         # element loop instead
                        self._builds.pop(True, None)
                    else:                       # literals typed float32 broke typing: float64
                        self._float32_ok = False
                        f32 = False
            if parallel == self.parallel:
                self._remember_fast(vals, how, dtype, build, zs, same)
        if out is None and scalars and shape == ():
            outs = [o[()] for o in outs]
        return tuple(outs) if self.nout > 1 else outs[0]

    def _drive(self, build, inputs, zs, outs, arrays, shape, same, n, parallel):
        """Run the driver over the operands (2-D views; one call per slice that does not coalesce)."""
        # more than one block and threads to share them: the prange driver
        par = parallel and n > self.block and numba.config.NUMBA_NUM_THREADS > 1
        drive = build.parallel if par else build.serial
        balance = par and build.balance
        if balance:   # elements of unequal cost: blocks handed out in chunks of a
            # thread's share / CHUNKS_PER_THREAD.  A straight-line kernel keeps Numba's static split (one contiguous
            # run of blocks per thread) and skips these calls (~1 us each).
            nblocks = -(-n // self.block)
            chunk = numba.set_parallel_chunksize(max(1, nblocks // (CHUNKS_PER_THREAD * numba.get_num_threads())))
        if build.slp:      # Numba leaves SLP off by default; the lanes need it to pack their arithmetic
            slp, numba.config.SLP_VECTORIZE = numba.config.SLP_VECTORIZE, 1
        try:
            if same and all(a.flags.c_contiguous for a in arrays) and \
                    all(o.flags.c_contiguous for o in outs):     # the common case, quickly
                xs = [a.reshape(1, -1) if isinstance(a, np.ndarray) else a for a in inputs]
                drive(*xs, *zs, *[o.reshape(1, -1) for o in outs], self.block)
            else:
                pos = [k for k, a in enumerate(inputs) if isinstance(a, np.ndarray)]
                for vs in views([inputs[k] for k in pos] + outs, shape):
                    xs = list(inputs)
                    for k, v in zip(pos, vs):
                        xs[k] = v
                    drive(*xs, *zs, *vs[len(pos):], self.block)
        finally:
            if balance:
                numba.set_parallel_chunksize(chunk)
            if build.slp:
                numba.config.SLP_VECTORIZE = slp

    def _outputs(self, out) -> list:
        if out is None:
            return []
        if isinstance(out, np.ndarray):
            out = (out,)
        if not isinstance(out, tuple) or len(out) != self.nout:
            raise TypeError(f"{self.__name__} has {self.nout} output(s); pass out= as a tuple of "
                            f"{self.nout} array(s)")
        for o in out:
            if not isinstance(o, np.ndarray) or o.dtype.kind != "f":
                raise TypeError(f"out= needs float arrays, got {getattr(o, 'dtype', type(o).__name__)}")
            if not o.flags.writeable:
                raise ValueError("out= array is read-only")
        return list(out)

def _jit_primal(py, done: dict):
    """numba.njit of a plain function; the plain Python helpers it calls (which srcgrad inlines
    when differentiating) are compiled too, through a copy of its globals (the user's stay as is)."""
    import types as pytypes

    from ..frontend import resolve
    if py in done:
        return done[py]
    helpers = {name: py.__globals__[name] for name in py.__code__.co_names
               if resolve.is_helper(py.__globals__.get(name))}
    if not helpers:
        done[py] = numba.njit(cache=os.path.isfile(py.__code__.co_filename), **TARGET.jit_options)(py)
        return done[py]
    done[py] = None          # recursion is not supported by srcgrad's subset either
    env = dict(py.__globals__)
    for name, helper in helpers.items():
        env[name] = _jit_primal(helper, done)
    twin = pytypes.FunctionType(py.__code__, env, py.__name__, py.__defaults__, py.__closure__)
    twin.__qualname__ = py.__qualname__
    done[py] = numba.njit(**TARGET.jit_options)(twin)
    return done[py]


def _check_function(fn) -> None:
    """Refuse, with what to pass instead, what vectorize cannot take."""
    from ..api import GradFunction
    if isinstance(fn, GradFunction):
        return
    if isinstance(fn, np.ufunc):
        raise SrcgradError(f"np.{fn.__name__} is already a NumPy ufunc: call it directly, or pass "
                           f"srcgrad.vectorize a Python function that calls it")
    if not callable(fn):
        raise SrcgradError(f"srcgrad.vectorize needs a function, got {type(fn).__name__} {fn!r:.60}")
    if (getattr(fn, "__module__", None) or "").startswith("srcgrad."):
        raise SrcgradError(
            f"srcgrad.vectorize takes a scalar function, a srcgrad.grad or a srcgrad.value_and_grad; "
            f"`{getattr(fn, '__name__', fn)}` comes from srcgrad (jacobian, hessian, hvp...): for "
            "per-element second derivatives pass srcgrad.grad(srcgrad.grad(f))")
    py = getattr(fn, "py_func", fn)
    if not hasattr(py, "__code__"):
        raise SrcgradError(f"srcgrad.vectorize needs a Python function (def) or a numba.njit one, got "
                           f"{type(fn).__name__} {getattr(fn, '__name__', fn)!r}: wrap it in a def")


def _identifier(name: str) -> str:
    """`name` usable in generated code and file names (`<lambda>` -> `_lambda_`)."""
    out = re.sub(r"\W", "_", name)
    return out if out.isidentifier() else f"_{out}"


def _rebuild(spec, options):
    kind, fun, argnums = spec
    if kind == "primal":
        return Vectorized(fun, **options)
    from ..api import GradFunction
    return Vectorized(GradFunction(fun, argnums, kind), **options)


def vectorize(fn: Callable | None = None, *, parallel: bool = True, threads: int | None = None,
              block: int = BLOCK, simd_math: bool = True) -> Vectorized | Callable[[Callable], Vectorized]:
    """vectorize(fn, parallel=True, threads=None, block=1024, simd_math=True): `fn` elementwise
    over arrays.

        >>> import math, numpy as np, srcgrad
        >>> def f(x, y):
        ...     return math.sin(x) * y
        >>> dfdx = srcgrad.vectorize(srcgrad.grad(f))
        >>> dfdx(np.array([0.0, math.pi]), 2.0)            # cos(x) * y, element by element
        array([ 2., -2.])

    `fn` is a scalar Python function (compiled as is with Numba) or a `srcgrad.grad` /
    `srcgrad.value_and_grad` of one.  Usable as `@vectorize`, `@vectorize(parallel=False)` or
    `vectorize(srcgrad.grad(f, argnums=(0, 2)))`.

    The result behaves like a NumPy ufunc: arguments broadcast (scalars, any number of
    dimensions, non-contiguous views), `out=` takes one array per output (a tuple; a single
    array when there is one output), several outputs come back as a tuple (a value_and_grad's
    value first, then one array per argnum), a 0-d result is a NumPy scalar.  Arguments may
    also be passed by keyword, and defaults apply.

    dtypes: the outputs have NumPy's promotion of the differentiated and the float inputs
    (Python scalars do not promote: float32 arrays with a Python float give float32); integer
    inputs that are differentiated are read as that float type, other integer inputs stay
    integers (a trip count).  Precision: a derivative called with float32 runs a variant of
    the generated code whose literals are float32 (`0.5 * x` stays float32), so the arithmetic
    is float32 like the data; should that variant not compile (an integer literal next to an
    integer variable it could not tell apart), it falls back to the float64 code, rounded once
    to float32 on store.  A plain function (not a derivative) is compiled as written, so its
    float literals promote float32 arguments to float64 inside it; its outputs are float32.
    Runtime helpers the derivative calls (e.g. the derivative of abs) may still compute a
    partial in float64.

    Threads: with `parallel=True` elements are split into blocks of `block` over Numba's
    threads (`NUMBA_NUM_THREADS`, `numba.set_num_threads`); `threads=n` caps the threads used by
    this function's calls; `parallel=False` runs in the calling thread.  Calls no larger than
    one block always run in the calling thread.

    Dask: called with any Dask array, returns lazy Dask arrays (a tuple for several outputs),
    each block computed single-threaded by the compiled driver; pickling the object rebuilds it
    from the user's function (which must be importable by the workers).

    SIMD math: a straight-line derivative, or the step of a lock-step loop, that calls exp,
    log, erf, tanh... is computed 8 elements at a time (4 for float64 without AVX-512) with
    glibc's vector math library where it exists (x86-64 with AVX2, glibc >= 2.22;
    `srcgrad/vectorize/simd.py`, `lanes.py`).  Its functions are accurate to a few ulp instead
    of libm's one, so results may differ from the scalar derivative in the last
    bits; `simd_math=False` (or `SRCGRAD_SIMD_MATH=0` in the environment) keeps libm.

    `.gufunc` is the same elementwise kernel as a Numba gufunc (float64 and float32 loops) for
    NumPy/Dask interop; `.source` is the generated driver.
    """
    opts = dict(parallel=parallel, threads=threads, block=block, simd_math=simd_math)
    if fn is None:
        return lambda f: Vectorized(f, **opts)
    return Vectorized(fn, **opts)
