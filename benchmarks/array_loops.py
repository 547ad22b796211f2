"""Loops that carry whole arrays (issue 22): derivative time over primal time, srcgrad beside JAX.

    python benchmarks/array_loops.py [--quick]

Workloads, written as NumPy users write them (whole-array updates, slices, a helper returning
an array), each reduced to a scalar loss:
* heat:       explicit 1-D heat equation, n = 10^4 points, 1,000 steps, slices
* oscillator: damped oscillators u'' = -k u - c u', 1,000 masses, 2,000 Euler steps
* rnn:        h = tanh(Wh @ h + Wx @ x_t), hidden 64, 100 steps
* rk4:        RK4 on a Lotka-Volterra system of 3 species, 1,000 steps, its right-hand side a helper

srcgrad: the primal compiled with numba.njit, the gradient with srcgrad (`.kernel`), both
called from Python in turn, the best of 15 warm calls of each.  JAX: `jax.jit` of the same Python loop
(unrolled by tracing) and `jax.grad` of it, timed with `block_until_ready`, float64.  Cold
compile times: the first call of each, in this process (srcgrad's on-disk cache is bypassed
with a fresh cache directory).  A second table: heat and oscillator under srcgrad.checkpoint,
the tape's peak size (GradFunction.tape_size) and the gradient's time, plain and checkpointed.
"""
import os
import sys
import tempfile
import time

import numba
import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, ROOT)

import srcgrad  # noqa: E402  (after the path: the checkout's srcgrad)


# ---- the workloads -------------------------------------------------------------------------
def heat(u0, alpha):
    u = u0.copy()
    for t in range(STEPS_HEAT):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u * u)


def oscillator(u, k, c):
    v = np.zeros_like(u)
    for t in range(STEPS_OSC):
        a = -k * u - c * v
        v = v + 0.001 * a
        u = u + 0.001 * v
    return np.sum(u * u)


# the same loops under srcgrad.checkpoint (sqrt(steps) segments): memory saved, time paid
def heat_checkpointed(u0, alpha):
    u = u0.copy()
    for t in srcgrad.checkpoint(range(STEPS_HEAT)):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u * u)


def oscillator_checkpointed(u, k, c):
    v = np.zeros_like(u)
    for t in srcgrad.checkpoint(range(STEPS_OSC)):
        a = -k * u - c * v
        v = v + 0.001 * a
        u = u + 0.001 * v
    return np.sum(u * u)


def rnn(Wh, Wx, xs, h0):
    h = h0.copy()
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
    return np.sum(h * h)


@numba.njit        # so that the primal compiles with numba.njit too; srcgrad reads its source
def lotka_volterra(y, A, r):
    return y * (r + A @ y)


def rk4(y0, A, r):
    y = y0.copy()
    dt = 0.01
    for t in range(STEPS_RK4):
        k1 = lotka_volterra(y, A, r)
        k2 = lotka_volterra(y + 0.5 * dt * k1, A, r)
        k3 = lotka_volterra(y + 0.5 * dt * k2, A, r)
        k4 = lotka_volterra(y + dt * k3, A, r)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return np.sum(y * y)


STEPS_HEAT, STEPS_OSC, STEPS_RK4 = 1000, 2000, 1000


def inputs(quick=False):
    rng = np.random.default_rng(0)
    n_heat = 1000 if quick else 10_000
    x = np.linspace(0.0, 1.0, n_heat)
    H = 64
    return {
        "heat": (heat, (np.sin(np.pi * x) + 0.1 * rng.standard_normal(n_heat), 0.2), (0, 1)),
        "oscillator": (oscillator, (rng.standard_normal(100 if quick else 1000), 2.0, 0.3), (0, 1, 2)),
        "rnn": (rnn, (rng.standard_normal((H, H)) * 0.1, rng.standard_normal((H, 16)) * 0.1,
                      rng.standard_normal((100, 16)), np.zeros(H)), (0, 1)),
        "rk4": (rk4, (np.array([0.5, 0.4, 0.3]), -np.array([[0.1, 0.2, 0.05], [0.1, 0.1, 0.3], [0.2, 0.1, 0.1]]),
                      np.array([1.0, 0.7, 0.4])), (0, 1, 2)),
    }


# ---- timing ----------------------------------------------------------------------------------
def best(f, args, n=5):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        f(*args)
        ts.append(time.perf_counter() - t)
    return min(ts)


def best_pair(f, g, args, n=15):
    """Best times of f and of g, called in turn (f, g, f, g, ...): on a machine whose speed
    drifts, both see the same drift and their ratio stays put."""
    tf, tg = [], []
    for _ in range(n):
        tf.append(best(f, args, 1))
        tg.append(best(g, args, 1))
    return min(tf), min(tg)


def cold(f, args):
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t


def srcgrad_row(fn, args, argnums):
    import numba
    import srcgrad
    primal = numba.njit(error_model="numpy")(fn)
    g = srcgrad.grad(fn, argnums=argnums)
    c_primal, c_grad = cold(primal, args), cold(g, args)
    return (*best_pair(primal, g, args), c_primal, c_grad)


def jax_row(fn, args, argnums):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    src = {"heat": _jax_heat, "oscillator": _jax_oscillator, "rnn": _jax_rnn, "rk4": _jax_rk4}[fn.__name__](jnp)
    primal = jax.jit(src)
    grad = jax.jit(jax.grad(src, argnums=argnums))
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)

    def p(*a):
        return primal(*a).block_until_ready()

    def g(*a):
        return jax.block_until_ready(grad(*a))

    c_primal, c_grad = cold(p, jargs), cold(g, jargs)
    return (*best_pair(p, g, jargs), c_primal, c_grad)


def _jax_heat(jnp):
    def f(u0, alpha):
        u = u0
        for t in range(STEPS_HEAT):
            u = u.at[1:-1].set(u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2]))
        return jnp.sum(u * u)
    return f


def _jax_oscillator(jnp):
    def f(u, k, c):
        v = jnp.zeros_like(u)
        for t in range(STEPS_OSC):
            a = -k * u - c * v
            v = v + 0.001 * a
            u = u + 0.001 * v
        return jnp.sum(u * u)
    return f


def _jax_rnn(jnp):
    def f(Wh, Wx, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = jnp.tanh(Wh @ h + Wx @ xs[t])
        return jnp.sum(h * h)
    return f


def _jax_rk4(jnp):
    def rhs(y, A, r):
        return y * (r + A @ y)

    def f(y0, A, r):
        y = y0
        dt = 0.01
        for t in range(STEPS_RK4):
            k1 = rhs(y, A, r)
            k2 = rhs(y + 0.5 * dt * k1, A, r)
            k3 = rhs(y + 0.5 * dt * k2, A, r)
            k4 = rhs(y + dt * k3, A, r)
            y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        return jnp.sum(y * y)
    return f


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-bench-"))
    print("| workload | srcgrad primal | srcgrad gradient | ratio | JAX primal | JAX gradient | JAX ratio "
          "| cold compile srcgrad / JAX (gradient) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (fn, args, argnums) in inputs(quick).items():
        tp, tg, _, cg = srcgrad_row(fn, args, argnums)
        j = None if "--no-jax" in argv else jax_row(fn, args, argnums)
        jcols = f"{j[0] * 1e3:.2f} ms | {j[1] * 1e3:.2f} ms | {j[1] / j[0]:.1f}" if j else "- | - | -"
        jc = f"{j[3]:.1f} s" if j else "-"
        print(f"| {name} | {tp * 1e3:.2f} ms | {tg * 1e3:.2f} ms | {tg / tp:.1f} | {jcols} | {cg:.1f} s / {jc} |")
    checkpoint_table(quick)


def checkpoint_table(quick):
    """Tape size (GradFunction.tape_size: its peak) and gradient time, plain and checkpointed."""
    ins = inputs(quick)
    print()
    print("| workload | tape, plain | tape, checkpointed | memory saved | gradient, plain | gradient, "
          "checkpointed | time paid |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, cp in (("heat", heat_checkpointed), ("oscillator", oscillator_checkpointed)):
        fn, args, argnums = ins[name]
        g, gc = srcgrad.grad(fn, argnums=argnums), srcgrad.grad(cp, argnums=argnums)
        t, tc = g.tape_size(*args), gc.tape_size(*args)
        s, sc = best_pair(g, gc, args)
        print(f"| {name} | {t / 2**20:.1f} MB | {tc / 2**20:.2f} MB | {t / tc:.0f}x | {s * 1e3:.1f} ms "
              f"| {sc * 1e3:.1f} ms | {sc / s:.2f}x |")


if __name__ == "__main__":
    main()
