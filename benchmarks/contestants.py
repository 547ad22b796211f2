"""Every contestant, in table order, behind one interface.

``build(name, case, parallel)`` returns a ``peers.Built`` (grad/primal closures)
or raises ``peers.Unavailable`` (the status is its message); any other
exception is reported by the runner as ``error: ...``.
"""
import math

import numpy as np

from . import handwritten as hw
from . import kernels, peers, tape
from .peers import Built, Unavailable

HANDWRITTEN = "hand-written Numba"
PRIMAL = "Numba primal (floor)"
LOCKSTEP = "hand-written lock-step"
SRCGRAD = "srcgrad"
TAPE = "pure-Python tape"

# Tools without threads: measured in the 1-thread table only.
SINGLE_THREADED = ("autograd", "pure-Python tape")

ORDER = [PRIMAL, HANDWRITTEN, LOCKSTEP, SRCGRAD, "JAX jit(vmap(grad))", "PyTorch tape",
         "PyTorch vmap(grad)", "autograd", TAPE]


def applies(name, case):
    """Contestants that exist only for some kernels (the rest are always listed)."""
    if name == LOCKSTEP:
        return case.kernel == "logistic_euler"
    return True


# --------------------------------------------------------------- hand-written

def build_handwritten(case, parallel):
    k = case.kernel
    if case.kind == "elementwise":
        g = hw.elementwise_grad(k, parallel)
        p = hw.elementwise_primal(k, parallel)
        return Built(lambda: g(*case.args), lambda: p(*case.args), n=case.n)
    if k == "rosenbrock":
        x = case.args[0]
        return Built(lambda: (hw.rosenbrock_grad(x, parallel),), lambda: hw.rosenbrock_primal(x))
    if k == "gmm":
        a = case.data.args
        return Built(lambda: hw.gmm_grad(*a, parallel=parallel), lambda: hw.gmm_primal(*a))
    if k == "ba":
        ba = case.data
        return Built(lambda: hw.ba_jacobian(ba, parallel), lambda: hw.ba_residuals(ba, parallel),
                     to_numpy=lambda r: (r[2],))
    raise ValueError(k)


def build_lockstep(case, parallel):
    g = hw.elementwise_grad("logistic_euler_lockstep", parallel)
    p = hw.elementwise_primal("logistic_euler", parallel)
    return Built(lambda: g(*case.args), lambda: p(*case.args), n=case.n,
                 note=f"{hw.BLOCK} elements in lock-step")


def build_primal(case, parallel):
    b = build_handwritten(case, parallel)
    return Built(b.primal, b.primal, n=b.n, note="objective only")


# -------------------------------------------------------------------- srcgrad

def import_srcgrad():
    import srcgrad
    for attr in ("grad", "value_and_grad", "vectorize"):
        if not hasattr(srcgrad, attr):
            raise AttributeError(f"srcgrad has no attribute {attr!r}")
    return srcgrad


def _as_tuple(r):
    return r if isinstance(r, tuple) else (r,)


def build_srcgrad(case, parallel):
    sg = import_srcgrad()
    k = case.kernel
    if case.kind == "elementwise":
        f = getattr(kernels, k)
        wrt = case.wrt if len(case.wrt) > 1 else case.wrt[0]
        vg = sg.vectorize(sg.grad(f, argnums=wrt))
        vp = sg.vectorize(f)
        return Built(lambda: _as_tuple(vg(*case.args)), lambda: vp(*case.args), n=case.n)
    if k == "rosenbrock":
        x = case.args[0]
        g = sg.grad(kernels.rosenbrock)
        return Built(lambda: (g(x),), lambda: hw.rosenbrock_primal(x),
                     note="J/F against the Numba primal")
    if k == "gmm":
        a = case.data.args
        g = sg.grad(kernels.gmm_objective, argnums=(0, 1, 2))
        return Built(lambda: g(*a), lambda: hw.gmm_primal(*a),
                     note="J/F against the Numba primal")
    if k == "ba":
        ba = case.data
        rows = tuple(range(15))
        vu = sg.vectorize(sg.grad(kernels.ba_reproj_u, argnums=rows))
        vv = sg.vectorize(sg.grad(kernels.ba_reproj_v, argnums=rows))
        vw = sg.vectorize(sg.grad(kernels.ba_weight_err))

        def jac():
            cols, fu, fv = hw.ba_gather(ba)
            ju = tuple(vu(*cols, fu))
            jv = tuple(vv(*cols, fv))
            return hw.assemble_csr(ba, ju, jv, vw(ba.w), parallel)

        return Built(jac, lambda: hw.ba_residuals(ba, parallel), to_numpy=lambda r: (r[2],),
                     note="J/F against the fused Numba residuals")
    raise ValueError(k)


def srcgrad_value_and_grad(case):
    """(value, grads) from srcgrad.value_and_grad, vectorized for per-element kernels
    (whose outputs are the value array first, then one array per argument)."""
    sg = import_srcgrad()
    if case.kind == "elementwise":
        f = getattr(kernels, case.kernel)
        out = sg.vectorize(sg.value_and_grad(f, argnums=tuple(case.wrt)))(*case.args)
        return out[0], tuple(out[1:])
    if case.kernel == "gmm":
        v, g = sg.value_and_grad(kernels.gmm_objective, argnums=(0, 1, 2))(*case.data.args)
        return v, g
    raise ValueError(case.kernel)


# ----------------------------------------------------------------------- tape

# Elements / points / observations the tape processes in a timed call, so that
# one call stays near a tenth of a second; times are scaled to the whole case.
TAPE_ELEMENTS = {"seed": 2000, "sigmoid_neuron": 1000, "black_scholes": 500, "huber": 2000,
                 "logistic_euler": 10, "while_threshold": 200}
TAPE_NODES = 100_000


def _cap(x):
    return int(x) if math.isfinite(x) else 1 << 62


def build_tape(case, parallel, budget=1.0):
    k = case.kernel
    if case.kind == "elementwise":
        m = min(case.n, max(1, _cap(TAPE_ELEMENTS[k] * budget)))
        args = tuple(a[:m] if isinstance(a, np.ndarray) else a for a in case.args)
        run = tape.elementwise(getattr(kernels, k), case.wrt)
        f = getattr(kernels, k)

        def primal():
            return [f(*[a[e] if isinstance(a, np.ndarray) else a for a in args]) for e in range(m)]

        note = f"{m} of {case.n} elements" if m < case.n else ""
        return Built(lambda: run(*args), primal, n=m, note=note)
    if k == "rosenbrock":
        x = case.args[0]
        m = min(x.shape[0], max(2, _cap(TAPE_NODES * budget / 12)))
        xs = x[:m]
        g = tape.grad(kernels.rosenbrock)
        scale = (x.shape[0] - 1) / (m - 1)
        return Built(lambda: (g(xs),), lambda: kernels.rosenbrock(xs), scale=scale,
                     note=f"extrapolated from {m} of {x.shape[0]} elements" if scale != 1 else "")
    if k == "gmm":
        gm = case.data
        a = list(gm.args)
        N, D = gm.x.shape
        K = gm.alphas.shape[0]
        m = min(N, max(1, _cap(TAPE_NODES * budget / (K * (2 * D * D + 6 * D + 10)))))
        a[3] = gm.x[:m]
        g = tape.grad(kernels.gmm_objective, (0, 1, 2))
        return Built(lambda: g(*a), lambda: kernels.gmm_objective(*a), scale=N / m,
                     note=f"extrapolated from {m} of {N} points" if m < N else "")
    if k == "ba":
        ba = case.data
        m = min(ba.p, max(1, _cap(TAPE_NODES * budget / 200)))
        gu = tape.grad(kernels.ba_reproj_u, tuple(range(15)))
        gv = tape.grad(kernels.ba_reproj_v, tuple(range(15)))
        gw = tape.grad(kernels.ba_weight_err)
        full = m == ba.p

        def jac():
            cols, fu, fv = hw.ba_gather(ba)
            ju = np.empty((15, ba.p))
            jv = np.empty((15, ba.p))
            wg = np.empty(ba.p)
            for i in range(m):
                args = [c[i] for c in cols]
                ju[:, i] = gu(*args, fu[i])
                jv[:, i] = gv(*args, fv[i])
                wg[i] = gw(ba.w[i])
            if not full:
                ju[:, m:] = jv[:, m:] = wg[m:] = np.nan
            return hw.assemble_csr(ba, ju, jv, wg)

        def primal():
            cols, fu, fv = hw.ba_gather(ba)
            return [(kernels.ba_reproj_u(*[c[i] for c in cols], fu[i]),
                     kernels.ba_reproj_v(*[c[i] for c in cols], fv[i]),
                     kernels.ba_weight_err(ba.w[i])) for i in range(m)]

        return Built(jac, primal, to_numpy=lambda r: (r[2],), scale=ba.p / m,
                     note="" if full else f"extrapolated from {m} of {ba.p} observations")
    raise ValueError(k)


# --------------------------------------------------------------------- lookup

_LOCAL = {HANDWRITTEN: build_handwritten, PRIMAL: build_primal, LOCKSTEP: build_lockstep,
          SRCGRAD: build_srcgrad, TAPE: build_tape}


def build(name, case, parallel=False, quick=False, whole=False):
    """``whole``: the slow tools process the whole case (for correctness checks)."""
    if case.missing:
        raise Unavailable(case.missing)
    if name == TAPE:
        return build_tape(case, parallel, budget=math.inf if whole else 0.25 if quick else 1.0)
    if name in _LOCAL:
        return _LOCAL[name](case, parallel)
    _, builder = peers.BUILDERS[name]
    if case.kernel in CHUNKED_KERNELS and case.n > CHUNK:
        return _chunked(builder, case)
    return builder(case)


# The tapes keep every step of the loop kernels for every element: at 1e6
# elements PyTorch's vmap(grad) needs ~12 GB. The peers run those in chunks,
# and at most CHUNKED_MAX elements of them (a 1e7 logistic Euler takes JAX 30 s
# per call): the time per element is that of the elements they ran.
CHUNKED_KERNELS = ("logistic_euler", "while_threshold")
CHUNK = 100_000
CHUNKED_MAX = 1_000_000


def _chunked(builder, case):
    import dataclasses
    parts = []
    n = min(case.n, CHUNKED_MAX)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        args = tuple(a[lo:hi] if isinstance(a, np.ndarray) else a for a in case.args)
        parts.append(builder(dataclasses.replace(case, args=args, n=hi - lo)))

    def grad():
        return [b.grad() for b in parts]

    def primal():
        return [b.primal() for b in parts]

    def to_numpy(rs):
        outs = [b.to_numpy(r) for b, r in zip(parts, rs)]
        return tuple(np.concatenate(col) for col in zip(*outs))

    note = f"in chunks of {CHUNK:,} elements (memory)"
    if n < case.n:
        note += f"; timed on {n:,} of {case.n:,} elements"
    return Built(grad, primal if parts[0].primal else None, to_numpy, n=n, note=note)


def versions():
    """Installed versions of every tool (or its import problem)."""
    import platform

    import numba

    out = {"python": platform.python_version(), "numpy": np.__version__,
           "numba": numba.__version__}
    try:
        import llvmlite
        out["llvmlite"] = llvmlite.__version__
    except ImportError:
        pass
    try:
        sg = import_srcgrad()
        out["srcgrad"] = getattr(sg, "__version__", "?")
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        out["srcgrad"] = f"error: {type(exc).__name__}: {exc}"
    for tool in ("autograd", "torch", "jax"):
        try:
            out[tool] = peers.load(tool)[2]
        except Unavailable as exc:
            out[tool] = str(exc)
    return out
