"""Rules for np.linalg: inverse, solve, determinant, log-determinant, Cholesky factor.

One square matrix at a time (a stack of matrices is refused by the typers).  The adjoints are
the classical matrix identities, computed in `srcgrad.runtime` with LAPACK through Numba.  The
forward sweep calls `_rt.inv`, `_rt.solve`, `_rt.cholesky` (NumPy's functions with C-ordered
results; they share the rules, so tangent code calling them can be differentiated again):

* ``inv``:  X = A^-1,  A_bar = -X^T G X^T;  tangent -X T X
* ``solve``: x = A^-1 b,  b_bar = A^-T g,  A_bar = -b_bar x^T;  tangents A^-1 t_b and -A^-1 T_A x
* ``det``:  A_bar = g adj(A)^T = g det(A) A^-T, from the cofactors when A is singular (so the
  derivative at a singular matrix is exact, not NaN)
* ``slogdet``: (sign, log|det|); sign has no derivative, log|det| has A_bar = g A^-T
* ``cholesky``: L with A = L L^T.  NumPy (LAPACK's potrf) reads only the lower triangle of A, so
  the derivative is that of the function NumPy computes: zero for the strictly upper entries,
  and each strictly lower entry carries the symmetric pair's sum (Murray 2016, "Differentiation of the Cholesky decomposition").  For a
  symmetric A built from other values (A = B @ B.T + ...), this equals JAX's symmetrised
  convention after the chain rule.
"""
import numpy as np

from .. import runtime as _rt
from . import shapes
from .registry import nondiff, vjp


def _inv_tangent(t, x, out):
    return -np.dot(np.dot(out, t), out)


@vjp(np.linalg.inv, _rt.inv, arity=1, typer=shapes.square_matrix, call="_rt.inv", tangent=_inv_tangent)
def inv(g, x, out):
    return _rt.inv_grad(g, out)


def _solve_tangent_a(t, a, b, out):
    return -_rt.solve(a, np.dot(t, out))


def _solve_tangent_b(t, a, b, out):
    return _rt.solve(a, t)


@vjp(np.linalg.solve, _rt.solve, arity=2, typer=shapes.solve, call="_rt.solve",
     tangent=(_solve_tangent_a, _solve_tangent_b))
def solve(g, a, b, out):
    return _rt.solve_grad_a(g, a, out), _rt.solve_grad_b(g, a)


def _det_tangent(t, x, out):
    return np.sum(t * _rt.det_grad(1.0, x, out))


@vjp(np.linalg.det, arity=1, typer=shapes.matrix_scalar, call="np.linalg.det", tangent=_det_tangent)
def det(g, x, out):
    return _rt.det_grad(g, x, out)


def _logabsdet_tangent(t, x, out):
    return np.sum(t * _rt.logabsdet_grad(1.0, x))


@vjp(_rt.logabsdet, arity=1, typer=shapes.matrix_scalar, tangent=_logabsdet_tangent)
def logabsdet(g, x):
    return _rt.logabsdet_grad(g, x)


nondiff(_rt.det_sign, arity=1, typer=shapes.matrix_scalar)


def _cholesky_tangent(t, x, out):
    return _rt.cholesky_tangent(t, out)


@vjp(np.linalg.cholesky, _rt.cholesky, arity=1, typer=shapes.square_matrix, call="_rt.cholesky",
     tangent=_cholesky_tangent)
def cholesky(g, x, out):
    return _rt.cholesky_grad(g, out)
