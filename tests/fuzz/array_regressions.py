"""Every bug the array fuzzer (gen_arrays.py) found, reduced by hand to a few lines.

Each case is a plain function with its inputs; tests/fuzz/test_array_regressions.py checks that
srcgrad's value equals Python's and its gradient matches central differences (a 6th-order
stencil in float64, the oracle of oracle_arrays.py) at those inputs.  A case whose bug is still
open carries `bug=`, the name of the generator switch (gen_arrays.BUG_FEATURES) that keeps the
pattern out of the CI fuzz test; its test is `xfail(strict=True)`, so it turns into a failure
(XPASS) the day the bug is fixed: then delete `bug=` here and add the switch to
gen_arrays.DEFAULT.

Docstrings give what srcgrad returned when the case was found, and the exact answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import srcgrad


@dataclass
class Case:
    fun: object
    argnums: tuple
    inputs: list            # a list of argument tuples
    bug: str | None         # the open bug's switch in gen_arrays.BUG_FEATURES, or None if fixed
    reason: str = ""


CASES: list[Case] = []


def case(argnums, *inputs, bug=None, reason=""):
    def deco(fun):
        CASES.append(Case(fun, tuple(argnums), list(inputs), bug, reason or (fun.__doc__ or "").split("\n")[0]))
        return fun
    return deco


X4 = np.array([0.5, 1.0, 2.0, 4.0])
A34 = np.array([[-0.5, -0.4, -0.3, -0.2], [-0.1, 0.05, 0.1, 0.2], [0.3, 0.4, 0.5, 0.6]])


# ---- scalar_local_meets_array (issue 15) ----------------------------------------------------
# A scalar computed from arrays (reduction, element read, np.maximum of such) meets an array in
# an elementwise operation: its adjoint is never reduced to a scalar.

@case((0, 1), (0.7, X4))
def centre_by_mean(s, x):
    """d = x - np.mean(x): srcgrad [-2.0625 -1.3125 0.1875 3.1875], exact 2*d = [-2.75 -1.75 0.25 4.25]."""
    d = x - np.mean(x)
    return np.sum(d * d) * s


@case((0,), (X4,))
def subtract_sum_local(x):
    """t = np.sum(x); d = x - t: srcgrad's gradient is exactly 0, exact [31 32 34 38]."""
    t = np.sum(x)
    d = x - t
    return np.sum(d * d)


@case((0,), (X4,))
def augmented_subtract_sum(x):
    """m -= np.sum(x) on a local array (found as `m2 -= (np.sum(y) - s1)`): srcgrad
    [-13 -11 -7 1], exact [4 8 16 32]."""
    m = x * 2.0
    m -= np.sum(x)
    return np.sum(m * m)


@case((0, 1), (0.7, X4))
def maximum_of_element_read_meets_array(s, x):
    """np.maximum(s, x[0] * s) - x: CompilationError iadd(float64, array(float64, 1d))."""
    d = np.maximum(s, x[0] * s) - x
    return np.sum(d * d)


@case((0, 1), (A34, X4))
def element_of_product_scales_matrix(A, x):
    """A * (A @ x)[0] via a local: CompilationError iadd(float64, array(float64, 2d))."""
    y = A @ x
    B = A * y[0]
    return np.sum(B * B)


@case((0, 1), (0.7, X4), (-0.7, X4))
def parameter_local_meets_array_in_branch(s, x):
    """t = math.sin(s), then v *= t inside an if (found as a parameter re-bound at the top and used
    in a branch): CompilationError Cannot unify float64 and array(float64, 1d, C) for 't_bar'.
    At the top level the same statement is right."""
    t = math.sin(s)
    v = x * 1.0
    if s > 0.0:
        v *= t
    return np.sum(np.sin(v))


# ---- write_after_whole_read ------------------------------------------------------------------
# An element write into a local array after a whole-array operation read it: the adjoint of
# that operation reads the array as the writes left it, not as it was read.

@case((0,), (X4,))
def write_after_product_read(x):
    """z = y * y, then y[1] = 2.0: srcgrad d/dx[1] = 2.1612 (uses y[1] = 2), exact
    2 sin(1) cos(1) = 0.9093."""
    y = np.sin(x)
    z = y * y
    y[1] = 2.0
    return np.sum(z) + np.sum(y)


@case((0,), (X4,))
def write_into_tanh_output(x):
    """tanh's derivative reads its output, which y[0] += 0.5 changed: srcgrad d/dx[0] = 0.0743,
    exact 1 - tanh(0.5)**2 = 0.7864."""
    y = np.tanh(x)
    y[0] += 0.5
    return np.sum(y)


@case((0,), (X4,))
def write_in_later_iteration(x):
    """np.sum(b * x) reads b, which a later iteration writes: srcgrad [3.5 6 10 16], exact
    [3 4 4 0]."""
    b = np.zeros(4)
    s = 0.0
    for i in range(4):
        s = s + np.sum(b * x)
        b[i] = x[i]
    return s


# ---- scalar_where ----------------------------------------------------------------------------
# np.where of scalars is a 0-d array in Numba, a NumPy scalar in CPython.

@case((0, 1), (0.7, X4), (-0.7, X4))
def return_scalar_where(s, x):
    """CompilationError: Cannot unify array(float64, 0d, C) and float64 for '_retval'."""
    if s > 0.0:
        return np.where(x[0] < s, x[1], s)
    return s * 2.0


@case((0, 1), (0.7, X4))
def math_of_scalar_where(s, x):
    """CompilationError: no implementation of math.tanh for the 0-d array."""
    t = np.where(x[0] < s, x[1], s)
    return math.tanh(t) * s


# ---- adjoint_alias ---------------------------------------------------------------------------
# An array sum gives its adjoint to a local array by reference (v_bar = w_bar) and to its other
# operand (_t_bar = w_bar); the in-place update v_bar += ... then changes _t_bar before it is read.

@case((0,), (X4,))
def sum_with_product_of_itself(x):
    """v + v * (v / (1.5 + np.cos(v))) (found as `v5 += v5 * (v5 / (1.5 + np.cos(...)))`):
    srcgrad [0.2711 0.2820 0.2637 0.1160], exact [0.2705 0.2795 0.2551 0.1004]."""
    v = 0.25 * x
    w = v + v * (v / (1.5 + np.cos(v)))
    return np.sum(np.tanh(w))


@case((0,), (X4,))
def augmented_add_of_product_of_itself(x):
    """u += u * np.sin(u): srcgrad [3.149 10.446 2.445 -0.764], exact [2.838 8.772 8.225 -4.614]."""
    u = x * 1.0
    u += u * np.sin(u)
    return np.sum(u * u)


@case((0,), (X4,))
def sum_of_two_locals(x):
    """t = u * np.sin(x); w = u + t: the same wrong gradient, across two statements."""
    u = x * 1.0
    t = u * np.sin(x)
    w = u + t
    return np.sum(w * w)


# ---- early_return_with_array_local -----------------------------------------------------------

@case((0, 1), (0.7, X4), (-0.5, X4))
def early_return_past_array_local(s, x):
    """CompilationError: Cannot unify float64 and array(float64, 1d, C) for 'v_bar'."""
    v = np.sin(x)
    if s > 0.0:
        return s * 2.0
    return np.sum(v * v)


@case((0, 1), (0.7, X4), (1.5, X4), (-0.5, X4))
def nested_early_return_after_update(s, x):
    """Found as a return nested in two ifs after `m1 += ...`: the same CompilationError."""
    v = np.sin(x)
    if s > 0.0:
        if s > 1.0:
            return s * 2.0
        v += x * s
    return np.sum(v * v)


# ---- vector_dot_is_array ---------------------------------------------------------------------

@case((0, 1), (0.7, X4))
def return_vector_dot(s, x):
    """NonScalarOutputError 'the function returns an array' (issue 15)."""
    t = s * x
    return t @ x


@case((0, 1), (0.7, X4), (-0.7, X4 * 1.25))
def return_vector_dot_after_early_return(s, x):
    """NonScalarOutputError, and its location names the first return (line 2 of the body),
    not the `x @ (x * x)` one."""
    if s <= 0.0:
        return s - np.minimum(x[1], 1.0)
    return x @ (x * x)


@case((0, 1), (0.7, X4))
def vector_dot_in_loop(s, y):
    """UnsupportedArrayUseError 'the array `_t` is re-assigned inside a loop and its value is
    needed by the derivative' for the scalar y @ y (found as `s1 = np.dot(y, y) ** 2` in a while)."""
    t = 0.0
    for i in range(3):
        t = t + np.dot(y, y) ** 2 * s
    return t


# ---- axis_minus_two --------------------------------------------------------------------------

@case((0,), (A34,))
def sum_axis_minus_two(A):
    """np.sum(A, axis=-2): srcgrad's gradient is constant along rows (axis -2 taken as 1), exact
    1 - tanh(colsum)**2 constant along columns: [0.915 1 0.915 0.712] in every row."""
    return np.sum(np.tanh(np.sum(A, axis=-2)))


@case((0, 1), (np.array([[0.3, 2.0, -1.0, 5.0]]), X4))
def sum_axis_minus_two_of_broadcast(r, x):
    """Found as `np.sum(np.minimum(r, x * x), axis=-2)` with r of shape (1, 4): srcgrad d/dx =
    [0.29 1.96 -0.98 4.89], exact [0.29 0.14 -0.07 0]."""
    return np.sum(np.tanh(np.sum(r * x, axis=-2)))


# ---- rebind_array_in_branch ------------------------------------------------------------------

@case((0, 1), (0.7, X4), (-0.7, X4))
def rebind_array_in_one_branch(s, x):
    """CompilationError: Cannot unify array(float64, 1d, C) and float64 for 'v_bar'."""
    v = x * 2.0
    if s > 0.0:
        v = x * s
    return np.sum(v * v)


@case((0, 1), (0.7, X4), (-0.7, X4))
def rebind_array_to_argument_in_branch(s, x):
    """Found as `v3 = x` in a branch, then `v3 = v3 - v3`: the same CompilationError."""
    v = x + x
    if s > 0.0:
        v = x
    v = v - v * s
    return np.sum(v * v)


# ---- mean_axis_of_expression, transpose_of_expression ----------------------------------------
# Refused, as located errors, with a message about indexing that the code does not do.

@case((0,), (A34,))
def mean_axis_of_product(A):
    """UnsupportedArrayUseError 'indexing the result of an expression' (np.sum(x, axis) / x.shape[axis]
    of the lowering)."""
    return np.sum(np.mean(A * A, axis=0) ** 2)


@case((0,), (A34,))
def transpose_of_product(A):
    """UnsupportedArrayUseError 'indexing the result of an expression' for `.T` (README: `.T` supported)."""
    return np.sum(np.tanh((A * 2.0).T @ A))


# ---- families srcgrad does not support yet, where it is silently wrong instead of refusing ----

@case((0,), (X4,))
def inplace_update_through_alias(x):
    """`old = w; w += x` changes `old` too (one object); srcgrad computes `w = w + x`: value 85.0
    instead of 191.25, gradient [4 8 16 32] instead of [9 18 36 72] (issue 22: NumPy's aliasing
    semantics; refusing would also do)."""
    w = x * 2.0
    old = w
    w += x
    return np.sum(old * old)


Y3 = np.array([0.3, -0.2, 0.9])


@case((0, 1), (0.7, Y3))
def linear_recurrence_on_array(s, y):
    """A loop re-binding an array linearly (nothing to save): CompilationError iadd(float64,
    array(float64, 1d, C)) instead of a gradient or a located refusal (issue 22: no crash)."""
    v = y * 1.0
    for i in range(3):
        v = v + 0.1 * s
    return np.sum(np.tanh(v))


@case((0, 1), (0.7, Y3))
def recurrence_saving_an_array_temporary(s, y):
    """0.5 * v + 0.5 * np.tanh(np.cos(y)) in a loop: CompilationError setitem(array(float64, 1d),
    int64, array(float64, 1d)) (an array pushed on the float stack), the crash issue 22 reports
    for an RNN."""
    v = np.zeros_like(y)
    for i in range(4):
        v = 0.5 * v + 0.5 * np.tanh(np.cos(y)) * s
    return np.sum(v * v)


A3 = np.array([[0.2, -0.4, 0.9], [1.1, 0.3, -0.6], [0.5, 0.8, -1.2]])


@case((0, 1), (Y3, A3))
def mean_axis_inside_a_where_condition(x, A):
    """np.mean(M, axis=1) < x[k] as np.where's condition, in a loop: CompilationError (the
    comparison was copied to Numba as written, and Numba's np.mean has no axis=).  Found by the
    CI fuzz run of stop 24 (Hypothesis seed 2254)."""
    s = 0.0
    for k in range(2):
        v = np.where(np.mean(np.dot(A.T @ A, A.T), axis=1) < x[k], x, A[2, :])
        s += np.sum(v * x)
    return s


def _h_cond(a):
    return a * a - 0.1


@case((0,), (Y3,))
def helper_and_max_axis_inside_an_if_condition(x):
    """A helper call and np.max(·, axis=0) in an `if` condition: refused with 'assign the
    helper's result to a variable first'; both are now lowered as any call is."""
    s = 0.0
    for i in range(3):
        if _h_cond(x[i]) > 0 and np.max(np.outer(x, x), axis=0)[i] > 0.05:
            s += x[i] ** 3
    return s


_M3 = np.array([[0.5, -0.2, 0.3], [0.1, 0.8, -0.4], [-0.3, 0.2, 0.6]])


@case((0,), (_M3,))
def carried_array_fortran_then_c_ordered(m):
    """`r = 0.5 * m.T` is F-ordered, `r @ m` C-ordered: the carried array had layout 'A', which
    the tape (a typed list of the first value's layout) could not take: a CompilationError
    (an AssertionError in Numba's cast; found through np.linalg.matrix_power(m, -1), whose
    LAPACK inverse is F-ordered).  Saved C-ordered now."""
    r = 0.5 * m.T
    for _ in range(2):
        r = r @ m
    return np.sum(r)


_M34 = np.array([[0.5, -0.2, 0.3, 0.9], [0.1, 0.8, -0.4, 0.2], [-0.3, 0.2, 0.6, -0.7]])


@case((0, 1), (_M34, 0.9))
def carried_array_typed_two_layouts_by_numba(A, s):
    """A CompilationError ("Don't know how to allocate array with layout 'A'", array fuzzer
    seeds 957, 973 and 1315 with --features all): `m` is F-ordered on entry and C-ordered after
    a trip, so Numba typed `m * s` (the temporary of `m *= s`) 'F' on its first pass and 'C'
    on the next, and an array expression cannot allocate the unified 'A'.  The carried value
    is typed 'A' from the start now (runtime.carried, no copy)."""
    m = 0.5 * A.T
    k = 0
    while k < 3:
        m *= s
        m = 0.5 * m + np.tanh(np.abs(m[0:4, 0:3]))
        k += 1
    return np.sum(m)


@case((0, 1), (np.array([[0.3, -0.6], [0.9, 0.4]]), 0.8))
def view_saved_after_its_rows_are_overwritten(A, s):
    """A silent wrong gradient: d/ds was 0.0414 for the exact 0.0460 (at A = ones, s = 0.8).
    `m[1, :] * s` reads the view `t = m[1, :]`, which the adjoint needs, and the write that
    follows changes it; the loop's tape pushed its blocks' saves at the end of the block, after
    the write.  Views that may share memory with a written array are copied onto the tape
    when they are made now."""
    m = 0.5 * A
    for t in range(2):
        m = m * 1.0
        m[1, :] = m[1, :] * s
    return np.sum(m)


@case((0, 1, 2), (-0.4736, np.array([0.47, -0.71, -1.96, 1.37]), np.array([[0.54, 1.71, -1.45, -1.45],
                                                                         [0.72, 1.25, 1.76, 0.81],
                                                                         [1.61, -0.46, 0.24, 0.54]])))
def tape_entry_changed_by_an_inplace_add_through_an_alias(s0, x, A):
    """A silent wrong gradient (array fuzzer seed 5649, all features): d/dA off by 13%.  The loop
    saves `v2` (the result of `**`, whose derivative reads it) on its tape by reference; after
    the loop `v6 = v2; v6 += ...` adds into that same array, so the adjoint read the changed
    values.  Arrays a later in-place write may reach are now saved as copies."""
    v2 = np.zeros(4)
    v2 += np.mean(A @ A.T @ A) + 0.25
    for i4 in range(len(v2)):
        v2 = (1.5 + np.sin(x)) ** np.tanh(v2)
        if i4 <= s0 * (s0 + 0.1):
            break
    v6 = v2
    v6 += 0.3
    return np.sum(np.sin(v2)) + np.sum(v2 * v2) - v6.sum()


@case((0,), (np.array([0.3, 0.5, 0.7, 0.4]),))
def inplace_add_after_a_loop_whose_power_result_was_saved(x):
    """The same defect, reduced: `v = x ** np.tanh(v)` saves v (the derivative of x ** y with
    respect to y reads the result); `v += 0.5` after the loop added into the last saved array.
    (Where the adjoint also reads the carried variable by name, as in `np.exp(v * x)`, the
    write was already undone before the loop's adjoint, and the gradient was right.)"""
    v = np.zeros(4) + 0.2
    for i in range(3):
        v = x ** np.tanh(v)
    v += 0.5
    return np.sum(v * v)


@case((0,), (np.array([0.6, 1.1, 1.7, 0.9]),))
def inplace_add_into_the_previous_iterations_saved_array(x):
    """The same defect inside the loop: `v += 1.0` at the top of an iteration writes into the
    array the previous iteration saved (the carried value is that array)."""
    v = np.zeros(4) + 0.2
    for i in range(3):
        v += 0.1
        v = x ** np.tanh(v)
    return np.sum(v * v)


# ---- reads_written_after_loops -----------------------------------------------------------------
# A loop reads an array's memory (through a view) and the memory is written after the loop: the
# adjoint must see what the loop read (tests/test_reads_after_loops.py has the hand-written
# cases of the fix, commit 3db724f; these two are the fuzzer's, found running the family against
# the commit before it, d268aa4).

@case((0, 1), (np.array([0.4, -0.9, 1.3]), 0.3))
def view_read_in_a_loop_written_through_another_view(y, s):
    """A silent wrong gradient (reduced from a reads_written_after_loops program): d/dy[1] was
    -3.8279 for the exact -1.3536, d/ds 1.6377 for 0.1382.  The read `a = z[0]` was made again in
    the adjoint, z being never written by name, after `w[0:2] += ...` (w = v[:-1]) changed z[0]."""
    v = np.sin(y) + s
    z = v[-2:]
    t = s
    k = 0
    while k < 4:
        k += 1
        a = z[0]
        t = t + a * t * a
    w = v[:-1]
    w[0:2] += w[0:2] * t
    return t


@case((0, 1), (A34, np.array([0.3, -0.2, 0.7, 1.1])))
def checkpointed_column_view_written_in_a_later_loop(A, x):
    """A silent wrong gradient (reduced from a reads_written_after_loops program): d/dA[1, 2] was
    1.6597 for the exact 0.5197, d/dx[0] 1.5213 for 0.2388.  The adjoint runs the checkpointed
    loop again, and its `v[1]` then read what the later loop wrote into m[1, 2]."""
    m = A * 1.0
    v = m[:, 2]
    s = 0.0
    for i in srcgrad.checkpoint(range(4), every=1):
        s = s + v[1] ** 2 * x[0]
    for j in range(3):
        v[j] = v[j] + np.mean(x)
    return s + np.mean(np.sin(v))
