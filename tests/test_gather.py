"""Integer-array indexing (`x[idx]`, `A[idx]`, np.take) and np.ravel/.flatten(): the gather's
adjoint adds every output's adjoint into the element it was read from (repeated indices
accumulate, as np.add.at).  Checked against central differences."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad


def pick_elements(x, idx):
    y = x[idx]                                   # idx repeats an index
    return np.sum(y * y * np.arange(1.0, 5.0))


def pick_rows(V, idx, w):
    P = V[idx]
    return np.sum((P @ w) ** 2)


def take_columns_and_flat(V, idx):
    return np.sum(np.take(V, idx, axis=1) ** 3) + np.sum(np.take(V, idx) ** 2) + np.sum(V.flatten() * V.ravel())


def index_of_indices(x, tri, which):
    corners = tri[which]                          # integers: no derivative flows through
    return np.sum(x[corners[1]] ** 2) * np.sum(x)


def cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -logp[np.arange(n), labels].mean()          # pairs (row k, labels[k])


TRIANGLES = np.array([[0, 1, 2], [1, 3, 2]])


def mesh_area(V):
    v0 = V[TRIANGLES[:, 0]]                             # rows picked by a global index array
    v1 = V[TRIANGLES[:, 1]]
    v2 = V[TRIANGLES[:, 2]]
    return 0.5 * np.sum(np.linalg.norm(np.cross(v1 - v0, v2 - v0), axis=1))


X = np.array([0.3, -1.2, 0.8])
V = np.arange(12.0).reshape(4, 3) / 7 - 0.5
IDX = np.array([2, 0, 2, 1])
CASES = [(pick_elements, (X, IDX), (0,)),
         (pick_rows, (V, IDX, np.array([0.5, -0.3, 0.2])), (0, 2)),
         (take_columns_and_flat, (V, np.array([2, 0, 0])), (0,)),
         (index_of_indices, (X, np.array([[0, 1], [2, 2], [1, 0]]), np.array([2, 0])), (0,)),
         (cross_entropy, (np.cos(np.arange(15.0)).reshape(5, 3), np.array([0, 2, 1, 1, 0])), (0,)),
         (mesh_area, (np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.2], [0.0, 1.0, 0.1], [1.0, 1.0, 0.5]]),), (0,))]


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_gather_matches_central_differences(fn, args, argnums):
    value, got = srcgrad.value_and_grad(fn, argnums=argnums)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-13)
    for g, n in zip(got, numerical_grad(fn, args, argnums)):
        np.testing.assert_allclose(g, n, rtol=1e-7, atol=1e-9)


def mask(x):
    return np.sum(x[x > 0])


def matrix_index(V, rows):
    return np.sum(V[rows])


@pytest.mark.parametrize("fn,args,what", [(mask, (X,), "1-D bool array"),
                                          (matrix_index, (V, np.array([[0, 1], [1, 2]])), "2-D int array")])
def test_masks_and_index_matrices_are_refused_with_the_remedy(fn, args, what):
    with pytest.raises(srcgrad.UnsupportedArrayUseError) as err:
        srcgrad.grad(fn)(*args)
    msg = str(err.value)
    assert what in msg and "test_gather.py" in msg and "np.where(mask, x, 0.0)" in msg


def test_forward_mode_through_a_gather():
    args = (V, IDX, np.array([0.5, -0.3, 0.2]))
    tV, tw = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.array([0.2, 0.1, -0.4])
    _, tangent = srcgrad.jvp(pick_rows, args, (tV, np.zeros(4, dtype=np.int64), tw))
    nV, nw = numerical_grad(pick_rows, args, (0, 2))
    assert tangent == pytest.approx(np.sum(nV * tV) + np.sum(nw * tw), rel=1e-7)
