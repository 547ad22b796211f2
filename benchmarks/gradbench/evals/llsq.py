"""GradBench ``llsq``: y(x) = 1/2 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(n-1),
s_i = sign(t_i); primal and gradient w.r.t. x (m coefficients); n is not differentiated."""
import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


def llsq(x, n):
    t = np.linspace(-1.0, 1.0, n)
    r = np.sign(t)
    power = np.ones(n)
    for j in range(x.shape[0]):
        r = r - x[j] * power
        power = power * t
    return 0.5 * np.sum(r * r)


def llsq_loops(x, n):
    """Adapted: ``np.linspace`` has no rule (although nothing flows through it), and the arrays
    ``r``/``power`` re-bound in the loop are saved element-wise or refused, so the sum is
    written per point, as in C."""
    total = 0.0
    for i in range(n):
        t = -1.0 + i * 2.0 / (n - 1)
        r = np.sign(t)
        power = 1.0
        for j in range(x.shape[0]):
            r -= x[j] * power
            power *= t
        total += r * r
    return 0.5 * total


def _prepare(input):
    return (np.asarray(input["x"], dtype=np.float64), int(input["n"]))


def _builder(f):
    def build():
        return {"primal": Function(jit(f), _prepare, float),
                "gradient": Function(srcgrad.grad(f), _prepare, tolist)}
    return build


FORMS = (
    Form("natural", _builder(llsq)),
    Form("adapted", _builder(llsq_loops),
         ("whole-array residual written as a loop over points, `np.linspace` as its formula",)),
)
EXAMPLE = {"x": [0.2, -0.4, 0.9, 0.1], "n": 9}
