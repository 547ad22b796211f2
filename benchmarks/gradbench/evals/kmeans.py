"""GradBench ``kmeans``: ``cost`` = sum over points of the squared distance to the nearest
centroid; ``dir`` = J / H, the gradient w.r.t. the centroids divided element-wise by the
Hessian's diagonal (the Hessian is diagonal, so its diagonal is H @ ones: one Hessian-vector
product)."""
import math

import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


def cost(points, centroids):
    total = 0.0
    for i in range(points.shape[0]):
        diff = centroids - points[i]
        total += np.min(np.sum(diff * diff, axis=1))
    return total


def cost_loops(points, centroids):
    """Adapted: ``np.min`` has no derivative rule, so the nearest centroid is found by loops."""
    total = 0.0
    for i in range(points.shape[0]):
        closest = math.inf
        for j in range(centroids.shape[0]):
            dist = 0.0
            for l in range(points.shape[1]):
                diff = points[i, l] - centroids[j, l]
                dist += diff * diff
            closest = min(closest, dist)
        total += closest
    return total


def _prepare(input):
    return (np.asarray(input["points"], dtype=np.float64), np.asarray(input["centroids"], dtype=np.float64))


def _builder(f):
    def build():
        gradient = srcgrad.grad(f, argnums=1)
        hessian_times = srcgrad.hvp(f, argnums=1)

        def direction(points, centroids):
            return gradient(points, centroids) / hessian_times(points, centroids, np.ones_like(centroids))

        return {"cost": Function(jit(f), _prepare, float),
                "dir": Function(direction, _prepare, tolist)}
    return build


FORMS = (
    Form("natural", _builder(cost)),
    Form("adapted", _builder(cost_loops), ("`np.min(np.sum(diff * diff, axis=1))` over a row written as loops",)),
)
EXAMPLE = {"points": [[0.1, 0.9], [0.4, 0.3], [0.8, 0.2], [0.7, 0.6], [0.2, 0.2], [0.9, 0.9]],
           "centroids": [[0.2, 0.2], [0.9, 0.9], [0.8, 0.2]]}
