"""passes/inline.py: element-wise array temporaries of the forward sweep written back into the
expression that reads them. Each case is checked against central differences (the oracle) and
on the generated code: what went, what stayed and why."""
import re

import numpy as np
import pytest

import srcgrad
from tests.arraycheck import check_reverse


def damped(u, k, c):
    """With k an array of one element, the fused adjoint's shape check fails and its fallback
    runs, which computes again the temporaries the forward sweep wrote into their readers."""
    v = np.zeros_like(u)
    for t in range(6):
        a = -k * u - c * v
        v = v + 0.05 * a
        u = u + 0.05 * v
    return np.sum(u * u)


def written_between(u, c):
    """A write between a temporary and its reader: the temporary stays where it was (`a` is not
    differentiated, so the adjoint never reads it, and only the write keeps it in place)."""
    w = c.copy()
    s = 0.0
    for t in range(4):
        a = w * 0.5
        w[0] = w[1] + 1.0
        b = a + u
        s = s + np.sum(b * b)
    return s


def value_read(x, c):
    """sin(x)'s value is read by the adjoint (d(sin(x) * y)/dy): it is saved, not inlined."""
    s = 0.0
    y = x * 1.0
    for t in range(3):
        y = np.sin(x * c) * y + 0.1
        s = s + np.sum(y)
    return s


def across_dims(M, v):
    """A 2-D temporary from a 1-D array: broadcasting across dimensions stays as it was."""
    s = 0.0
    for t in range(3):
        a = M * v
        b = a * 0.5 + M
        s = s + np.sum(b * b)
        v = v * 0.9
    return s


def heat(u0, alpha):
    u = u0.copy()
    for t in range(5):
        u[1:-1] = u[1:-1] + alpha * (u[2:] - 2.0 * u[1:-1] + u[:-2])
    return np.sum(u * u)


def _forward(src: str) -> str:
    return src.split("# adjoint sweep")[0]


def _rng():
    return np.random.default_rng(11)


CASES = {
    "damped": (damped, lambda r: (r.standard_normal(7), 2.0, 0.3), (0, 1, 2)),
    "damped_broadcast": (damped, lambda r: (r.standard_normal(6), np.array([1.5]), 0.2), (0, 1, 2)),
    "written_between": (written_between, lambda r: (r.standard_normal(5), r.standard_normal(5)), (0,)),
    "value_read": (value_read, lambda r: (r.standard_normal(4), 0.8), (0, 1)),
    "across_dims": (across_dims, lambda r: (r.standard_normal((3, 4)), r.standard_normal(4)), (0, 1)),
    "heat": (heat, lambda r: (r.standard_normal(9), 0.2), (0, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_matches_central_differences(name):
    fn, make, argnums = CASES[name]
    check_reverse(fn, make(_rng()), argnums)


def test_python_target_agrees():
    fn, make, argnums = CASES["damped_broadcast"]
    args = make(_rng())
    compiled = srcgrad.grad(fn, argnums=argnums)(*args)
    interpreted = srcgrad.grad(fn, argnums=argnums, target="python")(*args)
    for a, b in zip(compiled, interpreted):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_loop_body_is_one_expression_per_carried_array():
    fn, make, argnums = CASES["damped"]
    src = srcgrad.grad(fn, argnums=argnums).source_for(*make(_rng()))
    fwd = _forward(src)
    # the primal's three statements make two arrays a trip (a went into v's update)
    assert re.search(r"v_\d+ = v_\d+ \+ 0\.05 \* \(_t \* u_\d+ - c \* v_\d+\)", fwd), fwd
    assert not re.search(r"^\s+a = ", fwd, re.M)
    # the fused adjoint checks the arrays a was computed from, and its fallback computes a again
    adjoint = src.split("# adjoint sweep")[1].split("for _k in range(")[1]      # the loop's
    check = re.search(r"if _shape == (.*):", adjoint).group(1)
    assert "a.shape" not in check and "u_1.shape" in check and "v_1.shape" in check
    fallback = adjoint.split("else:")[1]
    assert "for their shapes only" in fallback and re.search(r"^\s+a = _t_1 - _t_2$", fallback, re.M)


def test_temporaries_the_adjoint_reads_or_a_write_separates_stay():
    fn, make, argnums = CASES["written_between"]
    fwd = _forward(srcgrad.grad(fn, argnums=argnums).source_for(*make(_rng())))
    # `a = w * 0.5` is computed before `w[0] = ...` overwrites an element it reads
    assert fwd.index("a = w * 0.5") < fwd.index("w[0] = ")
    fn, make, argnums = CASES["across_dims"]
    fwd = _forward(srcgrad.grad(fn, argnums=argnums).source_for(*make(_rng())))
    assert re.search(r"^\s+a = M \* v", fwd, re.M)


def test_heat_step_keeps_only_the_saved_temporary():
    fn, make, argnums = CASES["heat"]
    fwd = _forward(srcgrad.grad(fn, argnums=argnums).source_for(*make(_rng())))
    body = fwd.split("for t in range(5):")[-1].split("# return")[0]
    computed = re.findall(r"^\s+(_t_\d+) = (?!u\[)", body, re.M)
    assert len(computed) == 2, body        # the saved stencil, and the right-hand side the write copies
