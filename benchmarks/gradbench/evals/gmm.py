"""GradBench ``gmm``: the log posterior of a Gaussian mixture with a Wishart prior on the
precision matrices (GradBench's corrected ADBench objective), and its gradient w.r.t.
``alpha`` (k), ``mu`` (k, d), ``q`` (k, d: logs of the diagonal of Q_k) and ``l`` (k, d(d-1)/2:
the strictly lower part of Q_k, column by column)."""
import math

import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


def logsumexp(v):
    a = np.max(v)
    return a + np.log(np.sum(np.exp(v - a)))


def log_gamma_distrib(a, p):
    """log of the multivariate gamma function Gamma_p(a)."""
    out = 0.25 * p * (p - 1) * math.log(math.pi)
    for j in range(1, p + 1):
        out += math.lgamma(a + 0.5 * (1 - j))
    return out


def gmm_objective(alpha, mu, q, l, x, gamma, m):
    n, d = x.shape
    k = alpha.shape[0]
    beta = np.empty((n, k))
    for ik in range(k):
        Q = np.diag(np.exp(q[ik]))
        idx = 0
        for i in range(d):
            for j in range(i + 1, d):
                Q[j, i] = l[ik, idx]
                idx += 1
        z = (x - mu[ik]) @ Q.T
        beta[:, ik] = alpha[ik] + np.sum(q[ik]) - 0.5 * np.sum(z * z, axis=1)
    slse = 0.0
    for i in range(n):
        slse += logsumexp(beta[i])
    dof = d + m + 1
    log_prior = (k * (dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_distrib(0.5 * dof, d))
                 - 0.5 * gamma * gamma * (np.sum(np.exp(2.0 * q)) + np.sum(l * l)) + m * np.sum(q))
    return -n * d * 0.5 * math.log(2.0 * math.pi) + slse - n * logsumexp(alpha) + log_prior


def gmm_objective_loops(alpha, mu, q, l, x, gamma, m, log_gamma_const):
    """Adapted: element loops with scratch arrays (no slices, rows as arrays, ``np.max`` or
    tuple unpacking of ``x.shape``), and ``log_gamma_distrib(0.5 * (d + m + 1), d)`` passed in
    (``math.lgamma`` has no rule, although no derivative flows through it)."""
    n = x.shape[0]
    d = x.shape[1]
    k = alpha.shape[0]
    xc = np.zeros(d)
    qxc = np.zeros(d)
    beta = np.zeros(k)
    slse = 0.0
    for i in range(n):
        for ik in range(k):
            for j in range(d):
                xc[j] = x[i, j] - mu[ik, j]
            for j in range(d):
                qxc[j] = math.exp(q[ik, j]) * xc[j]
            idx = 0
            for c in range(d):
                for r in range(c + 1, d):
                    qxc[r] += l[ik, idx] * xc[c]
                    idx += 1
            sq = 0.0
            sum_q = 0.0
            for j in range(d):
                sq += qxc[j] * qxc[j]
                sum_q += q[ik, j]
            beta[ik] = alpha[ik] + sum_q - 0.5 * sq
        mx = beta[0]
        for ik in range(1, k):
            mx = max(mx, beta[ik])
        se = 0.0
        for ik in range(k):
            se += math.exp(beta[ik] - mx)
        slse += mx + math.log(se)
    amx = alpha[0]
    for ik in range(1, k):
        amx = max(amx, alpha[ik])
    ase = 0.0
    for ik in range(k):
        ase += math.exp(alpha[ik] - amx)
    lse_alpha = amx + math.log(ase)
    frob = 0.0
    sum_all_q = 0.0
    for ik in range(k):
        for j in range(d):
            frob += math.exp(2.0 * q[ik, j])
            sum_all_q += q[ik, j]
        for j in range(l.shape[1]):
            frob += l[ik, j] * l[ik, j]
    dof = d + m + 1
    log_prior = (k * (dof * d * (math.log(gamma) - 0.5 * math.log(2.0)) - log_gamma_const)
                 - 0.5 * gamma * gamma * frob + m * sum_all_q)
    return -n * d * 0.5 * math.log(2.0 * math.pi) + slse - n * lse_alpha + log_prior


def _prepare(input):
    return (np.asarray(input["alpha"], dtype=np.float64), _matrix(input["mu"]), _matrix(input["q"]),
            _matrix(input["l"]), _matrix(input["x"]), float(input["gamma"]), int(input["m"]))


def _matrix(rows):
    return np.ascontiguousarray(rows, dtype=np.float64)


def _prepare_loops(input):
    d, m = int(input["d"]), int(input["m"])
    return _prepare(input) + (log_gamma_distrib(0.5 * (d + m + 1), d),)


def _post_gradient(g):
    alpha, mu, q, l = g
    return {"alpha": alpha.tolist(), "mu": mu.tolist(), "q": q.tolist(), "l": l.tolist()}


def _builder(f, prepare):
    def build():
        return {"objective": Function(jit(f), prepare, float),
                "jacobian": Function(srcgrad.grad(f, argnums=(0, 1, 2, 3)), prepare, _post_gradient)}
    return build


FORMS = (
    Form("natural", _builder(gmm_objective, _prepare)),
    Form("adapted", _builder(gmm_objective_loops, _prepare_loops),
         ("rows, slice writes and `np.max`/`np.diag`/`@` written as element loops over scratch arrays; "
          "`n, d = x.shape` as two reads; the log multivariate gamma constant (`math.lgamma`) "
          "computed outside and passed in",)),
)
EXAMPLE = {"d": 3, "k": 2, "n": 4, "m": 0, "gamma": 1.0,
           "x": [[0.1, -0.3, 0.8], [1.2, 0.4, -0.5], [-0.7, 0.9, 0.2], [0.3, 0.3, 0.3]],
           "alpha": [0.2, -0.4], "mu": [[0.1, 0.5, 0.2], [0.9, 0.3, 0.4]],
           "q": [[0.1, -0.2, 0.3], [0.05, 0.15, -0.1]], "l": [[0.3, -0.1, 0.2], [0.1, 0.4, -0.3]]}
