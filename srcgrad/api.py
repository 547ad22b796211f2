"""The public differentiation API: grad, value_and_grad, vjp, and the GradFunction they return.

Building and calling generated code is codegen/derivative.py's job (the `Derivative` base);
this module says what reverse mode generates and how its results are shaped for the user."""
from __future__ import annotations

import hashlib
import weakref

import numpy as np

from . import abstract
from .codegen.derivative import Derivative, slow_notice
from .codegen.target import STACK_START
from .errors import ArgnumsError, SrcgradError
from .forward_mode import partial_function


class GradFunction(Derivative):
    """The derivative of `fun`: call it like `fun`; `.source` is the generated Python and
    `.kernel` a Numba-callable version (callable from your own @njit code with the same arguments).

    A derivative is generated per abstract signature of the arguments (numbers, or arrays of a
    given number of dimensions and element kind; srcgrad/abstract.py), as Numba compiles per
    concrete signature: each array value of the function then has a known number of
    dimensions, and the adjoint reduces every broadcast contribution exactly."""

    def __init__(self, fun, argnums=0, kind="grad", has_aux=False, target="numba"):
        self._inner = None
        self.has_aux = bool(has_aux)
        if self.has_aux:
            self.outputs = "aux"
        if isinstance(fun, GradFunction):
            # grad(grad(f)): differentiate the forward-mode partial of f (reverse over forward),
            # generated per signature like everything else
            self._inner = fun
            fun = partial_function(fun)
        super().__init__(fun, argnums, kind, target)

    def _transform(self, sig) -> str:
        from .pipeline import transform
        fun = self.fun
        if self._inner is not None:
            fun = partial_function(self._inner, sig)
        return transform(fun, self.argnums, self.single, sig, self.outputs, self.target)

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
            call += list(_new_stacks())
        self.run(getattr(mod, self.vjp_name), call + [stats], sig)
        return TapeSize(int(stats[0]), dict(zip(layout, (int(b) for b in stats[1:]))))

    def debug(self, *args, **kwargs):
        """Call the derivative at `args` in pdb, stopped at the first line of its generated
        wrapper, with a breakpoint at the first line of the fused forward + adjoint function
        (`c` goes there).  The code runs in the Python interpreter, as with `target="python"`,
        whatever this object's target.  Returns what the call returns."""
        import dis
        import pdb
        if self.outputs == "all":
            raise SrcgradError("debug() of a vjp is not available: use grad(f, target='python') in pdb")
        twin = self
        if self.target.compiled:
            twin = GradFunction(self._inner or self.fun, self.argnums[0] if self.single else self.argnums,
                                self.kind, self.has_aux, target="python")
        vals = twin.bind(args, kwargs)
        sig = twin.signature(vals)
        mod = twin.module(sig)
        entry = getattr(mod, twin.entry_name)
        code = getattr(mod, twin.vjp_name).__code__       # decorated: its first line is `@_jit`
        dbg = pdb.Pdb()
        dbg.set_break(code.co_filename, min(line for _, line in dis.findlinestarts(code)
                                            if line is not None and line > code.co_firstlineno + 1))
        out = twin.target.call(lambda *a: dbg.runcall(entry, *a), tuple(vals) + twin.hidden_values(sig))
        return self._returned(out)

    def _returned(self, out):
        """What a call returns, from the entry function's result: with has_aux, JAX's layout."""
        if self.has_aux:
            (loss, aux), grads = out
            return ((loss, aux), grads) if self.kind == "value_and_grad" else (grads, aux)
        return out

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
        if not self.target.compiled:
            raise SrcgradError(f"`.kernel` of a target={self.target.name!r} gradient is not compiled, and Numba "
                               "code cannot call it: use the default target (target='numba')")
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

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs and fast[0] == self._pattern(args) and self._valid():
            kernel, vals, sig, notice = fast[1], args, fast[2], None
        else:
            vals = self.bind(args, kwargs)
            sig = self.signature(vals)
            notice = slow_notice(self, sig) if sig not in self._modules else None
            try:
                mod = self.module(sig)
                kernel = (getattr(mod, self.vjp_name), bool(mod.USES_STACKS)) if _has_array(sig) \
                    else (getattr(mod, self.entry_name), None)
            except BaseException:
                if notice is not None:
                    notice.cancel()
                raise
            if notice is not None and getattr(kernel[0], "signatures", True):   # loaded compiled (or not compiled)
                notice.cancel()
                notice = None
            self._last_sig = sig
            if len(args) == len(vals) and not kwargs and all(
                    type(args[i]) is float or (type(args[i]) is np.ndarray and args[i].dtype.kind == "f"
                                               and args[i].ndim > 0) for i in self.argnums):
                self._fast = (self._pattern(args), kernel, sig)
        # With an array argument, the vjp itself, seeded with 1.0, its result shaped here as the
        # module's `<f>_grad`/`<f>_value_and_grad` shape it: a jitted wrapper would cost its
        # compile, in which Numba optimises again the whole vjp linked into it (a fifth of the
        # GMM gradient's cold compile). With numbers only, the wrapper: its compile is short,
        # and it spares each call boxing the stacks the vjp returns (8.6 against 14.7 us a call).
        entry, stacks = kernel
        vals = tuple(vals) + self.hidden_values(sig)
        if stacks is not None:
            vals += (1.0,)
            if stacks:
                vals += _new_stacks()
        try:
            out = self.run(entry, vals, sig)
        finally:
            if notice is not None:
                notice.cancel()
        if stacks is not None:
            value, grads = out[:2]
            grads = grads[0] if self.single else grads
            out = (value, grads) if self.has_aux or self.kind == "value_and_grad" else grads
        return self._returned(out)


def _new_stacks() -> tuple:
    """The float and int stacks a vjp called from Python starts with (it grows them)."""
    return np.empty(STACK_START, np.float64), np.empty(STACK_START, np.int64)


def _has_array(sig) -> bool:
    return any(getattr(t, "ndim", 0) for t in sig)


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


def _make(fun, argnums, kind, has_aux, target):
    if fun is None:
        return lambda f: GradFunction(f, argnums, kind, has_aux, target)
    if isinstance(fun, (int, tuple)):   # @grad((0, 1)) misuse: argnums passed positionally
        return lambda f: GradFunction(f, fun, kind, has_aux, target)
    return GradFunction(fun, argnums, kind, has_aux, target)


def grad(fun=None, argnums: int | tuple = 0, *, has_aux: bool = False, target: str = "numba") -> GradFunction:
    """The derivative of a function returning a number, by source transformation.

    Usable as `@grad`, `@grad(argnums=(0, 2))` or `grad(fun, argnums=...)`.  An int `argnums`
    gives one derivative; a tuple gives a tuple in that order.  Array arguments get arrays of
    their shape.  With `has_aux=True` the function returns `(loss, aux)` and the call returns
    `(gradient, aux)`, as in JAX.

    `target="python"` runs the same generated code in the Python interpreter instead of compiling
    it with Numba (codegen/python_target.py): slow, but you can step through it in pdb.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.grad(f, argnums=(0, 1))(3.0, 2.0)
        (12.0, 9.0)
    """
    return _make(fun, argnums, "grad", has_aux, target)


def value_and_grad(fun=None, argnums: int | tuple = 0, *, has_aux: bool = False,
                   target: str = "numba") -> GradFunction:
    """Like `grad`, returning `(value, gradient)` from one fused call; with `has_aux=True`,
    `((loss, aux), gradient)`, as in JAX; `target` as in `grad`.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.value_and_grad(f)(3.0, 2.0)
        (18.0, 12.0)
    """
    return _make(fun, argnums, "value_and_grad", has_aux, target)


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
    # with an array argument the vjp itself, not the jitted `<f>_pullback` wrapper (as in
    # GradFunction.__call__: the wrapper's compile optimises the whole vjp again)
    direct = _has_array(sig)
    pull = getattr(mod, vf.vjp_name if direct else f"{vf.fun.__name__}_pullback")
    args = tuple(vals) + vf.hidden_values(sig)
    ndims = mod.RESULT_NDIMS

    def run(seed):
        call = args + (seed,)
        if direct and mod.USES_STACKS:
            call += _new_stacks()
        return vf.run(pull, call, sig)[:2]

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
