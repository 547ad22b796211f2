"""What a new user meets in the first hour (issue 20): every message is read by a test.

The command line's messages are in tests/codegen/test_cache_env.py.  `core(reason)` marks a wanted
behaviour the compiler core does not have yet (strict xfail: it must be unmarked once it does).
"""
import doctest
import inspect
import math
import sys

import numba
import numpy as np
import pytest

import srcgrad
from srcgrad import testing


def sin_times(x, y):
    return math.sin(x) * y


def core(reason):
    return pytest.mark.xfail(strict=True, reason=f"core: {reason}")


# ---------------------------------------------------------------- vectorize: arguments
@pytest.fixture(scope="module")
def dsin():
    return srcgrad.vectorize(srcgrad.grad(sin_times))


def test_vectorize_takes_lists_and_tuples_as_numpy_ufuncs_do(dsin):
    """It used to raise `TypeError: Field elements must be 2- or 3-tuples`."""
    want = np.cos([0.1, 0.2]) * 2.0
    np.testing.assert_allclose(dsin([0.1, 0.2], 2.0), want, rtol=1e-15)
    np.testing.assert_allclose(dsin((0.1, 0.2), 2.0), want, rtol=1e-15)
    np.testing.assert_allclose(dsin(0.3, [1.0, 2.0]), np.cos(0.3) * np.array([1.0, 2.0]), rtol=1e-15)


@pytest.mark.parametrize("bad, message", [
    ("a", "argument 0 (x) of sin_times is str 'a'; pass a number or an array of numbers"),
    (None, "argument 0 (x) of sin_times is NoneType None; pass a number or an array of numbers"),
    ([0.1, "x"], "argument 0 (x) of sin_times is a list holding <U32 values, not numbers"),
    ([[0.1, 0.2], [0.3]], "argument 0 (x) of sin_times is a list that is not a rectangular array of numbers"),
    ({"x": 1.0}, "argument 0 (x) of sin_times is a dict holding object values, not numbers"),
])
def test_vectorize_says_which_argument_is_not_numbers(dsin, bad, message):
    with pytest.raises(TypeError) as exc:
        dsin(bad, 2.0)
    assert message in str(exc.value)


def test_vectorize_out_of_the_wrong_shape_names_both_shapes():
    v = srcgrad.vectorize(sin_times)
    with pytest.raises(ValueError, match=r"could not be broadcast together with shapes \(3,\) and out= \(4,\)"):
        v(np.ones(3), 1.0, out=np.ones(4))


# ---------------------------------------------------------------- vectorize: what it takes
def test_vectorize_refuses_what_is_not_a_scalar_function():
    cases = [
        (np.sin, "np.sin is already a NumPy ufunc: call it directly"),
        ([1.0, 2.0], "srcgrad.vectorize needs a function, got list [1.0, 2.0]"),
        (math.sin, "needs a Python function (def) or a numba.njit one, got builtin_function_or_method 'sin'"),
        (srcgrad.jacobian(sin_times), "`jacobian_sin_times` comes from srcgrad"),
        (srcgrad.hessian(sin_times), "pass srcgrad.grad(srcgrad.grad(f))"),
    ]
    for fn, message in cases:
        with pytest.raises(srcgrad.SrcgradError) as exc:
            srcgrad.vectorize(fn)
        assert message in str(exc.value), (fn, str(exc.value))


@pytest.mark.parametrize("options, message", [
    (dict(block=0), "block must be a positive number of elements, got 0"),
    (dict(block=2.5), "block must be a positive number of elements, got 2.5"),
    (dict(threads="a"), "threads must be None (all of Numba's threads) or a positive int, got 'a'"),
    (dict(threads=0), "threads must be None (all of Numba's threads) or a positive int, got 0"),
])
def test_vectorize_options_are_checked_when_given(options, message):
    with pytest.raises(ValueError) as exc:
        srcgrad.vectorize(sin_times, **options)
    assert message in str(exc.value)


def test_vectorize_of_a_lambda():
    """A lambda's name `<lambda>` used to end up in the generated driver (SyntaxError)."""
    v = srcgrad.vectorize(lambda x: x * 2.0 + 1.0)
    np.testing.assert_array_equal(v(np.array([0.0, 1.5])), [1.0, 4.0])


def test_vectorize_docstring_example_runs():
    result = doctest.DocTestRunner(verbose=False)
    for test in doctest.DocTestFinder().find(srcgrad.vectorize, "vectorize", globs={}):
        result.run(test)
    assert result.summarize(verbose=False).failed == 0 and result.tries > 0


# ---------------------------------------------------------------- check_grad
def test_check_grad_of_a_numba_function_and_of_list_arguments():
    @numba.njit
    def cube_sum(x):
        return np.sum(x * x * x)

    g = testing.check_grad(cube_sum, [1.0, 2.0])          # its py_func is differentiated
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-12)


def test_check_grad_docstring_example_and_its_mismatch_table():
    runner = doctest.DocTestRunner(verbose=False)
    for test in doctest.DocTestFinder().find(testing.check_grad, "check_grad", globs={"check_grad": testing.check_grad}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0 and runner.tries > 0

    def cube(x):
        return x * x * x

    with pytest.raises(srcgrad.GradientCheckError) as exc:     # a step so big that CD is off
        testing.check_grad(cube, 1.0, eps=0.5)                 # ((1.5^3 - 0.5^3) / 1 = 3.25)
    lines = str(exc.value).splitlines()
    assert lines[0] == "gradient check failed for test_check_grad_docstring_example_and_its_mismatch_table.<locals>.cube (rtol=1e-05, atol=1e-07):"
    assert lines[1].split() == ["argument", "index", "srcgrad", "central", "diff", "abs", "err", "rel", "err"]
    assert lines[2].split() == ["x", "3", "3.25", "0.25", "0.0769", "<--", "mismatch"]


def test_rule_decorators_name_what_they_need():
    with pytest.raises(TypeError, match="arity"):
        srcgrad.defvjp(numba.njit(lambda x: x))    # an array rule must say how many arguments


# ---------------------------------------------------------------- examples
@pytest.mark.parametrize("name", ["activations", "mlp", "lennard_jones", "rosenbrock_scipy"])
def test_examples_without_matplotlib_skip_their_plot(name, monkeypatch, capsys):
    from .test_examples import load_example
    save_plot = load_example(name).save_plot
    monkeypatch.setitem(sys.modules, "matplotlib", None)       # `import matplotlib` fails
    assert save_plot(*[None] * len(inspect.signature(save_plot).parameters)) is False
    assert capsys.readouterr().out == "no plot: matplotlib is not installed (pip install matplotlib)\n"


# ---------------------------------------------------------------- core messages
def test_missing_rule_points_at_srcgrad_partials():
    def f(x):
        return math.gamma(x)

    with pytest.raises(srcgrad.NoDerivativeRuleError) as exc:
        srcgrad.grad(f)(2.5)
    text = str(exc.value)
    assert "srcgrad.partials" in text and "planned" not in text and "issue #9" not in text


def squares(x):
    return np.sum(x * x)


def test_a_list_argument_is_a_type_error():
    with pytest.raises(TypeError, match=r"argument 0 \(x\) is a list.*NumPy array"):
        srcgrad.grad(squares)([1.0, 2.0])


def times_count(x, n):
    return x * x * n


def test_a_string_argument_is_named():
    with pytest.raises(TypeError, match=r"argument 0 \(x\) is a str"):
        srcgrad.grad(times_count)("1.0", 2)


def smoothed(u0):
    u = u0.copy()
    u[1:-1] = 0.5 * (u[2:] + u[:-2])
    return np.sum(u * u)


def test_source_before_a_call_of_an_array_function_says_how_to_get_it():
    """`.source` before any call is generated for numbers: for a function of arrays that fails
    (here on `u0.copy()`) the error says so and how to get the source for arrays."""
    g = srcgrad.grad(smoothed)
    with pytest.raises(srcgrad.SrcgradError, match=r"(?s)before any call is generated for numbers.*"
                       r"call it once, or use `\.source_for.*:\d+:\d+: the method `\.copy\(\)` of a number"):
        g.source
    x = np.linspace(0.0, 1.0, 6)
    assert "u = u0.copy()" in g.source_for(x)
    g(x)
    assert g.source == g.source_for(x)


def test_a_none_argument_is_named():
    with pytest.raises(TypeError, match=r"argument 0 \(x\) is None"):
        srcgrad.grad(times_count)(None, 2)


def test_grad_of_a_numba_function_differentiates_its_python_source():
    @numba.njit
    def cube(x):
        return x * x * x

    assert srcgrad.grad(cube)(2.0) == 12.0


def method_sum(x):
    return (x ** 2).sum()


def test_an_array_method_works_or_names_the_function_to_use():
    x = np.array([1.0, -2.0, 3.0])
    try:
        got = srcgrad.grad(method_sum)(x)
    except srcgrad.UnsupportedSyntaxError as exc:
        assert ".sum()" in str(exc) and "np.sum(" in str(exc), str(exc)
    else:
        np.testing.assert_allclose(got, 2 * x, rtol=1e-15)


def _params(fn):
    return list(inspect.signature(fn).parameters)


CORE_SIGNATURES = {
    "grad": ["fun", "argnums", "has_aux"],
    "value_and_grad": ["fun", "argnums", "has_aux"],
    "jvp": ["fun", "primals", "tangents"],
    "jacobian": ["fun", "argnums"],
    "hessian": ["fun", "argnums"],
    "hvp": ["fun", "argnums"],
}


@pytest.mark.parametrize("name", sorted(CORE_SIGNATURES))
def test_public_functions_have_signatures_type_hints_and_an_example(name):
    _check_public(name, CORE_SIGNATURES[name])


@pytest.mark.parametrize("name, params", [("vectorize", ["fn", "parallel", "threads", "block", "simd_math"]),
                                          ("check_grad", ["f", "args", "argnums", "rtol", "atol", "eps"])])
def test_public_functions_outside_the_core_have_signatures_type_hints_and_an_example(name, params):
    _check_public(name, params)


def _check_public(name, params):
    fn = getattr(srcgrad, name)
    assert fn.__name__ == name
    assert _params(fn)[:len(params)] == params
    hints = inspect.signature(fn)
    assert any(p.annotation is not inspect.Parameter.empty for p in hints.parameters.values())
    assert ">>>" in (fn.__doc__ or ""), f"{name}'s docstring has no example"


_NOTICE_SCRIPT = """
import numpy as np, srcgrad, srcgrad.codegen.derivative
srcgrad.codegen.derivative.NOTICE_AFTER = 0.0           # say it at once (a real first call waits one second)
def f(x):
    return np.sum(np.sin(x) * x)
print(srcgrad.grad(f)(np.ones(3))[0])
"""


@pytest.mark.parametrize("quiet", ["", "1"])
def test_a_slow_first_call_says_it_is_compiling_unless_quiet(tmp_path, quiet):
    import os
    import subprocess
    script = tmp_path / "first_call.py"
    script.write_text(_NOTICE_SCRIPT)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"), SRCGRAD_QUIET=quiet)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == pytest.approx(np.sin(1.0) + np.cos(1.0))
    said = [line for line in done.stderr.splitlines() if line.startswith("srcgrad: compiling")]
    if quiet:
        assert said == [], done.stderr
    else:
        assert said == ["srcgrad: compiling the derivative of f for (1-D float array) with Numba; only the "
                        "first call for these argument types waits (the result is cached on disk for later "
                        "processes)"], done.stderr
