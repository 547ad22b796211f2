"""GradBench ``saddle`` (Pearlmutter and Siskind): min over x of max over y of
f(x, y) = (x1^2 + x2^2) - (y1^2 + y2^2), both by gradient descent from the given start, the
inner max differentiated through by the outer descent (nested differentiation); then the max
over y at that x. The four functions ``rr``, ``rf``, ``fr``, ``ff`` name the mode of the outer
and of the inner derivative, r = reverse (``srcgrad.grad``), f = forward (``srcgrad.jvp``);
all return x and y concatenated."""
import numpy as np
import srcgrad

from . import Form, Function, tolist
from .descent import argmax, argmin

REVERSE = 0
FORWARD = 1
E0 = np.array([1.0, 0.0])
E1 = np.array([0.0, 1.0])
ZERO = np.zeros(2)


def _outer(f, mode, argnum, args):
    """The gradient of f w.r.t. its 2-vector argument ``argnum`` by the outer mode, as a function
    of that argument (the others fixed to ``args``)."""
    def at(v):
        full = list(args)
        full[argnum] = v
        return full
    if mode == REVERSE:
        g = srcgrad.grad(f, argnums=argnum)
        return lambda v: g(*at(v))

    def forward(v):
        full = at(v)
        cols = []
        for e in (E0, E1):
            tangents = [np.zeros_like(a) if isinstance(a, np.ndarray) else 0 for a in full]
            tangents[argnum] = e
            cols.append(srcgrad.jvp(f, tuple(full), tuple(tangents))[1])
        return np.array(cols)
    return forward


# ------------------------------------------------------------------------------ natural form

def saddle_f(p1, p):
    return (p1[0] ** 2 + p1[1] ** 2) - (p[0] ** 2 + p[1] ** 2)


df_dp = srcgrad.grad(saddle_f, argnums=1)


def df_dp_forward(p1, p):
    return np.array([srcgrad.jvp(saddle_f, (p1, p), (ZERO, E0))[1],
                     srcgrad.jvp(saddle_f, (p1, p), (ZERO, E1))[1]])


def inner_max(p1, start, inner):
    """max over p of saddle_f(p1, p): the descent of descent.argmin on -f, from start; its
    gradient by reverse (inner == REVERSE) or forward mode."""
    x = start.copy()
    fx = -saddle_f(p1, x)
    if inner == REVERSE:
        gx = -df_dp(p1, x)
    else:
        gx = -df_dp_forward(p1, x)
    i = 0
    eta = 1e-5
    while True:
        if np.sqrt(np.sum(gx * gx)) <= 1e-5:
            break
        if i == 10:
            eta *= 2.0
            i = 0
            continue
        x_prime = x - eta * gx
        if np.sqrt(np.sum((x - x_prime) ** 2)) <= 1e-5:
            break
        fx_prime = -saddle_f(p1, x_prime)
        if fx_prime < fx:
            x = x_prime
            fx = fx_prime
            if inner == REVERSE:
                gx = -df_dp(p1, x)
            else:
                gx = -df_dp_forward(p1, x)
            i += 1
        else:
            eta /= 2.0
            i = 0
    return saddle_f(p1, x)


def _natural(outer, inner):
    def run(start):
        r1 = argmin(lambda p1: inner_max(p1, start, inner),
                    _outer(inner_max, outer, 0, (start, start, inner)), start)
        r2 = argmax(lambda p: saddle_f(r1, p), _outer(saddle_f, outer, 1, (r1, start)), start)
        return np.concatenate([r1, r2])
    return run


# ------------------------------------------------------------------------------ adapted form
# As in particle.py: the inner gradient is a compiled srcgrad.grad kernel whose derivatives are
# declared with srcgrad.partials from grad(grad(...)) kernels; 2-vectors as scalars; only a
# reverse-mode inner derivative can be wired (rf and ff are not available).

def saddle_xy(a0, a1, b0, b1):
    return (a0 * a0 + a1 * a1) - (b0 * b0 + b1 * b1)


_df_db0 = srcgrad.grad(saddle_xy, argnums=2)
_df_db1 = srcgrad.grad(saddle_xy, argnums=3)
df_db0 = _df_db0.kernel
df_db1 = _df_db1.kernel
d2f_db0da0 = srcgrad.grad(_df_db0, argnums=0).kernel
d2f_db0da1 = srcgrad.grad(_df_db0, argnums=1).kernel
d2f_db0db0 = srcgrad.grad(_df_db0, argnums=2).kernel
d2f_db0db1 = srcgrad.grad(_df_db0, argnums=3).kernel
d2f_db1da0 = srcgrad.grad(_df_db1, argnums=0).kernel
d2f_db1da1 = srcgrad.grad(_df_db1, argnums=1).kernel
d2f_db1db0 = srcgrad.grad(_df_db1, argnums=2).kernel
d2f_db1db1 = srcgrad.grad(_df_db1, argnums=3).kernel


@srcgrad.partials(df_db0)
def _df_db0_partials(a0, a1, b0, b1):
    return d2f_db0da0(a0, a1, b0, b1), d2f_db0da1(a0, a1, b0, b1), d2f_db0db0(a0, a1, b0, b1), d2f_db0db1(a0, a1, b0, b1)


@srcgrad.partials(df_db1)
def _df_db1_partials(a0, a1, b0, b1):
    return d2f_db1da0(a0, a1, b0, b1), d2f_db1da1(a0, a1, b0, b1), d2f_db1db0(a0, a1, b0, b1), d2f_db1db1(a0, a1, b0, b1)


def inner_max_wired(a0, a1, s0, s1):
    """inner_max with scalars, the inner gradient from the wired kernels."""
    b0 = s0
    b1 = s1
    fx = -saddle_xy(a0, a1, b0, b1)
    g0 = -df_db0(a0, a1, b0, b1)
    g1 = -df_db1(a0, a1, b0, b1)
    i = 0
    eta = 1e-5
    go = True
    while go:
        if np.sqrt(g0 * g0 + g1 * g1) <= 1e-5:
            go = False
        elif i == 10:
            eta *= 2.0
            i = 0
        else:
            n0 = b0 - eta * g0
            n1 = b1 - eta * g1
            if np.sqrt((b0 - n0) ** 2 + (b1 - n1) ** 2) <= 1e-5:
                go = False
            else:
                fn = -saddle_xy(a0, a1, n0, n1)
                if fn < fx:
                    b0 = n0
                    b1 = n1
                    fx = fn
                    g0 = -df_db0(a0, a1, b0, b1)
                    g1 = -df_db1(a0, a1, b0, b1)
                    i += 1
                else:
                    eta /= 2.0
                    i = 0
    return saddle_xy(a0, a1, b0, b1)


def _pairs(f):
    """f of two scalar pairs as a function of two 2-vectors (for the outer descent)."""
    return lambda u, v: f(u[0], u[1], v[0], v[1])


def _wired(outer):
    def run(start):
        if outer == REVERSE:
            g1 = srcgrad.grad(inner_max_wired, argnums=(0, 1))
            g2 = srcgrad.grad(saddle_xy, argnums=(2, 3))
            grad1 = lambda a: np.array(g1(a[0], a[1], start[0], start[1]))
            grad2 = lambda b: np.array(g2(r1[0], r1[1], b[0], b[1]))
        else:
            grad1 = lambda a: np.array([srcgrad.jvp(inner_max_wired, (a[0], a[1], start[0], start[1]),
                                                    (t0, t1, 0.0, 0.0))[1] for t0, t1 in ((1.0, 0.0), (0.0, 1.0))])
            grad2 = lambda b: np.array([srcgrad.jvp(saddle_xy, (r1[0], r1[1], b[0], b[1]),
                                                    (0.0, 0.0, t0, t1))[1] for t0, t1 in ((1.0, 0.0), (0.0, 1.0))])
        r1 = argmin(lambda a: inner_max_wired(a[0], a[1], start[0], start[1]), grad1, start)
        r2 = argmax(lambda b: saddle_xy(r1[0], r1[1], b[0], b[1]), grad2, start)
        return np.concatenate([r1, r2])
    return run


def _prepare(input):
    return (np.asarray(input["start"], dtype=np.float64),)


_MISSING = ("saddle {} (adapted form): srcgrad's public API has no Numba-callable forward-mode derivative "
            "to wire as the inner derivative, and a jvp called inside a differentiated function is not "
            "supported yet")


def _build_natural():
    modes = {"rr": (REVERSE, REVERSE), "rf": (REVERSE, FORWARD), "fr": (FORWARD, REVERSE), "ff": (FORWARD, FORWARD)}
    return {name: Function(_natural(*mode), _prepare, tolist) for name, mode in modes.items()}


def _build_adapted():
    return {"rr": Function(_wired(REVERSE), _prepare, tolist), "fr": Function(_wired(FORWARD), _prepare, tolist),
            "rf": Function(None, _prepare, tolist, missing=_MISSING.format("rf")),
            "ff": Function(None, _prepare, tolist, missing=_MISSING.format("ff"))}


FORMS = (
    Form("natural", _build_natural),
    Form("adapted", _build_adapted,
         ("the inner gradient is a compiled `srcgrad.grad` kernel given its derivatives with "
          "`srcgrad.partials` from `grad(grad(...))` kernels (nesting wired by hand); 2-vectors as "
          "scalars; only reverse-mode inner derivatives (rr, fr): rf and ff fail",)),
)
EXAMPLE = {"start": [1.0, 1.0]}
