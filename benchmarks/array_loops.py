"""Loops that carry whole arrays (issue 22): derivative time over primal time, srcgrad beside JAX.

    python benchmarks/array_loops.py [--quick]

Workloads, written as NumPy users write them (whole-array updates, slices, a helper returning
an array), each reduced to a scalar loss:
* heat:       explicit 1-D heat equation, n = 10^4 points, 1,000 steps, slices
* oscillator: damped oscillators u'' = -k u - c u', 1,000 masses, 2,000 Euler steps
* rnn:        h = tanh(Wh @ h + Wx @ x_t), hidden 64, 100 steps
* rk4:        RK4 on a Lotka-Volterra system of 3 species, 1,000 steps, its right-hand side a helper

srcgrad: the primal compiled with numba.njit, the gradient with srcgrad, both called from Python
in turn, the best of 15 warm calls of each.  Peers (`--no-peers` leaves them out), float64, one
thread, each gradient's time and its ratio to the same tool's primal:
* JAX: `jax.jit` of the loop written with `lax.scan` (what JAX asks its users to write), and
  `jax.jit` of the Python loop as written (unrolled by tracing; only the RNN, the others do not
  compile in minutes), `jax.grad` of each, timed with `block_until_ready`;
* PyTorch: the loop as written, eager, `torch.autograd.grad`.
Every peer's gradient is checked against srcgrad's (relative error below 1e-8) before its row
is printed.
Cold compile times: the first call of each, in this process (srcgrad's on-disk cache is
bypassed with a fresh cache directory).  A second table: heat and oscillator under srcgrad.checkpoint,
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
    return (*best_pair(primal, g, args), c_primal, c_grad, g(*args))


def _peer_timing(p, g, args):
    c_primal, c_grad = cold(p, args), cold(g, args)
    return (*best_pair(p, g, args), c_primal, c_grad, [np.asarray(x) for x in g(*args)])


def agree(name, tool, ours, theirs):
    """A peer's gradient against srcgrad's (correctness first: a row is only timed if it agrees)."""
    for i, (a, b) in enumerate(zip(ours, theirs)):
        err = np.linalg.norm(np.asarray(a) - b) / max(np.linalg.norm(b), 1e-300)
        if not err < 1e-8:
            raise AssertionError(f"{name}: {tool}'s gradient {i} differs from srcgrad's (relative error {err:.2e})")


def jax_row(fn, args, argnums, scan=True):
    """JAX, float64, one thread: `jax.jit` of the loop written with `lax.scan` (what a JAX user
    writes; `scan=True`), or of the Python loop as written (unrolled by tracing)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    src = (_JAX_SCAN if scan else _JAX_UNROLLED)[fn.__name__](jnp, jax.lax)
    primal = jax.jit(src)
    grad = jax.jit(jax.grad(src, argnums=argnums))
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)
    return _peer_timing(lambda *a: primal(*a).block_until_ready(),
                        lambda *a: jax.block_until_ready(grad(*a)), jargs)


def torch_row(fn, args, argnums):
    """PyTorch eager (the loop as written, autograd's tape), float64, one thread."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    src = _TORCH[fn.__name__](torch)
    targs = tuple(torch.from_numpy(a.copy()) if isinstance(a, np.ndarray) else torch.tensor(float(a), dtype=torch.float64)
                  for a in args)

    def primal(*a):
        with torch.no_grad():
            return src(*a)

    def grad(*a):
        leaves = [x.detach().requires_grad_(i in argnums) for i, x in enumerate(a)]
        return torch.autograd.grad(src(*leaves), [leaves[i] for i in argnums])

    return _peer_timing(primal, grad, targs)


# ---- the workloads in JAX (lax.scan, and the Python loop as written) and PyTorch ------------------
def _jax_heat(jnp, lax):
    def step(u, alpha):
        return u.at[1:-1].set(u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2]))

    def f(u0, alpha):
        u, _ = lax.scan(lambda u, _: (step(u, alpha), None), u0, None, length=STEPS_HEAT)
        return jnp.sum(u * u)
    return f


def _jax_oscillator(jnp, lax):
    def f(u, k, c):
        def step(s, _):
            u, v = s
            a = -k * u - c * v
            v = v + 0.001 * a
            return (u + 0.001 * v, v), None
        (u, _), _ = lax.scan(step, (u, jnp.zeros_like(u)), None, length=STEPS_OSC)
        return jnp.sum(u * u)
    return f


def _jax_rnn(jnp, lax):
    def f(Wh, Wx, xs, h0):
        h, _ = lax.scan(lambda h, x: (jnp.tanh(Wh @ h + Wx @ x), None), h0, xs)
        return jnp.sum(h * h)
    return f


def _rk4_step(rhs, y, A, r, dt):
    k1 = rhs(y, A, r)
    k2 = rhs(y + 0.5 * dt * k1, A, r)
    k3 = rhs(y + 0.5 * dt * k2, A, r)
    k4 = rhs(y + dt * k3, A, r)
    return y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _jax_rk4(jnp, lax):
    def f(y0, A, r):
        y, _ = lax.scan(lambda y, _: (_rk4_step(lambda y, A, r: y * (r + A @ y), y, A, r, 0.01), None),
                        y0, None, length=STEPS_RK4)
        return jnp.sum(y * y)
    return f


def _rnn_as_written(xp, lax=None):
    """The RNN's Python loop in JAX (`xp` jax.numpy: unrolled by tracing) or PyTorch (`xp` torch)."""
    def f(Wh, Wx, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = xp.tanh(Wh @ h + Wx @ xs[t])
        return xp.sum(h * h)
    return f


_JAX_SCAN = {"heat": _jax_heat, "oscillator": _jax_oscillator, "rnn": _jax_rnn, "rk4": _jax_rk4}
# the Python loop as written, unrolled when traced: XLA compiles the 100 steps of the RNN in
# seconds, but had not finished the 1,000 of heat in 10 minutes or RK4's in 200 s (2026-12-03)
_JAX_UNROLLED = {"rnn": _rnn_as_written}


def _torch_heat(torch):
    def f(u0, alpha):
        u = u0.clone()
        for t in range(STEPS_HEAT):
            u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
        return torch.sum(u * u)
    return f


def _torch_oscillator(torch):
    def f(u, k, c):
        v = torch.zeros_like(u)
        for t in range(STEPS_OSC):
            a = -k * u - c * v
            v = v + 0.001 * a
            u = u + 0.001 * v
        return torch.sum(u * u)
    return f


def _torch_rk4(torch):
    def f(y0, A, r):
        y = y0
        for t in range(STEPS_RK4):
            y = _rk4_step(lambda y, A, r: y * (r + A @ y), y, A, r, 0.01)
        return torch.sum(y * y)
    return f


_TORCH = {"heat": _torch_heat, "oscillator": _torch_oscillator, "rnn": _rnn_as_written, "rk4": _torch_rk4}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = "--quick" in argv
    peers = "--no-jax" not in argv and "--no-peers" not in argv
    os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-bench-"))
    ms = lambda t: f"{t * 1e3:.2f} ms"     # noqa: E731
    print("| workload | primal (Numba) | srcgrad gradient | ratio | JAX gradient, lax.scan (ratio to its primal) "
          "| JAX gradient, Python loop (ratio) | PyTorch gradient (ratio) | cold compile: srcgrad / JAX scan |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (fn, args, argnums) in inputs(quick).items():
        tp, tg, _, cg, ours = srcgrad_row(fn, args, argnums)
        j = jax_row(fn, args, argnums) if peers else None
        ju = jax_row(fn, args, argnums, scan=False) if peers and name in _JAX_UNROLLED else None
        pt = torch_row(fn, args, argnums) if peers else None
        for tool, r in (("JAX (lax.scan)", j), ("JAX (Python loop)", ju), ("PyTorch", pt)):
            if r is not None:
                agree(name, tool, ours, r[4])
        col = lambda r: f"{ms(r[1])} ({r[1] / r[0]:.1f})" if r else "-"   # noqa: E731
        jc = f"{j[3]:.1f} s" if j else "-"
        print(f"| {name} | {ms(tp)} | {ms(tg)} | {tg / tp:.1f} | {col(j)} | {col(ju)} | {col(pt)} | {cg:.1f} s / {jc} |",
              flush=True)
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
