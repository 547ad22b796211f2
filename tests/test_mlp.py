"""The MLP example's gradient against the seeds' backward algorithm written by hand, and a
short training run that must lower the loss (issue 4)."""
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def mlp():
    """examples/mlp.py as a module (the same module object tests/test_examples.py runs)."""
    key = "srcgrad_example_mlp"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, EXAMPLES / "mlp.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def random_problem(mlp, seed, n=50, hidden=16, k=3, d=2):
    rng = np.random.default_rng(seed)
    W1, b1, W2, b2 = mlp.xavier_init(rng, [d, hidden, k])
    b1 = rng.standard_normal(hidden) * 0.1
    b2 = rng.standard_normal(k) * 0.1
    X = rng.standard_normal((n, d))
    Y = mlp.one_hot(rng.integers(0, k, n), k)
    return (W1, b1, W2, b2), X, Y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_srcgrad_matches_hand_written_backprop(mlp, seed):
    params, X, Y = random_problem(mlp, seed)
    lam = 0.01
    mine = mlp.loss_grad(*params, X, Y, lam)
    hand = mlp.hand_gradient(*params, X, Y, lam)
    assert len(mine) == 4
    for m, h, p in zip(mine, hand, params):
        assert m.shape == p.shape and m.dtype == p.dtype
        np.testing.assert_allclose(m, h, rtol=0, atol=1e-10)


def test_srcgrad_matches_on_the_spirals(mlp):
    rng = np.random.default_rng(3)
    X, labels = mlp.make_spirals(200, rng)
    Y = mlp.one_hot(labels, 2)
    params = mlp.xavier_init(rng, [2, mlp.HIDDEN, 2])
    for m, h in zip(mlp.loss_grad(*params, X, Y, mlp.LAM), mlp.hand_gradient(*params, X, Y, mlp.LAM)):
        np.testing.assert_allclose(m, h, rtol=0, atol=1e-10)


def test_inputs_are_not_modified(mlp):
    params, X, Y = random_problem(mlp, 4)
    before = [p.copy() for p in params] + [X.copy(), Y.copy()]
    mlp.loss_grad(*params, X, Y, 0.1)
    for a, b in zip(before, list(params) + [X, Y]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_lowers_the_loss(mlp, optimizer):
    rng = np.random.default_rng(0)
    X, labels = mlp.make_spirals(300, rng)
    params = mlp.xavier_init(rng, [2, mlp.HIDDEN, 2])
    opt = mlp.SGD(lr=0.5) if optimizer == "sgd" else mlp.Adam(lr=0.02)
    history = mlp.train(opt, params, X, labels, 5, np.random.default_rng(1), 0.95, optimizer,
                        log=lambda line: None)
    assert len(history) == 6
    assert history[-1] < 0.6 * history[0]
    assert np.mean(mlp.predict(params, X) == labels) > 0.8
