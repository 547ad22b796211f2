"""The NumPy that people write: a corpus of realistic functions, differentiated as written.

Each entry is a function written the way NumPy users write it (slices, methods, reductions with
`axis=`/`keepdims=`, helpers returning tuples, `n, m = A.shape`, `for xi in x`, `zip`,
`enumerate`, data in module-level globals and closures, output buffers passed in, ...), an
input factory (seeded NumPy generator; inputs away from kinks), the arguments differentiated,
and a one-line description.  Nothing here is tuned to what srcgrad supports today: the corpus
measures the language (issue 17).

Scalar-valued entries go through `value_and_grad` and `grad`; array- and tuple-valued entries
through `jacobian` and `vjp` (a random cotangent).  The oracle is central differences in float64
on the function itself, executed by NumPy (tests/npcheck.py).  SRCGRAD_LONG=1 adds forward mode
(`jvp`) for every entry and `vjp` for the scalar-valued ones.

    python -m tests.corpus_numpy            # the table: every entry, its outcome, cold compile time
"""
from __future__ import annotations

import os
import sys
import zlib
from dataclasses import dataclass

import numpy as np

LONG = os.environ.get("SRCGRAD_LONG", "") not in ("", "0")


@dataclass(frozen=True)
class Entry:
    name: str
    fn: object
    make_args: object        # numpy Generator -> tuple of arguments
    argnums: object          # int or tuple of ints, as for srcgrad.grad
    desc: str
    has_aux: bool = False    # returns (scalar loss, auxiliary data), as value_and_grad(has_aux=True)


ENTRIES: list[Entry] = []


def add(fn, make_args, desc, argnums=0, has_aux=False, name=None):
    ENTRIES.append(Entry(name or fn.__name__, fn, make_args, argnums, desc, has_aux))


# ====================================================================== data held outside
# The SciPy pattern: the objective reads data defined at module level.
_DATA = np.random.default_rng(20261201)
X_TRAIN = _DATA.normal(size=(8, 3))
Y_TRAIN = X_TRAIN @ np.array([0.5, -1.0, 2.0]) + 0.1 * _DATA.normal(size=8)
Y_SIGN = np.where(Y_TRAIN > 0, 1.0, -1.0)
COUNTS = np.array([0, 2, 1, 4, 0, 3, 1, 2])
LABELS = np.array([0, 2, 1, 1, 0, 2, 1, 0])
GMM_DATA = np.concatenate([_DATA.normal(-1.0, 0.4, 4), _DATA.normal(1.5, 0.6, 4)])
T_GRID = np.linspace(0.0, 2.0, 6)
Y_DECAY = 2.0 * np.exp(-0.7 * T_GRID) + 0.02 * _DATA.normal(size=6)
EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])
REST = np.array([1.0, 1.2, 0.9, 1.1, 1.5])
K_SPRING = 3.0
TRIANGLES = np.array([[0, 1, 2], [0, 2, 3], [1, 3, 2]])
TOKENS = np.array([3, 0, 3, 1])
STEPS = 4


# ====================================================================== statistics
def centered_sum_of_squares(x):
    d = x - np.mean(x)
    return np.sum(d * d)


add(centered_sum_of_squares, lambda r: (r.normal(size=6),), "sum of squared deviations from the mean")


def sample_variance(x):
    n = len(x)
    mean = x.sum() / n
    return ((x - mean) ** 2).sum() / (n - 1)


add(sample_variance, lambda r: (r.normal(size=7),), "unbiased variance with methods")


def zscore(x):
    return (x - x.mean()) / x.std()


add(zscore, lambda r: (r.normal(size=6),), "standard scores (array out)")


def pearson_r(x, y):
    xm = x - x.mean()
    ym = y - y.mean()
    return xm @ ym / np.sqrt((xm @ xm) * (ym @ ym))


add(pearson_r, lambda r: (r.normal(size=6), r.normal(size=6)), "Pearson correlation", argnums=(0, 1))


def weighted_stats(x, w):
    mean = np.average(x, weights=w)
    var = np.average((x - mean) ** 2, weights=w)
    return mean, var


add(weighted_stats, lambda r: (r.normal(size=5), r.uniform(0.5, 2.0, 5)),
    "weighted mean and variance (tuple out)", argnums=(0, 1))


def covariance(X):
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / (X.shape[0] - 1)


add(covariance, lambda r: (r.normal(size=(6, 3)),), "sample covariance matrix (array out)")


def standardize_columns(X):
    mu = X.mean(axis=0, keepdims=True)
    sd = X.std(axis=0, keepdims=True)
    return (X - mu) / sd


add(standardize_columns, lambda r: (r.normal(size=(5, 3)),), "column-wise standardisation with keepdims")


def gaussian_nll(mu, log_sigma):
    n = len(Y_TRAIN)
    sigma = np.exp(log_sigma)
    z = (Y_TRAIN - mu) / sigma
    return 0.5 * np.sum(z ** 2) + n * log_sigma + 0.5 * n * np.log(2 * np.pi)


add(gaussian_nll, lambda r: (float(r.normal()), float(r.uniform(-0.5, 0.5))),
    "Gaussian negative log-likelihood of global data, scalar parameters", argnums=(0, 1))


def huber_mean(r, delta):
    a = np.abs(r)
    quad = 0.5 * r ** 2
    lin = delta * (a - 0.5 * delta)
    return np.where(a <= delta, quad, lin).mean()


add(huber_mean, lambda r: (np.array([-2.1, -0.4, 0.3, 0.8, 1.7, -1.3]), 1.0), "Huber loss with np.where",
    argnums=(0, 1))


def poisson_loglik(theta):
    eta = X_TRAIN @ theta
    return np.sum(COUNTS * eta - np.exp(eta))


add(poisson_loglik, lambda r: (0.3 * r.normal(size=3),), "Poisson GLM log-likelihood, global design matrix")


def _moments(v):
    m = v.mean()
    c = v - m
    return m, (c ** 2).mean(), (c ** 3).mean()


def skewness(x):
    m, m2, m3 = _moments(x)
    return m3 / m2 ** 1.5


add(skewness, lambda r: (r.gamma(2.0, size=7),), "skewness through a helper returning a tuple")


def _mean_std(v):
    m = v.mean()
    return m, np.sqrt(((v - m) ** 2).mean())


def sharpe_ratio(returns):
    m, s = _mean_std(returns)
    return m / s * np.sqrt(252)


add(sharpe_ratio, lambda r: (0.01 + 0.02 * r.normal(size=8),), "annualised Sharpe ratio")


# ====================================================================== least squares, regression
def least_squares(w):
    r = X_TRAIN @ w - Y_TRAIN
    return 0.5 * r @ r


add(least_squares, lambda r: (r.normal(size=3),), "least squares with global X, y (SciPy style)")


def ridge(w, X, y, lam):
    return np.sum((X.dot(w) - y) ** 2) + lam * np.dot(w, w)


add(ridge, lambda r: (r.normal(size=3), r.normal(size=(6, 3)), r.normal(size=6), 0.3),
    "ridge regression objective", argnums=(0, 3))


def make_mse(A, b):
    def loss(w):
        res = A @ w - b
        return np.mean(res ** 2)
    return loss


mse_closure = make_mse(X_TRAIN, Y_TRAIN)
add(mse_closure, lambda r: (r.normal(size=3),), "mean squared error, data in a closure", name="mse_closure")


def normal_equations(X, y):
    n, d = X.shape
    A = X.T @ X + 0.1 * np.eye(d)
    return np.linalg.solve(A, X.T @ y)


add(normal_equations, lambda r: (r.normal(size=(6, 3)), r.normal(size=6)),
    "ridge solution by the normal equations (array out)", argnums=(0, 1))


def polyfit_horner(coef, t, y):
    p = np.zeros_like(t)
    for c in coef:
        p = p * t + c
    return np.sum((p - y) ** 2)


add(polyfit_horner, lambda r: (r.normal(size=4), np.linspace(-1, 1, 7), r.normal(size=7)),
    "polynomial residual by Horner's rule over `for c in coef`")


def vander_predict(c, t):
    V = np.vander(t, len(c))
    return V @ c


add(vander_predict, lambda r: (r.normal(size=3), np.linspace(-1, 1, 5) + 0.05 * r.normal(size=5)),
    "polynomial values through np.vander (array out)", argnums=(0, 1))


def gauss_newton_step(p):
    e = np.exp(-p[1] * T_GRID)
    r = p[0] * e - Y_DECAY
    J = np.stack([e, -p[0] * T_GRID * e], axis=1)
    return p - np.linalg.solve(J.T @ J, J.T @ r)


add(gauss_newton_step, lambda r: (np.array([1.8, 0.6]) + 0.05 * r.normal(size=2),),
    "one Gauss-Newton step of an exponential fit (array out)")


def logistic_regression(w, b):
    z = X_TRAIN @ w + b
    return np.mean(np.logaddexp(0.0, -Y_SIGN * z))


add(logistic_regression, lambda r: (r.normal(size=3), 0.2), "logistic loss via np.logaddexp", argnums=(0, 1))


def fit_with_predictions(w):
    pred = X_TRAIN @ w
    loss = np.mean((pred - Y_TRAIN) ** 2)
    return loss, pred


add(fit_with_predictions, lambda r: (r.normal(size=3),), "loss with auxiliary predictions (has_aux)",
    has_aux=True)


# ====================================================================== machine learning
def softmax(z):
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


add(softmax, lambda r: (r.normal(size=5),), "softmax (array out)")


def logsumexp(z):
    m = z.max()
    return m + np.log(np.sum(np.exp(z - m)))


add(logsumexp, lambda r: (r.normal(size=6),), "stable log-sum-exp")


def cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -logp[np.arange(n), labels].mean()


add(cross_entropy, lambda r: (r.normal(size=(8, 3)), LABELS), "softmax cross-entropy with integer labels")


def softmax_rows(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


add(softmax_rows, lambda r: (r.normal(size=(3, 4)),), "row-wise softmax (array out)")


def layer_norm(x, gamma, beta):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return gamma * (x - mu) / np.sqrt(var + 1e-5) + beta


add(layer_norm, lambda r: (r.normal(size=(2, 4)), r.uniform(0.5, 1.5, 4), r.normal(size=4)),
    "layer normalisation (array out)", argnums=(0, 1, 2))


def mlp_loss(W1, b1, W2, b2):
    h = np.tanh(X_TRAIN @ W1 + b1)
    pred = h @ W2 + b2
    return np.mean((pred - Y_TRAIN) ** 2)


add(mlp_loss, lambda r: (0.5 * r.normal(size=(3, 4)), 0.1 * r.normal(size=4), r.normal(size=4), 0.1),
    "two-layer tanh MLP regression loss", argnums=(0, 1, 2, 3))


def relu_mlp(x, W1, b1, W2):
    h = np.maximum(0, W1 @ x + b1)
    return W2 @ h


add(relu_mlp, lambda r: (r.normal(size=3), r.normal(size=(5, 3)), r.normal(size=5), r.normal(size=(2, 5))),
    "ReLU MLP forward pass (array out)", argnums=(0, 1))


def attention(Q, K, V):
    d = Q.shape[-1]
    S = Q @ K.T / np.sqrt(d)
    S = S - S.max(axis=1, keepdims=True)
    A = np.exp(S)
    A /= A.sum(axis=1, keepdims=True)
    return A @ V


add(attention, lambda r: (r.normal(size=(3, 4)), r.normal(size=(5, 4)), r.normal(size=(5, 2))),
    "scaled dot-product attention (array out)", argnums=(0, 1, 2))


def gmm_nll(means, log_sds, logits):
    log_w = logits - np.log(np.sum(np.exp(logits)))
    total = 0.0
    for x in GMM_DATA:
        comp = log_w - 0.5 * ((x - means) / np.exp(log_sds)) ** 2 - log_sds - 0.5 * np.log(2 * np.pi)
        m = np.max(comp)
        total -= m + np.log(np.sum(np.exp(comp - m)))
    return total


add(gmm_nll, lambda r: (np.array([-1.0, 0.2, 1.4]) + 0.1 * r.normal(size=3), 0.2 * r.normal(size=3),
                        r.normal(size=3)),
    "Gaussian mixture negative log-likelihood, loop over global data", argnums=(0, 1, 2))


def bce_with_logits(z, t):
    p = 1.0 / (1.0 + np.exp(-z))
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


add(bce_with_logits, lambda r: (r.normal(size=6), np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])),
    "binary cross-entropy with np.clip")


def svm_hinge(w, b, C):
    margins = 1 - Y_SIGN * (X_TRAIN @ w + b)
    return 0.5 * w @ w + C * np.sum(np.maximum(0.0, margins))


add(svm_hinge, lambda r: (np.array([0.6, -1.3, 2.2]), 0.05, 1.0), "soft-margin SVM objective", argnums=(0, 1))


def _normalize(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def kl_divergence(p_logits, q_logits):
    p = _normalize(p_logits)
    q = _normalize(q_logits)
    return np.sum(p * (np.log(p) - np.log(q)))


add(kl_divergence, lambda r: (r.normal(size=4), r.normal(size=4)), "KL divergence of two softmaxes",
    argnums=(0, 1))


def rnn_loss(W, U, xs):
    h = np.zeros(W.shape[0])
    for x_t in xs:
        h = np.tanh(W @ h + U @ x_t)
    return np.sum(h ** 2)


add(rnn_loss, lambda r: (0.5 * r.normal(size=(3, 3)), r.normal(size=(3, 2)), r.normal(size=(4, 2))),
    "Elman RNN over the rows of a sequence", argnums=(0, 1))


def batchnorm(x, gamma, beta):
    mean = x.mean(axis=0)
    var = x.var(axis=0)
    xhat = (x - mean) / np.sqrt(var + 1e-5)
    return gamma * xhat + beta, mean, var


add(batchnorm, lambda r: (r.normal(size=(4, 3)), r.uniform(0.5, 1.5, 3), r.normal(size=3)),
    "batch normalisation returning (out, mean, var)")


def embedding_bag(E):
    v = E[TOKENS].sum(axis=0)
    return np.tanh(v) @ v


add(embedding_bag, lambda r: (r.normal(size=(5, 3)),), "embedding lookup by integer array, summed")


def cosine_loss(a, b):
    return 1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))


add(cosine_loss, lambda r: (r.normal(size=4), r.normal(size=4)), "cosine-similarity loss", argnums=(0, 1))


def conv1d_valid(x, k):
    n, m = len(x), len(k)
    out = np.zeros(n - m + 1)
    for j in range(m):
        out += k[j] * x[j:j + n - m + 1]
    return out


add(conv1d_valid, lambda r: (r.normal(size=8), r.normal(size=3)), "1-D valid correlation by shifted slices",
    argnums=(0, 1))


# ====================================================================== physics
def heat_step(u, alpha):
    un = u.copy()
    un[1:-1] = u[1:-1] + alpha * (u[2:] - 2 * u[1:-1] + u[:-2])
    return un


add(heat_step, lambda r: (r.normal(size=7), 0.2), "explicit heat-equation step (array out)", argnums=(0, 1))


def heat_energy(u0, nu, steps):
    u = u0.copy()
    for _ in range(steps):
        u[1:-1] = u[1:-1] + nu * (u[2:] - 2 * u[1:-1] + u[:-2])
    return np.sum(u ** 2)


add(heat_energy, lambda r: (r.normal(size=7), 0.25, 5), "heat equation, in-place slice updates in a loop",
    argnums=(0, 1))


def wave_leapfrog(u, u_prev, c):
    for _ in range(STEPS):
        u_next = np.empty_like(u)
        u_next[1:-1] = 2 * u[1:-1] - u_prev[1:-1] + c ** 2 * (u[2:] - 2 * u[1:-1] + u[:-2])
        u_next[0] = 0.0
        u_next[-1] = 0.0
        u_prev, u = u, u_next
    return u, u_prev


add(wave_leapfrog, lambda r: (r.normal(size=6), r.normal(size=6), 0.5), "leapfrog wave equation (tuple out)",
    argnums=(0, 2))


def laplacian_2d(U):
    L = np.zeros_like(U)
    L[1:-1, 1:-1] = U[2:, 1:-1] + U[:-2, 1:-1] + U[1:-1, 2:] + U[1:-1, :-2] - 4 * U[1:-1, 1:-1]
    return L


add(laplacian_2d, lambda r: (r.normal(size=(4, 5)),), "5-point Laplacian stencil (array out)")


def dirichlet_energy(U):
    gx = np.diff(U, axis=0)
    gy = np.diff(U, axis=1)
    return 0.5 * (np.sum(gx ** 2) + np.sum(gy ** 2))


add(dirichlet_energy, lambda r: (r.normal(size=(4, 5)),), "Dirichlet energy with np.diff along axes")


def _lattice(r, n):
    base = np.array([[0.0, 0.0, 0.0], [1.2, 0.0, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 1.2], [1.2, 1.2, 0.0]])
    return base[:n] + 0.05 * r.normal(size=(n, 3))


def lennard_jones(pos):
    n = len(pos)
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r = pos[i] - pos[j]
            d2 = r @ r
            inv6 = 1.0 / d2 ** 3
            energy += 4.0 * (inv6 * inv6 - inv6)
    return energy


add(lennard_jones, lambda r: (_lattice(r, 4),), "Lennard-Jones energy, double loop over pairs")


def lennard_jones_vectorized(pos):
    diff = pos[:, None, :] - pos[None, :, :]
    r2 = np.sum(diff ** 2, axis=-1)
    i, j = np.triu_indices(len(pos), k=1)
    inv6 = 1.0 / r2[i, j] ** 3
    return np.sum(4.0 * (inv6 ** 2 - inv6))


add(lennard_jones_vectorized, lambda r: (_lattice(r, 5),), "Lennard-Jones energy by broadcasting")


def spring_network(pos):
    energy = 0.0
    for (i, j), L in zip(EDGES, REST):
        d = pos[i] - pos[j]
        energy += 0.5 * K_SPRING * (np.linalg.norm(d) - L) ** 2
    return energy


SQUARE_4 = np.array([[0.0, 0.0], [1.1, 0.1], [1.0, 1.0], [-0.1, 1.05]])
add(spring_network, lambda r: (SQUARE_4 + 0.05 * r.normal(size=(4, 2)),),
    "spring network energy over zip(edges, rest lengths)")


def gravity_energy(pos, m):
    energy = 0.0
    for i, p in enumerate(pos):
        d = pos[i + 1:] - p
        r = np.sqrt((d ** 2).sum(axis=1))
        energy -= m[i] * np.sum(m[i + 1:] / r)
    return energy


add(gravity_energy, lambda r: (_lattice(r, 4), r.uniform(0.5, 2.0, 4)),
    "gravitational potential energy with enumerate and slices", argnums=(0, 1))


def _pendulum_rhs(theta, omega, g_over_l):
    return omega, -g_over_l * np.sin(theta)


def pendulum_rk4(theta, omega, g_over_l):
    dt = 0.05
    for _ in range(10):
        k1t, k1w = _pendulum_rhs(theta, omega, g_over_l)
        k2t, k2w = _pendulum_rhs(theta + 0.5 * dt * k1t, omega + 0.5 * dt * k1w, g_over_l)
        k3t, k3w = _pendulum_rhs(theta + 0.5 * dt * k2t, omega + 0.5 * dt * k2w, g_over_l)
        k4t, k4w = _pendulum_rhs(theta + dt * k3t, omega + dt * k3w, g_over_l)
        theta = theta + dt / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        omega = omega + dt / 6 * (k1w + 2 * k2w + 2 * k3w + k4w)
    return np.array([theta, omega])


add(pendulum_rk4, lambda r: (0.8, 0.1, 9.81), "RK4 pendulum with a tuple-returning right-hand side (array out)",
    argnums=(0, 1, 2))


def lorenz_euler(state, sigma, rho, beta):
    s = state.copy()
    dt = 0.01
    for _ in range(20):
        x, y, z = s
        ds = np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])
        s = s + dt * ds
    return s


add(lorenz_euler, lambda r: (np.array([1.0, 1.0, 1.0]) + 0.1 * r.normal(size=3), 10.0, 28.0, 8.0 / 3.0),
    "Lorenz system by explicit Euler, unpacking an array (array out)", argnums=(0, 1, 2, 3))


def chain_forces(x, k):
    return -k * (2 * x - np.roll(x, 1) - np.roll(x, -1))


add(chain_forces, lambda r: (r.normal(size=6), 1.5), "periodic harmonic chain forces with np.roll (array out)",
    argnums=(0, 1))


def burgers_upwind(u, dt):
    dx = 0.1
    flux = 0.5 * u ** 2
    un = u.copy()
    un[1:] = u[1:] - dt / dx * (flux[1:] - flux[:-1])
    return un


add(burgers_upwind, lambda r: (r.uniform(0.5, 1.5, 6), 0.02), "upwind step of Burgers' equation (array out)",
    argnums=(0, 1))


def advection_energy(u0, c):
    u = u0.copy()
    for _ in range(STEPS):
        u = u - c * (u - np.roll(u, 1))
    return np.sum(u * u)


add(advection_energy, lambda r: (r.normal(size=6), 0.4), "periodic upwind advection in a loop", argnums=(0, 1))


def _accel(x):
    return -x - 0.1 * x ** 3


def velocity_verlet(x, v, dt):
    a = _accel(x)
    for _ in range(5):
        x = x + v * dt + 0.5 * a * dt ** 2
        a_new = _accel(x)
        v = v + 0.5 * (a + a_new) * dt
        a = a_new
    return x, v


add(velocity_verlet, lambda r: (r.normal(size=3), r.normal(size=3), 0.1),
    "velocity Verlet for anharmonic oscillators (tuple out)", argnums=(0, 1))


def kinetic_energy(v, m):
    return 0.5 * np.sum(m[:, None] * v ** 2)


add(kinetic_energy, lambda r: (r.normal(size=(4, 3)), r.uniform(0.5, 2.0, 4)),
    "kinetic energy, masses broadcast with None", argnums=(0, 1))


def _diffuse_into(u, out, nu):
    out[0] = u[0]
    out[-1] = u[-1]
    out[1:-1] = u[1:-1] + nu * (u[2:] - 2.0 * u[1:-1] + u[:-2])


def diffuse_with_buffer(u, out):
    _diffuse_into(u, out, 0.2)
    return np.sum(out ** 2)


add(diffuse_with_buffer, lambda r: (r.normal(size=6), np.zeros(6)),
    "a helper fills an output buffer passed in")


def diffuse(u):
    out = np.empty_like(u)
    _diffuse_into(u, out, 0.25)
    return out


add(diffuse, lambda r: (r.normal(size=6),), "allocate, let a helper fill it, return it (array out)")


# ====================================================================== numerics, finite differences
def trapezoid(y, x):
    return np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0)


add(trapezoid, lambda r: (r.normal(size=6), np.sort(r.uniform(0, 2, 6))), "trapezoidal rule by slices",
    argnums=(0, 1))


def simpson(y, h):
    return h / 3.0 * (y[0] + y[-1] + 4.0 * y[1:-1:2].sum() + 2.0 * y[2:-1:2].sum())


add(simpson, lambda r: (r.normal(size=7), 0.1), "Simpson's rule with strided slices", argnums=(0, 1))


def central_gradient(y, h):
    g = np.empty_like(y)
    g[1:-1] = (y[2:] - y[:-2]) / (2 * h)
    g[0] = (y[1] - y[0]) / h
    g[-1] = (y[-1] - y[-2]) / h
    return g


add(central_gradient, lambda r: (r.normal(size=6), 0.5), "np.gradient-like finite differences (array out)",
    argnums=(0, 1))


def total_variation(x):
    return np.sum(np.abs(np.diff(x)))


add(total_variation, lambda r: (np.array([0.3, -0.5, 0.9, 1.6, 0.2, -1.1]) + 0.01 * r.normal(size=6),),
    "total variation with np.abs(np.diff(x))")


def cumulative_trapezoid(y, dx):
    return np.concatenate(([0.0], np.cumsum((y[1:] + y[:-1]) * dx / 2)))


add(cumulative_trapezoid, lambda r: (r.normal(size=6), 0.2), "running integral with np.cumsum (array out)",
    argnums=(0, 1))


def arc_length(xy):
    d = np.diff(xy, axis=0)
    return np.sum(np.sqrt(np.sum(d ** 2, axis=1)))


add(arc_length, lambda r: (np.cumsum(r.uniform(0.2, 1.0, (6, 2)), axis=0),), "length of a polyline")


def newton_sqrt(a):
    x = a
    while True:
        x_new = 0.5 * (x + a / x)
        if abs(x_new - x) < 1e-12:
            return x_new
        x = x_new


add(newton_sqrt, lambda r: (float(r.uniform(2.0, 5.0)),), "Newton iteration left by `return` from `while True`")


# ====================================================================== images
def box_blur(img):
    h, w = img.shape
    out = np.zeros((h - 2, w - 2))
    for di in range(3):
        for dj in range(3):
            out += img[di:di + h - 2, dj:dj + w - 2]
    return out / 9.0


add(box_blur, lambda r: (r.normal(size=(5, 6)),), "3x3 box filter by shifted 2-D slices (array out)")


def sobel_magnitude(img):
    gx = 2 * (img[1:-1, 2:] - img[1:-1, :-2]) + img[:-2, 2:] - img[:-2, :-2] + img[2:, 2:] - img[2:, :-2]
    gy = 2 * (img[2:, 1:-1] - img[:-2, 1:-1]) + img[2:, :-2] - img[:-2, :-2] + img[2:, 2:] - img[:-2, 2:]
    return np.sum(np.hypot(gx, gy))


add(sobel_magnitude, lambda r: (r.normal(size=(5, 5)),), "Sobel edge magnitude with np.hypot")


def tv_denoise_energy(u, f, lam):
    dx = u[:, 1:] - u[:, :-1]
    dy = u[1:, :] - u[:-1, :]
    smooth = np.sum(np.sqrt(dx ** 2 + 1e-3)) + np.sum(np.sqrt(dy ** 2 + 1e-3))
    return 0.5 * np.sum((u - f) ** 2) + lam * smooth


add(tv_denoise_energy, lambda r: (r.normal(size=(4, 4)), r.normal(size=(4, 4)), 0.3),
    "smoothed total-variation denoising energy", argnums=(0, 2))


def gaussian_blur_rows(img, sigma):
    t = np.arange(-2, 3)
    k = np.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    w = img.shape[1] - 4
    out = np.zeros((img.shape[0], w))
    for i, ki in enumerate(k):
        out += ki * img[:, i:i + w]
    return out


add(gaussian_blur_rows, lambda r: (r.normal(size=(3, 7)), 1.2), "Gaussian blur along rows (array out)",
    argnums=(0, 1))


# ====================================================================== distances, geometry
def pairwise_sq_dists(X):
    sq = np.sum(X ** 2, axis=1)
    return sq[:, None] + sq[None, :] - 2.0 * X @ X.T


add(pairwise_sq_dists, lambda r: (r.normal(size=(4, 3)),), "squared distance matrix (array out)")


def rbf_kernel_sum(X, gamma):
    diff = X[:, None, :] - X[None, :, :]
    return np.exp(-gamma * (diff ** 2).sum(-1)).sum()


add(rbf_kernel_sum, lambda r: (r.normal(size=(4, 2)), 0.7), "sum of an RBF kernel matrix", argnums=(0, 1))


def polygon_area(xy):
    x = xy[:, 0]
    y = xy[:, 1]
    return 0.5 * np.abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


add(polygon_area, lambda r: (2.0 * SQUARE_4 + 0.05 * r.normal(size=(4, 2)),),
    "shoelace polygon area")


def normalize_rows(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


add(normalize_rows, lambda r: (r.normal(size=(3, 4)),), "unit rows with np.linalg.norm(axis, keepdims) (array out)")


def l2_normalize(x):
    return x / np.sqrt(np.sum(x * x))


add(l2_normalize, lambda r: (r.normal(size=5),), "L2 normalisation (array out)")


def mesh_area(V):
    v0 = V[TRIANGLES[:, 0]]
    v1 = V[TRIANGLES[:, 1]]
    v2 = V[TRIANGLES[:, 2]]
    n = np.cross(v1 - v0, v2 - v0)
    return 0.5 * np.sum(np.linalg.norm(n, axis=1))


MESH_V = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.2], [0.0, 1.0, 0.1], [1.0, 1.0, 0.5]])
add(mesh_area, lambda r: (MESH_V + 0.05 * r.normal(size=(4, 3)),),
    "triangle-mesh surface area with np.cross")


def mahalanobis(x, mu, A):
    S = A @ A.T + np.eye(len(x))
    d = x - mu
    return np.sqrt(d @ np.linalg.solve(S, d))


add(mahalanobis, lambda r: (r.normal(size=3), r.normal(size=3), r.normal(size=(3, 3))),
    "Mahalanobis distance with np.linalg.solve", argnums=(0, 1, 2))


def gram_schmidt(A):
    n, m = A.shape
    Q = np.zeros_like(A)
    for j in range(m):
        v = A[:, j].copy()
        for i in range(j):
            v -= (Q[:, i] @ A[:, j]) * Q[:, i]
        Q[:, j] = v / np.linalg.norm(v)
    return Q


add(gram_schmidt, lambda r: (r.normal(size=(4, 3)),), "classical Gram-Schmidt on columns A[:, j] (array out)")


# ====================================================================== optimisation test functions
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


add(rosenbrock, lambda r: (r.uniform(-1.5, 1.5, 6),), "Rosenbrock, vectorised with slices")


def rosenbrock_zip(x):
    total = 0.0
    for a, b in zip(x[:-1], x[1:]):
        total += 100.0 * (b - a * a) ** 2 + (1 - a) ** 2
    return total


add(rosenbrock_zip, lambda r: (r.uniform(-1.5, 1.5, 6),), "Rosenbrock over zip(x[:-1], x[1:])")


def rastrigin(x):
    A = 10.0
    return A * len(x) + np.sum(x ** 2 - A * np.cos(2 * np.pi * x))


add(rastrigin, lambda r: (r.uniform(-2, 2, 5),), "Rastrigin")


def ackley(x):
    n = x.size
    s1 = np.sum(x ** 2) / n
    s2 = np.sum(np.cos(2 * np.pi * x)) / n
    return -20.0 * np.exp(-0.2 * np.sqrt(s1)) - np.exp(s2) + 20.0 + np.e


add(ackley, lambda r: (r.uniform(-2, 2, 4),), "Ackley with x.size and np.e")


def styblinski_tang(x):
    s = 0.0
    for xi in x:
        s += xi ** 4 - 16 * xi ** 2 + 5 * xi
    return s / 2


add(styblinski_tang, lambda r: (r.uniform(-3, 3, 5),), "Styblinski-Tang over `for xi in x`")


def extended_powell(x):
    x1, x2, x3, x4 = x[::4], x[1::4], x[2::4], x[3::4]
    return np.sum((x1 + 10 * x2) ** 2 + 5 * (x3 - x4) ** 2 + (x2 - 2 * x3) ** 4 + 10 * (x1 - x4) ** 4)


add(extended_powell, lambda r: (r.normal(size=8),), "extended Powell with step-4 slices")


def trid(x):
    return np.sum((x - 1) ** 2) - np.sum(x[1:] * x[:-1])


add(trid, lambda r: (r.normal(size=6),), "Trid function")


# ====================================================================== the language around the maths
def scalar_from_element(a, b):
    c = b[0] + 1.5
    e = (a + b) + c
    return np.sum(e * e)


add(scalar_from_element, lambda r: (r.normal(size=4), r.normal(size=4)),
    "an element read plus a constant broadcast into an array expression", argnums=(0, 1))


def stack_scalars(a, b):
    v = np.array([a * b, a + b, np.sin(a)])
    return v @ v


add(stack_scalars, lambda r: (0.7, -1.2), "np.array([...]) of scalar expressions", argnums=(0, 1))


def nested_helper(x):
    def smooth_abs(v):
        return np.sqrt(v * v + 1e-2)
    return np.sum(smooth_abs(x - x.mean()))


add(nested_helper, lambda r: (r.normal(size=5),), "a helper defined inside the function")


def quadratic_form(A, x):
    n, m = A.shape
    assert x.shape == (m,)
    y = A @ x
    return y @ y / n


add(quadratic_form, lambda r: (r.normal(size=(4, 3)), r.normal(size=3)), "`n, m = A.shape` and an assert",
    argnums=(0, 1))


def matrix_power_trace(A):
    P = np.eye(A.shape[0])
    for _ in range(3):
        P = P @ A
    return np.trace(P)


add(matrix_power_trace, lambda r: (r.normal(size=(3, 3)),), "trace of A^3, a matrix carried through a loop")


def logdet_spd(B):
    A = B @ B.T + np.eye(len(B))
    L = np.linalg.cholesky(A)
    return 2.0 * np.sum(np.log(np.diag(L)))


add(logdet_spd, lambda r: (r.normal(size=(3, 3)),), "log-determinant through np.linalg.cholesky")


def bilinear_einsum(x, A, y):
    return np.einsum("i,ij,j->", x, A, y)


add(bilinear_einsum, lambda r: (r.normal(size=3), r.normal(size=(3, 4)), r.normal(size=4)),
    "bilinear form with np.einsum", argnums=(0, 1, 2))


def column_rms(X):
    return np.sqrt((X ** 2).mean(axis=0)).sum()


add(column_rms, lambda r: (r.normal(size=(5, 3)),), "method chain (X ** 2).mean(axis=0) then .sum()")


def clip_by_norm(g):
    return g / max(1.0, np.linalg.norm(g))


add(clip_by_norm, lambda r: (r.normal(size=4) * 2.0,), "gradient clipping by norm with max() (array out)")


def rank_one_update(W, u, v):
    return np.sum((W + 0.5 * np.outer(u, v)) ** 2)


add(rank_one_update, lambda r: (r.normal(size=(3, 4)), r.normal(size=3), r.normal(size=4)),
    "rank-one update with np.outer", argnums=(0, 1, 2))


def inverse_trace(A):
    return np.trace(np.linalg.inv(A + 3.0 * np.eye(A.shape[0])))


add(inverse_trace, lambda r: (r.normal(size=(3, 3)),), "trace of an inverse")


def power_spectrum(x):
    X = np.fft.rfft(x)
    return np.sum(np.abs(X) ** 2) / len(x)


add(power_spectrum, lambda r: (r.normal(size=8),), "signal power through np.fft.rfft")


# ====================================================================== running the corpus
from . import npcheck as nc  # noqa: E402

BY_NAME = {e.name: e for e in ENTRIES}


def make_inputs(entry: Entry) -> tuple:
    rng = np.random.default_rng(zlib.crc32(entry.name.encode()))
    return tuple(entry.make_args(rng))


def value_of(entry: Entry, args):
    return nc.call_numpy(entry.fn, args)


def output_kind(entry: Entry) -> str:
    out = value_of(entry, make_inputs(entry))
    if entry.has_aux:
        out = out[0]
    if isinstance(out, tuple):
        return "tuple"
    return "scalar" if np.ndim(out) == 0 else "array"


def modes(entry: Entry) -> tuple:
    kind = output_kind(entry)
    base = ("grad",) if kind == "scalar" else ("jacobian", "vjp")
    if LONG:
        base = base + (("vjp", "jvp") if kind == "scalar" else ("jvp",))
    return base


def cases():
    """Every (entry name, mode) the test runs."""
    return [(e.name, m) for e in ENTRIES for m in modes(e)]


def _nums(entry):
    return (entry.argnums,) if isinstance(entry.argnums, int) else tuple(entry.argnums)


def _user_file(entry):
    import inspect
    return inspect.getsourcefile(entry.fn)


_FD: dict = {}


def oracle(entry: Entry, i: int) -> nc.FD:
    """Central differences of the entry (its loss when has_aux) w.r.t. argument i."""
    key = (entry.name, i)
    if key not in _FD:
        args = make_inputs(entry)
        fn = (lambda *a: entry.fn(*a)[0]) if entry.has_aux else entry.fn
        _FD[key] = nc.fd_jacobian(fn, args, i)
    return _FD[key]


def _check_unmutated(entry, before, after):
    """srcgrad may write only into the arrays the NumPy function itself writes into."""
    probe = nc.fresh(before)
    with np.errstate(all="ignore"):
        entry.fn(*probe)
    for k, (b, p, a) in enumerate(zip(before, probe, after)):
        if isinstance(b, np.ndarray) and np.array_equal(b, p) and not np.array_equal(b, a):
            raise nc.Mismatch(f"srcgrad wrote into argument {k}, which the function does not modify")


def _run_grad(entry, args):
    import srcgrad
    nums = _nums(entry)
    kw = {"has_aux": True} if entry.has_aux else {}
    vg = srcgrad.value_and_grad(entry.fn, argnums=entry.argnums, **kw)
    call_args = nc.fresh(args)
    (value, grads), secs = nc.timed(lambda: vg(*call_args))
    _check_unmutated(entry, args, call_args)
    want = value_of(entry, args)
    if entry.has_aux:
        nc.check_structure("value (loss, aux)", value, (0, 0))
        value, aux = value
        want, want_aux = want
        nc.check_close("aux", aux, want_aux, rtol=nc.VALUE_RTOL)
    nc.check_close("value", value, want, rtol=nc.VALUE_RTOL)
    _check_grads(entry, args, grads, nums)
    g = srcgrad.grad(entry.fn, argnums=entry.argnums, **kw)(*nc.fresh(args))
    if entry.has_aux:
        nc.check_structure("grad(has_aux=True) result", g, (0, 0))
        g = g[0]
    _check_grads(entry, args, g, nums, what="grad")
    return secs


def _check_grads(entry, args, grads, nums, what="gradient"):
    if isinstance(entry.argnums, int):
        grads = (grads,)
    else:
        nc.check_structure(what, grads, tuple(nums))
    for i, gi in zip(nums, grads):
        fd = oracle(entry, i)
        nc.check_close(f"{what} w.r.t. argument {i}", gi, fd.J.reshape(np.shape(args[i])), scale=fd.scale)


def _run_jacobian(entry, args):
    import srcgrad
    nums = _nums(entry)
    jac = srcgrad.jacobian(entry.fn, argnums=entry.argnums)
    J, secs = nc.timed(lambda: jac(*nc.fresh(args)))
    out = value_of(entry, args)
    outs = out if isinstance(out, tuple) else (out,)
    parts = J if isinstance(out, tuple) else (J,)
    nc.check_structure("jacobian (one per output)", parts, tuple(outs))
    offset = 0
    for o, part in zip(outs, parts):
        size = int(np.size(o))
        per_arg = (part,) if isinstance(entry.argnums, int) else part
        nc.check_structure("jacobian (one per argument)", per_arg, tuple(nums))
        for i, Ji in zip(nums, per_arg):
            fd = oracle(entry, i)
            want = fd.J[offset:offset + size].reshape(np.shape(o) + np.shape(args[i]))
            nc.check_close(f"jacobian of output w.r.t. argument {i}", Ji, want, scale=fd.scale)
        offset += size
    return secs


def _cotangent(entry, out):
    rng = np.random.default_rng(zlib.crc32(entry.name.encode()) + 1)
    return nc.unflatten(rng.normal(size=nc.flat(out).size), nc.shapes_of(out))


def _run_vjp(entry, args):
    import srcgrad
    (out, vjp_fn), secs = nc.timed(lambda: srcgrad.vjp(entry.fn, *nc.fresh(args)))
    want = value_of(entry, args)
    if isinstance(want, tuple):
        nc.check_structure("vjp's out", out, want)
        for k, (o, w) in enumerate(zip(out, want)):
            nc.check_close(f"vjp's out[{k}]", o, w, rtol=nc.VALUE_RTOL)
    else:
        nc.check_close("vjp's out", out, want, rtol=nc.VALUE_RTOL)
    ct = _cotangent(entry, want)
    cts = vjp_fn(ct)
    nc.check_structure("vjp_fn's result (one per primal)", cts, tuple(args))
    ct_flat = nc.flat(ct)
    for i, (a, c) in enumerate(zip(args, cts)):
        if not nc.is_float_arg(a):
            if c is not None:
                raise nc.Mismatch(f"cotangent of non-float primal {i} is {type(c).__name__}, expected None")
            continue
        fd = oracle(entry, i)
        nc.check_close(f"cotangent of primal {i}", c, (ct_flat @ fd.J).reshape(np.shape(a)),
                       scale=float(np.max(np.abs(ct_flat @ fd.J), initial=0.0)))
    return secs


def _run_jvp(entry, args):
    import srcgrad
    rng = np.random.default_rng(zlib.crc32(entry.name.encode()) + 2)
    tangents = []
    for a in args:
        if nc.is_float_arg(a):
            t = rng.normal(size=np.shape(a))
            tangents.append(float(t) if np.ndim(a) == 0 and not isinstance(a, np.ndarray) else t)
        else:
            tangents.append(np.zeros_like(a) if isinstance(a, np.ndarray) else 0)
    (out, tout), secs = nc.timed(lambda: srcgrad.jvp(entry.fn, nc.fresh(args), tangents))
    want = value_of(entry, args)        # with has_aux, jvp sees the whole (loss, aux) tuple
    expect = np.zeros(nc.flat(want).size)
    for i, (a, t) in enumerate(zip(args, tangents)):
        if nc.is_float_arg(a):
            expect += oracle_full(entry, i).J @ np.reshape(t, -1)
    if isinstance(want, tuple):
        nc.check_structure("jvp's out", out, want)
        nc.check_structure("jvp's tangent", tout, want)
    nc.check_close("jvp's out", nc.flat(out), nc.flat(want), rtol=nc.VALUE_RTOL)
    nc.check_close("jvp's tangent", nc.flat(tout), expect)
    return secs


_FD_FULL: dict = {}


def oracle_full(entry: Entry, i: int) -> nc.FD:
    """Central differences of everything the entry returns (aux included) w.r.t. argument i."""
    if not entry.has_aux:
        return oracle(entry, i)
    key = (entry.name, i)
    if key not in _FD_FULL:
        _FD_FULL[key] = nc.fd_jacobian(entry.fn, make_inputs(entry), i)
    return _FD_FULL[key]


RUNNERS = {"grad": _run_grad, "jacobian": _run_jacobian, "vjp": _run_vjp, "jvp": _run_jvp}
_RESULTS: dict = {}


def run(name: str, mode: str) -> nc.Outcome:
    """The outcome of one entry in one mode (memoised: each is compiled once per process)."""
    key = (name, mode)
    if key in _RESULTS:
        return _RESULTS[key]
    entry = BY_NAME[name]
    args = make_inputs(entry)
    scalar = output_kind(entry) == "scalar"
    import time
    t0 = time.perf_counter()
    try:
        secs = RUNNERS[mode](entry, args)
        res = nc.Outcome(nc.OK, seconds=secs)
    except nc.Mismatch as exc:
        res = nc.Outcome(nc.WRONG, str(exc), time.perf_counter() - t0)
    except Exception as exc:   # noqa: BLE001 -- every other exception is an outcome to report
        res = nc.classify_exception(exc, [_user_file(entry)], scalar_output=scalar)
        res.seconds = time.perf_counter() - t0
    _RESULTS[key] = res
    return res


def entry_outcome(name: str) -> nc.Outcome:
    entry = BY_NAME[name]
    return nc.worst([run(name, m) for m in modes(entry)])


def fraction_ok() -> float:
    return sum(entry_outcome(e.name).kind == nc.OK for e in ENTRIES) / len(ENTRIES)


# ---------------------------------------------------------------------- the report
def report(out=sys.stdout) -> dict:
    import time
    t_all = time.perf_counter()
    rows = []
    for e in ENTRIES:
        per = {m: run(e.name, m) for m in modes(e)}
        rows.append((e, per, nc.worst(per.values())))
    w_name = max(len(e.name) for e in ENTRIES)
    print(f"{'entry':<{w_name}}  {'out':<6}  {'outcome':<8}  {'cold s':>6}  modes / reason", file=out)
    for e, per, res in rows:
        secs = sum(r.seconds for r in per.values())
        modes_s = " ".join(f"{m}={r.kind}" for m, r in per.items())
        reason = next((r.reason for r in per.values() if r.kind == res.kind and r.reason), "")
        print(f"{e.name:<{w_name}}  {output_kind(e):<6}  {res.kind:<8}  {secs:6.2f}  {modes_s}"
              + (f"  | {reason[:160]}" if reason else ""), file=out)
    counts = {k: sum(res.kind == k for _, _, res in rows) for k in (nc.OK, nc.REFUSED, nc.WRONG, nc.CRASH)}
    print(f"\n{len(rows)} entries: " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + f"  (ok fraction {counts['ok'] / len(rows):.3f})", file=out)
    by_reason: dict = {}
    for _, per, res in rows:
        if res.kind == nc.REFUSED:
            reason = next(r.reason for r in per.values() if r.kind == nc.REFUSED)
            by_reason[reason] = by_reason.get(reason, 0) + 1
    if by_reason:
        print("refused, by reason:", file=out)
        for reason, k in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {k:3d}  {reason[:150]}", file=out)
    compiled = [r.seconds for _, per, _ in rows for r in per.values() if r.kind in (nc.OK, nc.WRONG)]
    if compiled:
        print(f"cold first call of accepted (entry, mode) pairs: {len(compiled)}, median {np.median(compiled):.2f} s, "
              f"max {max(compiled):.2f} s, total {sum(compiled):.1f} s", file=out)
    print(f"whole report: {time.perf_counter() - t_all:.1f} s", file=out)
    return counts


if __name__ == "__main__":
    if "SRCGRAD_CACHE_DIR" not in os.environ:     # cold compile times: a fresh cache
        import atexit
        import shutil
        import tempfile
        os.environ["SRCGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="srcgrad-corpus-")
        atexit.register(shutil.rmtree, os.environ["SRCGRAD_CACHE_DIR"], ignore_errors=True)
    report()
