"""The front door for rule authors: give a function its derivative.

These are the very decorators srcgrad's own rule tables use (srcgrad/rules/*.py): one way to
declare a rule, inside and outside the package.

    import srcgrad

    @numba.njit
    def lgamma(x): ...                 # your own implementation (or any Numba-callable)

    @numba.njit
    def digamma(x): ...

    @srcgrad.partials(lgamma)          # the partial derivative(s), in terms of the arguments
    def _(x):                          # (and optionally `out`, the primal output)
        return digamma(x)

    @srcgrad.defvjp(solve, arity=2)    # array functions: contributions given the adjoint `g`
    def _(g, A, b, out):
        return -np.outer(np.linalg.solve(A.T, g), out), np.linalg.solve(A.T, g)

    srcgrad.nondiff(draw_noise)        # calls are constants: no derivative flows through them

The rule's body is one `return` of an expression.  Names in it other than its parameters,
`out`, `g`, `math`, `np` must be module-level objects of your module (e.g. `digamma`); the
generated code imports them.  Functions must be callable from Numba: plain Python functions
are compiled with numba.njit, Numba dispatchers are used as they are.  Declaring a rule
invalidates gradients built before it.
"""
from .rules.registry import nondiff, partials
from .rules.registry import vjp as defvjp

__all__ = ["partials", "defvjp", "nondiff", "checkpoint"]


def checkpoint(loop_range, every=None):
    """Mark a `for` loop for checkpointing: `for i in srcgrad.checkpoint(range(n), every=k):`.

    In plain Python it returns `loop_range` unchanged.  In a differentiated function, the forward
    sweep stores only the loop-carried values at every k-th iteration; the adjoint sweep restores
    each segment, re-runs it with the usual saves, and reverses it.  Saved memory drops from
    O(n) to O(n / k + k) (k = sqrt(n) when `every` is None) for about one extra forward sweep of
    the loop.  The loop body may not write array elements or `break`/`return`.
    """
    return loop_range
