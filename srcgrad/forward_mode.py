"""Forward-mode derivative objects: `JvpFunction` (the tangent of a function, srcgrad.jvp) and
the forward-mode partial that `grad(grad(f))` differentiates (`partial_function`).

Both `api.py` (grad of a grad) and `higher.py` (jvp, hessian) use them; they depend only on the
`Derivative` base, so neither of those modules imports the other's internals.
"""
from __future__ import annotations

import numpy as np

from .codegen import compile as cache
from .codegen.derivative import Derivative
from .errors import SrcgradError


class JvpFunction(Derivative):
    """Forward-mode derivative of `fun` w.r.t. `argnums`: `jf(*args, *tangents)` ->
    `(value, tangent)` (the compiled `<f>_jvp`); `.tangent_function` is the plain Python one."""

    mode = "forward"

    def __init__(self, fun, argnums):
        super().__init__(fun, argnums, kind="jvp")

    def _transform(self, sig) -> str:
        from .pipeline import transform_forward
        return transform_forward(self.fun, self.argnums, sig=sig)

    @property
    def entry_name(self) -> str:
        return f"{self.fun.__name__}_jvp"

    def tangent_function(self, sig=None):
        """The plain Python tangent function `(*params, *tangents) -> tangent` for abstract
        signature `sig` of the primal arguments (every argument a number when None)."""
        return getattr(self.module(sig), f"{self.fun.__name__}_tangent")

    def __call__(self, *args):
        n = len(self._params)
        primals, tangents = args[:n], args[n:]
        vals = list(self.bind(primals, {}))
        tans = [np.asarray(t, dtype=np.float64) if isinstance(vals[i], np.ndarray) else float(t)
                for i, t in zip(self.argnums, tangents)]
        sig = self.signature(vals)
        self._last_sig = sig
        kernel = getattr(self.module(sig), self.entry_name)
        return self.run(kernel, (*vals, *tans, *self.hidden_values(sig)), sig)


_JVPS: dict = {}


def _jvp_function(fun, argnums) -> JvpFunction:
    key = (fun, tuple(argnums))
    jf = _JVPS.get(key)
    if jf is None:
        jf = _JVPS[key] = JvpFunction(fun, tuple(argnums))
    return jf


def partial_function(g, sig=None):
    """A plain Python function with g.fun's parameters returning d g.fun / d x_i (forward mode),
    for grad(grad(f)), generated for abstract signature `sig`. Only for a single scalar argument."""
    if g.kind != "grad" or not g.single:
        raise SrcgradError("grad(grad(f)) needs the inner grad to have one (int) argnums and kind 'grad'; "
                           "use srcgrad.hessian for several arguments")
    jf = _jvp_function(g.fun, g.argnums)
    params = jf._params
    i = g.argnums[0]
    name = f"{g.fun.__name__}_d{params[i]}"
    src = (f"def {name}({', '.join(params)}):\n"
           f"    return _tangent({', '.join(params)}, 1.0)\n")
    tangent_mod = jf.module(sig)       # importable under its name from here on
    if getattr(tangent_mod, "HIDDEN", ()):
        raise SrcgradError(f"grad(grad({g.fun.__qualname__})): the function reads arrays from its globals "
                           f"({', '.join(n for _, n in tangent_mod.HIDDEN)}); pass them as arguments, or use "
                           "srcgrad.hvp / srcgrad.hessian")
    stem = f"{name}_{tangent_mod.__name__.rsplit('_', 1)[1]}"
    text = cache.read_valid(stem)
    if text is None:
        mod_text = (f'"""srcgrad: d{g.fun.__name__}/d{params[i]} via forward mode (for second derivatives)."""\n'
                    f"from srcgrad_generated.{tangent_mod.__name__.rsplit('.', 1)[1]} import "
                    f"{g.fun.__name__}_tangent as _tangent\n\n\n{src}")
        path = cache.write(stem, mod_text)
        text = mod_text
    else:
        path = cache.path_for(stem)
    mod = cache.import_module(stem, path, text)
    return getattr(mod, name)
