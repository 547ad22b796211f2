"""Building and calling a generated derivative: the machinery every derivative object shares.

`Derivative` is the base of srcgrad's function objects (`GradFunction` and `VjpFunction` in
api.py, `JvpFunction` in forward_mode.py, `ForwardGradFunction` and `HvpFunction` in higher.py).
A subclass says which module to generate (`_transform(sig)`: the pipeline's source text for one
abstract signature) and what to call in it (`entry_name`); the base does the rest:

* one module per abstract signature of the arguments, keyed by a hash of srcgrad's own source,
  the function and every helper it reads (`_key`), read from the on-disk cache or generated,
  written and imported (codegen/compile.py), rebuilt when the function, a helper or a rule
  changes (`_valid`);
* binding call arguments (refusing lists, strings, complex numbers; ints to floats where
  differentiated) and their abstract signature;
* the arrays a function reads from its globals or closure, passed as hidden arguments;
* Numba's compile errors, turned into srcgrad errors located at the user's line.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import linecache
import logging
import os
import re
import threading

import numpy as np

from .. import __version__, abstract
from ..errors import (ArgnumsError, ArgumentTypeError, CompilationError, Loc, LocatedError, SrcgradError,
                      UnsupportedArrayUseError, UnsupportedSyntaxError)
from ..frontend import resolve
from ..frontend.source import parse_function
from ..rules.registry import GENERATION
from . import compile as cache
from . import emit
from .target import by_name

_BUILD_LOCKS: dict[str, threading.RLock] = {}
_GLOBAL_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def compiler_fingerprint() -> str:
    """Hash of srcgrad's own source: a changed compiler never reuses an old derivative."""
    from pathlib import Path
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).parent.parent        # the srcgrad package
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def normalize_argnums(fun, argnums):
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


class Derivative:
    """A generated derivative of `fun` w.r.t. `argnums`, built per abstract signature."""

    mode = "reverse"            # part of the cache key: which transformation
    outputs = "scalar"          # what the function returns: see pipeline.transform

    def __init__(self, fun, argnums=0, kind="grad", target="numba"):
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
        self.target = by_name(target)     # what runs the generated module (codegen/target.py)
        self.argnums, self.single, self._sig = normalize_argnums(fun, argnums)
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
        h = hashlib.sha256(f"{compiler_fingerprint()}|{self.mode}|{self.target.name}|{self.outputs}|{fp}|"
                           f"{self.argnums}|{self.single}|"
                           f"{_sig_text(sig)}".encode())
        return f"{self.fun.__name__}_{self.mode[0]}{h.hexdigest()[:24]}", watch

    def _transform(self, sig) -> str:
        """The generated module's source text for abstract signature `sig`."""
        raise NotImplementedError

    @property
    def entry_name(self) -> str:
        """The name of the compiled function a call of this object runs."""
        raise NotImplementedError

    def run(self, kernel, args, sig):
        """`kernel(*args)` as the target calls it; Numba failing to compile it becomes a located
        srcgrad error."""
        try:
            return self.target.call(kernel, args)
        except Exception as exc:
            if is_numba_error(exc):
                raise self._compilation_error(exc, sig) from None
            raise

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
        except LocatedError as exc:
            # before any call the source is generated for numbers; a function of arrays then
            # fails on an array's method or use (`x.copy()` of a number), which is not the
            # user's mistake: say how to get the source for arrays
            if self._last_sig is not None:
                raise
            raise SrcgradError(
                f"`.source` of {self.fun.__qualname__} before any call is generated for numbers, and "
                f"for numbers it fails; if the function takes arrays, call it once, or use "
                f"`.source_for(*example_args)`. For numbers:\n{exc}") from None

    def source_for(self, *args) -> str:
        """The generated source for arguments like `args` (arrays or numbers)."""
        return self.module(self.signature(self.bind(args, {}))).__srcgrad_source__

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

    def _compilation_error(self, exc, sig=None) -> SrcgradError:
        """The error to raise for Numba's: its message located at the user's line (through the
        generated code's provenance comments); a variable whose float precision changes around a
        loop is a located refusal."""
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
            return UnsupportedArrayUseError(
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


NOTICE_AFTER = 1.0      # seconds a first call may take before srcgrad says it is compiling


def slow_notice(gf, sig):
    """A timer that, if the first call for `sig` is still generating or compiling after
    NOTICE_AFTER seconds, says so in one line through the `srcgrad` logger (shown on stderr
    unless logging is configured otherwise; SRCGRAD_QUIET=1 or a level above WARNING on that
    logger silences it)."""
    if os.environ.get("SRCGRAD_QUIET", "") not in ("", "0"):
        return None

    how = "compiling the derivative of %s for (%s) with Numba" if gf.target.compiled else \
        "generating the derivative of %s for (%s)"

    def say():
        logging.getLogger("srcgrad").warning(
            "srcgrad: " + how + "; only the first call for these argument types waits (the result is "
            "cached on disk for later processes)", gf.fun.__qualname__, ", ".join(str(t) for t in sig))

    t = threading.Timer(NOTICE_AFTER, say)
    t.daemon = True
    t.start()
    return t


def is_numba_error(exc) -> bool:
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
