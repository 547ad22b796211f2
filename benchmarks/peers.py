"""The peer tools: autograd, PyTorch (batched tape and torch.func), JAX.

Each kernel is written once below against a small namespace ``F`` (exp, log,
sqrt, erf, where, ...) that every tool fills with its own functions, so all
tools run the same formula. A per-element kernel is a broadcasting function of
arrays (the batched tapes) or of scalars (the vmapped transforms). The fixed
100-step loop is a Python loop, except ``lax.scan`` for JAX. Branches
become ``where``; the ``while`` kernel becomes a masked loop where a tool can
run one, and is reported "cannot express" where it cannot.

Tools are imported lazily by ``load()``; a missing one raises ``Unavailable``.
"""
import math
import types

import numpy as np

from . import kernels


class Unavailable(Exception):
    """The tool cannot run this: ``str(exc)`` is the status shown in the table."""


# --------------------------------------------------------- kernels, written once

def seed(F, a, b):
    return (a + b) * (b + 1.0)


def sigmoid_neuron(F, w0, w1, b, x0, x1):
    return 1.0 / (1.0 + F.exp(-(w0 * x0 + w1 * x1 + b)))


def black_scholes(F, S, K, T, r, sigma):
    sqrt_t = F.sqrt(T)
    d1 = (F.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    n1 = 0.5 * (1.0 + F.erf(d1 / math.sqrt(2.0)))
    n2 = 0.5 * (1.0 + F.erf(d2 / math.sqrt(2.0)))
    return S * n1 - K * F.exp(-r * T) * n2


def huber(F, x, delta):
    return F.where(x > delta, delta * (x - 0.5 * delta),
                   F.where(x < -delta, -delta * (x + 0.5 * delta), 0.5 * x * x))


def logistic_euler(F, y0, r, k):
    def step(y):
        return y + kernels.LOGISTIC_H * r * y * (1.0 - y / k)
    return F.repeat(step, y0, kernels.LOGISTIC_STEPS)


def _python_repeat(step, y, n):
    for _ in range(n):
        y = step(y)
    return y


def while_threshold_masked(F, a, b, thresh):
    """The while loop over a batch: iterate until every element is done, masking the done."""
    y = F.ones_like(a)
    active = y <= thresh
    while F.any(active):
        y = F.where(active, y * a + b, y)
        active = y <= thresh
    return y


ELEMENTWISE = {
    "seed": seed,
    "sigmoid_neuron": sigmoid_neuron,
    "black_scholes": black_scholes,
    "huber": huber,
    "logistic_euler": logistic_euler,
    "while_threshold": while_threshold_masked,
}


def rosenbrock(F, x):
    t = x[1:] - x[:-1] * x[:-1]
    u = 1.0 - x[:-1]
    return F.sum(100.0 * t * t + u * u)


def gmm_selectors(D):
    """0/1 matrices that gather Q's strictly-lower entries (pair (c, j), c < j, in
    ADBench's order) from x's component c and scatter them to component j."""
    P = D * (D - 1) // 2
    sel = np.zeros((D, P))
    sca = np.zeros((P, D))
    idx = 0
    for c in range(D):
        for j in range(c + 1, D):
            sel[c, idx] = 1.0
            sca[idx, j] = 1.0
            idx += 1
    return sel, sca


def gmm_objective(F, alphas, means, icf, x, gamma, m, lgam, sel, sca):
    """ADBench's GMM objective, vectorised over points and components."""
    N, D = x.shape
    K = alphas.shape[0]
    q = icf[:, :D]
    L = icf[:, D:]
    xc = x[:, None, :] - means[None, :, :]                        # N K D
    Qxc = F.exp(q)[None] * xc + F.matmul(L[None] * F.matmul(xc, sel), sca)
    sum_q = F.sum(q, 1)
    main = alphas[None] + sum_q[None] - 0.5 * F.sum(Qxc * Qxc, 2)  # N K
    slse = F.sum(F.lse(main, 1))
    lse_a = F.lse(alphas, 0)
    n = D + m + 1.0
    C = n * D * (math.log(gamma) - 0.5 * math.log(2.0)) - lgam
    frob = F.sum(F.exp(2.0 * q), 1) + F.sum(L * L, 1)
    prior = F.sum(0.5 * gamma * gamma * frob - m * sum_q)
    return (-N * D * 0.5 * math.log(2.0 * math.pi) + slse - N * lse_a + prior - K * C)


def ba_residuals(F, r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, X0, X1, X2, w, fu, fv):
    """Both reprojection residuals of observations (arrays or scalars)."""
    y0 = X0 - c0
    y1 = X1 - c1
    y2 = X2 - c2
    sq = r0 * r0 + r1 * r1 + r2 * r2
    nz = sq != 0.0
    th = F.sqrt(F.where(nz, sq, 1.0))       # safe: the other branch is taken at 0
    ct = F.cos(th)
    st = F.sin(th)
    w0, w1, w2 = r0 / th, r1 / th, r2 / th
    tmp = (1.0 - ct) * (w0 * y0 + w1 * y1 + w2 * y2)
    z0 = F.where(nz, y0 * ct + (w1 * y2 - w2 * y1) * st + w0 * tmp, y0 + (r1 * y2 - r2 * y1))
    z1 = F.where(nz, y1 * ct + (w2 * y0 - w0 * y2) * st + w1 * tmp, y1 + (r2 * y0 - r0 * y2))
    z2 = F.where(nz, y2 * ct + (w0 * y1 - w1 * y0) * st + w2 * tmp, y2 + (r0 * y1 - r1 * y0))
    p0 = z0 / z2
    p1 = z1 / z2
    rsq = p0 * p0 + p1 * p1
    L = 1.0 + k1 * rsq + k2 * rsq * rsq
    return w * (p0 * L * f + u0 - fu), w * (p1 * L * f + v0 - fv)


# ----------------------------------------------------------------- the tools

def _ns(**kw):
    return types.SimpleNamespace(**kw)


def load(tool):
    """(namespace F, module, version string) for 'autograd', 'torch' or 'jax'."""
    try:
        if tool == "autograd":
            import autograd
            import autograd.numpy as anp
            from autograd.scipy.special import erf, logsumexp
            F = _ns(exp=anp.exp, log=anp.log, sqrt=anp.sqrt, erf=erf, where=anp.where,
                    sin=anp.sin, cos=anp.cos, ones_like=anp.ones_like, any=np.any,
                    sum=anp.sum, matmul=anp.matmul, lse=lambda x, ax: logsumexp(x, axis=ax),
                    repeat=_python_repeat)
            return F, autograd, _version("autograd")
        if tool == "torch":
            import torch
            F = _ns(exp=torch.exp, log=torch.log, sqrt=torch.sqrt, erf=torch.erf,
                    where=torch.where, sin=torch.sin, cos=torch.cos,
                    ones_like=torch.ones_like, any=lambda t: bool(t.any()),
                    sum=lambda t, dim=None: t.sum() if dim is None else t.sum(dim),
                    matmul=torch.matmul, lse=torch.logsumexp, repeat=_python_repeat)
            return F, torch, torch.__version__
        if tool == "jax":
            import jax
            jax.config.update("jax_enable_x64", True)
            jax.config.update("jax_platforms", "cpu")
            import jax.numpy as jnp
            from jax.scipy import special as jsp
            F = _ns(exp=jnp.exp, log=jnp.log, sqrt=jnp.sqrt, erf=jsp.erf, where=jnp.where,
                    sin=jnp.sin, cos=jnp.cos, ones_like=jnp.ones_like, any=jnp.any,
                    sum=jnp.sum, matmul=jnp.matmul, lse=lambda x, ax: jsp.logsumexp(x, axis=ax),
                    repeat=_jax_repeat)
            return F, jax, f"{jax.__version__} (jaxlib {_version('jaxlib')})"
    except ImportError as exc:
        raise Unavailable("not installed") from exc
    raise ValueError(tool)


def _jax_repeat(step, y, n):
    """A fixed-count loop as lax.scan: an unrolled Python loop of 100 steps takes 20 s
    to compile under vmap(grad) and runs 3-4x slower."""
    import jax
    return jax.lax.scan(lambda c, _: (step(c), None), y, None, length=n)[0]


def _version(dist):
    from importlib.metadata import version
    try:
        return version(dist)
    except Exception:
        return "?"


class Built:
    """One contestant ready to time on one case.

    ``grad()`` computes the derivative and returns once it is finished;
    ``primal()`` the objective in the same tool (or None); ``to_numpy(result)``
    flattens grad()'s result to a tuple of float arrays in the order of the
    hand-written derivative; ``n`` is the number of elements actually processed
    (a subset for slow tools), ``scale`` the factor from the measured call to
    the whole case, ``note`` a remark for the table.
    """

    def __init__(self, grad, primal=None, to_numpy=None, n=None, scale=1.0, note=""):
        self.grad = grad
        self.primal = primal
        self.to_numpy = to_numpy or (lambda r: tuple(np.asarray(a, dtype=np.float64) for a in r))
        self.n = n
        self.scale = scale
        self.note = note


# ------------------------------------------------------------------- autograd

def build_autograd(case):
    F, _, _ = load("autograd")
    from autograd import elementwise_grad, grad, make_vjp
    if case.kind == "elementwise":
        fk = ELEMENTWISE[case.kernel]
        args, wrt = list(case.args), case.wrt

        def f(xs):
            a = list(args)
            for i, v in zip(wrt, xs):
                a[i] = v
            return fk(F, *a)

        eg = elementwise_grad(f)
        xs = tuple(args[i] for i in wrt)
        return Built(lambda: eg(xs), lambda: fk(F, *args), n=case.n)
    if case.kernel == "rosenbrock":
        x = case.args[0]
        g = grad(lambda x: rosenbrock(F, x))
        return Built(lambda: (g(x),), lambda: rosenbrock(F, x))
    if case.kernel == "gmm":
        a = _gmm_args(case)
        g = grad(lambda p: gmm_objective(F, *p, *a[3:]))
        p = tuple(a[:3])
        return Built(lambda: g(p), lambda: gmm_objective(F, *a))
    if case.kernel == "ba":
        from . import handwritten as hw
        ba = case.data

        def jac():
            cols, fu, fv = hw.ba_gather(ba)

            def res(cs):
                eu, ev = ba_residuals(F, *cs, fu, fv)
                return F_stack(eu, ev)

            vjp, _ = make_vjp(res)(tuple(cols))
            one, zero = np.ones(ba.p), np.zeros(ba.p)
            ju = vjp(np.stack([one, zero]))
            jv = vjp(np.stack([zero, one]))
            wg = elementwise_grad(lambda w: 1.0 - w * w)(ba.w)
            return hw.assemble_csr(ba, ju, jv, wg)

        import autograd.numpy as anp
        F_stack = lambda u, v: anp.stack([u, v])  # noqa: E731
        return Built(jac, lambda: _ba_primal_np(F, ba), to_numpy=_csr_vals)
    raise ValueError(case.kernel)


def _csr_vals(r):
    return (np.asarray(r[2]),)


def _gmm_args(case):
    g = case.data
    sel, sca = gmm_selectors(g.x.shape[1])
    return list(g.args) + [sel, sca]


def _ba_primal_np(F, ba):
    from . import handwritten as hw
    cols, fu, fv = hw.ba_gather(ba)
    eu, ev = ba_residuals(F, *cols, fu, fv)
    return eu, ev, 1.0 - ba.w * ba.w


# ---------------------------------------------------------------------- torch

def build_torch_tape(case):
    F, torch, _ = load("torch")
    T = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    if case.kind == "elementwise":
        fk = ELEMENTWISE[case.kernel]
        args = [T(a) if isinstance(a, np.ndarray) else a for a in case.args]
        leaves = []
        for i in case.wrt:
            args[i] = args[i].clone().requires_grad_(True)
            leaves.append(args[i])

        def g():
            out = fk(F, *args)
            return torch.autograd.grad(out.sum(), leaves)

        def p():
            with torch.no_grad():
                return fk(F, *args)

        return Built(g, p, to_numpy=_torch_np, n=case.n)
    if case.kernel == "rosenbrock":
        x = T(case.args[0]).clone().requires_grad_(True)

        def p():
            with torch.no_grad():
                return rosenbrock(F, x)

        return Built(lambda: torch.autograd.grad(rosenbrock(F, x), [x]), p, to_numpy=_torch_np)
    if case.kernel == "gmm":
        a = [T(v) if isinstance(v, np.ndarray) else v for v in _gmm_args(case)]
        for i in range(3):
            a[i] = a[i].clone().requires_grad_(True)

        def p():
            with torch.no_grad():
                return gmm_objective(F, *a)

        return Built(lambda: torch.autograd.grad(gmm_objective(F, *a), a[:3]), p,
                     to_numpy=_torch_np)
    if case.kernel == "ba":
        from . import handwritten as hw
        ba = case.data

        def jac():
            cols, fu, fv = hw.ba_gather(ba)
            cs = [T(c).requires_grad_(True) for c in cols]
            eu, ev = ba_residuals(F, *cs, T(fu), T(fv))
            # u0 does not reach ev nor v0 eu: their derivatives are zero
            ju = torch.autograd.grad(eu.sum(), cs, retain_graph=True, allow_unused=True,
                                     materialize_grads=True)
            jv = torch.autograd.grad(ev.sum(), cs, allow_unused=True, materialize_grads=True)
            wt = cs[14]
            wg = torch.autograd.grad((1.0 - wt * wt).sum(), [wt])[0]
            return hw.assemble_csr(ba, tuple(t.numpy() for t in ju),
                                   tuple(t.numpy() for t in jv), wg.numpy())

        def p():
            with torch.no_grad():
                cols, fu, fv = hw.ba_gather(ba)
                return ba_residuals(F, *[T(c) for c in cols], T(fu), T(fv))

        return Built(jac, p, to_numpy=_csr_vals)
    raise ValueError(case.kernel)


def _torch_np(r):
    return tuple(t.detach().numpy() for t in r)


def build_torch_func(case):
    F, torch, _ = load("torch")
    from torch.func import grad, jacrev, vmap
    T = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    if case.kind == "elementwise":
        if case.kernel == "while_threshold":
            raise Unavailable("cannot express: data-dependent while under vmap")
        fk = ELEMENTWISE[case.kernel]
        args = [T(a) if isinstance(a, np.ndarray) else a for a in case.args]
        dims = tuple(0 if isinstance(a, np.ndarray) else None for a in case.args)
        gv = vmap(grad(lambda *a: fk(F, *a), argnums=tuple(case.wrt)), in_dims=dims)
        pv = vmap(lambda *a: fk(F, *a), in_dims=dims)
        return Built(lambda: gv(*args), lambda: pv(*args), to_numpy=_torch_np, n=case.n)
    if case.kernel == "rosenbrock":
        x = T(case.args[0])
        g = grad(lambda x: rosenbrock(F, x))
        return Built(lambda: (g(x),), lambda: rosenbrock(F, x), to_numpy=_torch_np,
                     note="torch.func.grad (whole array, no vmap)")
    if case.kernel == "gmm":
        a = [T(v) if isinstance(v, np.ndarray) else v for v in _gmm_args(case)]
        g = grad(lambda a0, a1, a2: gmm_objective(F, a0, a1, a2, *a[3:]), argnums=(0, 1, 2))
        return Built(lambda: g(*a[:3]), lambda: gmm_objective(F, *a), to_numpy=_torch_np,
                     note="torch.func.grad (whole array, no vmap)")
    if case.kernel == "ba":
        from . import handwritten as hw
        ba = case.data

        def res(*a):
            eu, ev = ba_residuals(F, *a)
            return torch.stack([eu, ev])

        jv_ = vmap(jacrev(res, argnums=tuple(range(15))))
        wg_ = vmap(grad(lambda w: 1.0 - w * w))

        def jac():
            cols, fu, fv = hw.ba_gather(ba)
            J = jv_(*[T(c) for c in cols], T(fu), T(fv))     # 15 x (p, 2)
            wg = wg_(T(ba.w))
            return hw.assemble_csr(ba, tuple(J[t][:, 0].numpy() for t in range(15)),
                                   tuple(J[t][:, 1].numpy() for t in range(15)), wg.numpy())

        def p():
            with torch.no_grad():
                cols, fu, fv = hw.ba_gather(ba)
                return ba_residuals(F, *[T(c) for c in cols], T(fu), T(fv))

        return Built(jac, p, to_numpy=_csr_vals)
    raise ValueError(case.kernel)


# ------------------------------------------------------------------------ JAX

def build_jax(case):
    F, jax, _ = load("jax")
    import jax.numpy as jnp
    put = lambda a: jax.device_put(jnp.asarray(a))  # noqa: E731
    block = jax.block_until_ready
    if case.kind == "elementwise":
        if case.kernel == "while_threshold":
            raise Unavailable("cannot express: data-dependent while in reverse mode")
        fk = ELEMENTWISE[case.kernel]
        args = [put(a) if isinstance(a, np.ndarray) else a for a in case.args]
        # constants are closed over (static), arrays mapped
        consts = {i: a for i, a in enumerate(case.args) if not isinstance(a, np.ndarray)}
        arr_idx = [i for i, a in enumerate(case.args) if isinstance(a, np.ndarray)]

        def scalar_f(*xs):
            a = [None] * len(case.args)
            for i, v in consts.items():
                a[i] = v
            for i, v in zip(arr_idx, xs):
                a[i] = v
            return fk(F, *a)

        wrt = tuple(arr_idx.index(i) for i in case.wrt)
        xs = [args[i] for i in arr_idx]
        gf = jax.jit(jax.vmap(jax.grad(scalar_f, argnums=wrt)))
        pf = jax.jit(scalar_f)          # broadcasting: the batched primal
        return Built(lambda: block(gf(*xs)), lambda: block(pf(*xs)), n=case.n)
    if case.kernel == "rosenbrock":
        x = put(case.args[0])
        g = jax.jit(jax.grad(lambda x: rosenbrock(F, x)))
        p = jax.jit(lambda x: rosenbrock(F, x))
        return Built(lambda: (block(g(x)),), lambda: block(p(x)))
    if case.kernel == "gmm":
        a = _gmm_args(case)
        arrs = [put(v) for v in a[:4]] + [put(a[7]), put(a[8])]
        gamma, m, lg = a[4], a[5], a[6]
        obj = lambda al, mu, icf, x, sel, sca: gmm_objective(  # noqa: E731
            F, al, mu, icf, x, gamma, m, lg, sel, sca)
        g = jax.jit(jax.grad(obj, argnums=(0, 1, 2)))
        p = jax.jit(obj)
        return Built(lambda: block(g(*arrs)), lambda: block(p(*arrs)))
    if case.kernel == "ba":
        from . import handwritten as hw
        ba = case.data

        def res(*a):
            eu, ev = ba_residuals(F, *a)
            return jnp.stack([eu, ev])

        jf = jax.jit(jax.vmap(jax.jacrev(res, argnums=tuple(range(15)))))
        wf = jax.jit(jax.vmap(jax.grad(lambda w: 1.0 - w * w)))
        pf = jax.jit(lambda *a: ba_residuals(F, *a))

        def jac():
            cols, fu, fv = hw.ba_gather(ba)
            J = jf(*cols, fu, fv)
            wg = np.asarray(wf(ba.w))
            J = [np.asarray(t) for t in J]
            return hw.assemble_csr(ba, tuple(t[:, 0] for t in J), tuple(t[:, 1] for t in J), wg)

        def p():
            cols, fu, fv = hw.ba_gather(ba)
            return block(pf(*cols, fu, fv))

        return Built(jac, p, to_numpy=_csr_vals)
    raise ValueError(case.kernel)


BUILDERS = {
    "autograd": ("autograd", build_autograd),
    "PyTorch tape": ("torch", build_torch_tape),
    "PyTorch vmap(grad)": ("torch", build_torch_func),
    "JAX jit(vmap(grad))": ("jax", build_jax),
}
