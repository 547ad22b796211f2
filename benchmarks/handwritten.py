"""Hand-written fused Numba derivatives: the practical limit for every kernel.

Each per-element kernel has a scalar ``@njit`` function that computes the
derivative by hand (forward tangents where that is cheapest, closed forms where
they exist) and an elementwise driver. Every driver is compiled twice from the
same Python function: serial (``range``) and parallel (``prange`` over Numba's
threads), so the 1-thread numbers carry no threading overhead.
``fastmath`` is off and ``error_model='numpy'`` everywhere, as in srcgrad.

``numba.njit(kernels.f)`` of the same source is the primal floor
(``PRIMAL``).
"""
import math
import types

import numba
import numpy as np
from numba import prange

from . import kernels

_OPTS = dict(fastmath=False, error_model="numpy", cache=True)


def _compile(fn):
    """(serial, parallel) dispatchers of one driver.

    The parallel one is compiled from a renamed copy: Numba's on-disk cache is
    keyed by qualified name and signature, not by compile options.
    """
    twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel",
                              fn.__defaults__, fn.__closure__)
    twin.__qualname__ = fn.__qualname__ + "_parallel"
    return numba.njit(**_OPTS)(fn), numba.njit(parallel=True, **_OPTS)(twin)


def _scalar(fn):
    return numba.njit(inline="always", **_OPTS)(fn)


# ------------------------------------------------------------ scalar kernels

@_scalar
def seed_d(a, b):
    return b + 1.0, a + 2.0 * b + 1.0


@_scalar
def sigmoid_neuron_d(w0, w1, b, x0, x1):
    s = 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + b)))
    ds = s * (1.0 - s)
    return ds * x0, ds * x1, ds


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


@_scalar
def black_scholes_d(S, K, T, r, sigma):
    """Closed-form greeks: dC/dS, dC/dT, dC/dr, dC/dsigma."""
    sqrt_t = math.sqrt(T)
    sst = sigma * sqrt_t
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / sst
    d2 = d1 - sst
    n1 = 0.5 * (1.0 + math.erf(d1 * _INV_SQRT_2))
    n2 = 0.5 * (1.0 + math.erf(d2 * _INV_SQRT_2))
    pdf1 = _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    kd = K * math.exp(-r * T)
    return (n1,
            S * pdf1 * sigma / (2.0 * sqrt_t) + r * kd * n2,
            T * kd * n2,
            S * pdf1 * sqrt_t)


@_scalar
def huber_d(x, delta):
    if x > delta:
        return delta
    elif x < -delta:
        return -delta
    return x


@_scalar
def logistic_euler_d(y0, r, k):
    """Forward mode with three tangents (y0, r, k); nothing stored."""
    h = kernels.LOGISTIC_H
    y = y0
    ty, tr, tk = 1.0, 0.0, 0.0
    for _ in range(kernels.LOGISTIC_STEPS):
        yk = y / k
        a = 1.0 + h * r * (1.0 - 2.0 * yk)
        ty = a * ty
        tr = a * tr + h * y * (1.0 - yk)
        tk = a * tk + h * r * yk * yk
        y = y + h * r * y * (1.0 - yk)
    return ty, tr, tk


@_scalar
def while_threshold_d(a, b, thresh):
    y = 1.0
    ta, tb = 0.0, 0.0
    while y <= thresh:
        ta = y + a * ta
        tb = a * tb + 1.0
        y = y * a + b
    return ta, tb


# ------------------------------------------------- per-element array drivers
# Arguments follow kernels.<name>; the ones that are not differentiated and
# are constants (K, delta, thresh) are float scalars.

def _seed(a, b, o0, o1):
    for i in prange(a.shape[0]):
        o0[i], o1[i] = seed_d(a[i], b[i])


def _sigmoid(w0, w1, b, x0, x1, o0, o1, o2):
    for i in prange(w0.shape[0]):
        o0[i], o1[i], o2[i] = sigmoid_neuron_d(w0[i], w1[i], b[i], x0[i], x1[i])


def _bs(S, K, T, r, sigma, o0, o1, o2, o3):
    for i in prange(S.shape[0]):
        o0[i], o1[i], o2[i], o3[i] = black_scholes_d(S[i], K, T[i], r[i], sigma[i])


def _huber(x, delta, o0):
    for i in prange(x.shape[0]):
        o0[i] = huber_d(x[i], delta)


def _logistic(y0, r, k, o0, o1, o2):
    for i in prange(y0.shape[0]):
        o0[i], o1[i], o2[i] = logistic_euler_d(y0[i], r[i], k[i])


def _while(a, b, thresh, o0, o1):
    for i in prange(a.shape[0]):
        o0[i], o1[i] = while_threshold_d(a[i], b[i], thresh)


BLOCK = 256


def _logistic_lockstep(y0, r, k, o0, o1, o2):
    """BLOCK elements advance together: independent chains overlap, LLVM vectorizes."""
    n = y0.shape[0]
    h = kernels.LOGISTIC_H
    nblocks = (n + BLOCK - 1) // BLOCK
    for blk in prange(nblocks):
        lo = blk * BLOCK
        m = min(BLOCK, n - lo)
        y = np.empty(BLOCK)
        ty = np.empty(BLOCK)
        tr = np.empty(BLOCK)
        tk = np.empty(BLOCK)
        rr = np.empty(BLOCK)
        for j in range(m):
            y[j] = y0[lo + j]
            rr[j] = r[lo + j]
            ty[j] = 1.0
            tr[j] = 0.0
            tk[j] = 0.0
        for _ in range(kernels.LOGISTIC_STEPS):
            for j in range(m):
                yk = y[j] / k[lo + j]   # divides, as the function does (y * ik would round the primal differently)
                a = 1.0 + h * rr[j] * (1.0 - 2.0 * yk)
                ty[j] = a * ty[j]
                tr[j] = a * tr[j] + h * y[j] * (1.0 - yk)
                tk[j] = a * tk[j] + h * rr[j] * yk * yk
                y[j] = y[j] + h * rr[j] * y[j] * (1.0 - yk)
        for j in range(m):
            o0[lo + j] = ty[j]
            o1[lo + j] = tr[j]
            o2[lo + j] = tk[j]


_DRIVERS = {
    "seed": (_compile(_seed), 2, 2),
    "sigmoid_neuron": (_compile(_sigmoid), 5, 3),
    "black_scholes": (_compile(_bs), 5, 4),
    "huber": (_compile(_huber), 2, 1),
    "logistic_euler": (_compile(_logistic), 3, 3),
    "logistic_euler_lockstep": (_compile(_logistic_lockstep), 3, 3),
    "while_threshold": (_compile(_while), 3, 2),
}


def elementwise_grad(name, parallel=False):
    """``f(*args) -> tuple of gradient arrays`` for a per-element kernel."""
    (serial, par), _, nout = _DRIVERS[name]
    driver = par if parallel else serial

    def run(*args):
        n = max(a.shape[0] for a in args if isinstance(a, np.ndarray))
        outs = tuple(np.empty(n) for _ in range(nout))
        driver(*args, *outs)
        return outs

    return run


# ------------------------------------------------------------ Numba primal

_jit_scalar = {name: numba.njit(**_OPTS)(getattr(kernels, name)) for name in (
    "seed", "sigmoid_neuron", "black_scholes", "huber", "logistic_euler", "while_threshold")}
_seed_p, _sig_p, _bs_p = _jit_scalar["seed"], _jit_scalar["sigmoid_neuron"], _jit_scalar["black_scholes"]
_hub_p, _log_p, _whl_p = _jit_scalar["huber"], _jit_scalar["logistic_euler"], _jit_scalar["while_threshold"]


def _p_seed(a, b, o):
    for i in prange(a.shape[0]):
        o[i] = _seed_p(a[i], b[i])


def _p_sigmoid(w0, w1, b, x0, x1, o):
    for i in prange(w0.shape[0]):
        o[i] = _sig_p(w0[i], w1[i], b[i], x0[i], x1[i])


def _p_bs(S, K, T, r, sigma, o):
    for i in prange(S.shape[0]):
        o[i] = _bs_p(S[i], K, T[i], r[i], sigma[i])


def _p_huber(x, delta, o):
    for i in prange(x.shape[0]):
        o[i] = _hub_p(x[i], delta)


def _p_logistic(y0, r, k, o):
    for i in prange(y0.shape[0]):
        o[i] = _log_p(y0[i], r[i], k[i])


def _p_while(a, b, thresh, o):
    for i in prange(a.shape[0]):
        o[i] = _whl_p(a[i], b[i], thresh)


_PRIMALS = {
    "seed": _compile(_p_seed),
    "sigmoid_neuron": _compile(_p_sigmoid),
    "black_scholes": _compile(_p_bs),
    "huber": _compile(_p_huber),
    "logistic_euler": _compile(_p_logistic),
    "while_threshold": _compile(_p_while),
}


def elementwise_primal(name, parallel=False):
    serial, par = _PRIMALS[name]
    driver = par if parallel else serial

    def run(*args):
        n = max(a.shape[0] for a in args if isinstance(a, np.ndarray))
        out = np.empty(n)
        driver(*args, out)
        return out

    return run


# ---------------------------------------------------------------- Rosenbrock

def _rosen_grad(x, g):
    n = x.shape[0]
    for i in prange(n):
        gi = 0.0
        if i > 0:
            gi += 200.0 * (x[i] - x[i - 1] * x[i - 1])
        if i < n - 1:
            gi += -400.0 * x[i] * (x[i + 1] - x[i] * x[i]) - 2.0 * (1.0 - x[i])
        g[i] = gi


_ROSEN = _compile(_rosen_grad)
rosenbrock_primal = numba.njit(**_OPTS)(kernels.rosenbrock)


def rosenbrock_grad(x, parallel=False):
    g = np.empty_like(x)
    _ROSEN[1 if parallel else 0](x, g)
    return g


# ----------------------------------------------------------------------- GMM

def _gmm_grad(alphas, means, icf, x, gamma, wm, nchunks, ga, gm, gi):
    """Partial gradients per chunk of points into ga/gm/gi[chunk]; returns nothing."""
    N, D = x.shape
    K = alphas.shape[0]
    qd = np.empty((K, D))
    for k in range(K):
        for d in range(D):
            qd[k, d] = math.exp(icf[k, d])
    sumq = np.zeros(K)
    for k in range(K):
        for d in range(D):
            sumq[k] += icf[k, d]
    per = (N + nchunks - 1) // nchunks
    for c in prange(nchunks):
        lo = c * per
        hi = min(N, lo + per)
        xc = np.empty((K, D))
        z = np.empty((K, D))
        main = np.empty(K)
        for i in range(lo, hi):
            mx = -np.inf
            for k in range(K):
                for d in range(D):
                    xc[k, d] = x[i, d] - means[k, d]
                    z[k, d] = qd[k, d] * xc[k, d]
                idx = D
                for cc in range(D):
                    for j in range(cc + 1, D):
                        z[k, j] += icf[k, idx] * xc[k, cc]
                        idx += 1
                sq = 0.0
                for d in range(D):
                    sq += z[k, d] * z[k, d]
                main[k] = alphas[k] + sumq[k] - 0.5 * sq
                if main[k] > mx:
                    mx = main[k]
            se = 0.0
            for k in range(K):
                main[k] = math.exp(main[k] - mx)
                se += main[k]
            for k in range(K):
                pk = main[k] / se
                ga[c, k] += pk
                for d in range(D):
                    gi[c, k, d] += pk * (1.0 - z[k, d] * qd[k, d] * xc[k, d])
                    gm[c, k, d] += pk * qd[k, d] * z[k, d]
                idx = D
                for cc in range(D):
                    for j in range(cc + 1, D):
                        gi[c, k, idx] -= pk * z[k, j] * xc[k, cc]
                        gm[c, k, cc] += pk * icf[k, idx] * z[k, j]
                        idx += 1


_GMM = _compile(_gmm_grad)
gmm_primal = numba.njit(**_OPTS)(kernels.gmm_objective)


def gmm_grad(alphas, means, icf, x, gamma, wm, wishart_lgamma=0.0, parallel=False):
    """Gradient of kernels.gmm_objective w.r.t. (alphas, means, icf)."""
    K, D = means.shape
    N = x.shape[0]
    nchunks = numba.get_num_threads() if parallel else 1
    nchunks = max(1, min(nchunks, N))
    ga = np.zeros((nchunks, K))
    gm = np.zeros((nchunks, K, D))
    gi = np.zeros((nchunks,) + icf.shape)
    _GMM[1 if parallel else 0](alphas, means, icf, x, gamma, wm, nchunks, ga, gm, gi)
    ga, gm, gi = ga.sum(0), gm.sum(0), gi.sum(0)
    amx = alphas.max()
    ea = np.exp(alphas - amx)
    ga -= N * ea / ea.sum()
    gi[:, :D] += gamma * gamma * np.exp(2.0 * icf[:, :D]) - wm
    gi[:, D:] += gamma * gamma * icf[:, D:]
    return ga, gm, gi


# ------------------------------------------------------------------------ BA

@_scalar
def _ba_block(cam, X, w, fu, fv, J, Jr):
    """Fill J (2, 15) (Jr (3, 3) is scratch) with d(reprojection residual)/d(cam, X, w) for one observation."""
    y0 = X[0] - cam[3]
    y1 = X[1] - cam[4]
    y2 = X[2] - cam[5]
    r0, r1, r2 = cam[0], cam[1], cam[2]
    sqt = r0 * r0 + r1 * r1 + r2 * r2
    # z = R(r) y; Rm = dz/dy, Jr = dz/dr, each 3x3 as scalars m{row}{col}
    if sqt != 0.0:
        th = math.sqrt(sqt)
        ct = math.cos(th)
        st = math.sin(th)
        w0, w1, w2 = r0 / th, r1 / th, r2 / th
        dot = w0 * y0 + w1 * y1 + w2 * y2
        tmp = (1.0 - ct) * dot
        cx0, cx1, cx2 = w1 * y2 - w2 * y1, w2 * y0 - w0 * y2, w0 * y1 - w1 * y0
        z0 = y0 * ct + cx0 * st + w0 * tmp
        z1 = y1 * ct + cx1 * st + w1 * tmp
        z2 = y2 * ct + cx2 * st + w2 * tmp
        omc = 1.0 - ct
        R00 = ct + omc * w0 * w0
        R01 = -st * w2 + omc * w0 * w1
        R02 = st * w1 + omc * w0 * w2
        R10 = st * w2 + omc * w1 * w0
        R11 = ct + omc * w1 * w1
        R12 = -st * w0 + omc * w1 * w2
        R20 = -st * w1 + omc * w2 * w0
        R21 = st * w0 + omc * w2 * w1
        R22 = ct + omc * w2 * w2
        for a in range(3):
            wa = w0 if a == 0 else (w1 if a == 1 else w2)
            dth = wa
            dw0 = ((1.0 if a == 0 else 0.0) - w0 * wa) / th
            dw1 = ((1.0 if a == 1 else 0.0) - w1 * wa) / th
            dw2 = ((1.0 if a == 2 else 0.0) - w2 * wa) / th
            ddot = dw0 * y0 + dw1 * y1 + dw2 * y2
            dtmp = ddot * omc + dot * st * dth
            Jr[0, a] = -y0 * st * dth + (dw1 * y2 - dw2 * y1) * st + cx0 * ct * dth + dw0 * tmp + w0 * dtmp
            Jr[1, a] = -y1 * st * dth + (dw2 * y0 - dw0 * y2) * st + cx1 * ct * dth + dw1 * tmp + w1 * dtmp
            Jr[2, a] = -y2 * st * dth + (dw0 * y1 - dw1 * y0) * st + cx2 * ct * dth + dw2 * tmp + w2 * dtmp
    else:
        z0 = y0 + (r1 * y2 - r2 * y1)
        z1 = y1 + (r2 * y0 - r0 * y2)
        z2 = y2 + (r0 * y1 - r1 * y0)
        R00, R01, R02 = 1.0, -r2, r1
        R10, R11, R12 = r2, 1.0, -r0
        R20, R21, R22 = -r1, r0, 1.0
        # d(r x y)/dr = -[y]_x
        Jr[0, 0], Jr[0, 1], Jr[0, 2] = 0.0, y2, -y1
        Jr[1, 0], Jr[1, 1], Jr[1, 2] = -y2, 0.0, y0
        Jr[2, 0], Jr[2, 1], Jr[2, 2] = y1, -y0, 0.0
    f, k1, k2 = cam[6], cam[9], cam[10]
    iz = 1.0 / z2
    p0 = z0 * iz
    p1 = z1 * iz
    rsq = p0 * p0 + p1 * p1
    L = 1.0 + k1 * rsq + k2 * rsq * rsq
    dL = 2.0 * (k1 + 2.0 * k2 * rsq)
    for e in range(2):
        pe = p0 if e == 0 else p1
        # d(p_e L)/dp_b = L [e==b] + p_e dL p_b, then dp/dz
        a0 = (L if e == 0 else 0.0) + pe * dL * p0
        a1 = (L if e == 1 else 0.0) + pe * dL * p1
        s = w * f
        G0 = s * a0 * iz
        G1 = s * a1 * iz
        G2 = -s * (a0 * p0 + a1 * p1) * iz
        for a in range(3):
            J[e, a] = G0 * Jr[0, a] + G1 * Jr[1, a] + G2 * Jr[2, a]
        gx0 = G0 * R00 + G1 * R10 + G2 * R20
        gx1 = G0 * R01 + G1 * R11 + G2 * R21
        gx2 = G0 * R02 + G1 * R12 + G2 * R22
        J[e, 3], J[e, 4], J[e, 5] = -gx0, -gx1, -gx2
        J[e, 11], J[e, 12], J[e, 13] = gx0, gx1, gx2
        J[e, 6] = w * pe * L
        J[e, 7] = w if e == 0 else 0.0
        J[e, 8] = w if e == 1 else 0.0
        J[e, 9] = w * f * pe * rsq
        J[e, 10] = w * f * pe * rsq * rsq
        proj = pe * L * f + (cam[7] if e == 0 else cam[8])
        J[e, 14] = proj - (fu if e == 0 else fv)


def _ba_jacobian(cams, X, w, feats, obs, n, m, nchunks, rows, cols, vals):
    """ADBench's CSR: reprojection rows 2i, 2i+1 (15 nnz), then weight rows (1 nnz)."""
    p = obs.shape[0]
    per = (p + nchunks - 1) // nchunks
    for c in prange(nchunks):
        J = np.empty((2, 15))
        Jr = np.empty((3, 3))
        for i in range(c * per, min(p, (c + 1) * per)):
            ci = obs[i, 0]
            pi = obs[i, 1]
            _ba_block(cams[ci], X[pi], w[i], feats[i, 0], feats[i, 1], J, Jr)
            for e in range(2):
                row = 2 * i + e
                rows[row] = 15 * row
                base = 15 * row
                for t in range(11):
                    cols[base + t] = 11 * ci + t
                    vals[base + t] = J[e, t]
                for t in range(3):
                    cols[base + 11 + t] = 11 * n + 3 * pi + t
                    vals[base + 11 + t] = J[e, 11 + t]
                cols[base + 14] = 11 * n + 3 * m + i
                vals[base + 14] = J[e, 14]
            rows[2 * p + i] = 30 * p + i
            cols[30 * p + i] = 11 * n + 3 * m + i
            vals[30 * p + i] = -2.0 * w[i]
    rows[3 * p] = 31 * p


_BAJ = _compile(_ba_jacobian)


def ba_jacobian(ba, parallel=False):
    """(rows, cols, vals): the CSR Jacobian of all BA residuals."""
    p = ba.p
    rows = np.empty(3 * p + 1, np.int64)
    cols = np.empty(31 * p, np.int64)
    vals = np.empty(31 * p)
    nchunks = max(1, min(numba.get_num_threads() if parallel else 1, p))
    _BAJ[1 if parallel else 0](ba.cams, ba.X, ba.w, ba.feats, ba.obs, ba.n, ba.m, nchunks,
                              rows, cols, vals)
    return rows, cols, vals


def _ba_residuals(cams, X, w, feats, obs, reproj, werr):
    for i in prange(obs.shape[0]):
        cam = cams[obs[i, 0]]
        pt = X[obs[i, 1]]
        y0 = pt[0] - cam[3]
        y1 = pt[1] - cam[4]
        y2 = pt[2] - cam[5]
        r0, r1, r2 = cam[0], cam[1], cam[2]
        sqt = r0 * r0 + r1 * r1 + r2 * r2
        if sqt != 0.0:
            th = math.sqrt(sqt)
            ct = math.cos(th)
            st = math.sin(th)
            w0, w1, w2 = r0 / th, r1 / th, r2 / th
            tmp = (1.0 - ct) * (w0 * y0 + w1 * y1 + w2 * y2)
            z0 = y0 * ct + (w1 * y2 - w2 * y1) * st + w0 * tmp
            z1 = y1 * ct + (w2 * y0 - w0 * y2) * st + w1 * tmp
            z2 = y2 * ct + (w0 * y1 - w1 * y0) * st + w2 * tmp
        else:
            z0 = y0 + (r1 * y2 - r2 * y1)
            z1 = y1 + (r2 * y0 - r0 * y2)
            z2 = y2 + (r0 * y1 - r1 * y0)
        p0 = z0 / z2
        p1 = z1 / z2
        rsq = p0 * p0 + p1 * p1
        L = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
        reproj[i, 0] = w[i] * (p0 * L * cam[6] + cam[7] - feats[i, 0])
        reproj[i, 1] = w[i] * (p1 * L * cam[6] + cam[8] - feats[i, 1])
        werr[i] = 1.0 - w[i] * w[i]


_BAR = _compile(_ba_residuals)


def ba_residuals(ba, parallel=False):
    """The BA objective in fused Numba: (reproj_err (p, 2), w_err (p,))."""
    reproj = np.empty((ba.p, 2))
    werr = np.empty(ba.p)
    _BAR[1 if parallel else 0](ba.cams, ba.X, ba.w, ba.feats, ba.obs, reproj, werr)
    return reproj, werr


def _assemble(obs, n, m, ju, jv, wgrad, rows, cols, vals):
    p = obs.shape[0]
    for i in prange(p):
        ci = obs[i, 0]
        pi = obs[i, 1]
        for e in range(2):
            row = 2 * i + e
            base = 15 * row
            rows[row] = base
            jj = ju if e == 0 else jv
            for t in range(11):
                cols[base + t] = 11 * ci + t
                vals[base + t] = jj[t][i]
            for t in range(3):
                cols[base + 11 + t] = 11 * n + 3 * pi + t
                vals[base + 11 + t] = jj[11 + t][i]
            cols[base + 14] = 11 * n + 3 * m + i
            vals[base + 14] = jj[14][i]
        rows[2 * p + i] = 30 * p + i
        cols[30 * p + i] = 11 * n + 3 * m + i
        vals[30 * p + i] = wgrad[i]
    rows[3 * p] = 31 * p


_ASM = _compile(_assemble)


def assemble_csr(ba, ju, jv, wgrad, parallel=False):
    """CSR from per-observation block rows: ``ju``/``jv`` are 15 arrays of length p
    (tuples or a (15, p) array), ``wgrad`` the weight-residual derivatives."""
    p = ba.p
    rows = np.empty(3 * p + 1, np.int64)
    cols = np.empty(31 * p, np.int64)
    vals = np.empty(31 * p)
    if not isinstance(ju, tuple):
        ju = tuple(ju[t] for t in range(15))
        jv = tuple(jv[t] for t in range(15))
    _ASM[1 if parallel else 0](ba.obs, ba.n, ba.m, ju, jv, wgrad, rows, cols, vals)
    return rows, cols, vals


def ba_gather(ba):
    """The 15 block parameters and features of every observation, as 17 arrays of length p
    (positional arguments of kernels.ba_reproj_u minus the feature, then fu, fv)."""
    C = ba.cams[ba.obs[:, 0]]
    P = ba.X[ba.obs[:, 1]]
    cols = [np.ascontiguousarray(C[:, t]) for t in range(11)]
    cols += [np.ascontiguousarray(P[:, t]) for t in range(3)]
    cols.append(ba.w)
    return cols, np.ascontiguousarray(ba.feats[:, 0]), np.ascontiguousarray(ba.feats[:, 1])
