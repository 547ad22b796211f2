"""The public differentiation API: grad, value_and_grad, and the GradFunction they return."""
from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import re
import threading
import weakref

import numpy as np

from . import __version__, abstract
from .codegen import compile as cache
from .codegen import emit
from .errors import (ArgnumsError, ArgumentTypeError, CompilationError, SrcgradError, UnsupportedArrayUseError,
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
    outputs = "scalar"          # what the function returns: see pipeline.transform

    def __init__(self, fun, argnums=0, kind="grad", has_aux=False):
        self._inner = None
        self.has_aux = bool(has_aux)
        if self.has_aux:
            self.outputs = "aux"
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
        h = hashlib.sha256(f"{_compiler_fingerprint()}|{self.mode}|{self.outputs}|{fp}|{self.argnums}|{self.single}|"
                           f"{_sig_text(sig)}".encode())
        return f"{self.fun.__name__}_{self.mode[0]}{h.hexdigest()[:24]}", watch

    def _transform(self, sig) -> str:
        from .pipeline import transform
        fun = self.fun
        if self._inner is not None:
            from .higher import partial_function
            fun = partial_function(self._inner, sig)
        return transform(fun, self.argnums, self.single, sig, self.outputs)

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

    def tape_size(self, *args, **kwargs) -> TapeSize:
        """Run the derivative once at `args` and report the memory its tape held at its peak:
        the arrays saved for the adjoint sweep (one block per loop trip), the elements writes
        overwrote, checkpoint snapshots, and the used part of the number stacks.  The peak is
        at the end of the forward sweep, or, with `srcgrad.checkpoint`, during the re-run of a
        segment (snapshots plus one segment's saves)."""
        vals = self.bind(args, kwargs)
        sig = self.signature(vals)
        mod = self.module(sig)
        layout = getattr(mod, "TAPE", ())
        if not layout:
            return TapeSize(0, {})
        stats = np.zeros(1 + len(layout), np.int64)
        call = list(vals) + list(self.hidden_values(sig)) + [1.0]
        if mod.USES_STACKS:
            from . import runtime
            call += [runtime.new_float_stack(runtime.STACK_START), runtime.new_int_stack(runtime.STACK_START)]
        try:
            getattr(mod, self.vjp_name)(*call, stats)
        except Exception as exc:
            if _is_numba_error(exc):
                raise self._compilation_error(exc, sig) from None
            raise
        return TapeSize(int(stats[0]), dict(zip(layout, (int(b) for b in stats[1:]))))

    @property
    def entry_name(self) -> str:
        return f"{self.fun.__name__}_{'value_and_grad' if self.has_aux else self.kind}"

    @property
    def kernel(self):
        """A Numba-callable function with `fun`'s parameters returning what this object returns.
        Called from your own @njit code, it compiles the derivative for the argument types it
        is called with; called from Python, it behaves like the object itself."""
        if self.has_aux:
            raise SrcgradError("`.kernel` of a has_aux gradient is not available yet: differentiate a function "
                               "returning the loss alone for Numba code")
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
            what = "None" if v is None else f"a {type(v).__name__}" \
                if isinstance(v, (str, bytes, list, tuple, dict, set)) else None
            if what is not None:
                raise ArgumentTypeError(
                    f"{self.fun.__name__}(): argument {i} ({self._params[i]}) is {what}; srcgrad takes numbers "
                    "and NumPy arrays" + (" (pass np.asarray(...))" if isinstance(v, (list, tuple)) else ""))
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
        return tuple(vals)

    def signature(self, vals) -> tuple:
        """The abstract signature of bound argument values."""
        out = []
        for i, v in enumerate(vals):
            try:
                t = abstract.of_value(v)
                if t is abstract.NONE:
                    raise TypeError("None is not a number or an array")
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
            kernel, vals, sig, notice = fast[1], args, fast[2], None
        else:
            vals = self.bind(args, kwargs)
            sig = self.signature(vals)
            notice = _slow_notice(self, sig) if sig not in self._modules else None
            try:
                kernel = getattr(self.module(sig), self.entry_name)
            except BaseException:
                if notice is not None:
                    notice.cancel()
                raise
            if notice is not None and kernel.signatures:     # loaded compiled: nothing to wait for
                notice.cancel()
                notice = None
            self._last_sig = sig
            if len(args) == len(vals) and not kwargs and all(
                    type(args[i]) is float or (type(args[i]) is np.ndarray and args[i].dtype.kind == "f"
                                               and args[i].ndim > 0) for i in self.argnums):
                self._fast = (self._pattern(args), kernel, sig)
        hidden = self.hidden_values(sig)
        if hidden:
            vals = tuple(vals) + hidden
        try:
            out = kernel(*vals)
        except Exception as exc:
            if _is_numba_error(exc):
                raise self._compilation_error(exc, self.signature(vals)) from None
            raise
        finally:
            if notice is not None:
                notice.cancel()
        if self.has_aux:            # (loss, aux), grads -> JAX's layout
            (loss, aux), grads = out
            return ((loss, aux), grads) if self.kind == "value_and_grad" else (grads, aux)
        return out

    def _compilation_error(self, exc, sig=None):
        """Numba's message, located at the user's line (through the generated code's provenance
        comments); a variable whose float precision changes around a loop is a located refusal."""
        text = str(exc)
        mod = self.module(sig)
        prov = emit.provenance(mod.__srcgrad_source__)
        generated = os.path.basename(getattr(mod, "__file__", "") or "")
        at, line = None, None
        # Numba prints paths relative to the working directory; the innermost site comes first
        for m in re.finditer(r'File "([^"]+)", line (\d+)', text):
            if generated and os.path.basename(m.group(1)) == generated:
                line = int(m.group(2)) - 1       # the checksum line precedes the source
                if line in prov:
                    at = prov[line]
                    break
        unify = _PRECISION_CHANGE.search(text)
        if unify is not None and at is not None:
            raise UnsupportedArrayUseError(
                f"`{_user_name(unify.group('var'))}` is a {unify.group('a')} array before the loop and a "
                f"{unify.group('b')} array after a trip of it (Numba computes a float32 array with a Python "
                f"float or a float64 value in float64, where NumPy 2 keeps float32; Numba's own compilation "
                f"of the function fails the same way)", self._user_loc(at),
                "keep one precision through the loop: start it from a float64 array (np.zeros(x.shape) "
                "or np.zeros_like(x, dtype=np.float64) instead of np.zeros_like(x)), or pass float64 arguments")
        where = f" (at {at} of your source; generated line {line})" if at else ""
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return CompilationError(
            f"Numba could not compile the derivative of {self.fun.__qualname__}{where}: {first}\n"
            f"Print `.source` to see the generated code. Full Numba message:\n{text}")

    def _user_loc(self, at: str):
        """A Loc for the `file:line` a provenance comment names (the user's file, with its text)."""
        import linecache
        from .errors import Loc
        line = int(at.rsplit(":", 1)[1])
        try:
            path = inspect.getsourcefile(inspect.unwrap(self.fun)) or at
        except TypeError:
            path = at
        return Loc(path, line, 0, linecache.getline(path, line))


# Numba's "Cannot unify" of one variable typed as arrays of two float precisions
_PRECISION_CHANGE = re.compile(
    r"Cannot unify array\((?P<a>float32|float64), \d+d, \w+\) and "
    r"array\((?P<b>float32|float64), \d+d, \w+\) for '(?P<var>[^']+)'")


def _user_name(generated: str) -> str:
    """The user's variable behind a generated SSA name (`u_1.2` -> `u`)."""
    return re.sub(r"(_\d+)?(\.\d+)?$", "", generated)


class TapeSize(int):
    """The bytes a derivative's tape held at its peak (an int), with `.parts`: bytes per saved
    variable at that peak, named as in the generated source (`.source`)."""

    def __new__(cls, nbytes: int, parts: dict):
        self = super().__new__(cls, nbytes)
        self.parts = parts
        return self

    def __repr__(self):
        parts = ", ".join(f"{k}: {_bytes(v)}" for k, v in sorted(self.parts.items(), key=lambda kv: -kv[1]) if v)
        return f"TapeSize({_bytes(int(self))}" + (f"; {parts})" if parts else ")")


def _bytes(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


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


NOTICE_AFTER = 1.0      # seconds a first call may take before srcgrad says it is compiling


def _slow_notice(gf, sig):
    """A timer that, if the first call for `sig` is still generating or compiling after
    NOTICE_AFTER seconds, says so in one line through the `srcgrad` logger (shown on stderr
    unless logging is configured otherwise; SRCGRAD_QUIET=1 or a level above WARNING on that
    logger silences it)."""
    if os.environ.get("SRCGRAD_QUIET", "") not in ("", "0"):
        return None

    def say():
        logging.getLogger("srcgrad").warning(
            "srcgrad: compiling the derivative of %s for (%s) with Numba; only the first call for these "
            "argument types waits (the result is cached on disk for later processes)",
            gf.fun.__qualname__, ", ".join(str(t) for t in sig))

    t = threading.Timer(NOTICE_AFTER, say)
    t.daemon = True
    t.start()
    return t


def _is_numba_error(exc) -> bool:
    """Whether `exc` is Numba failing to compile (not the compiled code raising): a NumbaError,
    or any exception raised from inside Numba's compiler (e.g. its NotImplementedError for an
    array expression whose result would have layout 'A')."""
    try:
        from numba.core import errors as nerr
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, nerr.NumbaError):
        return True
    tb = exc.__traceback__
    while tb is not None:
        if "/numba/core/compiler" in tb.tb_frame.f_code.co_filename.replace("\\", "/"):
            return True
        tb = tb.tb_next
    return False


def _make(fun, argnums, kind, has_aux):
    if fun is None:
        return lambda f: GradFunction(f, argnums, kind, has_aux)
    if isinstance(fun, (int, tuple)):   # @grad((0, 1)) misuse: argnums passed positionally
        return lambda f: GradFunction(f, fun, kind, has_aux)
    return GradFunction(fun, argnums, kind, has_aux)


def grad(fun=None, argnums: int | tuple = 0, *, has_aux: bool = False) -> GradFunction:
    """The derivative of a function returning a number, by source transformation.

    Usable as `@grad`, `@grad(argnums=(0, 2))` or `grad(fun, argnums=...)`.  An int `argnums`
    gives one derivative; a tuple gives a tuple in that order.  Array arguments get arrays of
    their shape.  With `has_aux=True` the function returns `(loss, aux)` and the call returns
    `(gradient, aux)`, as in JAX.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.grad(f, argnums=(0, 1))(3.0, 2.0)
        (12.0, 9.0)
    """
    return _make(fun, argnums, "grad", has_aux)


def value_and_grad(fun=None, argnums: int | tuple = 0, *, has_aux: bool = False) -> GradFunction:
    """Like `grad`, returning `(value, gradient)` from one fused call; with `has_aux=True`,
    `((loss, aux), gradient)`, as in JAX.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.value_and_grad(f)(3.0, 2.0)
        (18.0, 12.0)
    """
    return _make(fun, argnums, "value_and_grad", has_aux)


class VjpFunction(GradFunction):
    """The pullback of a function with any result (a number, an array, a tuple of those): the
    fused forward + adjoint sweep seeded by a cotangent of the result's structure."""
    outputs = "all"

    def __init__(self, fun, argnums):
        super().__init__(fun, argnums, "vjp")

    @property
    def kernel(self):
        raise SrcgradError("`.kernel` of a vjp is not available: call srcgrad.vjp from Python")


_VJPS = weakref.WeakKeyDictionary()      # fun -> {differentiated argnums: VjpFunction}


def vjp(fun, *primals):
    """Like `jax.vjp`: `(out, vjp_fn)` with `out = fun(*primals)` and `vjp_fn(ct)` the
    cotangents `ct . d out / d primal_i`, one per primal (None for an integer argument).
    `fun` may return a number, an array or a tuple of those; `ct` has the same structure.

        >>> out, pull = srcgrad.vjp(np_sin_of_array, x)         # doctest: +SKIP
        >>> pull(np.ones_like(out))                             # (cos(x),)

    `out` comes from one run of the fused sweep; each `vjp_fn(ct)` runs it again (the
    derivative is compiled once per argument types, not per cotangent)."""
    nums = tuple(i for i, p in enumerate(primals)
                 if isinstance(p, (float, np.floating)) or (isinstance(p, np.ndarray) and p.dtype.kind == "f"))
    try:
        per_fun = _VJPS.setdefault(fun, {})
    except TypeError:               # not weak-referenceable: VjpFunction refuses it below
        per_fun = {}
    vf = per_fun.get(nums)
    if vf is None:
        vf = per_fun[nums] = VjpFunction(fun, nums if nums else (0,))
    vals = vf.bind(primals, {})
    sig = vf.signature(vals)
    mod = vf.module(sig)
    pull = getattr(mod, f"{vf.fun.__name__}_pullback")
    args = tuple(vals) + vf.hidden_values(sig)
    ndims = mod.RESULT_NDIMS

    def run(seed):
        try:
            return pull(*args, seed)
        except Exception as exc:
            if _is_numba_error(exc):
                raise vf._compilation_error(exc, sig) from None
            raise

    out, _ = run(_empty_seed(ndims))

    def vjp_fn(ct):
        seed = _check_cotangent(ct, out, ndims, "ct")
        _, grads = run(seed)
        res = [None] * len(primals)
        for i, g in zip(vf.argnums, grads):
            res[i] = g
        if not nums:
            res = [None] * len(primals)
        return tuple(res)

    return out, vjp_fn


def _empty_seed(ndims):
    if isinstance(ndims, tuple):
        return tuple(_empty_seed(n) for n in ndims)
    return 0.0 if ndims == 0 else np.zeros((0,) * ndims)


def _check_cotangent(ct, out, ndims, where):
    """The cotangent as the compiled pullback takes it (floats, float arrays), with its
    structure and shapes checked against the output's."""
    if isinstance(ndims, tuple):
        if not isinstance(ct, (tuple, list)) or len(ct) != len(ndims):
            raise ArgnumsError(f"vjp_fn: the cotangent {where} must be a tuple of {len(ndims)} values, "
                               f"like the function's output; got {type(ct).__name__}")
        return tuple(_check_cotangent(c, o, n, f"{where}[{k}]") for k, (c, o, n) in enumerate(zip(ct, out, ndims)))
    if np.shape(ct) != np.shape(out):
        raise ArgnumsError(f"vjp_fn: the cotangent {where} has shape {np.shape(ct)}, the output {np.shape(out)}")
    if ndims == 0:
        return float(ct)
    return np.asarray(ct, dtype=np.float64)
