"""Rules for the srcgrad.runtime helpers that partial expressions call, so that generated
tangent code (which contains them) can itself be differentiated: grad(grad(f)), hessian."""
import math  # noqa: F401

import numpy as np  # noqa: F401  (names used inside rule expressions)

from .. import runtime as _rt
from . import shapes
from .registry import nondiff, partials

nondiff(_rt.sign, _rt.indicator, arity=1)
nondiff(_rt.zeros_like, arity=1, result="array", typer=shapes.float_like_first)


@partials(_rt.pow_dy, domain=((0.2, 3.0), (0.2, 3.0)), nonfinite=True)
def pow_dy(x, p):     # pow_dy(x, p) = p * log(x); `p` is the power's value, not this rule's out
    return p / x, np.log(x)

@partials(_rt.pow_dx, domain=((0.2, 3.0), (-2.0, 2.0)), nonfinite=True)
def pow_dx(x, y):     # pow_dx(x, y) = y * x ** (y - 1), 0 where y == 0
    return y * _rt.pow_dx(x, y - 1), x ** (y - 1) * (1.0 + y * np.log(x))


# which elements a max/min selects: piecewise constant, so no derivative (forward mode's tangent
# of np.max is the selected elements' tangent, and its own derivative is this constant mask)
nondiff(_rt.select_grad, arity=3, result="array", typer=lambda tys, consts: shapes.Ty(tys[1].ndim, "f"))

nondiff(_rt.trip_count, arity=3, result="int")
nondiff(_rt.segment_length, arity=2, result="int")


@partials(_rt.div0, domain=((-2.0, 2.0), (0.5, 3.0)), nonfinite=True)
def div0(a, b):           # a / b off b == 0 (where it is 0: measure zero)
    return _rt.div0(1.0, b), -_rt.div0(a, b * b)


@partials(_rt.zsafe)
def zsafe(a, p):          # the product a * p (its exact-zero special case has measure zero); not
    return p, a           # `g`: that name is the incoming adjoint in rule expressions
