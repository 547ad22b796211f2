"""Readers for ADBench's GMM and BA input files (formats: the data README).

The data directory is ``$SRCGRAD_ADBENCH_DIR`` if set, else
``<repo>/../shared/data/adbench``. Callers get ``DataNotFound`` (never a crash
deeper down) when a file is absent.
"""
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


class DataNotFound(Exception):
    """An ADBench input file is not where the benchmark looks for it."""


def data_dir():
    env = os.environ.get("SRCGRAD_ADBENCH_DIR")
    return Path(env) if env else REPO.parent / "shared" / "data" / "adbench"


def data_file(rel):
    path = data_dir() / rel
    if not path.is_file():
        raise DataNotFound(f"data not found: {path} (set SRCGRAD_ADBENCH_DIR)")
    return path


@dataclass
class GMM:
    name: str
    alphas: np.ndarray   # (K,)
    means: np.ndarray    # (K, D)
    icf: np.ndarray      # (K, D*(D+1)/2)
    x: np.ndarray        # (N, D)
    gamma: float
    m: float

    @property
    def args(self):
        """Positional arguments of kernels.gmm_objective."""
        from .kernels import gmm_wishart_lgamma
        D = self.x.shape[1]
        return (self.alphas, self.means, self.icf, self.x, self.gamma, self.m,
                gmm_wishart_lgamma(D, self.m))


def read_gmm(rel):
    """Read ``gmm/<rel>``; the 2.5M-style single replicated point is expanded."""
    tok = data_file(rel).read_text().split()
    D, K, N = int(tok[0]), int(tok[1]), int(tok[2])
    v = np.array(tok[3:], dtype=np.float64)
    icf_sz = D * (D + 1) // 2
    pos = 0
    alphas = v[pos:pos + K]; pos += K
    means = v[pos:pos + K * D].reshape(K, D); pos += K * D
    icf = v[pos:pos + K * icf_sz].reshape(K, icf_sz); pos += K * icf_sz
    rest = len(v) - pos - 2
    npts = rest // D
    x = v[pos:pos + npts * D].reshape(npts, D); pos += npts * D
    if npts != N:  # replicated instance
        x = np.repeat(x[:1], N, axis=0)
    gamma, m = float(v[pos]), float(v[pos + 1])
    return GMM(rel, alphas.copy(), means.copy(), icf.copy(), np.ascontiguousarray(x), gamma, m)


@dataclass
class BA:
    name: str
    n: int
    m: int
    p: int
    cams: np.ndarray     # (n, 11)
    X: np.ndarray        # (m, 3)
    w: np.ndarray        # (p,)
    feats: np.ndarray    # (p, 2)
    obs: np.ndarray      # (p, 2) int: camera, point

    @property
    def shape(self):
        """(rows, cols) of the Jacobian."""
        return 3 * self.p, 11 * self.n + 3 * self.m + self.p


def read_ba(rel):
    """Read ``ba/<rel>`` and replicate it as ADBench's reader does."""
    tok = data_file(rel).read_text().split()
    n, m, p = int(tok[0]), int(tok[1]), int(tok[2])
    v = np.array(tok[3:3 + 11 + 3 + 1 + 2], dtype=np.float64)
    cams = np.tile(v[0:11], (n, 1))
    X = np.tile(v[11:14], (m, 1))
    w = np.full(p, v[14])
    feats = np.tile(v[15:17], (p, 1))
    k = np.arange(p)
    obs = np.stack([k % n, k % m], axis=1).astype(np.int64)
    return BA(rel, n, m, p, cams, X, w, feats, obs)


def gmm_objective_reference(g):
    """ADBench's GMM objective in vectorised NumPy (an independent check)."""
    alphas, means, icf, x = g.alphas, g.means, g.icf, g.x
    K, D = means.shape
    N = x.shape[0]
    q = icf[:, :D]
    L = icf[:, D:]
    xc = x[:, None, :] - means[None, :, :]                 # N K D
    Qxc = np.exp(q)[None] * xc
    idx = D
    for c in range(D):
        for j in range(c + 1, D):
            Qxc[:, :, j] += L[None, :, idx - D] * xc[:, :, c]
            idx += 1
    main = alphas[None] + q.sum(1)[None] - 0.5 * (Qxc ** 2).sum(2)
    mx = main.max(1, keepdims=True)
    slse = (np.log(np.exp(main - mx).sum(1)) + mx[:, 0]).sum()
    amx = alphas.max()
    lse_a = math.log(np.exp(alphas - amx).sum()) + amx
    n = D + g.m + 1
    lg = 0.25 * D * (D - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * n + 0.5 * (1 - j)) for j in range(1, D + 1))
    C = n * D * (math.log(g.gamma) - 0.5 * math.log(2)) - lg
    prior = (0.5 * g.gamma ** 2 * ((np.exp(q) ** 2).sum(1) + (L ** 2).sum(1)) - g.m * q.sum(1)).sum()
    return -N * D * 0.5 * math.log(2 * math.pi) + slse - N * lse_a + prior - K * C
