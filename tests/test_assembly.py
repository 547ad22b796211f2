"""Assembling arrays (issue 23): np.roll, np.diff, np.concatenate, the stacks, np.triu/np.tril,
the flips, np.tile/np.repeat and np.kron inside realistic user functions.

Every derivative is checked against central differences of the function run by NumPy; the
refusals are srcgrad's own located errors naming what is refused, raised while the derivative is
generated (no Numba compile).  About ten compiled cases: each costs seconds of CI.
"""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad

RNG = np.random.default_rng(23)
W = RNG.normal(size=(4, 3))


def check(fn, args, argnums):
    value, grads = srcgrad.value_and_grad(fn, argnums=argnums)(*[np.copy(a) for a in args])
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for got, want in zip(grads, numerical_grad(fn, args, argnums)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- user functions
def smoothness_energy(x, h):
    """A finite-difference energy: first and second differences of a 1-D field."""
    return np.sum(np.diff(x) ** 2) / h + 0.1 * np.sum(np.diff(x, n=2) ** 2) + np.sum(np.sin(x))


def periodic_laplacian(u, k):
    """The periodic 1-D heat energy with a shift given by an argument."""
    lap = np.roll(u, 1) + np.roll(u, -1) - 2.0 * u
    return np.sum(u * lap) + np.sum(np.roll(u, k) * u ** 2)


def grid_laplacian(U):
    """Five-point Laplacian on a periodic 2-D grid, and differences along both axes."""
    lap = (np.roll(U, 1, axis=0) + np.roll(U, -1, axis=0) + np.roll(U, 1, axis=1) + np.roll(U, -1, axis=-1)
           - 4.0 * U)
    return np.sum(lap ** 2) + np.sum(np.diff(U, axis=0)[:, 1:] * np.diff(U)[1:, :].T)


def joined_norm(x, y, A, B):
    """Parameters packed into one vector (tuple and list spellings, 2-D along both axes)."""
    v = np.concatenate((x, y, x * y))
    M = np.concatenate([A, B], axis=1)
    N = np.concatenate((A, B * B))
    return np.linalg.norm(v) + np.sum(M * M) + np.sum(N @ np.ones(2)) + np.sum(np.concatenate((A, B), axis=None))


def stacked_rows(x, y, w):
    """Rows stacked into a matrix, then a matrix product."""
    M = np.vstack((x, y, x * y))
    C = np.stack([x, y], axis=1)
    H = np.hstack((x, y))
    D = np.column_stack((x, np.sin(y)))
    return np.sum((M @ w) ** 2) + np.sum(C * W[:, :2]) + np.sum(H ** 3) + np.sum(D @ np.ones(3)[:2])


def triangular(A, x):
    """Triangular parts of a matrix (k=0, above and below the diagonal) applied to a vector."""
    return np.sum((np.triu(A) @ x) ** 2) + np.sum(np.tril(A, k=-1) * A) + np.sum(np.triu(A, 1) ** 3)


def flipped(A, x):
    return np.sum(A * np.fliplr(A)) + np.sum(np.flipud(A) @ x) + np.sum(np.flip(x) * x ** 2) \
        + np.sum(np.flip(A, axis=0) * np.flip(A) ** 2)


def tiled(x, A, b):
    return np.sum(np.tile(x, 3) ** 2 * np.arange(12.0)) + np.sum(np.repeat(x, 2) * np.sin(np.repeat(x, 2))) \
        + np.sum(np.repeat(A, 2, axis=0) @ x[:3]) + np.sum(np.repeat(A, [1, 0, 2], axis=1) ** 2) \
        + np.sum(np.kron(x, b) ** 2) \
        + np.sum(np.tile(b, (2, 3)) @ np.tile(x[:2], 3)) + np.sum(np.kron(A[:2, :2], A) * 0.5)


CASES = [
    (smoothness_energy, (RNG.normal(size=7), 0.5), (0,)),
    (periodic_laplacian, (RNG.normal(size=6), 2), (0,)),
    (grid_laplacian, (RNG.normal(size=(4, 4)),), (0,)),
    (joined_norm, (RNG.normal(size=3), RNG.normal(size=3), RNG.normal(size=(2, 2)), RNG.normal(size=(2, 2))),
     (0, 1, 2, 3)),
    (stacked_rows, (RNG.normal(size=4), RNG.normal(size=4), RNG.normal(size=4)), (0, 1, 2)),
    (triangular, (RNG.normal(size=(3, 3)), RNG.normal(size=3)), (0, 1)),
    (flipped, (RNG.normal(size=(3, 3)), RNG.normal(size=3)), (0, 1)),
    (tiled, (RNG.normal(size=4), RNG.normal(size=(3, 3)), RNG.normal(size=2)), (0, 1, 2)),
]


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_value_and_grad_match_central_differences(fn, args, argnums):
    check(fn, args, argnums)


def test_jvp_of_a_periodic_stencil():
    """Forward mode through np.roll and np.concatenate: the directional derivative."""
    def f(u, v):
        w = np.concatenate((u, v))
        return np.sum(w * (np.roll(w, 1) - np.roll(w, -1)) ** 2) + np.sum(np.diff(w) ** 3)
    u, v, tu, tv = (RNG.normal(size=4) for _ in range(4))
    value, tangent = srcgrad.jvp(f, (u, v), (tu, tv))
    gu, gv = numerical_grad(f, (u, v), (0, 1))
    np.testing.assert_allclose(value, f(u, v), rtol=1e-12)
    np.testing.assert_allclose(tangent, np.sum(gu * tu) + np.sum(gv * tv), rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- refusals
def concat_3d(T):
    return np.sum(np.concatenate((T, T)))


def concat_one_array(A):
    return np.sum(np.concatenate(A))


def roll_shifts_one_axis(A):
    return np.sum(np.roll(A, (1, 2), axis=0))


def tile_3d(A):
    return np.sum(np.tile(A, (1, 2, 2)))


def join_a_number(x):
    return np.sum(np.hstack((x, 1.0)))


def diff_prepend(x):
    return np.sum(np.diff(x, prepend=0.0))


@pytest.mark.parametrize("fn,arg,match", [
    (concat_3d, np.ones((2, 2, 2)), "np.concatenate of arrays of more than 2 dimensions"),
    (concat_one_array, np.ones((2, 3)), r"np.concatenate of one array"),
    (roll_shifts_one_axis, np.ones((2, 3)), "np.roll with a tuple of shifts and one axis"),
    (tile_3d, np.ones((2, 3)), "np.tile with more than 2 reps"),
    (join_a_number, np.ones(3), "joining a number with arrays"),
    (diff_prepend, np.ones(3), "has no parameter `prepend`"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_unsupported_assembly_is_refused_at_the_call(fn, arg, match):
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=match) as info:
        srcgrad.grad(fn)(arg)
    assert info.value.loc is not None and "test_assembly.py" in str(info.value)
    assert fn.__code__.co_firstlineno + 1 == info.value.loc.line
