"""The benchmark kernels, as plain Python that srcgrad can differentiate.

Every function here is the *primal* only: scalar ``math`` code for the
per-element kernels, explicit loops over float arrays for the whole-array ones.
The same source is

- differentiated by srcgrad (``srcgrad.grad`` / ``vectorize``),
- compiled by Numba as the primal floor (``numba.njit(kernels.f)``),
- traced by the pure-Python tape (``benchmarks.tape.retarget``, which swaps
  ``math`` and ``np`` for taped versions),
- and evaluated in plain Python for central differences.

Restrictions that keep it inside srcgrad's documented subset: no helper calls,
no ``abs``/``min``/``max`` builtins (branches instead), no slicing, arrays are
float64 and written element by element.
"""
import math

import numpy as np

# logistic_euler's step count and step size; written as literals inside the
# function (srcgrad differentiates the function alone), repeated here for the
# other implementations.
LOGISTIC_STEPS = 100
LOGISTIC_H = 0.05


# ---------------------------------------------------------------- per element

def seed(a, b):
    """The seeds' example graph."""
    return (a + b) * (b + 1.0)


def sigmoid_neuron(w0, w1, b, x0, x1):
    """One logistic neuron with two inputs; differentiated w.r.t. (w0, w1, b)."""
    return 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + b)))


def black_scholes(S, K, T, r, sigma):
    """European call price; differentiated w.r.t. (S, T, r, sigma), K fixed."""
    sqrt_t = math.sqrt(T)
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    return S * n1 - K * math.exp(-r * T) * n2


def huber(x, delta):
    """Huber loss of a residual; a branch per element."""
    if x > delta:
        return delta * (x - 0.5 * delta)
    elif x < -delta:
        return -delta * (x + 0.5 * delta)
    else:
        return 0.5 * x * x


def logistic_euler(y0, r, k):
    """Explicit Euler, LOGISTIC_STEPS steps of y' = r*y*(1 - y/k)."""
    y = y0
    for i in range(100):
        y = y + 0.05 * r * y * (1.0 - y / k)
    return y


def exp_decay(y0, r, k):
    """Explicit Euler, 50 steps of y' = -r*y + exp(-k*y): a lock-step loop whose step calls exp
    (benchmarks/simd_math.py; not in the main table)."""
    y = y0
    for i in range(50):
        y = y + 0.01 * (-r * y + math.exp(-k * y))
    return y


def while_threshold(a, b, thresh):
    """Repeat y = y*a + b from y = 1 until y > thresh: a data-dependent trip count."""
    y = 1.0
    while y <= thresh:
        y = y * a + b
    return y


# ------------------------------------------------------------------ whole array

def rosenbrock(x):
    """Extended Rosenbrock function of a vector."""
    s = 0.0
    for i in range(x.shape[0] - 1):
        t = x[i + 1] - x[i] * x[i]
        u = 1.0 - x[i]
        s += 100.0 * t * t + u * u
    return s


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m, wishart_lgamma):
    """ADBench's GMM objective: log-likelihood of x under the mixture, plus the Wishart prior.

    alphas (K,), means (K, D), icf (K, D*(D+1)/2), x (N, D). ``icf[k, :D]`` are
    the logs of the diagonal of the lower-triangular Q_k, ``icf[k, D:]`` its
    strictly-lower part, column-major (``Q[j, i]`` for i < j, i outer).
    ``wishart_lgamma`` is the multivariate log-gamma constant
    ``gmm_wishart_lgamma(D, wishart_m)``; it does not depend on the parameters
    and is passed in so that no lgamma derivative rule is needed.
    """
    N = x.shape[0]
    K = alphas.shape[0]
    D = x.shape[1]
    const = -N * D * 0.5 * math.log(2.0 * math.pi)
    sum_qs = np.zeros(K)
    qdiags = np.zeros((K, D))
    for k in range(K):
        for d in range(D):
            sum_qs[k] += icf[k, d]
            qdiags[k, d] = math.exp(icf[k, d])
    xc = np.zeros(D)
    qxc = np.zeros(D)
    main_term = np.zeros(K)
    slse = 0.0
    for i in range(N):
        for k in range(K):
            for d in range(D):
                xc[d] = x[i, d] - means[k, d]
            for d in range(D):
                qxc[d] = qdiags[k, d] * xc[d]
            idx = D
            for c in range(D):
                for j in range(c + 1, D):
                    qxc[j] += icf[k, idx] * xc[c]
                    idx += 1
            sq = 0.0
            for d in range(D):
                sq += qxc[d] * qxc[d]
            main_term[k] = alphas[k] + sum_qs[k] - 0.5 * sq
        mx = main_term[0]
        for k in range(1, K):
            if main_term[k] > mx:
                mx = main_term[k]
        se = 0.0
        for k in range(K):
            se += math.exp(main_term[k] - mx)
        slse += math.log(se) + mx
    amx = alphas[0]
    for k in range(1, K):
        if alphas[k] > amx:
            amx = alphas[k]
    ase = 0.0
    for k in range(K):
        ase += math.exp(alphas[k] - amx)
    lse_alphas = math.log(ase) + amx
    # Wishart prior
    n = D + wishart_m + 1.0
    c_prior = n * D * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - wishart_lgamma
    prior = 0.0
    for k in range(K):
        frob = 0.0
        for d in range(D):
            frob += qdiags[k, d] * qdiags[k, d]
        for j in range(D, icf.shape[1]):
            frob += icf[k, j] * icf[k, j]
        prior += 0.5 * wishart_gamma * wishart_gamma * frob - wishart_m * sum_qs[k]
    return const + slse - N * lse_alphas + prior - K * c_prior


def gmm_wishart_lgamma(D, wishart_m):
    """log of the multivariate gamma function Gamma_D(n/2), n = D + m + 1 (a constant)."""
    a = 0.5 * (D + wishart_m + 1.0)
    out = 0.25 * D * (D - 1) * math.log(math.pi)
    for j in range(1, D + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


# ------------------------------------------------------------------------- BA
# One observation: camera (r0 r1 r2 | C0 C1 C2 | f | u0 v0 | k1 k2), point
# (X0 X1 X2), weight w: these 15 are the block's parameters, in ADBench's column
# order. The feature (fu, fv) is data. ADBench's residual is
# w * (project(cam, X) - feat); these two functions are its u and v rows, so that
# grad(..., argnums=range(15)) of each gives one row of the 2x15 block.

def ba_reproj_u(r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, X0, X1, X2, w, fu):
    """Weighted u-residual of one BA observation."""
    y0 = X0 - c0
    y1 = X1 - c1
    y2 = X2 - c2
    sqtheta = r0 * r0 + r1 * r1 + r2 * r2
    if sqtheta != 0.0:
        theta = math.sqrt(sqtheta)
        ct = math.cos(theta)
        st = math.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
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
    L = 1.0 + k1 * rsq + k2 * rsq * rsq
    return w * (p0 * L * f + u0 - fu)


def ba_reproj_v(r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, X0, X1, X2, w, fv):
    """Weighted v-residual of one BA observation (same as ba_reproj_u but row 1)."""
    y0 = X0 - c0
    y1 = X1 - c1
    y2 = X2 - c2
    sqtheta = r0 * r0 + r1 * r1 + r2 * r2
    if sqtheta != 0.0:
        theta = math.sqrt(sqtheta)
        ct = math.cos(theta)
        st = math.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
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
    L = 1.0 + k1 * rsq + k2 * rsq * rsq
    return w * (p1 * L * f + v0 - fv)


def ba_weight_err(w):
    """ADBench's Zach weight residual 1 - w^2."""
    return 1.0 - w * w
