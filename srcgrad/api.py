"""The public differentiation API: grad, value_and_grad, and the GradFunction they return."""
from __future__ import annotations

import functools
import hashlib
import inspect
import re
import threading

import numpy as np

from . import __version__, abstract
from .codegen import compile as cache
from .codegen import emit
from .errors import (ArgnumsError, CompilationError, SrcgradError, UnsupportedArrayUseError,
                     UnsupportedSyntaxError)
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
    `.kernel` a Numba-callable version (callable from your own @njit code with the same arguments).

    A derivative is generated per abstract signature of the arguments (numbers, or arrays of a
    given number of dimensions and element kind; srcgrad/abstract.py), as Numba compiles per
    concrete signature: each array value of the function then has a known number of
    dimensions, and the adjoint reduces every broadcast contribution exactly."""

    mode = "reverse"

    def __init__(self, fun, argnums=0, kind="grad"):
        self._inner = None
        if isinstance(fun, GradFunction):
            # grad(grad(f)): differentiate the forward-mode partial of f (reverse over forward),
            # generated per signature like everything else
            from .higher import partial_function
            self._inner = fun
            fun = partial_function(fun)
        if inspect.ismethod(fun):   # `self` would be a parameter srcgrad is never given
            p = parse_function(fun.__func__)
            raise UnsupportedSyntaxError(
                f"`{fun.__qualname__}` is a bound method", p.loc(p.tree),
                "differentiate a plain function and pass the object's fields as arguments")
        if hasattr(fun, "py_func") and hasattr(fun, "overloads"):    # a @numba.njit function
            fun = fun.py_func
        if not callable(fun) or not hasattr(fun, "__code__"):
            raise SrcgradError(f"srcgrad.{kind} needs a plain Python function, got {type(fun).__name__}")
        self.fun = fun
        self.kind = kind
        self.argnums, self.single, self._sig = _normalize_argnums(fun, argnums)
        self._params = list(self._sig.parameters)
        self._modules: dict = {}        # abstract signature -> generated module
        self._hidden: dict = {}         # abstract signature -> getters of the hidden arguments
        self._watch = None
        self._generation = -1
        self._fast = None               # (argument pattern, kernel) of the last call
        self._last_sig = None
        self._stub = None
        self._lock = threading.RLock()
        functools.update_wrapper(self, fun)

    def __repr__(self):
        nums = self.argnums[0] if self.single else self.argnums
        return f"<srcgrad.{self.kind} of {self.fun.__qualname__}, argnums={nums}>"

    # ------------------------------------------------------------------ building
    def default_signature(self) -> tuple:
        """Every parameter a number: the signature of a per-element kernel (srcgrad.vectorize)."""
        return (abstract.FLOAT,) * len(self._params)

    def _key(self, sig=None):
        sig = self.default_signature() if sig is None else sig
        fp, watch = resolve.dependency_fingerprint(self.fun, parse_function)
        h = hashlib.sha256(f"{_compiler_fingerprint()}|{self.mode}|{fp}|{self.argnums}|{self.single}|"
                           f"{_sig_text(sig)}".encode())
        return f"{self.fun.__name__}_{self.mode[0]}{h.hexdigest()[:24]}", watch

    def _transform(self, sig) -> str:
        from .pipeline import transform
        fun = self.fun
        if self._inner is not None:
            from .higher import partial_function
            fun = partial_function(self._inner, sig)
        return transform(fun, self.argnums, self.single, sig)

    def _valid(self) -> bool:
        return self._generation == GENERATION[0] and resolve.still_valid(self._watch)

    def module(self, sig=None):
        """The generated, imported module for abstract signature `sig` (every parameter a number
        when None), rebuilt when the function, a helper or a rule changed."""
        sig = self.default_signature() if sig is None else tuple(sig)
        mod = self._modules.get(sig)
        if mod is not None and self._valid():
            return mod
        with self._lock:
            if not self._valid():
                self._modules, self._hidden, self._fast = {}, {}, None
            mod = self._modules.get(sig)
            if mod is not None:
                return mod
            generation = GENERATION[0]
            stem, watch = self._key(sig)
            with _GLOBAL_LOCK:
                lock = _BUILD_LOCKS.setdefault(stem, threading.RLock())
            with lock:
                text = cache.read_valid(stem)
                path = cache.path_for(stem) if text is not None else None
                if text is None:
                    text = self._transform(sig)
                    path = cache.write(stem, text)
                mod = cache.import_module(stem, path, text)
            self._modules[sig] = mod
            self._hidden[sig] = _hidden_getters(mod, watch)
            self._watch = watch
            self._generation = generation
            return mod

    @property
    def source(self) -> str:
        """The generated Python source of the fused forward + adjoint function and its wrappers,
        for the arguments of the last call (every argument a number before the first call;
        `source_for(*args)` gives it for other arguments)."""
        try:
            return self.module(self._last_sig).__srcgrad_source__
        except UnsupportedArrayUseError as exc:
            if self._last_sig is not None:
                raise
            raise SrcgradError(
                f"`.source` of {self.fun.__qualname__} before any call is generated for numbers, and "
                f"this function needs arrays ({exc.message}): call it once, or use "
                f"`.source_for(*example_args)`") from None

    def source_for(self, *args) -> str:
        """The generated source for arguments like `args` (arrays or numbers)."""
        return self.module(self.signature(self.bind(args, {}))).__srcgrad_source__

    @property
    def entry_name(self) -> str:
        return f"{self.fun.__name__}_{self.kind}"

    @property
    def kernel(self):
        """A Numba-callable function with `fun`'s parameters returning what this object returns.
        Called from your own @njit code, it compiles the derivative for the argument types it
        is called with; called from Python, it behaves like the object itself."""
        if self._stub is None:
            self._stub = _dispatching_stub(self)
        return self._stub

    @property
    def vjp_name(self) -> str:
        return f"{self.fun.__name__}_vjp"

    @property
    def vjp_kernel(self):
        """Numba dispatcher `(*params, seed[, fstack, istack]) -> (value, grads[, stacks])` of the
        per-element (all-numbers) signature."""
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
        for i, v in enumerate(vals):
            if isinstance(v, np.ndarray) and v.ndim == 0:
                vals[i] = v = v[()]          # a 0-d array is a number
            if isinstance(v, (complex, np.complexfloating)) or (isinstance(v, np.ndarray) and v.dtype.kind == "c"):
                raise TypeError(f"{self.fun.__name__}(): argument {i} ({self._params[i]}) is complex; "
                                "srcgrad differentiates real-valued functions of real inputs")
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

    def signature(self, vals) -> tuple:
        """The abstract signature of bound argument values."""
        out = []
        for i, v in enumerate(vals):
            try:
                t = abstract.of_value(v)
            except TypeError as exc:
                raise TypeError(f"{self.fun.__name__}(): argument {i} ({self._params[i]}): {exc}; "
                                "srcgrad takes numbers and NumPy arrays") from None
            out.append(t)
        return tuple(out)

    def _pattern(self, args):
        return tuple((type(a), a.ndim, a.dtype.kind) if type(a) is np.ndarray else type(a) for a in args)

    def hidden_values(self, sig) -> tuple:
        """The current values of the arrays the function reads from its globals or closure."""
        return tuple(get() for get in self._hidden[sig])

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs and fast[0] == self._pattern(args) and self._valid():
            kernel, vals, sig = fast[1], args, fast[2]
        else:
            vals = self.bind(args, kwargs)
            sig = self.signature(vals)
            kernel = getattr(self.module(sig), self.entry_name)
            self._last_sig = sig
            if len(args) == len(vals) and not kwargs and all(
                    type(args[i]) is float or (type(args[i]) is np.ndarray and args[i].dtype.kind == "f"
                                               and args[i].ndim > 0) for i in self.argnums):
                self._fast = (self._pattern(args), kernel, sig)
        hidden = self.hidden_values(sig)
        if hidden:
            vals = tuple(vals) + hidden
        try:
            return kernel(*vals)
        except Exception as exc:
            if _is_numba_error(exc):
                raise self._compilation_error(exc, self.signature(vals)) from None
            raise

    def _compilation_error(self, exc, sig=None):
        text = str(exc)
        where = ""
        mod = self.module(sig)
        prov = emit.provenance(mod.__srcgrad_source__)
        for m in re.finditer(r'File "([^"]+)", line (\d+)', text):
            if m.group(1) == getattr(mod, "__file__", None):
                line = int(m.group(2)) - 1       # the checksum line precedes the source
                if line in prov:
                    where = f" (at {prov[line]} of your source; generated line {line})"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return CompilationError(
            f"Numba could not compile the derivative of {self.fun.__qualname__}{where}: {first}\n"
            f"Print `.source` to see the generated code. Full Numba message:\n{text}")


def _hidden_getters(mod, watch) -> list:
    """One getter per array the generated module takes as a hidden parameter (module.HIDDEN)."""
    funcs = {f.__qualname__: f for f, _, _ in (watch or [])}
    out = []
    for qualname, name in getattr(mod, "HIDDEN", ()):
        f = funcs.get(qualname)
        if f is None:
            raise SrcgradError(f"srcgrad lost track of the function reading `{name}` ({qualname})")
        out.append(functools.partial(resolve.lookup, f, name))
    return out


def _sig_text(sig) -> str:
    return ",".join(f"{t.ndim}{t.dtype}" for t in sig)


def _dispatching_stub(gf):
    """A function with `gf.fun`'s parameters that Numba compiles, per argument types, into a call
    of the derivative generated for them (an `@overload` resolved while Numba types the
    caller); called from Python it is `gf` itself."""
    from numba.extending import overload
    from . import kernels
    params = ", ".join(gf._params)
    ns = {"_gf": gf}
    ident = hashlib.sha256(f"{gf.fun.__module__}.{gf.fun.__qualname__}|{gf.kind}|{gf.argnums}|"
                           f"{gf.single}|{type(gf).__name__}".encode()).hexdigest()[:16]
    name = f"{gf.fun.__name__}_{gf.kind}_kernel_{ident}"
    exec(f"def {name}({params}):\n    return _gf({params})\n", ns)
    stub = ns[name]
    stub.__module__ = kernels.__name__
    stub._srcgrad_kernel = True
    setattr(kernels, name, stub)

    def typer(*types):
        sig = []
        for i, t in enumerate(types):
            a = abstract.of_numba(t)
            if a is None:
                return None
            if i in gf.argnums and not a.is_array:
                a = abstract.FLOAT
            sig.append(a)
        sig = tuple(sig)
        target = getattr(gf.module(sig), gf.entry_name)
        hidden = gf.hidden_values(sig)     # frozen when the caller compiles, as Numba does for globals
        ns2 = {"_target": target, **{f"_h{k}": h for k, h in enumerate(hidden)}}
        extra = "".join(f", _h{k}" for k in range(len(hidden)))
        exec(f"def impl({params}):\n    return _target({params}{extra})\n", ns2)
        return ns2["impl"]

    exec(f"def _typer({params}):\n    return _impl({params})\n", ns2 := {"_impl": typer})
    overload(stub, jit_options={"cache": False})(ns2["_typer"])
    stub.gradient_function = gf
    return stub


def _is_numba_error(exc) -> bool:
    try:
        from numba.core import errors as nerr
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, nerr.NumbaError)


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
