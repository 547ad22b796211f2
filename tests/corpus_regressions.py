"""Regression corpus: every failure the fuzzer (tests/fuzz) or the reliability tests found,
reduced to a plain function.

Each function is checked by tests/fuzz/test_regressions.py: srcgrad's value equals Python's and
its gradient matches central differences at the listed inputs.  The docstring says what went
wrong before the fix.
"""
import functools
import math

import numpy as np


def array_read_only_in_condition(x, a):
    """`a` is only read inside a condition: its gradient came back as the scalar 0.0, not zeros(4)."""
    if a[1] > x:
        return x
    return 2.0 * x


def unused_array_argument(x, a):
    """An array argument never used: its gradient came back as 0.0, not an array of its shape."""
    return 2.0 * x


def nested_if_return(x):
    """A return in an if nested in another if (no loop): refused with `_retval is not defined`."""
    if x <= 2.0:
        if x > 1.0:
            return x * x
    return 2.0 * x


def nested_if_return_else(x):
    """The same with an else branch that falls through."""
    if x > 0.0:
        if x > 1.0:
            return x * x
        else:
            t = 1.0
    return 2.0 * x


def return_in_loop_then_return_in_if(x0, x1):
    """A function returning from a while loop and later from an if: the later return did not set
    the returned-flag, so the final `return 0.25` overwrote it (silent wrong value)."""
    if x1 < 0.0:
        k = 0
        while k < 3 and x1 >= x0:
            k += 1
            return 3.0 * x0
        if x1 > -1.0:
            return 2.0 * x0 * x1
    return 0.25


def fuzz_seed57(x0, x1, x2, a):
    """The program the fuzzer found (CI seed 57) that exposed return_in_loop_then_return_in_if."""
    s1 = x1
    buf = np.zeros(4)
    s1 *= (0.5 + 0.5 * math.tanh(((-s1) + ((x1 if (-0.7) > (math.tanh(s1) ** 3) else x1) * 2.0))))
    if (a[3]) < (s1):
        buf[0] = x2
    else:
        k2 = 0
        while k2 < 3 and ((-s1)) >= (x0):
            k2 += 1
            t3 = (((x2 - x1) * math.cos(k2)) - (-x1))
            return (-a[k2 - 1])
        if not ((math.tanh(-0.7) ** 3) >= ((x1 * s1))):
            return math.tanh(math.sin(s1))
    s1 -= (-1.25 ** 2)
    return (0.5 ** 2)


def swap_in_loop(x, y):
    """Loop-carried copies were sequential: `x, y = y, x` in a loop lost one value (fuzz seed 1087)."""
    for i in range(3):
        x, y = y, x
    return x + 2.0 * y


def swap_via_temp_in_while(x, y):
    """The same swap through a temporary, in a while loop."""
    k = 0
    while k < 3:
        k += 1
        t = x
        x = y
        y = t
    return x + 2.0 * y


def rotate_in_loop(x, y, z):
    """A three-way rotation of carried values."""
    for i in range(2):
        x, y, z = y, z, x
    return x + 2.0 * y + 4.0 * z


def nonlinear_exchange_with_break(x, y):
    """Carried values feeding each other, with a loop exit."""
    for i in range(4):
        x, y = y, x * 1.5 + math.sin(y)
        if x > 5.0:
            break
    return x * y + y


def swap_local_arrays(x):
    """Swapping local arrays in a loop and writing into the current one."""
    b = np.zeros(2)
    c = np.zeros(2)
    b[0] = x
    c[0] = 2.0 * x
    for i in range(3):
        b, c = c, b
        b[1] = b[1] + b[0] * x
    return b[1] + 3.0 * c[1] + b[0]


def _double(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


@_double
def decorated(x):
    """A functools.wraps decorator: srcgrad read the undecorated source (value x*x, not 2*x*x)."""
    return x * x


def calls_decorated(x):
    """The decorated function called as a helper."""
    return decorated(x) + math.sin(x)



def product_of_carried_value_in_branch(y, w, n):
    """A product of a loop-carried value, computed in an `if` inside the loop: the adjoint
    recomputed it from the carried value without restoring that value, so it read the value of
    the last iteration (w's gradient was 25% off)."""
    s = 0.0
    for i in range(n):
        if s < 100.0:
            t = (2.0 * y) * w
            s = s + t
        y = y * 0.9 + 0.1 * s
    return s


def product_of_outer_carried_value_in_inner_loop(y, w, n):
    """The same with the product in an inner loop, and a while loop outside."""
    s = 0.0
    i = 0
    while i < n:
        for j in range(2):
            t = (2.0 * y) * w
            s = s + t * 0.1
        y = y * 0.9 + 0.1 * s
        i += 1
    return s

def constant_false_condition_before_and(x0, x1, a):
    """Fuzz seed 7121: `0.5 <= s5 and ...` with s5 = 0 was left to Numba, which pruned the
    constant half and left the branch's variables undefined (a CompilationError).  Python's
    short circuit now folds it while lowering."""
    s5 = 0
    s6 = x1
    if 0.5 <= s5 and x1 < 3.0:
        return x1 * a[1]
    for i in range(3):
        s5 = x1 * x1
        s6, s5 = s5, s6
        if s5 >= a[0]:
            break
    return math.sin(x0 * s6)


def constant_true_condition_before_or(x0, x1):
    """The same short circuit through `or`: the branch is always taken."""
    s5 = 0
    if 0.5 > s5 or x1 < 3.0:
        return x1 * x0
    return math.sin(x1)


A4 = np.array([-1.2497446879659204, -0.06989770439637955, 1.794905125668996, 1.8447707276029552])

# (function, argnums, list of argument tuples)
CASES = [
    (array_read_only_in_condition, (0, 1), [(0.5, np.ones(4)), (1.5, np.ones(4))]),
    (unused_array_argument, (0, 1), [(0.5, np.ones(3))]),
    (nested_if_return, 0, [(0.5,), (1.5,), (2.5,), (-0.5,)]),
    (nested_if_return_else, 0, [(0.5,), (1.5,), (-0.5,)]),
    (return_in_loop_then_return_in_if, (0, 1), [(0.1, 0.5), (-0.5, -0.3), (-0.2, -0.3), (-0.2, -1.3)]),
    (swap_in_loop, (0, 1), [(1.0, 10.0), (-0.3, 0.7)]),
    (swap_via_temp_in_while, (0, 1), [(1.0, 10.0)]),
    (rotate_in_loop, (0, 1, 2), [(1.0, 10.0, 100.0)]),
    (nonlinear_exchange_with_break, (0, 1), [(1.0, 2.0), (3.0, 4.0), (0.2, 0.1)]),
    (swap_local_arrays, 0, [(0.7,), (-1.3,)]),
    (decorated, 0, [(1.0,), (-0.4,)]),
    (calls_decorated, 0, [(1.0,)]),
    (fuzz_seed57, (0, 1, 2, 3), [(0.9053577430009088, -0.836505738271248, -0.6516900070708238, A4),
                                 (-0.3, 0.4, 0.2, A4)]),
    (product_of_carried_value_in_branch, (0, 1), [(0.4, 0.2, 6), (1.5, -0.7, 3)]),
    (product_of_outer_carried_value_in_inner_loop, (0, 1), [(0.4, 0.2, 6), (1.5, -0.7, 3)]),
    (constant_false_condition_before_and, (0, 1, 2), [(1.6, 1.2, A4), (0.3, -0.7, A4)]),
    (constant_true_condition_before_or, (0, 1), [(1.6, 1.2), (0.3, 4.5)]),
]
