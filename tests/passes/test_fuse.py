"""passes/fuse.py: the adjoint of `np.sum(x, axis)` read element by element inside a fused loop
(`g[i]` for axis 1, `g[j]` for axis 0, the number g for a 1-D x), checked against central
differences, on the generated code (the check on g's shape), and with a broadcast operand whose
shape check fails, so that the statements run as they were."""
import re

import numpy as np
import pytest

import srcgrad
from benchmarks.gradbench.evals import kmeans
from tests.arraycheck import check_reverse


def row_norms(x, mu):
    z = x - mu
    return np.sum(np.sqrt(np.sum(z * z, axis=1) + 1.0))


def column_norms(x, mu):
    z = x - mu
    return np.sum(np.sqrt(np.sum(z * z, axis=0) + 1.0))


def last_axis(x, mu):
    z = x * mu
    return np.sum(np.sin(np.sum(z * z, axis=-1)))


def one_dimension(x, mu):
    z = x - mu
    return np.sum(z * np.exp(np.sum(z * z, axis=0)))


def in_a_loop(x, mu):
    """GMM's shape: a 2-D product summed along rows inside a loop over components."""
    s = 0.0
    for k in range(mu.shape[0]):
        z = (x - mu[k]) * 0.5
        s = s + np.sum(np.log(np.sum(z * z, axis=1) + 1.0))
    return s


def broadcast(x, w):
    """w has one row: the adjoint's `w`-shaped contribution is unbroadcast, so the run's shape
    check fails and the statements run as they were."""
    z = x * w
    return np.sum(np.sqrt(np.sum(z * z, axis=1) + 1.0))


rng = np.random.default_rng(4)
X = rng.standard_normal((5, 3))


@pytest.mark.parametrize("fn, args, kept", [
    (row_norms, (X, rng.standard_normal(3)), 0),
    (column_norms, (X, rng.standard_normal(3)), 1),
    (last_axis, (X, rng.standard_normal(3)), 0),
    (one_dimension, (rng.standard_normal(4), 0.3), None),
    (in_a_loop, (X, rng.standard_normal((2, 3))), 0),
])
def test_a_sums_adjoint_is_read_element_by_element(fn, args, kept):
    check_reverse(fn, args, (0, 1))
    src = srcgrad.grad(fn, argnums=(0, 1)).source_for(*args)
    fused = src.split("# adjoint sweep")[1]
    if kept is None:        # the number g itself, read in the loop
        assert re.search(r"\n +\w+_bar_i = \w+_bar\n", fused), fused
    else:                   # g[i] or g[j], once g's shape is checked
        assert re.search(rf"\(_shape\w*\[{kept}\],\) == \w+\.shape", fused), fused
        assert re.search(rf"\w+_bar_i = \w+_bar\[_{'ij'[kept]}\w*\]", fused), fused


def test_a_failed_shape_check_runs_the_statements_as_they_were():
    args = (X, rng.standard_normal((1, 3)))
    check_reverse(broadcast, args, (0, 1))
    src = srcgrad.grad(broadcast, argnums=(0, 1)).source_for(*args)
    assert re.search(r"\(_shape\w*\[0\],\) == \w+\.shape", src)


def test_an_array_only_added_into_is_updated_in_place():
    """k-means' cost (GradBench's, as the benchmark runs it): the centroids' adjoint gets one
    addition per point."""
    args = (rng.standard_normal((7, 3)), rng.standard_normal((4, 3)))
    check_reverse(kmeans.cost, args, 1)
    src = srcgrad.grad(kmeans.cost, argnums=1).source_for(*args)
    fused = src.split("# adjoint sweep")[1].split("else:")[0]
    assert re.search(r"\n +centroids_bar\[_i\w*, _j\w*\] = centroids_bar_i\w*\n", fused), fused
    assert "centroids_bar_new" not in src
