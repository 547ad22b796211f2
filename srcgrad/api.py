"""The public differentiation API: grad, value_and_grad, and the GradFunction they return."""
from __future__ import annotations

import functools
import hashlib
import inspect
import re
import threading

import numpy as np

from . import __version__
from .codegen import compile as cache
from .codegen import emit
from .errors import ArgnumsError, CompilationError, NonScalarOutputError, SrcgradError, UnsupportedSyntaxError
from .frontend import resolve
from .frontend.source import parse_function
from .rules.registry import GENERATION

_BUILD_LOCKS: dict[str, threading.RLock] = {}
_GLOBAL_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _compiler_fingerprint() -> str:
    """Hash of srcgrad's own source: a changed compiler never reuses an old derivative."""
    from pathlib import Path
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _normalize_argnums(fun, argnums):
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        raise SrcgradError(f"cannot read the signature of {fun!r}") from None
    params = list(sig.parameters.values())
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(argnums)
    if not nums:
        raise ArgnumsError("argnums is empty: name at least one argument to differentiate")
    if any(not isinstance(a, (int, np.integer)) or isinstance(a, bool) for a in nums):
        raise ArgnumsError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
    n = len(params)
    out = []
    for a in nums:
        if not -n <= a < n:
            raise ArgnumsError(
                f"argnums={argnums!r} is out of range: {getattr(fun, '__name__', fun)} has {n} "
                f"positional parameter(s) ({', '.join(p.name for p in params)})")
        out.append(a % n)
    if len(set(out)) != len(out):
        raise ArgnumsError(f"argnums={argnums!r} names an argument twice")
    return tuple(out), single, sig


class GradFunction:
    """The derivative of `fun`: call it like `fun`; `.source` is the generated Python and
    `.kernel` the Numba dispatcher (callable from your own @njit code with the same arguments)."""

    def __init__(self, fun, argnums=0, kind="grad"):
        if isinstance(fun, GradFunction):
            # grad(grad(f)): differentiate the forward-mode partial of f (reverse over forward)
            from .higher import partial_function
            fun = partial_function(fun)
        if inspect.ismethod(fun):   # `self` would be a parameter srcgrad is never given
            p = parse_function(fun.__func__)
            raise UnsupportedSyntaxError(
                f"`{fun.__qualname__}` is a bound method", p.loc(p.tree),
                "differentiate a plain function and pass the object's fields as arguments")
        if not callable(fun) or not hasattr(fun, "__code__"):
            raise SrcgradError(f"srcgrad.{kind} needs a plain Python function, got {type(fun).__name__}")
        self.fun = fun
        self.kind = kind
        self.argnums, self.single, self._sig = _normalize_argnums(fun, argnums)
        self._params = list(self._sig.parameters)
        self._module = None
        self._watch = None
        self._generation = -1
        self._kernel_ref = self._kernel_for = None     # the kernel of the module it came from
        self._lock = threading.RLock()
        functools.update_wrapper(self, fun)

    def __repr__(self):
        nums = self.argnums[0] if self.single else self.argnums
        return f"<srcgrad.{self.kind} of {self.fun.__qualname__}, argnums={nums}>"

    # ------------------------------------------------------------------ building
    def _key(self):
        fp, watch = resolve.dependency_fingerprint(self.fun, parse_function)
        h = hashlib.sha256(f"{_compiler_fingerprint()}|{self.mode}|{fp}|{self.argnums}|{self.single}".encode())
        return f"{self.fun.__name__}_{self.mode[0]}{h.hexdigest()[:24]}", watch

    mode = "reverse"

    def _transform(self) -> str:
        from .pipeline import transform
        return transform(self.fun, self.argnums, self.single)

    def module(self):
        """The generated, imported module (rebuilt when the function or a helper changed)."""
        mod = self._module
        if mod is not None and self._generation == GENERATION[0] and resolve.still_valid(self._watch):
            return mod
        with self._lock:
            if self._module is not None and self._generation == GENERATION[0] \
                    and resolve.still_valid(self._watch):
                return self._module
            generation = GENERATION[0]
            stem, watch = self._key()
            with _GLOBAL_LOCK:
                lock = _BUILD_LOCKS.setdefault(stem, threading.RLock())
            with lock:
                text = cache.read_valid(stem)
                path = cache.path_for(stem) if text is not None else None
                if text is None:
                    text = self._transform()
                    path = cache.write(stem, text)
                self._module = cache.import_module(stem, path, text)
                self._watch = watch
                self._generation = generation
            return self._module

    @property
    def source(self) -> str:
        """The generated Python source of the fused forward + adjoint function and its wrappers."""
        return self.module().__srcgrad_source__

    @property
    def kernel(self):
        """Numba dispatcher with `fun`'s parameters returning what this object returns."""
        return getattr(self.module(), f"{self.fun.__name__}_{self.kind}")

    @property
    def vjp_name(self) -> str:
        return f"{self.fun.__name__}_vjp"

    @property
    def vjp_kernel(self):
        """Numba dispatcher `(*params, seed[, fstack, istack]) -> (value, grads[, stacks])`."""
        return getattr(self.module(), self.vjp_name)

    @property
    def uses_stacks(self) -> bool:
        return bool(getattr(self.module(), "USES_STACKS"))

    # ------------------------------------------------------------------ calling
    def bind(self, args, kwargs) -> tuple:
        try:
            bound = self._sig.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.fun.__name__}(): {exc}") from None
        bound.apply_defaults()
        vals = list(bound.args)
        for i in self.argnums:
            v = vals[i]
            if isinstance(v, (bool, np.bool_)):
                raise ArgnumsError(f"argument {i} ({self._params[i]}) is a bool and cannot be differentiated")
            if isinstance(v, (int, np.integer)):
                vals[i] = float(v)
            elif isinstance(v, np.ndarray) and v.dtype.kind != "f":
                raise ArgnumsError(
                    f"argument {i} ({self._params[i]}) is an array of {v.dtype}; only float arrays can be "
                    "differentiated (pass x.astype(float), or leave it out of argnums)")
            elif isinstance(v, (list, tuple)):
                raise ArgnumsError(f"argument {i} ({self._params[i]}) is a {type(v).__name__}; pass a NumPy array")
        return tuple(vals)

    def _fast_kernel(self, args, kwargs):
        """The compiled kernel when `args` can go to it as they are (positional, every
        differentiated argument already a float or a float array, nothing rebuilt since)."""
        if kwargs or self._module is None or self._kernel_for is not self._module \
                or len(args) != len(self._params) \
                or self._generation != GENERATION[0] or not resolve.still_valid(self._watch):
            return None
        for i in self.argnums:
            a = args[i]
            if not (type(a) is float or (type(a) is np.ndarray and a.dtype.kind == "f")):
                return None
        return self._kernel_ref

    def __call__(self, *args, **kwargs):
        kernel = self._fast_kernel(args, kwargs)
        if kernel is not None:
            try:
                out = kernel(*args)
            except Exception as exc:
                if _is_numba_error(exc):
                    raise self._compilation_error(exc, args) from None
                raise
            if self._bad_sigs or len(kernel.overloads) != self._n_checked:
                self._check_scalar_output(kernel, args)
            return out
        vals = self.bind(args, kwargs)
        kernel = self.kernel
        self._kernel_ref, self._kernel_for = kernel, self._module
        try:
            out = kernel(*vals)
        except Exception as exc:
            if _is_numba_error(exc):
                raise self._compilation_error(exc, vals) from None
            raise
        self._check_scalar_output(kernel, vals)
        return out

    _n_checked = -1
    _bad_sigs: frozenset = frozenset()

    def _check_scalar_output(self, kernel, args):
        """Only Numba's types tell an array result from a scalar one: refuse a call whose argument
        types make `fun` return an array (else the seed 1.0 broadcasts and grad returns a
        plausible wrong number).  Re-examined only when the kernel gained a signature."""
        from numba.core import types as nt
        if len(kernel.overloads) != self._n_checked:
            bad = set()
            vjp = self.vjp_kernel
            for sig in list(kernel.overloads):
                if kernel is not vjp and not any(tuple(v[:len(sig)]) == tuple(sig) for v in vjp.overloads):
                    # the wrapper came from Numba's disk cache, which does not give the vjp it
                    # calls a signature: type it (from the same cache) to see what it returns
                    stacks = (nt.float64[::1], nt.int64[::1]) if self.uses_stacks else ()
                    vjp.compile(tuple(sig) + (nt.float64,) + stacks)
                for vsig, cres in list(vjp.overloads.items()):
                    if tuple(vsig[:len(sig)]) == tuple(sig) and \
                            isinstance(cres.signature.return_type.types[0], (nt.Array, nt.BaseTuple)):
                        bad.add(tuple(sig))
            self._bad_sigs, self._n_checked = frozenset(bad), len(kernel.overloads)
        if not self._bad_sigs:
            return
        import numba
        if tuple(numba.typeof(a) for a in args) in self._bad_sigs:
            raise self._array_output_error()

    def _array_output_error(self):
        import ast
        p = parse_function(self.fun)
        rets = [n for n in ast.walk(p.tree) if isinstance(n, ast.Return)]
        return NonScalarOutputError(
            f"`{self.fun.__qualname__}` returns an array, not a scalar", p.loc(rets[-1] if rets else None),
            "return a scalar (e.g. np.sum(...) of the array), or differentiate each output element separately")

    def _returns_array(self, args) -> bool:
        """Whether `fun` itself, compiled by Numba for these arguments, returns an array (asked
        only when the derivative failed to compile; False when `fun` does not compile either)."""
        import numba
        if not any(isinstance(a, np.ndarray) for a in args):
            return False
        try:
            primal = numba.njit(self.fun)
            types = tuple(numba.typeof(a) for a in args)
            primal.compile(types)
            return isinstance(primal.overloads[types].signature.return_type, numba.types.Array)
        except Exception:
            return False

    def _compilation_error(self, exc, args=()):
        if self._returns_array(args):    # e.g. an array carried through a loop that saves values
            return self._array_output_error()
        text = str(exc)
        where = ""
        mod = self.module()
        prov = emit.provenance(self.source) if self.source else {}
        for m in re.finditer(r'File "([^"]+)", line (\d+)', text):
            if m.group(1) == getattr(mod, "__file__", None):
                line = int(m.group(2)) - 1       # the checksum line precedes the source
                if line in prov:
                    where = f" (at {prov[line]} of your source; generated line {line})"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return CompilationError(
            f"Numba could not compile the derivative of {self.fun.__qualname__}{where}: {first}\n"
            f"Print `.source` to see the generated code. Full Numba message:\n{text}")


def _is_numba_error(exc) -> bool:
    try:
        from numba.core import errors as nerr
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (nerr.TypingError, nerr.UnsupportedError, nerr.LoweringError))


def _decorator(kind):
    def make(fun=None, argnums=0):
        if fun is None:
            return lambda f: GradFunction(f, argnums, kind)
        if isinstance(fun, (int, tuple)):   # @grad((0, 1)) misuse: argnums passed positionally
            nums = fun
            return lambda f: GradFunction(f, nums, kind)
        return GradFunction(fun, argnums, kind)
    return make


grad = _decorator("grad")
grad.__doc__ = """grad(fun, argnums=0): the derivative of a scalar function, by source transformation.

Usable as `@grad`, `@grad(argnums=(0, 2))` or `grad(fun, argnums=...)`. An int argnums gives
one derivative; a tuple gives a tuple in that order. Array arguments get arrays of their shape."""

value_and_grad = _decorator("value_and_grad")
value_and_grad.__doc__ = """value_and_grad(fun, argnums=0): like grad, returning (value, gradient) from one fused call."""
