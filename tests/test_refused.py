"""Every construct outside srcgrad's subset is refused with a located, actionable error.

For each case: the error derives from srcgrad.SrcgradError, `exc.loc` points at this file and
at the line of the offending construct (found by its marker comment `# <- here`), the message
names the construct, and the hint says what to write instead.
"""
import inspect
import math

import numpy as np
import pytest

import srcgrad


def line_of(func, marker="# <- here"):
    func = {"calls_module_lambda": square}.get(getattr(func, "__name__", ""), func)  # refused at the lambda
    lines, first = inspect.getsourcelines(func)
    hits = [first + k for k, text in enumerate(lines) if marker in text]
    assert len(hits) == 1, f"{func.__name__}: expected one marker"
    return hits[0]


class Point:
    def __init__(self, w):
        self.w = w


POINT = Point(2.0)
COUNTER = 0.0


# ---------------------------------------------------------------------- the refused functions
def uses_try(x):
    try:  # <- here
        y = math.log(x)
    except ValueError:
        y = 0.0
    return y


def uses_with(x):
    with open("/dev/null"):  # <- here
        y = x * 2.0
    return y


def uses_lambda(x):
    sq = lambda v: v * v  # <- here  # noqa: E731
    return sq(x)


square = lambda v: v * v  # <- here  # noqa: E731


def calls_module_lambda(x):
    return square(x) + x


class Model:
    def __init__(self, w):
        self.w = w

    def loss(self, x):  # <- here
        return self.w * x * x


bound_method = Model(2.0).loss


def uses_listcomp(x):
    ys = [x * k for k in range(3)]  # <- here
    return ys[0]


def uses_genexp(x):
    return sum(x * k for k in range(3))  # <- here


def uses_setcomp(x):
    s = {x * k for k in range(3)}  # <- here
    return x


def uses_dictcomp(x):
    d = {k: x for k in range(3)}  # <- here
    return x


def uses_global(x):
    global COUNTER  # <- here
    return x + COUNTER


def make_nonlocal():
    v = 1.0

    def uses_nonlocal(x):
        nonlocal v  # <- here
        return x * v
    return uses_nonlocal


uses_nonlocal = make_nonlocal()


def uses_class(x):
    class Local:  # <- here
        pass
    return x


def uses_attribute(x):
    return POINT.w * x  # <- here


def uses_string(x):
    s = "abc"  # <- here
    return x


def uses_fstring(x):
    s = f"{x}"  # <- here
    return x


def uses_yield(x):
    yield x * 2.0  # <- here


async def uses_async(x):  # <- here
    return x * 2.0



def uses_varargs(x, *rest):  # <- here
    return x


def uses_kwargs(x, **opts):  # <- here
    return x


def recursive(x, n):
    if n <= 0:
        return x
    return recursive(x * 0.5, n - 1)  # <- here


def no_rule(x):
    return math.gamma(x)  # <- here


def calls_sort(a):
    b = np.sort(a)  # <- here
    return b[0]


def returns_tuple(x):
    return x, 2.0 * x  # <- here


def returns_tuple_var(x):
    t = (x, 2.0 * x)
    return t  # <- here


def returns_array(x):
    return x * 2.0  # <- here


def carries_array_through_loop(x, n):
    s = x * 1.0
    for i in range(n):
        s = s * x      # a product the adjoint needs: saved once per iteration
    return s  # <- here


def returns_local_array(x):
    b = np.zeros(3)
    b[0] = x
    return b  # <- here


def int_as_range_bound(x, n):
    s = 0.0
    for i in range(n):  # <- here
        s = s + x
    return s


def int_as_index(a, k):
    return a[k] * 2.0  # <- here


def mutates_argument(a):
    a[0] = 1.0  # <- here
    return a[0] + a[1]


# ---------------------------------------------------------------------- the table
# (function, argnums, arguments, error class, words the message must contain)
X = 0.7
A = np.array([0.5, 1.5, 2.5])
CASES = [
    (uses_try, 0, (X,), srcgrad.UnsupportedSyntaxError, "try"),
    (uses_with, 0, (X,), srcgrad.UnsupportedSyntaxError, "with"),
    (uses_lambda, 0, (X,), srcgrad.UnsupportedSyntaxError, "lambda"),
    (square, 0, (X,), srcgrad.UnsupportedSyntaxError, "lambda"),
    (calls_module_lambda, 0, (X,), srcgrad.UnsupportedSyntaxError, "lambda"),
    (bound_method, 0, (X,), srcgrad.UnsupportedSyntaxError, "bound method"),
    (uses_listcomp, 0, (X,), srcgrad.UnsupportedSyntaxError, "list comprehension"),
    (uses_genexp, 0, (X,), srcgrad.UnsupportedSyntaxError, "generator expression"),
    (uses_setcomp, 0, (X,), srcgrad.UnsupportedSyntaxError, "set comprehension"),
    (uses_dictcomp, 0, (X,), srcgrad.UnsupportedSyntaxError, "dict comprehension"),
    (uses_global, 0, (X,), srcgrad.UnsupportedSyntaxError, "global"),
    (uses_nonlocal, 0, (X,), srcgrad.UnsupportedSyntaxError, "nonlocal"),
    (uses_class, 0, (X,), srcgrad.UnsupportedSyntaxError, "class"),
    (uses_attribute, 0, (X,), srcgrad.SrcgradError, "attribute"),
    (uses_string, 0, (X,), srcgrad.UnsupportedSyntaxError, "string"),
    (uses_fstring, 0, (X,), srcgrad.UnsupportedSyntaxError, "f-string"),
    (uses_yield, 0, (X,), srcgrad.UnsupportedSyntaxError, "yield"),
    (uses_async, 0, (X,), srcgrad.UnsupportedSyntaxError, "async"),
    (uses_varargs, 0, (X,), srcgrad.UnsupportedSyntaxError, "*args"),
    (uses_kwargs, 0, (X,), srcgrad.UnsupportedSyntaxError, "**kwargs"),
    (recursive, 0, (X, 3), srcgrad.UnsupportedSyntaxError, "recursion"),
    (no_rule, 0, (X,), srcgrad.NoDerivativeRuleError, "gamma"),
    (calls_sort, 0, (A,), srcgrad.NoDerivativeRuleError, "np.sort"),
    (returns_tuple, 0, (X,), srcgrad.NonScalarOutputError, "tuple"),
    (returns_tuple_var, 0, (X,), srcgrad.NonScalarOutputError, "tuple"),
    (returns_array, 0, (A,), srcgrad.NonScalarOutputError, "scalar"),
    (returns_local_array, 0, (X,), srcgrad.NonScalarOutputError, "array"),
    (carries_array_through_loop, 0, (A, 3), srcgrad.NonScalarOutputError, "array"),
    (int_as_range_bound, (0, 1), (X, 3), srcgrad.NotDifferentiableError, "range"),
    (int_as_index, (0, 1), (A, 1), srcgrad.NotDifferentiableError, "index"),
    (mutates_argument, 0, (A.copy(),), srcgrad.UnsupportedArrayUseError, "modified in place"),
]


@pytest.mark.parametrize("fun,argnums,args,cls,words", CASES,
                         ids=[c[0].__name__.replace("<lambda>", "lambda") for c in CASES])
def test_refused(fun, argnums, args, cls, words):
    with pytest.raises(srcgrad.SrcgradError) as info:
        srcgrad.grad(fun, argnums=argnums)(*args)
    exc = info.value
    assert isinstance(exc, cls), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc, srcgrad.LocatedError), f"no location: {type(exc).__name__}: {exc}"
    assert exc.loc is not None
    assert exc.loc.file == __file__
    assert exc.loc.line == line_of(fun), str(exc)
    assert exc.loc.col >= 0
    assert words.lower() in exc.message.lower(), exc.message
    assert exc.hint, f"no advice on what to do instead: {exc}"
    assert "Traceback" not in str(exc)


def test_array_output_refused_on_every_call_and_only_for_array_types():
    """The refusal depends on the argument types (x * 2.0 is a scalar for a float x), and holds
    on repeated calls through the call fast path, in either order."""
    g = srcgrad.value_and_grad(returns_array)
    assert g(0.5) == (1.0, 2.0)
    for _ in range(2):
        with pytest.raises(srcgrad.NonScalarOutputError):
            g(A)
    assert g(0.25) == (0.5, 2.0)
    g2 = srcgrad.grad(returns_array)
    assert g2(0.5) == 2.0
    for _ in range(2):
        with pytest.raises(srcgrad.NonScalarOutputError):
            g2(A)


def test_array_output_refused_when_the_derivative_comes_from_the_disk_cache(tmp_path):
    """A second process reuses the first one's cache directory: the refusal must still hold (it
    once returned 2.0 when the compiled wrapper came from Numba's disk cache).  Derivatives are
    now generated per argument signature, so the refusal happens when the derivative is
    generated, before anything is compiled or cached."""
    import os
    import subprocess
    import sys
    import textwrap
    mod = tmp_path / "array_model.py"
    mod.write_text("def doubled(x):\n    return x * 2.0\n")
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np, srcgrad
        import array_model
        for make in (srcgrad.grad, srcgrad.value_and_grad):
            try:
                make(array_model.doubled)(np.linspace(0.1, 1.0, 5))
                print("not refused")
            except srcgrad.NonScalarOutputError:
                print("refused")
    """)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"))
    for run in ("first", "second"):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["refused", "refused"], (run, done.stdout)


def _carried_transpose(s0, s1, A, c):
    if -1.25 * c[1, 0] > s1:
        m = np.cos(A.T) - 0.5 * A.T          # Fortran-ordered, then carried with C-ordered values
        for i in range(1, 4):
            m = m + 0.1 * m[:, :]
        m = m[:, 0:3] / (1.5 + np.cos(m - s0))
    return s0 * s1


def test_a_numba_internal_failure_is_a_compilation_error_not_a_raw_exception():
    """Found by the array fuzzer (seed 53): Numba raises NotImplementedError ("allocate array
    with layout 'A'") from inside its compiler; srcgrad must report it as its own error."""
    rg = np.random.default_rng(0)
    args = (0.3, 0.2, rg.normal(size=(3, 4)), rg.normal(size=(3, 1)))
    try:
        g = srcgrad.grad(_carried_transpose, argnums=(0, 1))(*args)
    except srcgrad.CompilationError as exc:
        assert "Numba could not compile the derivative of _carried_transpose" in str(exc)
    else:       # the day Numba compiles it, the gradient must be right: d(s0 s1) = (s1, s0)
        assert g == (pytest.approx(0.2), pytest.approx(0.3))
