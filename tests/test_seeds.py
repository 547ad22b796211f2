"""The seeds' worked examples, with their exact published numbers (hand-derived oracles)."""
import math

import pytest

import srcgrad


def graph(a, b):
    c = a + b
    d = b + 1
    return c * d


def circuit(x, y, z):
    return (x + y) * z


def max_route(x, y, z):
    a = x + y
    b = max(y, z)
    return a * b


def shop(apple, apple_num, orange, orange_num, tax):
    return ((apple * apple_num) + (orange * orange_num)) * tax


def neuron(w0, x0, w1, x1, b):
    return 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + b)))


def test_computation_graph():
    assert srcgrad.grad(graph, argnums=(0, 1))(2.0, 1.0) == (2.0, 5.0)


def test_circuit():
    assert srcgrad.grad(circuit, argnums=(0, 1, 2))(-2.0, 5.0, -4.0) == (-4.0, -4.0, 3.0)


@pytest.mark.parametrize("y,z", [(5.0, 2.0), (2.0, 5.0)])
def test_max_routes_to_the_larger_input_only(y, z):
    x = 1.0
    dx, dy, dz = srcgrad.grad(max_route, argnums=(0, 1, 2))(x, y, z)
    a, b = x + y, max(y, z)
    assert dx == b
    if y > z:
        assert (dy, dz) == (b + a, 0.0)
    else:
        assert (dy, dz) == (b, a)


def test_shop_with_integer_arguments():
    value, grads = srcgrad.value_and_grad(shop, argnums=(0, 1, 2, 3, 4))(100, 2, 150, 3, 1.1)
    assert value == pytest.approx(715.0)
    assert grads == pytest.approx((2.2, 110.0, 3.3, 165.0, 650.0))


def test_sigmoid_neuron_against_hand_derivation():
    args = (2.0, -1.0, -3.0, -2.0, -3.0)
    w0, x0, w1, x1, b = args
    s = 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + b)))
    ds = s * (1 - s)
    expected = (ds * x0, ds * w0, ds * x1, ds * w1, ds)
    got = srcgrad.grad(neuron, argnums=(0, 1, 2, 3, 4))(*args)
    assert got == pytest.approx(expected, rel=1e-14)
    assert got[0] == pytest.approx(-0.19661193324148185)


def newton_sqrt(a):
    x = a
    for i in range(30):
        x = 0.5 * (x + a / x)
    return x


@pytest.mark.parametrize("a", [0.3, 2.0, 9.0])
def test_newton_iteration_gives_the_derivative_of_sqrt(a):
    assert srcgrad.grad(newton_sqrt)(a) == pytest.approx(0.5 / math.sqrt(a), rel=1e-12)
