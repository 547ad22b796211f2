"""Derivatives called inside a differentiated function (srcgrad/nested.py): a grad or
value_and_grad object, or srcgrad.jvp, inside the function given to grad, jvp or jacobian.
Every second derivative is checked against central differences of srcgrad-free NumPy code
(the inner gradient written by hand), so no srcgrad output is its own oracle."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad


def potential(x, w):
    return 1.0 / np.sqrt((x[0] - 10.0) ** 2 + (x[1] - (10.0 - w)) ** 2) + 1.0 / np.sqrt((x[0] - 10.0) ** 2 + x[1] ** 2)


def potential_grad_by_hand(x, w):
    """d potential / d x, derived by hand: the oracle of the inner gradient."""
    a = np.array([x[0] - 10.0, x[1] - (10.0 - w)])
    b = np.array([x[0] - 10.0, x[1]])
    return -a / np.sum(a * a) ** 1.5 - b / np.sum(b * b) ** 1.5


grad_potential = srcgrad.grad(potential, argnums=0)
value_and_grads = srcgrad.value_and_grad(potential, argnums=(0, 1))


def euler_energy(x, w):
    """A few explicit Euler steps driven by the gradient of a potential (GradBench's particle)."""
    v = np.array([0.75, 0.0])
    for _ in range(3):
        a = -grad_potential(x, w)
        v = v + 0.1 * a
        x = x + 0.1 * v
    return np.sum(x * x)


def euler_energy_by_hand(x, w):
    v = np.array([0.75, 0.0])
    for _ in range(3):
        v = v + 0.1 * -potential_grad_by_hand(x, w)
        x = x + 0.1 * v
    return np.sum(x * x)


def value_and_both_grads(x, w):
    val, (gx, gw) = value_and_grads(x, w)
    return val * gw + np.sum(gx * x)


def _d_potential_dw_by_hand(x, w):
    a1 = x[1] - (10.0 - w)
    return -a1 / ((x[0] - 10.0) ** 2 + a1 ** 2) ** 1.5


def value_and_both_grads_by_hand(x, w):
    return potential(x, w) * _d_potential_dw_by_hand(x, w) + np.sum(potential_grad_by_hand(x, w) * x)


def inner_jvp(x, w):
    t = srcgrad.jvp(potential, (x, w), (np.array([1.0, 0.0]), 0.5))[1]
    return t * t + w


def inner_jvp_by_hand(x, w):
    t = potential_grad_by_hand(x, w)[0] + 0.5 * _d_potential_dw_by_hand(x, w)
    return t * t + w


def smooth(A, c):
    return np.sum(np.tanh(A) * c) + c * c * np.sum(A * A)


grad_smooth = srcgrad.grad(smooth, argnums=(0, 1))


def matrix_argument(A, c):
    gA, gc = grad_smooth(A, c)
    return np.sum(gA * gA) + gc * c


def matrix_argument_by_hand(A, c):
    gA = (1.0 - np.tanh(A) ** 2) * c + 2.0 * c * c * A
    gc = np.sum(np.tanh(A)) + 2.0 * c * np.sum(A * A)
    return np.sum(gA * gA) + gc * c


X = np.array([1.3, 2.1])
A = np.array([[0.3, -0.5, 0.8], [1.1, 0.2, -0.4]])
CASES = [(euler_energy, euler_energy_by_hand, (X, 0.4)),
         (value_and_both_grads, value_and_both_grads_by_hand, (X, 0.4)),
         (inner_jvp, inner_jvp_by_hand, (X, 0.4)),
         (matrix_argument, matrix_argument_by_hand, (A, 0.7))]


@pytest.mark.parametrize("fn,by_hand,args", CASES, ids=[c[0].__name__ for c in CASES])
def test_reverse_over_nested_derivative(fn, by_hand, args):
    assert fn(*args) == pytest.approx(by_hand(*args), rel=1e-12)    # the inner derivative itself
    value, (gx, gw) = srcgrad.value_and_grad(fn, argnums=(0, 1))(*args)
    assert value == pytest.approx(by_hand(*args), rel=1e-12)
    nx, nw = numerical_grad(by_hand, args, (0, 1))
    np.testing.assert_allclose(gx, nx, rtol=1e-6, atol=1e-9)
    assert gw == pytest.approx(nw, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("fn,by_hand,args", CASES[:3], ids=[c[0].__name__ for c in CASES[:3]])
def test_forward_over_nested_derivative(fn, by_hand, args):
    tx, tw = np.array([0.3, -0.2]), 0.5
    value, tangent = srcgrad.jvp(fn, args, (tx, tw))
    assert value == pytest.approx(by_hand(*args), rel=1e-12)
    nx, nw = numerical_grad(by_hand, args, (0, 1))
    assert tangent == pytest.approx(np.sum(nx * tx) + nw * tw, rel=1e-6)


def scalar_kernel(a, b):
    return a * a * b + np.sin(a * b)


d_scalar = srcgrad.grad(scalar_kernel)


def uses_scalar_gradient(a, b):
    return d_scalar(a, b) * a


def test_scalar_inner_gradient_matches_the_hand_derived_second_derivative():
    a, b = 0.7, 1.3
    got = srcgrad.grad(uses_scalar_gradient, argnums=(0, 1))(a, b)
    # d/da [(2ab + b cos(ab)) a] and d/db of the same, by hand
    inner = 2 * a * b + b * np.cos(a * b)
    da = inner + a * (2 * b - b * b * np.sin(a * b))
    db = a * (2 * a + np.cos(a * b) - a * b * np.sin(a * b))
    assert got == pytest.approx((da, db), rel=1e-12)


def with_aux(x):
    return np.sum(x * x), x[0]


grad_with_aux = srcgrad.grad(with_aux, has_aux=True)


def calls_has_aux(x):
    g, aux = grad_with_aux(x)
    return np.sum(g) * aux


W = np.array([0.5, -1.0])


def reads_global(x):
    return np.sum(W * x * x)


grad_reads_global = srcgrad.grad(reads_global)


def calls_global_reader(x):
    return np.sum(grad_reads_global(x))


@pytest.mark.parametrize("fn,words", [(calls_has_aux, "has_aux"), (calls_global_reader, "reads arrays from its globals")])
def test_unsupported_nesting_is_refused_at_the_call(fn, words):
    with pytest.raises(srcgrad.UnsupportedSyntaxError) as err:
        srcgrad.grad(fn)(X)
    msg = str(err.value)
    assert words in msg and "test_nested.py" in msg and "what to do" in msg


def test_the_inner_function_is_part_of_the_cache_key():
    """Editing `potential` must regenerate euler_energy's derivative: its source is hashed."""
    from srcgrad.frontend import resolve
    from srcgrad.frontend.source import parse_function
    _, watch = resolve.dependency_fingerprint(euler_energy, parse_function)
    assert any(f is potential for f, _, _ in watch)
