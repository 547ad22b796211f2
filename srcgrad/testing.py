"""Public gradient checking: srcgrad against central differences in float64."""
from __future__ import annotations

from typing import Callable

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


def check_grad(f: Callable, *args, argnums: int | tuple[int, ...] = 0, rtol: float = 1e-5,
               atol: float = 1e-7, eps: float | None = None):
    """Compare srcgrad's gradient of `f` at `args` with central differences; raise
    GradientCheckError with a readable table on mismatch.  Returns srcgrad's gradient.

    `f` may be a plain function, a `srcgrad.grad` of one or a `numba.njit` function (its Python
    source is differentiated); differentiated arguments given as lists are taken as float arrays.

        >>> def f(x, y):
        ...     return x * x * y
        >>> check_grad(f, 3.0, 2.0, argnums=(0, 1))
        (12.0, 9.0)
    """
    from .api import GradFunction, grad
    fun = f.fun if isinstance(f, GradFunction) else f
    fun = getattr(fun, "py_func", fun)      # a numba.njit function: its Python source
    single = isinstance(argnums, (int, np.integer))
    nums = (int(argnums),) if single else tuple(argnums)
    n = len(args)       # lists and tuples of numbers: the float arrays they stand for
    args = tuple(np.asarray(a, dtype=np.float64) if isinstance(a, (list, tuple)) and (i in nums or i - n in nums)
                 else a for i, a in enumerate(args))
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
