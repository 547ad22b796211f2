"""The pure-Python tape against central differences, operator by operator and on
every benchmark kernel (which it traces from the same source srcgrad reads)."""
import math

import numpy as np
import pytest

from benchmarks import kernels, tape
from benchmarks.tape import Value


def central(f, args, i, h=1e-6):
    a = list(args)
    b = list(args)
    a[i] += h
    b[i] -= h
    return (f(*a) - f(*b)) / (2 * h)


def check(f, args, tol=1e-6):
    """tape.grad of every argument of f against central differences."""
    got = tape.grad(f, tuple(range(len(args))))(*args)
    for i, g in enumerate(got):
        want = central(f, args, i)
        assert g == pytest.approx(want, rel=tol, abs=tol), (f.__name__, i, g, want)


OPS = [
    (lambda a, b: a + b, (0.7, -1.3)),
    (lambda a, b: a - b, (0.7, -1.3)),
    (lambda a, b: a * b, (0.7, -1.3)),
    (lambda a, b: a / b, (0.7, -1.3)),
    (lambda a, b: a ** b, (1.7, 0.6)),
    (lambda a, b: 2.0 ** a + a ** 3 + 3.0 - a + 2.0 * b - 1.0 / b + b / 4.0, (0.4, 1.9)),
    (lambda a, b: -a * b, (0.7, -1.3)),
    (lambda a, b: math.exp(a) * math.log(b), (0.3, 1.9)),
    (lambda a, b: math.sin(a) + math.cos(b) + math.tanh(a * b), (0.3, 1.9)),
    (lambda a, b: math.sqrt(a * a + b) + math.erf(a - b), (0.3, 1.9)),
    (lambda a, b: tape.relu(a - b) + tape.relu(b - a) * 2.0, (0.3, 1.9)),
    (lambda a, b: tape.maximum(a * b, a + b), (0.3, 1.9)),
    # fan-out: a reused along several paths
    (lambda a, b: (a * a + a) * (a - b) * a, (0.8, 0.1)),
]


@pytest.mark.parametrize("k", range(len(OPS)))
def test_operators(k):
    f, args = OPS[k]
    g = dict(f.__globals__)
    g["math"] = tape.math
    import types
    check(types.FunctionType(f.__code__, g), args)


def test_comparisons_follow_forward_values():
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a != b and not (a == b)
    assert a < 1.5 and a == 1.0


def test_adjoints_accumulate_on_fan_out_and_deep_graphs():
    x = Value(1.0001)
    y = x
    for _ in range(5_000):             # deeper than Python's recursion limit
        y = y * 1.0 + 0.0
    z = y * x
    z.backward()
    assert x.grad == pytest.approx(2 * 1.0001)


def test_retarget_traces_kernel_source():
    f = tape.retarget(kernels.black_scholes)
    out = f(Value(100.0), 100.0, Value(1.0), Value(0.02), Value(0.2))
    assert isinstance(out, Value)
    assert out.data == pytest.approx(kernels.black_scholes(100.0, 100.0, 1.0, 0.02, 0.2))


PER_ELEMENT = [
    (kernels.seed, (0.3, -0.7)),
    (kernels.sigmoid_neuron, (0.3, -0.7, 0.1, 1.2, -0.4)),
    (kernels.black_scholes, (105.0, 100.0, 1.5, 0.03, 0.25)),
    (kernels.huber, (2.5, 1.0)),
    (kernels.huber, (-2.5, 1.0)),
    (kernels.huber, (0.4, 1.0)),
    (kernels.logistic_euler, (0.5, 1.2, 7.0)),
    (kernels.while_threshold, (1.2, 0.5, 100.0)),
    (kernels.ba_weight_err, (0.4,)),
]


@pytest.mark.parametrize("f,args", PER_ELEMENT, ids=lambda v: getattr(v, "__name__", ""))
def test_per_element_kernels(f, args):
    check(f, args, tol=1e-5)


def test_ba_residual_rows():
    from benchmarks import adbench, handwritten
    ba = adbench.read_ba("ba/test.txt") if adbench.data_dir().is_dir() else None
    if ba is None:
        pytest.skip("ADBench data not found")
    cols, fu, fv = handwritten.ba_gather(ba)
    args = [c[3] for c in cols] + [fu[3]]
    got = tape.grad(kernels.ba_reproj_u, tuple(range(15)))(*args)
    for i in range(15):
        want = central(kernels.ba_reproj_u, args, i, h=1e-6 * max(1.0, abs(args[i])))
        assert got[i] == pytest.approx(want, rel=1e-5, abs=1e-5)


def test_array_kernels():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, 7)
    g = tape.grad(kernels.rosenbrock)(x)
    for i in range(x.size):
        want = central(lambda *v: kernels.rosenbrock(np.array(v)), list(x), i)
        assert g[i] == pytest.approx(want, rel=1e-6, abs=1e-6)
    D, K, N = 3, 2, 4
    alphas, means = rng.normal(size=K), rng.normal(size=(K, D))
    icf, pts = rng.normal(size=(K, D * (D + 1) // 2)) * 0.3, rng.normal(size=(N, D))
    args = (alphas, means, icf, pts, 1.0, 0.0, kernels.gmm_wishart_lgamma(D, 0.0))
    ga, gm, gi = tape.grad(kernels.gmm_objective, (0, 1, 2))(*args)
    for which, grad in ((0, ga), (1, gm), (2, gi)):
        for j in range(args[which].size):
            a = [v.copy() if isinstance(v, np.ndarray) else v for v in args]
            a[which].flat[j] += 1e-6
            fp = kernels.gmm_objective(*a)
            a[which].flat[j] -= 2e-6
            fm = kernels.gmm_objective(*a)
            assert grad.flat[j] == pytest.approx((fp - fm) / 2e-6, rel=1e-5, abs=1e-6)


def test_elementwise_driver_broadcasts_scalars():
    a = np.array([1.1, 1.3, 1.45])
    b = np.array([0.2, 0.9, 0.5])
    ga, gb = tape.elementwise(kernels.while_threshold, (0, 1))(a, b, 50.0)
    for e in range(3):
        assert ga[e] == pytest.approx(central(kernels.while_threshold, (a[e], b[e], 50.0), 0), rel=1e-5)
        assert gb[e] == pytest.approx(central(kernels.while_threshold, (a[e], b[e], 50.0), 1), rel=1e-5)
