"""np.linalg: inv, solve, det, slogdet, cholesky (srcgrad/rules/linalg.py).

Every case is checked against central differences of the function run by NumPy, in reverse
mode (grad over every argument) and forward mode (jvp along a random tangent); the singular
determinant against its hand-derived cofactors; the refusals by their messages.
"""
import numpy as np
import pytest

import srcgrad
from srcgrad.errors import UnsupportedArrayUseError
from srcgrad.testing import numerical_grad

RNG = np.random.default_rng(7)
N = 4
A = RNG.normal(size=(N, N)) + 3.0 * np.eye(N)          # well conditioned, det > 0
A_NEG = A[[1, 0, 2, 3]]                                 # a row swap: det < 0
SPD = A @ A.T + np.eye(N)
W = RNG.normal(size=(N, N))
B = RNG.normal(size=N)
BM = RNG.normal(size=(N, 2))


def inv_weighted(a, w):
    return np.sum(np.linalg.inv(a) * w)


def solve_vector(a, b):
    x = np.linalg.solve(a, b)
    return np.sum(x * x)


def solve_matrix(a, bm):
    x = np.linalg.solve(a, bm)
    return np.sum(np.sin(x))


def det_polynomial(a):
    d = np.linalg.det(a)
    return d * d + 3.0 * d


def slogdet_both(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet + logdet * logdet


def cholesky_weighted(s, w):
    return np.sum(np.linalg.cholesky(s) * w)


def gaussian_nll(m, x):
    """-log N(x; 0, S) with S = m m^T + I, through its Cholesky factor (as people write it)."""
    s = m @ m.T + np.eye(m.shape[0])
    L = np.linalg.cholesky(s)
    z = np.linalg.solve(L, x)
    logdet = 2.0 * np.sum(np.log(np.diag(L)))
    return 0.5 * np.dot(z, z) + 0.5 * logdet


def inverse_in_a_product(a, b):
    """inv(A) @ b, then an element of it: the explicit inverse as users write it."""
    y = np.linalg.inv(a) @ b
    return y[0] * y[1] + np.linalg.det(a) * 0.01


CASES = {
    "inv": (inv_weighted, (A, W), (0, 1)),
    "solve_vector": (solve_vector, (A, B), (0, 1)),
    "solve_matrix": (solve_matrix, (A, BM), (0, 1)),
    "det": (det_polynomial, (A,), (0,)),
    "det_negative": (det_polynomial, (A_NEG,), (0,)),
    "slogdet": (slogdet_both, (A,), (0,)),
    "slogdet_negative": (slogdet_both, (A_NEG,), (0,)),
    "cholesky": (cholesky_weighted, (SPD, W), (0, 1)),
    "gaussian_nll": (gaussian_nll, (RNG.normal(size=(N, N)), B), (0, 1)),
    "inverse_in_a_product": (inverse_in_a_product, (A, B), (0, 1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reverse_mode_matches_central_differences(name):
    f, args, argnums = CASES[name]
    value, grads = srcgrad.value_and_grad(f, argnums=argnums)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    for g, num in zip(grads, numerical_grad(f, args, argnums)):
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(CASES))
def test_forward_mode_matches_central_differences(name):
    f, args, argnums = CASES[name]
    rng = np.random.default_rng(3)
    tangents = tuple(rng.normal(size=np.shape(a)) for a in args)
    value, tan = srcgrad.jvp(f, args, tangents)
    expected = sum(np.sum(num * tangents[i]) for i, num in zip(argnums, numerical_grad(f, args, argnums)))
    assert value == pytest.approx(f(*args), rel=1e-12)
    assert tan == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_cholesky_reads_the_lower_triangle_as_numpy_does():
    """NumPy's cholesky ignores A's strictly upper triangle: its adjoint there is 0, and a lower
    entry carries the pair (central differences on every entry separately agree)."""
    g = srcgrad.grad(cholesky_weighted)(SPD, W)
    assert np.all(np.triu(g, 1) == 0.0)
    np.testing.assert_allclose(g, numerical_grad(cholesky_weighted, (SPD, W), (0,))[0], rtol=1e-6, atol=1e-8)


def test_det_at_a_singular_matrix_is_the_cofactor_matrix():
    """d det(A)/dA = adj(A)^T, defined (and nonzero) at a rank-n-1 matrix where det(A) A^-T is
    not: here the cofactors of [[1, 2, 3], [2, 4, 6], [1, 0, 1]], computed by hand."""
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    cof = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(srcgrad.grad(lambda_free_det)(a), cof, atol=1e-12)
    np.testing.assert_allclose(numerical_grad(lambda_free_det, (a,), (0,))[0], cof, atol=1e-6)


def lambda_free_det(a):
    return np.linalg.det(a)


def inv_of_a_stack(a):
    return np.sum(np.linalg.inv(a))


def slogdet_of_a_stack(a):
    return np.sum(np.linalg.slogdet(a)[1])


@pytest.mark.parametrize("f", [inv_of_a_stack, slogdet_of_a_stack])
def test_a_stack_of_matrices_is_refused_where_it_is_written(f):
    with pytest.raises(UnsupportedArrayUseError) as e:
        srcgrad.grad(f)(np.stack([A, A]))
    msg = str(e.value)
    assert "3-D array" in msg and "one square matrix" in msg and "test_linalg.py" in msg
    assert "loop over the leading axis" in msg
