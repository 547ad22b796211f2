"""The plain-Python target (codegen/python_target.py): the generated derivative run by the
interpreter, for pdb.  It must compute what the compiled derivative computes, which central
differences check over both corpora, and the compiled target directly on loops, tapes and the
values where Python raises and compiled code gives inf or NaN."""
import math
import os
import sys

import numpy as np
import pytest

import srcgrad
from benchmarks import array_loops as w
from srcgrad.testing import numerical_grad

from .. import corpus_numpy as C
from .. import npcheck as nc
from ..test_corpus import _args, cases


@pytest.mark.parametrize("fn,point", list(cases()))
def test_scalar_corpus_matches_central_differences(fn, point):
    args, nums = _args(fn, point)
    value, grads = srcgrad.value_and_grad(fn, argnums=nums, target="python")(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-12, atol=1e-12)
    for g, n in zip(grads, numerical_grad(fn, args, nums)):
        np.testing.assert_allclose(g, n, rtol=2e-5, atol=2e-6)


SCALAR_ENTRIES = [e.name for e in C.ENTRIES if C.output_kind(e) == "scalar"]


@pytest.mark.parametrize("name", SCALAR_ENTRIES)
def test_numpy_corpus_matches_central_differences(name):
    """NumPy as people write it (tests/corpus_numpy.py); what the compiled target refuses, this one
    refuses alike (the passes are the same)."""
    e = C.BY_NAME[name]
    args = C.make_inputs(e)
    kw = {"has_aux": True} if e.has_aux else {}
    try:
        _, grads = srcgrad.value_and_grad(e.fn, argnums=e.argnums, target="python", **kw)(*nc.fresh(args))
    except srcgrad.LocatedError as exc:
        assert C.run(name, "grad").kind == nc.REFUSED, exc
        return
    C._check_grads(e, args, grads, C._nums(e))


def loop_with_stacks(a, b):
    s = 0.0
    k = 0
    while s < 20.0 and k < 50:
        if k % 3 == 0:
            s = s + math.exp(a * 0.1 * k)
        else:
            s = s * b + math.sin(a)
        k += 1
    return s * a


@pytest.fixture
def short_loops(monkeypatch):
    # module-level step counts are constants of the derivative (part of its cache key)
    monkeypatch.setattr(w, "STEPS_HEAT", 7)
    monkeypatch.setattr(w, "STEPS_OSC", 9)


def test_same_numbers_as_the_compiled_target(short_loops):
    """Number stacks (a while loop with branches) and tapes of arrays (loops carrying arrays):
    both targets run the same code, so they agree to rounding (NumPy's and Numba's sums may
    add in different orders)."""
    rng = np.random.default_rng(5)
    cases = [(loop_with_stacks, (0.7, 1.3), (0, 1)),
             (w.heat, (rng.standard_normal(8), 0.2), (0, 1)),
             (w.oscillator, (rng.standard_normal(5), 2.0, 0.3), (0, 1, 2))]
    for fn, args, nums in cases:
        vp, gp = srcgrad.value_and_grad(fn, argnums=nums, target="python")(*args)
        vn, gn = srcgrad.value_and_grad(fn, argnums=nums)(*args)
        assert vp == pytest.approx(vn, rel=1e-13)
        for a, b, n in zip(gp, gn, numerical_grad(fn, list(args), nums)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)
    x = rng.standard_normal(8)
    sizes = [srcgrad.grad(w.heat, argnums=(0, 1), target=t).tape_size(x, 0.2) for t in ("python", "numba")]
    assert sizes[0] == sizes[1] > 0 and sizes[0].parts == sizes[1].parts


def root(x):
    return math.sqrt(x)


def log_or_square(x, y):
    if x > 0.0:
        return math.log(y) * x
    return x * x


def test_numbers_python_raises_on_are_the_compiled_ones():
    """Compiled code uses NumPy's error model: d sqrt(x) at 0 is inf; log(y) at y=0 is -inf and
    its partial 1/y inf.  Python's floats would raise ZeroDivisionError and ValueError there."""
    for fn, args, nums in [(root, (0.0,), (0,)), (log_or_square, (1.0, 0.0), (0, 1)),
                           (log_or_square, (-1.0, 0.0), (0, 1))]:
        vp, gp = srcgrad.value_and_grad(fn, argnums=nums, target="python")(*args)
        vn, gn = srcgrad.value_and_grad(fn, argnums=nums)(*args)
        assert vp == vn or (math.isnan(vp) and math.isnan(vn))
        np.testing.assert_array_equal(gp, gn)
    assert srcgrad.grad(root, target="python")(0.0) == math.inf
    assert srcgrad.grad(log_or_square, argnums=1, target="python")(1.0, 0.0) == math.inf   # 1/y * x


def test_results_are_python_floats_like_the_compiled_ones():
    v, g = srcgrad.value_and_grad(loop_with_stacks, argnums=(0, 1), target="python")(0.7, 1.3)
    assert type(v) is float and all(type(x) is float for x in g)


def test_the_generated_lines_run_in_the_interpreter(tmp_path):
    """What pdb needs: the derivative's code objects come from the generated file, and tracing
    a call visits its forward and adjoint lines."""
    gf = srcgrad.grad(loop_with_stacks, argnums=(0, 1), target="python")
    gf(0.7, 1.3)
    mod = gf.module()
    path = mod.__file__
    assert os.path.isfile(path) and mod.loop_with_stacks_vjp.__code__.co_filename == path
    assert "numba" not in gf.source
    seen = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename == path and event == "line":
            seen.append(frame.f_lineno)
        return tracer

    sys.settrace(tracer)
    try:
        gf(0.7, 1.3)
    finally:
        sys.settrace(None)
    lines = gf.source.splitlines()
    visited = {lines[n - 2].strip() for n in seen}    # the file's first line is its checksum
    assert any("_bar" in text for text in visited)                   # the adjoint sweep
    assert any("math.exp" in text for text in visited)               # the forward sweep


def test_unknown_target_and_kernel_are_refused():
    with pytest.raises(srcgrad.SrcgradError, match="unknown target 'cuda'.*'numba'.*'python'"):
        srcgrad.grad(root, target="cuda")
    with pytest.raises(srcgrad.SrcgradError, match="unknown target"):
        srcgrad.grad(root, target="../x")
    with pytest.raises(srcgrad.SrcgradError, match="target='python'.*not compiled"):
        srcgrad.grad(root, target="python").kernel


def test_debug_stops_in_the_generated_code_and_returns_the_result(monkeypatch, capsys):
    """`g.debug(*args)` of a compiled gradient: pdb at the generated wrapper, `c` to the fused
    function's first line, the user's names there; the result is the compiled one's."""
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("c\nn\nn\nn\np k\nc\n"))
    g = srcgrad.grad(loop_with_stacks, argnums=(0, 1))
    out = g.debug(0.7, 1.3)
    assert out == pytest.approx(g(0.7, 1.3), rel=1e-13)
    text = capsys.readouterr().out
    assert "loop_with_stacks_grad()" in text and "loop_with_stacks_vjp()" in text
    assert "-> s = 0.0" in text and "(Pdb) 0\n" in text      # stepped past `k = 0`, printed it


def test_debug_of_has_aux_returns_the_pair(monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO("c\nc\n"))
    g = srcgrad.grad(loss_and_aux, has_aux=True)
    (grad, aux) = g.debug(1.5)
    assert grad == pytest.approx(2 * 1.5) and aux == pytest.approx(1.5 + 1.0)


def loss_and_aux(x):
    return x * x, x + 1.0
