"""Gradient checking: central differences against srcgrad, for accuracy and for cost.

Run:  python examples/gradient_check.py

The numerical gradient needs no calculus: nudge one parameter by h either way and take
(f(w + h e_i) - f(w - h e_i)) / (2h). It is easy to get right, which makes it the standard
check of a hand-written backward pass, but it is approximate (truncation error ~h^2 plus
rounding error ~eps/h) and it costs two evaluations of f per parameter. Reverse mode gets
every component, exact to rounding, for a small constant multiple of one evaluation.

The loss here is L2-regularised logistic regression, written with loops over the data.
The table shows how close the two gradients are (relative error ||a - b|| / max(||a||, ||b||),
where below 1e-7 is the usual "correct"), and how the cost of each grows with the number
of parameters. Both use compiled code: Numba for f, srcgrad for the gradient.
"""
import math
import time

import numba
import numpy as np

import srcgrad


def loss(w, X, y, lam):
    n = X.shape[0]
    p = X.shape[1]
    total = 0.0
    for i in range(n):
        z = 0.0
        for j in range(p):
            z += X[i, j] * w[j]
        total += math.log1p(math.exp(-y[i] * z))
    reg = 0.0
    for j in range(p):
        reg += w[j] * w[j]
    return total / n + 0.5 * lam * reg


H = 1e-4
N_SAMPLES = 200
LAM = 1e-3

loss_jit = numba.njit(cache=False)(loss)
dloss = srcgrad.grad(loss)


def numerical_gradient(f, w, X, y, lam, h=H):
    g = np.empty_like(w)
    wp = w.copy()
    for i in range(w.size):
        old = wp[i]
        wp[i] = old + h
        fp = f(wp, X, y, lam)
        wp[i] = old - h
        fm = f(wp, X, y, lam)
        wp[i] = old
        g[i] = (fp - fm) / (2.0 * h)
    return g


def relative_error(a, b):
    """||a - b|| / max(||a||, ||b||): one number for the whole gradient."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


def best_time(fn, repeat):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def problem(p, rng):
    X = rng.standard_normal((N_SAMPLES, p)) / math.sqrt(p)
    w_true = rng.standard_normal(p)
    y = np.where(X @ w_true + 0.3 * rng.standard_normal(N_SAMPLES) > 0, 1.0, -1.0)
    w = 0.5 * rng.standard_normal(p)
    return w, X, y


def main():
    rng = np.random.default_rng(0)

    print(f"L2-regularised logistic loss over {N_SAMPLES} samples; central differences with h = {H:g}")
    print()
    print(f"{'params':>7s} {'rel. error':>11s} {'numerical (ms)':>15s} {'srcgrad (ms)':>13s} {'f alone (ms)':>13s} {'slower':>8s}")
    rows = []
    for p in (10, 100, 1000):
        w, X, y = problem(p, rng)
        g_ad = dloss(w, X, y, LAM)
        g_num = numerical_gradient(loss_jit, w, X, y, LAM)
        err = relative_error(g_ad, g_num)
        repeat = 5 if p <= 100 else 1
        t_num = best_time(lambda: numerical_gradient(loss_jit, w, X, y, LAM), repeat)
        t_ad = best_time(lambda: dloss(w, X, y, LAM), 20)
        t_f = best_time(lambda: loss_jit(w, X, y, LAM), 20)
        rows.append((p, err))
        print(f"{p:7d} {err:11.1e} {1e3 * t_num:15.3f} {1e3 * t_ad:13.3f} {1e3 * t_f:13.3f} {t_num / t_ad:7.0f}x")
    print()
    print("'slower' is the numerical gradient's time over srcgrad's: it grows with the number of")
    print("parameters, since central differences evaluate f twice per parameter.")

    # the step size: truncation error falls as h^2, rounding error grows as eps/h
    w, X, y = problem(10, np.random.default_rng(1))
    g_ad = dloss(w, X, y, LAM)
    print()
    print("Relative error of central differences against srcgrad, by step size (10 parameters):")
    for h in (1e-1, 1e-2, 1e-4, 1e-6, 1e-8, 1e-10):
        print(f"  h = {h:7.0e}: {relative_error(g_ad, numerical_gradient(loss_jit, w, X, y, LAM, h)):.1e}")

    # srcgrad ships the same check, with a readable table when it fails
    srcgrad.check_grad(loss, w, X, y, LAM, argnums=0, rtol=1e-6, atol=1e-9)
    print("\nsrcgrad.check_grad(loss, w, X, y, lam) passed")
    worst = max(err for _, err in rows)
    print(f"largest relative error at h = {H:g}: {worst:.1e} (below 1e-7: the gradients agree)")


if __name__ == "__main__":
    main()
