"""Slices and views (issue 17): reads `x[a:b:s]`, `A[:, j]`, `A[i]`, `x[:, None]`, `...`, and
writes `y[1:-1] = ...`.  A view's adjoint adds into the same region of its array's adjoint; a
write's adjoint takes the region's adjoint and zeroes it."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad
from tests.arraycheck import check_forward, check_reverse


def differences(x):
    d = x[1:] - x[:-1]
    return np.sum(d * d * x[:-1])


def column_and_row(A, j):
    c = A[:, j]
    r = A[1]
    return np.sum(c * c) + np.sum(r * A[0])


def strided(x):
    return np.sum(x[::2] * x[1::2]) + np.sum(x[::-1] * x)


def outer_by_new_axes(x, y):
    M = x[:, None] * y[None, :]
    return np.sum(M * M)


def stencil_into_new_array(u):
    lap = np.zeros_like(u)
    lap[1:-1] = u[2:] - 2.0 * u[1:-1] + u[:-2]
    lap[0] = u[1] - u[0]
    return np.sum(lap * lap * u)


def ellipsis_index(A):
    return np.sum(A[..., 0] * A[..., 1])


def negative_bounds(x):
    return x[-1] * np.sum(x[-3:-1])


def index_of_an_expression(A, B):
    return np.sum((A @ B)[0] * A[1, :3])


def slice_bounds_from_variables(x, k):
    n = x.shape[0]
    head = x[:k]
    tail = x[k:n]
    return np.sum(head * head) * np.sum(tail)


def block_write_of_a_matrix(A):
    B = np.zeros((4, 4))
    B[:2, :2] = A * 2.0
    B[2:, 2:] = A.T
    B[0, 2:] = A[0]
    return np.sum(B * B * W44)


def write_scalar_into_slice(x):
    y = x * 1.0
    y[1:3] = 0.5
    return np.sum(y * y * x)


def slices_in_a_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sum(x[i:i + 2] * x[i + 1:i + 3])
    return s


W44 = np.arange(16.0).reshape(4, 4) * 0.25 - 1.0     # module data: a hidden parameter
X6 = np.array([0.5, 1.0, -2.0, 4.0, 0.3, 1.7])
A34 = np.arange(12.0).reshape(3, 4) * 0.1 - 0.5
A22 = np.array([[0.3, -1.2], [0.8, 2.0]])
CASES = [
    (differences, (X6,), 0),
    (column_and_row, (A34, 2), 0),
    (strided, (X6,), 0),
    (outer_by_new_axes, (X6, X6[:4].copy()), (0, 1)),
    (stencil_into_new_array, (X6,), 0),
    (ellipsis_index, (A34,), 0),
    (negative_bounds, (X6,), 0),
    (index_of_an_expression, (A34, A34.T.copy()), (0, 1)),
    (slice_bounds_from_variables, (X6, 2), 0),
    (block_write_of_a_matrix, (A22,), 0),
    (write_scalar_into_slice, (X6,), 0),
    (slices_in_a_loop, (X6, 3), 0),
]


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_reverse(fn, args, argnums):
    check_reverse(fn, args, argnums)


@pytest.mark.parametrize("fn,args,argnums", CASES, ids=[c[0].__name__ for c in CASES])
def test_forward(fn, args, argnums):
    check_forward(fn, args, argnums)


def test_fancy_indexing_is_refused_with_a_remedy():
    def f(x):
        return np.sum(x[x > 0.0])
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="indexes with a 1-D bool array") as err:
        srcgrad.grad(f)(X6)
    assert err.value.loc.line > 0 and "np.where" in str(err.value)


def test_too_many_indices_is_refused():
    def f(x):
        return x[0, 1] * 2.0
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="2 indices"):
        srcgrad.grad(f)(X6)


def pair_energy(pos):
    e = 0.0
    for i in range(pos.shape[0] - 1):
        d = pos[i + 1:] - pos[i]          # a slice whose shape changes every iteration
        e += np.sum(d * d)
    return e


def pair_potential(pos, m):
    energy = 0.0
    for i, p in enumerate(pos):
        d = pos[i + 1:] - p
        r = np.sqrt((d ** 2).sum(axis=1))
        energy -= m[i] * np.sum(m[i + 1:] / r)
    return energy


def test_slice_whose_shape_changes_per_iteration():
    """The adjoint of `pos[i + 1:]` was zeroed with the last iteration's shape, then the
    iteration's adjoint was summed into it: silently wrong (the NumPy corpus' gravity energy)."""
    rng = np.random.default_rng(0)
    pos, m = rng.normal(size=(4, 3)), rng.uniform(0.5, 2.0, 4)
    # by hand: d/dpos_k sum_{i<j} |p_j - p_i|^2 = 2 sum_j (p_k - p_j)
    want = 2 * (pos.shape[0] * pos - pos.sum(axis=0))
    np.testing.assert_allclose(srcgrad.grad(pair_energy)(pos), want, rtol=1e-12)
    g = srcgrad.grad(pair_potential, argnums=(0, 1))(pos, m)
    for gi, n in zip(g, numerical_grad(pair_potential, [pos, m], (0, 1))):
        np.testing.assert_allclose(gi, n, rtol=1e-6, atol=1e-9)


def repeated_differences(x):
    d = x
    for _ in range(2):
        d = d[1:] - d[:-1]                # d shrinks by one every trip
    return np.sum(d * d * d)


def shrinking_product(x):
    d = x * 1.0
    for _ in range(3):
        d = np.sin(d[1:]) * d[:-1]
    return np.sum(d)


def halve_while_long(x):
    d = x
    while d.shape[0] > 1:                  # a while loop over a carried array that shrinks
        d = 0.5 * (d[::2][: d.shape[0] // 2] + d[1::2]) ** 2
    return d[0]


def grows_by_broadcast(x, y):
    acc = np.zeros(1)
    for _ in range(3):
        acc = np.tanh(acc + x * y)          # (1,) becomes (n,) on the first trip
    return np.sum(acc)


X5 = np.array([0.3, -1.2, 0.8, 2.0, 0.1])


@pytest.mark.parametrize("fn,args", [(repeated_differences, (X5,)), (shrinking_product, (X5,)),
                                     (halve_while_long, (np.array([0.3, -0.6, 0.8, 0.5]),)),
                                     (grows_by_broadcast, (X5, X5[::-1].copy()))],
                         ids=["repeated_differences", "shrinking_product", "halve_while_long", "grows_by_broadcast"])
def test_a_carried_array_whose_shape_changes_per_trip(fn, args):
    """`d = d[1:] - d[:-1]` in a loop: the adjoint of `d` was zeroed with its final shape, so
    part of the gradient was uninitialised memory (found while writing np.diff); a shape that
    grows by broadcasting on the first trip is summed back at the loop's entry."""
    nums = tuple(range(len(args)))
    got = srcgrad.grad(fn, argnums=nums)(*args)
    for g, n in zip(got, numerical_grad(fn, args, nums)):
        np.testing.assert_allclose(g, n, rtol=1e-7, atol=1e-9)
    tangents = tuple(np.cos(1.0 + np.arange(a.size)) for a in args)
    _, t = srcgrad.jvp(fn, args, tangents)
    assert t == pytest.approx(sum(np.sum(n * d) for n, d in zip(numerical_grad(fn, args, nums), tangents)), rel=1e-7)
