"""Public gradient checking: srcgrad against central differences in float64."""
from __future__ import annotations

import numpy as np

from .errors import SrcgradError


class GradientCheckError(SrcgradError, AssertionError):
    """srcgrad and central differences disagree; the message holds a per-argument table."""


def numerical_grad(f, args, argnums, eps=None):
    """Central differences of f w.r.t. each argument in argnums (float64), shaped like it."""
    args = list(args)
    out = []
    for i in argnums:
        x = np.asarray(args[i], dtype=np.float64)
        g = np.zeros_like(x)
        flat = g.reshape(-1)
        for k in range(x.size):
            xk = x.reshape(-1)[k]
            h = eps if eps is not None else 6e-6 * max(1.0, abs(float(xk)))
            vals = []
            for sgn in (1.0, -1.0):
                xp = x.copy()
                xp.reshape(-1)[k] = xk + sgn * h
                a = list(args)
                a[i] = xp if x.ndim else float(xp)
                vals.append(float(f(*a)))
            flat[k] = (vals[0] - vals[1]) / (2 * h)
        out.append(g if x.ndim else float(g))
    return out


def check_grad(f, *args, argnums=0, rtol=1e-5, atol=1e-7, eps=None):
    """Compare srcgrad's gradient of `f` at `args` with central differences; raise
    GradientCheckError with a readable table on mismatch.  Returns srcgrad's gradient."""
    from .api import GradFunction, grad
    fun = f.fun if isinstance(f, GradFunction) else f
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(argnums)
    g = grad(fun, argnums=nums)
    analytic = g(*args)
    numeric = numerical_grad(fun, args, nums, eps)
    rows, ok = [], True
    names = fun.__code__.co_varnames
    for j, i in enumerate(nums):
        a = np.asarray(analytic[j], dtype=np.float64)
        n = np.asarray(numeric[j], dtype=np.float64)
        if a.shape != n.shape:
            ok = False
            rows.append((names[i], "shape", str(a.shape), str(n.shape), "", ""))
            continue
        err = np.abs(a - n)
        bad = ~(err <= atol + rtol * np.abs(n))
        both_nan = np.isnan(a) & np.isnan(n)
        bad &= ~both_nan
        for k in np.ndindex(a.shape) if a.ndim else [()]:
            flag = bool(bad[k]) if a.ndim else bool(bad)
            if flag or a.size <= 8:
                rel = err[k] / max(abs(n[k]), 1e-300)
                rows.append((names[i], str(k) if a.ndim else "", f"{a[k]:.10g}", f"{n[k]:.10g}",
                             f"{err[k]:.3g}", f"{rel:.3g}" + ("  <-- mismatch" if flag else "")))
            ok &= not flag
    if not ok:
        head = ("argument", "index", "srcgrad", "central diff", "abs err", "rel err")
        widths = [max(len(str(r[c])) for r in rows + [head]) for c in range(6)]
        lines = ["  ".join(str(r[c]).ljust(widths[c]) for c in range(6)) for r in [head] + rows]
        raise GradientCheckError(
            f"gradient check failed for {fun.__qualname__} (rtol={rtol}, atol={atol}):\n" + "\n".join(lines))
    return analytic[0] if single else analytic
