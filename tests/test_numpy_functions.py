"""NumPy's function surface as a whole (issue 23): every function that JAX or autograd
differentiates for real inputs (tests/peer_numpy_functions.py, generated from their sources and
by running them) is differentiated by srcgrad, run with no derivative, or refused with a reason
that the user's error states; the README's list is the one the registry gives; the functions
added as composites or partials agree with central differences in reverse and forward mode.
"""
from pathlib import Path

import numpy as np
import pytest

import srcgrad
from srcgrad.errors import NoDerivativeRuleError
from srcgrad.rules import catalog
from srcgrad.testing import numerical_grad

from . import peer_numpy_functions as peers

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_function_a_peer_differentiates_is_differentiated_or_refused_with_a_reason():
    names = catalog.numpy_names()
    present = {n for ns in names.values() for n in ns}
    known = set(catalog.differentiated()) | set(catalog.constant()) | set(catalog.refused())
    missing = [n for n in peers.UNION if n in present and n not in known]
    assert not missing, missing
    assert len([n for n in peers.UNION if n in present]) >= 250


def test_no_function_is_both_differentiated_and_refused():
    assert not set(catalog.differentiated()) & set(catalog.refused())


def test_every_refusal_says_why_and_what_to_do_instead():
    for name, (why, instead) in catalog.refused().items():
        assert len(why) > 20 and len(instead) > 15, name


def test_the_readme_lists_what_the_registry_says():
    """`python -m srcgrad.rules.catalog --write` regenerates the block.  It names the functions
    of the NumPy it was generated with; under another NumPy, the names both have must agree."""
    block = catalog.readme_block(README.read_text())
    if block.startswith(f"For NumPy {catalog.numpy_minor()}."):
        assert block == catalog.markdown()
        return
    present = {n for ns in catalog.numpy_names().values() for n in ns}
    readme_lines, ours = block.split("\n\n"), catalog.markdown().split("\n\n")
    for mine, theirs in zip(ours[:2], readme_lines[:2]):
        listed = {w.strip("`.,") for w in theirs.split() if w.startswith("`np.")}
        assert {w.strip("`.,") for w in mine.split() if w.startswith("`np.")} >= listed & present


def rfft_energy(x):
    return np.sum(np.abs(np.fft.rfft(x)))


def sorted_weights(x):
    return np.sum(np.sort(x) * np.arange(4.0))


def eigenvalue_sum(a):
    return np.sum(np.linalg.eigvalsh(a))


def step(x):
    return np.sum(np.heaviside(x, 0.5) * x)


@pytest.mark.parametrize("f,arg,words", [
    (rfft_energy, np.ones(4), ("np.fft.rfft", "complex-valued", "np.cos/np.sin")),
    (sorted_weights, np.ones(4), ("np.sort", "order statistics", "x[idx]")),
    (eigenvalue_sum, np.eye(3), ("np.linalg.eigvalsh", "spectral decompositions", "np.linalg.solve")),
    (step, np.ones(4), ("np.heaviside", "Numba cannot compile", "np.where(x > 0")),      # a ufunc: refused later
])
def test_a_refused_function_is_refused_at_the_call_with_its_reason(f, arg, words):
    with pytest.raises(NoDerivativeRuleError) as e:
        srcgrad.grad(f)(arg)
    msg = str(e.value)
    assert "is not differentiated by srcgrad" in msg and "test_numpy_functions.py" in msg
    for w in words:
        assert w in msg, (w, msg)


# ---- the composites and partials added for the peers' surface -------------------------------

def shapes_and_products(a, m, x):
    s = np.vdot(m, m) + np.inner(a, x) + np.sum(np.inner(m, m)) + np.sum(np.swapaxes(m, 0, 1) * m)
    s = s + np.sum(np.moveaxis(m, 0, -1)[0]) + np.sum(np.diagonal(m)) + np.sum(np.real(a) * np.conj(x))
    s = s + np.sum(np.linalg.multi_dot([m, m, m])) + np.sum(np.linalg.matrix_power(m, 3))
    s = s + np.sum(np.linalg.matrix_power(m, -1)) + np.sum(np.copy(a) * 2.0)
    return s


def curves(p, x, y):
    s = np.sum(np.polyval(p, x)) + np.polyval(p, 0.7) + np.trapezoid(y, x) + np.trapezoid(y, dx=0.1)
    s = s + np.ptp(y) + np.sum(np.ptp(np.outer(x, y), axis=0)) + np.sum(np.cumprod(y))
    s = s + np.sum(np.mod(y, 0.7)) + np.sum(np.fmod(y, 0.7)) + np.sum(np.remainder(x, 0.3))
    return s


def ufuncs(x, y):
    return np.sum(np.exp2(x) + np.cbrt(x) + np.reciprocal(x) + np.deg2rad(x) + np.radians(y) + np.rad2deg(x)
                  + np.degrees(y) + np.positive(x) + np.float_power(x, y) + np.logaddexp2(x, y)
                  + np.copysign(x, y - 1.0) + np.fmax(x, y) + np.fmin(x, y))


_R = np.random.default_rng(0)
_X = np.sort(_R.uniform(0.5, 1.5, 3))
CASES = {
    "shapes_and_products": (shapes_and_products, (_R.uniform(0.5, 1.5, 3), _R.normal(size=(3, 3)) + 2 * np.eye(3),
                                                  _R.uniform(0.5, 1.5, 3))),
    "curves": (curves, (_R.normal(size=4), _X, _R.uniform(0.5, 1.5, 3))),
    "ufuncs": (ufuncs, (_X, _R.uniform(0.5, 1.5, 3))),
}


@pytest.mark.skipif(not hasattr(np, "trapezoid"), reason="np.trapezoid is NumPy 2's")
@pytest.mark.parametrize("name", list(CASES))
def test_added_functions_match_central_differences(name):
    f, args = CASES[name]
    argnums = tuple(range(len(args)))
    value, grads = srcgrad.value_and_grad(f, argnums=argnums)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    num = numerical_grad(f, args, argnums)
    for g, n in zip(grads, num):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7)
    t = tuple(np.random.default_rng(1).normal(size=np.shape(a)) for a in args)
    _, tan = srcgrad.jvp(f, args, t)
    assert tan == pytest.approx(sum(np.sum(n * ti) for n, ti in zip(num, t)), rel=1e-6, abs=1e-7)


def reciprocal_where_nonzero(x):
    return np.sum(np.where(x != 0.0, np.reciprocal(x), 0.0))


def test_an_infinite_partial_on_the_untaken_side_of_where_gives_zero_not_nan():
    """np.reciprocal's partial -1/x**2 is -inf at 0, where np.where takes the other side: the
    adjoint there is 0 (by hand: -1/x**2 elsewhere), not 0 * inf = NaN (rules' `nonfinite`)."""
    x = np.array([0.0, 2.0, -0.5])
    with np.errstate(divide="ignore"):
        g = srcgrad.grad(reciprocal_where_nonzero)(x)
    np.testing.assert_array_equal(g, [0.0, -0.25, -4.0])


_W = np.random.default_rng(5).normal(size=3)


def tuple_axes(x):
    s = np.sum(x, axis=(0, 1)) + np.mean(x, axis=(0, 1), keepdims=True)[0, 0] + np.var(x, axis=(1, 0))
    return s + np.sum(np.max(x, axis=(0,)) * _W) + np.sum(x, keepdims=True)[0, 0]


def test_reductions_over_a_tuple_of_axes_match_central_differences():
    """axis=(0, 1) of a matrix is all of it, axis=(0,) is axis 0 (a crash before: the tuple
    reached the one-axis primitive)."""
    x = np.random.default_rng(6).normal(size=(2, 3))
    g = srcgrad.grad(tuple_axes)(x)
    np.testing.assert_allclose(g, numerical_grad(tuple_axes, (x,), (0,))[0], rtol=1e-6, atol=1e-8)


def max_along_axis_of_3d(x):
    return np.sum(np.max(x, axis=0))


def test_max_along_an_axis_of_a_3d_array_is_refused_not_wrong():
    """It took the maximum of each 2-D slice instead of each column (a silent wrong gradient
    found by the NumPy-surface table's long run); now refused where it is written."""
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match="more than 2 dimensions") as e:
        srcgrad.grad(max_along_axis_of_3d)(np.ones((2, 2, 3)))
    assert "test_numpy_functions.py" in str(e.value)


def linspace_of_x(x, y):
    return np.sum(np.linspace(x, y, 5) ** 2)


def full_of_x(x):
    return np.sum(np.full(3, x))


def expand_two_axes(x):
    return np.sum(np.expand_dims(x, (0, 2)))


@pytest.mark.parametrize("f,args,words", [
    (linspace_of_x, (1.0, 2.0), ("np.linspace", "depend on its arguments", "np.linspace(0.0, 1.0, num)")),
    (full_of_x, (1.5,), ("np.full", "depend on its arguments", "np.zeros(shape) + value")),
])
def test_a_constructor_reached_by_a_differentiated_value_is_refused_not_constant(f, args, words):
    """np.linspace(x, y, 5) of differentiated end points was run as a constant: a zero gradient
    (found by the NumPy-surface table's long run); it is refused at the call now."""
    with pytest.raises(NoDerivativeRuleError) as e:
        srcgrad.grad(f)(*args)
    for w in words + ("test_numpy_functions.py",):
        assert w in str(e.value), (w, str(e.value))


def test_constructors_of_constants_still_run():
    def h(x):
        return np.sum(np.linspace(0.0, 1.0, 5) * x) + np.sum(np.full(2, 3.0)) * x + np.sum(np.arange(3.0)) * x
    assert srcgrad.grad(h)(2.0) == pytest.approx(2.5 + 6.0 + 3.0, rel=1e-12)


def test_expand_dims_with_a_tuple_of_axes_is_refused_at_the_call():
    with pytest.raises(srcgrad.UnsupportedArrayUseError, match="tuple of axes") as e:
        srcgrad.grad(expand_two_axes)(np.ones(3))
    assert "once per axis" in str(e.value)


def list_index_and_norms(x, a):
    s = np.sum(x[[0, 2, 2]] ** 2) + np.sum(a[[1, 0, 1]] * 3.0) + np.linalg.norm(a, axis=(0, 1))
    return s + np.linalg.norm(np.reshape(a, (1, 2, 3)))


def spectral_norm(a):
    return np.linalg.norm(a, ord=2, axis=(0, 1))


def norm_along_axis_of_3d(x):
    return np.sum(np.linalg.norm(x, axis=0))


def test_list_indices_and_norms_of_any_array_match_central_differences():
    """x[[0, 2, 2]] (an InternalError before), the Frobenius norm over axis=(0, 1) (a crash) and
    the norm of a 3-D array (a CompilationError: Numba's norm takes 1-D and 2-D arrays)."""
    r = np.random.default_rng(8)
    args = (r.normal(size=4), r.normal(size=(2, 3)))
    grads = srcgrad.grad(list_index_and_norms, argnums=(0, 1))(*args)
    for g, n in zip(grads, numerical_grad(list_index_and_norms, args, (0, 1))):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f,arg,words", [
    (spectral_norm, np.ones((2, 3)), "only the Frobenius norm"),          # NumPy's spectral norm
    (norm_along_axis_of_3d, np.ones((2, 2, 3)), "more than 2 dimensions"),  # was a wrong gradient
])
def test_norms_srcgrad_does_not_differentiate_are_refused_where_written(f, arg, words):
    with pytest.raises(srcgrad.UnsupportedSyntaxError, match=words) as e:
        srcgrad.grad(f)(arg)
    assert "test_numpy_functions.py" in str(e.value)


_W23 = np.random.default_rng(9).normal(size=(2, 3))


def running_sums_and_rounding(x):
    s = np.sum(np.cumsum(x, axis=0) * _W23) + np.sum(np.cumsum(x, axis=1) * _W23) + np.sum(x.cumsum(axis=-1))
    return s + np.sum(np.round(x) * x) + np.sum(np.around(x, 1) * x) + np.sum(np.fix(x) * x)


def test_cumsum_along_an_axis_and_the_roundings_match_central_differences():
    """np.cumsum(axis=) (refused before), np.round/np.around/np.fix (no derivative: refused
    before, though piecewise constant), checked away from the rounding jumps."""
    x = np.array([[0.3, -1.7, 2.2], [1.4, -0.6, 0.8]]) + 0.013
    g = srcgrad.grad(running_sums_and_rounding)(x)
    np.testing.assert_allclose(g, numerical_grad(running_sums_and_rounding, (x,), (0,))[0], rtol=1e-6, atol=1e-7)
    t = np.random.default_rng(2).normal(size=x.shape)
    _, tan = srcgrad.jvp(running_sums_and_rounding, (x,), (t,))
    assert tan == pytest.approx(np.sum(g * t), rel=1e-9)


def nan_reductions(x, w):
    return np.sum(w * np.nansum(x, axis=1) ** 2) + np.sum(np.nanmean(x, axis=0, keepdims=True))


def test_nansum_and_nanmean_along_an_axis_skip_the_nans():
    """d/dx of sum_i w_i (nansum_j x_ij)^2 is 2 w_i s_i where x_ij is a number, 0 at a NaN; d/dx
    of nanmean over axis 0 is 1 / (the column's count of numbers): by hand.  (A NaN inside an
    expression, nansum(x * x), has a NaN derivative, 0 * NaN, as in JAX, whose nansum is the
    same where(isnan(x), 0, x).)"""
    x = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, -1.0], [0.5, 3.0, 4.0]])
    w = np.array([0.5, -2.0, 1.5])
    value, (gx, gw) = srcgrad.value_and_grad(nan_reductions, argnums=(0, 1))(x, w)
    assert value == pytest.approx(nan_reductions(x, w), rel=1e-14)
    counts = np.sum(~np.isnan(x), axis=0)
    s = np.array([3.0, -1.0, 7.5])                      # the rows' sums of numbers
    expected = np.where(np.isnan(x), 0.0, 2.0 * w[:, None] * s[:, None] + 1.0 / counts[None, :])
    np.testing.assert_allclose(gx, expected, rtol=1e-14)
    np.testing.assert_allclose(gw, s ** 2, rtol=1e-14)
