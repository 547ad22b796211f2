"""GradBench ``ode``: s steps of classical Runge-Kutta on y0' = x0, yi' = xi * y(i-1) from
y(0) = 0 to t = 2; ``primal`` returns y(2), ``gradient`` the gradient of its last element
w.r.t. x."""
import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


def rhs(x, y):
    z = np.empty_like(y)
    z[0] = x[0]
    z[1:] = x[1:] * y[:-1]
    return z


def ode(x, s):
    h = 2.0 / s
    y = np.zeros_like(x)
    for _ in range(s):
        k1 = rhs(x, y)
        k2 = rhs(x, y + h / 2 * k1)
        k3 = rhs(x, y + h / 2 * k2)
        k4 = rhs(x, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


def ode_last(x, s):
    return ode(x, s)[-1]


def ode_loops(x, s):
    """Adapted: slices, a helper filling an array, and arrays re-bound in the step loop are
    refused today, so every stage is an element loop into preallocated arrays."""
    n = x.shape[0]
    h = 2.0 / s
    y = np.zeros(n)
    k1 = np.zeros(n)
    k2 = np.zeros(n)
    k3 = np.zeros(n)
    k4 = np.zeros(n)
    t = np.zeros(n)
    for _ in range(s):
        k1[0] = x[0]
        for i in range(1, n):
            k1[i] = x[i] * y[i - 1]
        for i in range(n):
            t[i] = y[i] + h / 2 * k1[i]
        k2[0] = x[0]
        for i in range(1, n):
            k2[i] = x[i] * t[i - 1]
        for i in range(n):
            t[i] = y[i] + h / 2 * k2[i]
        k3[0] = x[0]
        for i in range(1, n):
            k3[i] = x[i] * t[i - 1]
        for i in range(n):
            t[i] = y[i] + h * k3[i]
        k4[0] = x[0]
        for i in range(1, n):
            k4[i] = x[i] * t[i - 1]
        for i in range(n):
            y[i] += h / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i])
    return y


def ode_loops_last(x, s):
    y = ode_loops(x, s)
    return y[x.shape[0] - 1]


def _prepare(input):
    return (np.asarray(input["x"], dtype=np.float64), int(input["s"]))


def _builder(primal, last):
    def build():
        return {"primal": Function(jit(primal), _prepare, tolist),
                "gradient": Function(srcgrad.grad(last), _prepare, tolist)}
    return build


FORMS = (
    Form("natural", _builder(ode, ode_last)),
    Form("adapted", _builder(ode_loops, ode_loops_last),
         ("the right-hand side (a helper with slices) and the RK4 stages written as element loops "
          "into preallocated arrays; `ode(x, s)[-1]` as a named array and an index",)),
)
EXAMPLE = {"x": [0.3, 0.8, 0.5, 0.9, 0.2], "s": 3}
