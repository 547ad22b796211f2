"""Derivatives called inside a function being differentiated (nesting, as `jax.grad` composes).

A `grad`/`value_and_grad` object or `srcgrad.jvp(f, primals, tangents)` called inside the
function handed to `grad`, `jvp` or `vjp` is not a black box: it becomes a plain Python helper,
generated for the argument types at the call, that the lowering inlines like any helper of the
user's.  The helper computes the inner derivative with f's forward-mode tangent function (itself
generated, plain Python in srcgrad's subset, the same function `hessian` differentiates): one
tangent sweep per element of the differentiated arguments.

    g = srcgrad.grad(potential)          # called inside `energy`:
    def energy(x): ... g(x, w) ...

    def potential_grad_nested(x, w):     # generated (x a 1-D array, w a float)
        _g0 = np.empty(x.shape)
        _t0 = np.zeros(x.shape)
        for _k0 in range(x.shape[0]):
            _t0[_k0] = 1.0
            _g0[_k0] = _tangent(x, w, _t0)
            _t0[_k0] = 0.0
        return _g0

The outer derivative (reverse or forward) then differentiates that code: second derivatives,
exact, in every combination of modes.  The cost is one inner sweep per element of the inner
derivative's arguments, so this suits the small inner problems of nested optimisation
(GradBench's particle and saddle); for a large inner gradient use `srcgrad.hvp`/`hessian`.
"""
from __future__ import annotations

import hashlib

from . import abstract
from .frontend import resolve


class Refusal(Exception):
    """What a nested derivative cannot do here; the lowering raises it as a located error."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint

# the nested-derivative kinds: a reverse-mode gradient object's `kind`, or the jvp function
KINDS = ("grad", "value_and_grad")


def is_nested(obj) -> bool:
    """Is `obj` a derivative srcgrad can inline where it is called inside differentiated code?"""
    from .api import GradFunction, VjpFunction
    from .higher import HvpFunction
    if obj is jvp_function():
        return True
    return isinstance(obj, GradFunction) and not isinstance(obj, (HvpFunction, VjpFunction)) \
        and obj.kind in KINDS


def jvp_function():
    from .higher import jvp
    return jvp


def target_function(obj):
    """The user's function behind a nested derivative object (for the cache key)."""
    return getattr(obj, "fun", None)


def gradient_helper(g, sig: tuple):
    """The helper computing `g(*args)` for argument types `sig` (one per parameter of g.fun)."""
    if g.has_aux:
        raise Refusal(f"a has_aux {g.kind} object called inside a differentiated function is not supported",
                      "call the function and its gradient separately")
    params = list(g._params)
    for i in g.argnums:
        ty = sig[i]
        if not isinstance(ty, abstract.Ty) or ty.dtype != "f" or ty.ndim > 2:
            raise Refusal(
                f"`{g.fun.__name__}`'s gradient inside a differentiated function, with respect to `{params[i]}` "
                f"({ty})", "differentiate with respect to floats or 1-D/2-D float arrays")
    tangent = _tangent_function(g.fun, g.argnums, sig)
    lines = []
    outs = []
    zeros = [f"np.zeros({params[j]}.shape)" if sig[j].is_array else "0.0" for j in g.argnums]
    for n, i in enumerate(g.argnums):
        p, ty = params[i], sig[i]
        if not ty.is_array:
            tans = list(zeros)
            tans[n] = "1.0"
            lines.append(f"    _g{n} = _tangent({', '.join(params + tans)})")
        else:
            tans = list(zeros)
            tans[n] = f"_t{n}"
            idx = ", ".join(f"_k{n}_{d}" for d in range(ty.ndim))
            lines.append(f"    _g{n} = np.empty({p}.shape)")
            lines.append(f"    _t{n} = np.zeros({p}.shape)")
            pad = "    "
            for d in range(ty.ndim):
                lines.append(f"{pad}for _k{n}_{d} in range({p}.shape[{d}]):")
                pad += "    "
            lines.append(f"{pad}_t{n}[{idx}] = 1.0")
            lines.append(f"{pad}_g{n}[{idx}] = _tangent({', '.join(params + tans)})")
            lines.append(f"{pad}_t{n}[{idx}] = 0.0")
        outs.append(f"_g{n}")
    grads = outs[0] if g.single else "(" + ", ".join(outs) + ("," if len(outs) == 1 else "") + ")"
    if g.kind == "value_and_grad":
        lines.append(f"    return _primal({', '.join(params)}), {grads}")
    else:
        lines.append(f"    return {grads}")
    name = f"{g.fun.__name__}_{g.kind}_nested"
    return _module_function(g.fun, name, params, lines, tangent,
                            f"{g.kind}({g.fun.__qualname__}, argnums={g.argnums}) for ({_types(sig)})")


def jvp_helper(fun, sig: tuple):
    """The helper computing `srcgrad.jvp(fun, primals, tangents)` for primal types `sig`:
    `(fun(*primals), tangent)`; every float argument is differentiated, as `jvp` does."""
    params = _params_of(fun)
    if len(sig) != len(params):
        raise Refusal(f"srcgrad.jvp: `{fun.__name__}` takes {len(params)} arguments, "
                                     f"{len(sig)} primals given")
    nums = tuple(i for i, t in enumerate(sig) if isinstance(t, abstract.Ty) and t.dtype == "f" and t.ndim <= 2)
    if not nums:
        raise Refusal(f"srcgrad.jvp of `{fun.__name__}` with no float argument")
    tangent = _tangent_function(fun, nums, sig)
    tans = [f"_dt{i}" for i in range(len(params))]
    lines = [f"    return _primal({', '.join(params)}), _tangent({', '.join(params + [tans[i] for i in nums])})"]
    name = f"{fun.__name__}_jvp_nested"
    return _module_function(fun, name, params + tans, lines, tangent, f"jvp({fun.__qualname__}) for ({_types(sig)})")


def _params_of(fun):
    from .frontend.source import parse_function
    return [a.arg for a in parse_function(resolve.helper_function(fun)).tree.args.args]


def _types(sig):
    return ", ".join(str(t) for t in sig)


def _tangent_function(fun, argnums, sig):
    from .forward_mode import _jvp_function
    jf = _jvp_function(fun, tuple(argnums))
    mod = jf.module(tuple(sig))
    if getattr(mod, "HIDDEN", ()):
        raise Refusal(
            f"a derivative of `{fun.__qualname__}` inside a differentiated function: `{fun.__name__}` reads arrays "
            f"from its globals ({', '.join(n for _, n in mod.HIDDEN)})", "pass them as arguments")
    return getattr(mod, f"{fun.__name__}_tangent")


def _module_function(fun, name, params, body_lines, tangent, what):
    """Write (once), import and return the helper `name`, a module of srcgrad's cache."""
    from .codegen import compile as cache
    src = f"def {name}({', '.join(params)}):\n" + "\n".join(body_lines) + "\n"
    text = (f'"""srcgrad: {what}, inlined where it is called inside a differentiated function."""\n'
            f"import numpy as np\n"
            f"from {tangent.__module__} import {tangent.__name__} as _tangent\n\n\n{src}")
    stem = f"{name}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    path = cache.path_for(stem) if cache.read_valid(stem) == text else cache.write(stem, text)
    mod = cache.import_module(stem, path, text)
    mod._primal = fun          # the primal value of value_and_grad/jvp: the user's function, inlined
    return getattr(mod, name)


