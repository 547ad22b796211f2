"""GradBench ``lse``: log-sum-exp of a vector and its gradient, with the max-shift trick."""
import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


def logsumexp(x):
    a = np.max(x)
    return np.log(np.sum(np.exp(x - a))) + a


def logsumexp_loops(x):
    """Adapted: ``np.max`` has no derivative rule, and a scalar from a loop meeting the array
    ``x`` in ``np.exp(x - a)`` does not compile (issue 15), so both reductions are loops."""
    a = x[0]
    for i in range(1, x.shape[0]):
        a = max(a, x[i])
    s = 0.0
    for i in range(x.shape[0]):
        s += np.exp(x[i] - a)
    return np.log(s) + a


def _prepare(input):
    return (np.asarray(input["x"], dtype=np.float64),)


def _builder(f):
    def build():
        return {"primal": Function(jit(f), _prepare, float),
                "gradient": Function(srcgrad.grad(f), _prepare, tolist)}
    return build


FORMS = (
    Form("natural", _builder(logsumexp)),
    Form("adapted", _builder(logsumexp_loops),
         ("`np.max(x)` and `np.sum(np.exp(x - a))` written as loops",)),
)
EXAMPLE = {"x": [0.3, -1.2, 2.5, 0.7, 1.1]}
