"""GradBench ``particle`` (Pearlmutter and Siskind): a charged particle starts at (0, 8) with
velocity (0.75, 0) and is pushed by the field of charges at (10, 10 - w) and (10, 0); Euler
steps of 0.1 run until it would cross the x axis, where the landing point is interpolated.
Find w such that it lands at the origin: gradient descent on x0(t_f)^2 whose gradient is taken
*through* the simulation, which itself takes the gradient of the potential at every step
(nested differentiation). The four functions ``rr``, ``rf``, ``fr``, ``ff`` name the mode of
the outer derivative (the argmin over w) and of the inner one (the force), r = reverse
(``srcgrad.grad``), f = forward (``srcgrad.jvp``); all return the final w."""
import numpy as np
import srcgrad

from . import Form, Function
from .descent import argmin

REVERSE = 0
FORWARD = 1
E0 = np.array([1.0, 0.0])
E1 = np.array([0.0, 1.0])


# ------------------------------------------------------------------------------ natural form

def potential(x, w):
    return (1.0 / np.sqrt((x[0] - 10.0) ** 2 + (x[1] - (10.0 - w)) ** 2)
            + 1.0 / np.sqrt((x[0] - 10.0) ** 2 + x[1] ** 2))


grad_potential = srcgrad.grad(potential, argnums=0)


def grad_potential_forward(x, w):
    return np.array([srcgrad.jvp(potential, (x, w), (E0, 0.0))[1],
                     srcgrad.jvp(potential, (x, w), (E1, 0.0))[1]])


def naive_euler(w, inner):
    """x0(t_f)^2 for the charge position w; the force is the gradient of the potential, by
    reverse (inner == REVERSE) or forward mode."""
    x = np.array([0.0, 8.0])
    xdot = np.array([0.75, 0.0])
    dt = 0.1
    while True:
        if inner == REVERSE:
            xddot = -grad_potential(x, w)
        else:
            xddot = -grad_potential_forward(x, w)
        x_new = x + dt * xdot
        if x_new[1] <= 0.0:
            break
        x = x_new
        xdot = xdot + dt * xddot
    dt_f = -x[1] / xdot[1]
    x_t_f = x + dt_f * xdot
    return x_t_f[0] * x_t_f[0]


def _natural(outer, inner):
    if outer == REVERSE:
        dw = srcgrad.grad(naive_euler)
        gradient = lambda w: np.array([dw(w[0], inner)])
    else:
        gradient = lambda w: np.array([srcgrad.jvp(naive_euler, (w[0], inner), (1.0, 0))[1]])
    return lambda w0: argmin(lambda w: naive_euler(w[0], inner), gradient, [w0])[0]


# ------------------------------------------------------------------------------ adapted form
# The inner gradient is a compiled srcgrad derivative whose own derivatives are declared with
# srcgrad.partials from srcgrad's second derivatives (grad of grad): a nested derivative wired
# by hand, because a `grad` object called inside a differentiated function has no rule yet.
# Only a reverse-mode inner derivative can be wired so: the public API has no Numba-callable
# forward-mode derivative (srcgrad.jvp is a Python function), so rf and ff are not available.

def potential_xy(x0, x1, w):
    return (1.0 / np.sqrt((x0 - 10.0) ** 2 + (x1 - (10.0 - w)) ** 2)
            + 1.0 / np.sqrt((x0 - 10.0) ** 2 + x1 ** 2))


_dp_dx0 = srcgrad.grad(potential_xy, argnums=0)
_dp_dx1 = srcgrad.grad(potential_xy, argnums=1)
dp_dx0 = _dp_dx0.kernel
dp_dx1 = _dp_dx1.kernel
d2p_dx0dx0 = srcgrad.grad(_dp_dx0, argnums=0).kernel
d2p_dx0dx1 = srcgrad.grad(_dp_dx0, argnums=1).kernel
d2p_dx0dw = srcgrad.grad(_dp_dx0, argnums=2).kernel
d2p_dx1dx0 = srcgrad.grad(_dp_dx1, argnums=0).kernel
d2p_dx1dx1 = srcgrad.grad(_dp_dx1, argnums=1).kernel
d2p_dx1dw = srcgrad.grad(_dp_dx1, argnums=2).kernel


@srcgrad.partials(dp_dx0)
def _dp_dx0_partials(x0, x1, w):
    return d2p_dx0dx0(x0, x1, w), d2p_dx0dx1(x0, x1, w), d2p_dx0dw(x0, x1, w)


@srcgrad.partials(dp_dx1)
def _dp_dx1_partials(x0, x1, w):
    return d2p_dx1dx0(x0, x1, w), d2p_dx1dx1(x0, x1, w), d2p_dx1dw(x0, x1, w)


def naive_euler_wired(w):
    """naive_euler with the 2-vectors as scalars and the force from the wired derivative."""
    x0 = 0.0
    x1 = 8.0
    v0 = 0.75
    v1 = 0.0
    dt = 0.1
    go = True
    while go:
        a0 = -dp_dx0(x0, x1, w)
        a1 = -dp_dx1(x0, x1, w)
        n0 = x0 + dt * v0
        n1 = x1 + dt * v1
        if n1 > 0.0:
            x0 = n0
            x1 = n1
            v0 = v0 + dt * a0
            v1 = v1 + dt * a1
        else:
            go = False
    dt_f = -x1 / v1
    xf = x0 + dt_f * v0
    return xf * xf


def _wired(outer):
    if outer == REVERSE:
        dw = srcgrad.grad(naive_euler_wired)
        gradient = lambda w: np.array([dw(w[0])])
    else:
        gradient = lambda w: np.array([srcgrad.jvp(naive_euler_wired, (w[0],), (1.0,))[1]])
    return lambda w0: argmin(lambda w: naive_euler_wired(w[0]), gradient, [w0])[0]


def _unavailable(name):
    return Function(None, _prepare, float,
                    missing=f"particle {name} (adapted form): srcgrad's public API has no Numba-callable "
                            "forward-mode derivative to wire as the inner derivative, and a jvp called "
                            "inside a differentiated function is not supported yet")


def _prepare(input):
    return (float(input["w"]),)


def _build_natural():
    modes = {"rr": (REVERSE, REVERSE), "rf": (REVERSE, FORWARD), "fr": (FORWARD, REVERSE), "ff": (FORWARD, FORWARD)}
    return {name: Function(_natural(*mode), _prepare, float) for name, mode in modes.items()}


def _build_adapted():
    return {"rr": Function(_wired(REVERSE), _prepare, float), "fr": Function(_wired(FORWARD), _prepare, float),
            "rf": _unavailable("rf"), "ff": _unavailable("ff")}


FORMS = (
    Form("natural", _build_natural),
    Form("adapted", _build_adapted,
         ("the inner gradient is a compiled `srcgrad.grad` kernel given its derivatives with "
          "`srcgrad.partials` from `grad(grad(...))` kernels (nesting wired by hand); 2-vectors as "
          "scalars; only reverse-mode inner derivatives (rr, fr): rf and ff fail",)),
)
EXAMPLE = {"w": 0.0}
