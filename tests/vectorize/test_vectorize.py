"""srcgrad.vectorize: elementwise results against per-element calls of the scalar derivative and
central differences, over broadcasting, dtypes, layouts, out=, empty arrays, threads and loops."""
import math
import pickle
import warnings

import numpy as np
import pytest

import srcgrad


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRCGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("srcgrad_cache")))
        yield


# ---------------------------------------------------------------- the kernels (plain scalar code)
# the benchmark suite's per-element kernels, so tests and benchmarks differentiate the same source
from benchmarks.kernels import (black_scholes, huber, logistic_euler, seed,  # noqa: E402
                                sigmoid_neuron, while_threshold)


def power_steps(x, n):
    y = 1.0
    for i in range(n):
        y = y * x
    return y


def scaled(x, c=2.0):
    return c * x * x


def cancel(x, y):
    return (x + 1e8) * y - 1e8 * y      # x is lost below float32's spacing at 1e8 (8.0)


def doubled_steps(x, n):
    y = x
    m = n * 2
    for i in range(m):
        y = y * 0.5 + x
    return y


def _square(x):
    return x * x


def with_helper(x, y):
    return _square(x) + 3.0 * _square(y)


seed_grad = srcgrad.grad(seed, argnums=(0, 1))
seed_vag = srcgrad.value_and_grad(seed, argnums=(0, 1))
greeks = srcgrad.grad(black_scholes, argnums=(0, 2, 3, 4))

vseed = srcgrad.vectorize(seed_grad)
vseed_vag = srcgrad.vectorize(seed_vag)
vgreeks = srcgrad.vectorize(greeks)


def central(f, args, i, h=1e-6):
    """Central difference of scalar f in argument i (relative step)."""
    step = h * max(1.0, abs(args[i]))
    up, down = list(args), list(args)
    up[i] += step
    down[i] -= step
    return (f(*up) - f(*down)) / (2 * step)


def per_element(g, *arrays):
    """Call the scalar derivative `g` at every element of the broadcast arguments; one array per
    output, in vectorize's order (a value_and_grad's value first)."""
    bs = np.broadcast_arrays(*[np.asarray(a, dtype=float) for a in arrays])
    shape = bs[0].shape
    rows = []
    for idx in np.ndindex(*shape):
        r = g(*[float(b[idx]) for b in bs])
        if g.kind == "value_and_grad":
            r = (r[0], *(r[1] if isinstance(r[1], tuple) else (r[1],)))
        rows.append(r if isinstance(r, tuple) else (r,))
    return tuple(np.array([r[k] for r in rows]).reshape(shape) for k in range(len(rows[0])))


def assert_outputs(got, want, rtol=1e-12, atol=1e-12):
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- broadcasting and shapes

@pytest.mark.parametrize("a, b", [
    (np.linspace(-2, 2, 7), 3.0),                                   # 1-D with a scalar
    (2.5, np.linspace(-2, 2, 7)),                                   # scalar with 1-D
    (np.linspace(-2, 2, 12).reshape(3, 4), np.linspace(0, 1, 4)),   # 2-D with 1-D
    (np.linspace(-2, 2, 3)[:, None], np.linspace(0, 1, 4)),         # (3,1) with (4,) -> (3,4)
    (np.arange(24.0).reshape(2, 3, 4), np.arange(4.0)),             # 3-D with 1-D
    (np.array(1.5), np.array(-0.5)),                                # 0-d with 0-d
])
def test_broadcasting_matches_per_element_calls(a, b):
    assert_outputs(vseed(a, b), per_element(seed_grad, a, b))
    assert_outputs(vseed_vag(a, b), per_element(seed_vag, a, b))


def test_zero_dimensional_result_is_a_numpy_scalar():
    da, db = vseed(1.5, np.array(-0.5))
    assert isinstance(da, np.float64) and np.ndim(da) == 0
    assert (da, db) == seed_grad(1.5, -0.5)


def test_single_output_is_an_array_not_a_tuple():
    vh = srcgrad.vectorize(srcgrad.grad(huber, argnums=0))
    x = np.linspace(-3, 3, 13)
    got = vh(x, 1.0)
    assert isinstance(got, np.ndarray) and got.shape == x.shape
    np.testing.assert_allclose(got, [central(huber, (xi, 1.0), 0) for xi in x], rtol=1e-6, atol=1e-8)


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="broadcast"):
        vseed(np.ones(3), np.ones(4))


def test_empty_arrays():
    for shape in [(0,), (3, 0), (0, 5)]:
        da, db = vseed(np.ones(shape), 2.0)
        assert da.shape == shape and db.shape == shape and da.dtype == np.float64
    v, da, db = vseed_vag(np.ones((0, 2), np.float32), np.ones(2, np.float32))
    assert v.shape == (0, 2) and v.dtype == np.float32


def test_keywords_and_defaults():
    vs = srcgrad.vectorize(srcgrad.grad(scaled))
    x = np.linspace(0, 1, 5)
    np.testing.assert_allclose(vs(x), 4.0 * x)
    np.testing.assert_allclose(vs(x, c=3.0), 6.0 * x)
    np.testing.assert_allclose(vs(c=np.array([1.0, 2.0, 3.0, 4.0, 5.0]), x=x), 2.0 * np.arange(1, 6) * x)


# ---------------------------------------------------------------- layouts and out=

def test_non_contiguous_inputs():
    rng = np.random.default_rng(0)
    base = rng.uniform(-1, 1, (6, 10, 8))
    cases = [
        (base[:, ::3, 1], 0.5),                                           # strided 2-D
        (base.T, 1.25),                                                   # transposed 3-D
        (base[::2, ::3, ::2], base[1, ::3, ::2]),                         # steps in every axis
        (base[:, 2, :].T, base[:, 3, :].T),                               # Fortran-ordered views
        (np.broadcast_to(base[0, 0, :], (5, 8)), base[:5, 1, :]),         # zero strides
    ]
    for a, b in cases:
        assert_outputs(vseed(a, b), per_element(seed_grad, a, b))


def test_out_arrays_are_filled_and_returned():
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    b = np.linspace(0, 2, 4)
    o = (np.full((3, 4), np.nan), np.full((3, 4), np.nan))
    res = vseed(a, b, out=o)
    assert res[0] is o[0] and res[1] is o[1]
    assert_outputs(o, per_element(seed_grad, a, b))
    # non-contiguous float32 out views
    big = np.zeros((2, 6, 8), np.float32)
    o32 = (big[0, ::2, ::2], big[1, ::2, ::2])
    vseed(a, b, out=o32)
    assert_outputs(o32, per_element(seed_grad, a, b), rtol=1e-6)
    # one output: a bare array is accepted
    vh = srcgrad.vectorize(srcgrad.grad(huber))
    o1 = np.empty(5)
    assert vh(np.linspace(-2, 2, 5), 1.0, out=o1) is o1
    with pytest.raises(ValueError, match="shape"):
        vseed(a, b, out=(np.empty(4), np.empty(4)))
    with pytest.raises(TypeError, match="output"):
        vseed(a, b, out=np.empty((3, 4)))


def test_out_may_be_an_input():
    a = np.linspace(-1, 1, 10)
    b = np.linspace(0, 2, 10)
    want = per_element(seed_grad, a, b)
    vseed(a, b, out=(a, b))                       # in place, element for element
    assert_outputs((a, b), want)
    x = np.linspace(-1, 1, 11)
    want = per_element(seed_grad, x[:-1], 1.0)[0]
    vseed(x[:-1], 1.0, out=(x[1:], np.empty(10)))  # overlapping shifted view: input copied first
    np.testing.assert_allclose(x[1:], want)


# ---------------------------------------------------------------- dtypes

def test_float32_stays_float32_and_agrees_with_float64():
    rng = np.random.default_rng(1)
    S = rng.uniform(80, 120, 1000)
    T = rng.uniform(0.1, 2.0, 1000)
    sigma = rng.uniform(0.1, 0.5, 1000)
    want = vgreeks(S, 100.0, T, 0.03, sigma)
    got = vgreeks(S.astype(np.float32), 100.0, T.astype(np.float32), np.float32(0.03),
                  sigma.astype(np.float32))
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-4 * np.abs(w).max())


def test_float32_arithmetic_is_float32():
    vc = srcgrad.vectorize(srcgrad.value_and_grad(cancel, argnums=(0, 1)))
    v64, dx64, dy64 = vc(np.array([1.0, 2.0]), 1.0)
    v32, dx32, dy32 = vc(np.array([1.0, 2.0], np.float32), 1.0)
    np.testing.assert_array_equal(v64, [1.0, 2.0])
    np.testing.assert_array_equal(v32, [0.0, 0.0])            # float32 arithmetic, not float64
    np.testing.assert_array_equal(dy32, [0.0, 0.0])
    np.testing.assert_array_equal(dx32, [1.0, 1.0])
    assert v32.dtype == dx32.dtype == np.float32


def test_float32_falls_back_when_the_float32_variant_does_not_type(monkeypatch):
    import ast
    import importlib
    vmod = importlib.import_module("srcgrad.vectorize.float32")
    # a literal rewrite that cannot type (as an int literal next to an int variable could)
    monkeypatch.setattr(vmod, "_f32", lambda c: ast.Call(ast.Name("no_such_name", ast.Load()), [c], []))
    vd = srcgrad.vectorize(srcgrad.grad(doubled_steps, argnums=0))
    x = np.linspace(0.5, 1.5, 5)
    n = np.array([0, 1, 2, 3, 4])
    want = vd(x, n)
    got = vd(x.astype(np.float32), n)
    assert got.dtype == np.float32 and not vd._float32_ok
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(want, [central(doubled_steps, (xi, int(ni)), 0) for xi, ni in zip(x, n)],
                               rtol=1e-6)


def test_promotion_like_numpy():
    x32 = np.linspace(0, 1, 4, dtype=np.float32)
    assert vseed(x32, 2.0)[0].dtype == np.float32                  # Python float is weak
    assert vseed(x32, np.float64(2.0))[0].dtype == np.add(x32, np.float64(2.0)).dtype  # NEP 50
    assert vseed(x32, np.ones(4))[0].dtype == np.float64
    ints = np.arange(4)
    da, db = vseed(ints, 2)                                        # integers are read as floats
    assert da.dtype == np.float64
    assert_outputs((da, db), per_element(seed_grad, ints, 2))
    assert vseed(np.arange(4, dtype=np.int16), np.float32(1.0))[0].dtype == np.float32


def test_integer_trip_counts_stay_integers():
    vp = srcgrad.vectorize(srcgrad.grad(power_steps, argnums=0))
    x = np.linspace(0.5, 1.5, 6)
    n = np.array([0, 1, 2, 3, 5, 8])
    np.testing.assert_allclose(vp(x, n), np.where(n > 0, n * x ** np.maximum(n - 1, 0), 0.0))


# ---------------------------------------------------------------- control flow

def test_while_loop_with_different_trip_counts():
    vw = srcgrad.vectorize(srcgrad.grad(while_threshold, argnums=(0, 1)))
    rng = np.random.default_rng(2)
    a = rng.uniform(1.1, 2.0, 300)
    b = rng.uniform(0.0, 0.5, 300)
    thresh = rng.uniform(1.0, 1000.0, 300)     # from 1 to dozens of iterations per element
    da, db = vw(a, b, thresh)
    for i in range(0, 300, 7):
        args = (a[i], b[i], thresh[i])
        assert da[i] == pytest.approx(central(while_threshold, args, 0), rel=1e-5)
        assert db[i] == pytest.approx(central(while_threshold, args, 1), rel=1e-5, abs=1e-8)
    assert_outputs((da, db), per_element(srcgrad.grad(while_threshold, argnums=(0, 1)), a, b, thresh))


def test_logistic_euler_gradients():
    vl = srcgrad.vectorize(srcgrad.grad(logistic_euler, argnums=(0, 1, 2)), block=64)
    rng = np.random.default_rng(3)
    y0 = rng.uniform(0.05, 1.0, 500)
    r = rng.uniform(0.5, 2.0, 500)
    got = vl(y0, r, 2.0)
    for i in range(0, 500, 37):
        args = (y0[i], r[i], 2.0)
        for k in range(3):
            assert got[k][i] == pytest.approx(central(logistic_euler, args, k), rel=1e-5, abs=1e-9)
    assert_outputs(got, per_element(srcgrad.grad(logistic_euler, argnums=(0, 1, 2)), y0, r, 2.0))


def test_value_and_grad_of_a_loop_returns_the_value():
    vl = srcgrad.vectorize(srcgrad.value_and_grad(logistic_euler, argnums=(0, 1)))
    y0 = np.linspace(0.1, 1.0, 5)
    v, _, _ = vl(y0, 1.0, 2.0)      # the value, not a value restored by the adjoint sweep
    np.testing.assert_allclose(v, [logistic_euler(y, 1.0, 2.0) for y in y0], rtol=1e-12)


# ---------------------------------------------------------------- lock-step loop kernels
# srcgrad/vectorize/lockstep.py hoists costly loop-invariant expressions (divisions, powers, calls
# reading only inputs, constants and values the loop does not change) into per-block arrays.

def invariant_calls(y0, a, b):
    y = y0
    for i in range(40):
        y = y * math.exp(-a) + math.sqrt(b) / (1.0 + b) * y * (1.0 - y)
    return y


def changing_and_fixed(x, c):
    s = x
    d = c * 2.0
    for i in range(20):
        s = s + d / (i + 1.0) * s * 0.01 + (c / 3.0) ** 0.5
        d = d * 0.9 + 1.0 / c
    return s * d


LOCKSTEP = [  # kernel, input ranges, hoisted expressions, costly expressions that stay in the step loop
    (logistic_euler, [(0.05, 1.0), (0.5, 2.0), (5.0, 10.0)], ["1 / k"], ["y / k"]),
    (invariant_calls, [(0.1, 0.9), (0.1, 1.0), (0.5, 3.0)],
     ["math.exp(-a)", "math.sqrt(b)", "0.5 / _hoist1", "_hoist1 / (1.0 + b)"], []),
    (changing_and_fixed, [(0.1, 1.0), (0.5, 2.0)], ["c / 3.0", "_hoist0 ** 0.5", "1.0 / c"],
     ["d_1 / _t", "1 / _t"])]


@pytest.mark.parametrize("fn,ranges,hoisted,kept", LOCKSTEP, ids=[c[0].__name__ for c in LOCKSTEP])
def test_lockstep_hoists_loop_invariant_work_and_keeps_the_numbers(fn, ranges, hoisted, kept):
    argnums = tuple(range(len(ranges)))
    v = srcgrad.vectorize(srcgrad.grad(fn, argnums=argnums), block=64)
    rng = np.random.default_rng(11)
    args = [rng.uniform(lo, hi, 300) for lo, hi in ranges]
    got = v(*args)
    block = v.source.split("def _block", 1)[1].split("@numba.njit", 1)[0]
    prefix, step = block.split("for e in range(m):")[1:3]
    for text in hoisted:
        assert f" = {text}\n" in prefix, (text, block)      # computed once per element ...
        assert text not in step, (text, block)               # ... and not at every step
    for text in kept:
        assert text in step, (text, block)
    assert ("/" in step) == bool(kept) and "**" not in step and "math." not in step, block
    # the same expressions on the same operands: the per-element kernel's numbers
    assert_outputs(got, v.gufunc(*args), rtol=0, atol=0)
    assert_outputs(got, per_element(srcgrad.grad(fn, argnums=argnums), *args), rtol=1e-11, atol=1e-13)
    for i in range(0, 300, 41):
        point = [float(a[i]) for a in args]
        for k in argnums:
            assert got[k][i] == pytest.approx(central(fn, point, k), rel=1e-5, abs=1e-9)


def test_huber_branches():
    vh = srcgrad.vectorize(srcgrad.value_and_grad(huber, argnums=(0, 1)))
    x = np.linspace(-3, 3, 61)
    v, dx, dd = vh(x, np.array([[0.5], [1.0]]))
    assert v.shape == (2, 61)
    np.testing.assert_allclose(v[1], [huber(xi, 1.0) for xi in x])
    for i in range(0, 61, 4):
        if abs(abs(x[i]) - 0.5) > 1e-3:
            assert dx[0, i] == pytest.approx(central(huber, (x[i], 0.5), 0), rel=1e-6, abs=1e-8)
            assert dd[0, i] == pytest.approx(central(huber, (x[i], 0.5), 1), rel=1e-6, abs=1e-8)


# ---------------------------------------------------------------- application kernels

def test_black_scholes_greeks():
    S = np.linspace(80, 120, 21)
    T = np.array([[0.25], [1.0], [2.0]])
    dS, dT, dr, dsig = vgreeks(S, 100.0, T, 0.05, 0.2)
    assert dS.shape == (3, 21)
    # closed forms: delta = N(d1), rho = K T e^{-rT} N(d2), vega = S phi(d1) sqrt(T)
    sqrt_t = np.sqrt(T)
    d1 = (np.log(S / 100.0) + (0.05 + 0.02) * T) / (0.2 * sqrt_t)
    d2 = d1 - 0.2 * sqrt_t
    N = lambda z: 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    phi = np.exp(-0.5 * d1 * d1) / math.sqrt(2.0 * math.pi)
    np.testing.assert_allclose(dS, N(d1), rtol=1e-12)
    np.testing.assert_allclose(dr, 100.0 * T * np.exp(-0.05 * T) * N(d2), rtol=1e-10)
    np.testing.assert_allclose(dsig, S * phi * sqrt_t, rtol=1e-10)
    theta = S * phi * 0.2 / (2 * sqrt_t) + 0.05 * 100.0 * np.exp(-0.05 * T) * N(d2)
    np.testing.assert_allclose(dT, theta, rtol=1e-10)
    for i, j in [(0, 0), (1, 10), (2, 20)]:
        args = (S[j], 100.0, T[i, 0], 0.05, 0.2)
        assert dT[i, j] == pytest.approx(central(black_scholes, args, 2), rel=1e-6)


def test_sigmoid_neuron_and_plain_primal():
    vs = srcgrad.vectorize(srcgrad.value_and_grad(sigmoid_neuron, argnums=(0, 1, 2)))
    rng = np.random.default_rng(4)
    x0, x1 = rng.normal(size=(2, 50))
    got = vs(0.3, -0.7, 0.1, x0, x1)
    assert_outputs(got, per_element(srcgrad.value_and_grad(sigmoid_neuron, argnums=(0, 1, 2)),
                                    0.3, -0.7, 0.1, x0, x1))
    primal = srcgrad.vectorize(sigmoid_neuron)
    np.testing.assert_allclose(primal(0.3, -0.7, 0.1, x0, x1), got[0], rtol=1e-15)
    assert primal(0.3, -0.7, 0.1, x0.astype(np.float32), 1.0).dtype == np.float32


def test_decorator_forms():
    @srcgrad.vectorize
    def sq(x):
        return x * x

    @srcgrad.vectorize(parallel=False)
    @srcgrad.grad
    def dsq(x):
        return x * x * x

    x = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(sq(x), x * x)
    np.testing.assert_allclose(dsq(x), 3 * x * x)


# ---------------------------------------------------------------- threads and blocks

@pytest.mark.parametrize("block", [1, 7, 1024])
def test_parallel_serial_and_block_boundaries_agree(block):
    a = np.linspace(-1, 1, 5 * 13).reshape(5, 13)
    b = np.linspace(0, 1, 13)
    want = per_element(seed_grad, a, b)
    for options in [dict(), dict(parallel=False), dict(threads=1)]:
        v = srcgrad.vectorize(seed_grad, block=block, **options)
        assert_outputs(v(a, b), want)


def test_large_parallel_loop_kernel_matches_serial():
    g = srcgrad.grad(while_threshold, argnums=(0, 1))
    rng = np.random.default_rng(5)
    a = rng.uniform(1.1, 2.0, 20000)
    thresh = rng.uniform(1.0, 1e4, 20000)
    par = srcgrad.vectorize(g, block=256)(a, 0.25, thresh)
    ser = srcgrad.vectorize(g, parallel=False)(a, 0.25, thresh)
    assert_outputs(par, ser, rtol=0, atol=0)


def test_only_kernels_with_loops_hand_out_blocks_in_chunks():
    """Elements of a loop kernel may cost unequal time: its parallel driver hands blocks out in
    chunks (and puts Numba's chunk size back); a straight-line kernel keeps the static split."""
    numba = pytest.importorskip("numba")
    looped = srcgrad.vectorize(srcgrad.grad(while_threshold, argnums=(0, 1)), block=64)
    assert not srcgrad.vectorize(seed_grad)._get_build().balance
    assert not srcgrad.vectorize(seed)._get_build().balance
    assert looped._get_build().balance
    assert srcgrad.vectorize(power_steps)._get_build().balance
    # the drivers themselves never call them: that would keep Numba from caching them on disk
    assert "set_parallel_chunksize" not in looped.source and "get_num_threads" not in looped.source
    before = numba.get_parallel_chunksize()
    a = np.linspace(1.1, 2.0, 5000)
    thresh = np.linspace(1.0, 1e4, 5000)      # trip counts grow along the array
    with warnings.catch_warnings():           # "Cannot cache compiled function ..." would raise
        if int(numba.config.OPT) > 0:          # at -O0 (the default test run) Numba caches little:
            warnings.simplefilter("error", numba.NumbaWarning)     # checked in the long mode
        got = looped(a, 0.25, thresh)
    assert numba.get_parallel_chunksize() == before
    assert_outputs(got, per_element(srcgrad.grad(while_threshold, argnums=(0, 1)), a, 0.25, thresh))


def test_set_num_threads_is_honoured():
    numba = pytest.importorskip("numba")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = np.linspace(0, 1, 10000)
        assert_outputs(vseed(a, 2.0), (np.full_like(a, 3.0), a + 5.0))
    finally:
        numba.set_num_threads(before)
    v = srcgrad.vectorize(seed_grad, threads=1)
    v(np.linspace(0, 1, 5000), 2.0)
    assert numba.get_num_threads() == before


# ---------------------------------------------------------------- gufunc, pickling, errors

def test_gufunc_matches_direct_call():
    a = np.linspace(-1, 1, 12).reshape(3, 4)
    b = np.linspace(0, 1, 4)
    gu = vseed_vag.gufunc
    assert gu.signature == "(),()->(),()" or gu.signature is None   # NumPy drops all-scalar signatures
    assert_outputs(gu(a, b), vseed_vag(a, b))
    got32 = gu(a.astype(np.float32), b.astype(np.float32))
    assert got32[0].dtype == np.float32
    loop = srcgrad.vectorize(srcgrad.grad(while_threshold, argnums=(0, 1)))
    x = np.linspace(1.2, 2.0, 9)
    assert_outputs(loop.gufunc(x, 0.1, 50.0), loop(x, 0.1, 50.0))


def test_pickle_round_trip():
    for v in [vgreeks, vseed_vag, srcgrad.vectorize(seed, parallel=False, block=16)]:
        w = pickle.loads(pickle.dumps(v))
        assert (w.kind, w.nin, w.nout, w.parallel, w.block) == (v.kind, v.nin, v.nout, v.parallel, v.block)
        args = [np.linspace(1, 2, 5)] * v.nin
        want = v(*args)
        assert_outputs(w(*args), want if isinstance(want, tuple) else (want,))


def test_source_is_generated_driver_text():
    text = vseed.source
    assert "prange" in text and "def seed_parallel" in text and "def seed_serial" in text


def test_bad_arguments():
    with pytest.raises(TypeError, match="seed"):
        vseed(1.0)
    with pytest.raises(TypeError, match="boolean"):
        vseed(np.array([True, False]), 1.0)
    with pytest.raises(TypeError, match="complex"):
        vseed(np.ones(2, complex), 1.0)


def test_fortran_ordered_inputs_give_fortran_ordered_outputs():
    a = np.asfortranarray(np.linspace(-1, 1, 12).reshape(3, 4))
    b = np.asfortranarray(np.linspace(0, 2, 12).reshape(3, 4))
    got = vseed(a, b)
    assert all(g.flags.f_contiguous for g in got)
    assert_outputs(got, per_element(seed_grad, a, b))


def test_second_derivative_black_scholes_gamma():
    gamma = srcgrad.grad(srcgrad.grad(black_scholes, argnums=0), argnums=0)
    S = np.linspace(80, 120, 9)
    got = srcgrad.vectorize(gamma)(S, 100.0, 1.0, 0.05, 0.2)
    d1 = (np.log(S / 100.0) + (0.05 + 0.02) * 1.0) / 0.2
    np.testing.assert_allclose(got, np.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (S * 0.2), rtol=1e-10)


def test_plain_function_calling_a_helper():
    x, y = np.linspace(-1, 1, 7), np.linspace(0, 2, 7)
    np.testing.assert_allclose(srcgrad.vectorize(with_helper)(x, y), x * x + 3 * y * y)
    dx, dy = srcgrad.vectorize(srcgrad.grad(with_helper, argnums=(0, 1)))(x, y)
    np.testing.assert_allclose(dx, 2 * x)
    np.testing.assert_allclose(dy, 6 * y)


# ---------------------------------------------------------------- the fast path for repeated calls

def test_fast_path_follows_the_arguments():
    """After a common call is recorded, calls of any other pattern still take the general path:
    other dtypes, scalars for arrays, broadcasting, strides, 2-D, out=, keywords, empty."""
    v = srcgrad.vectorize(seed_grad)
    a = np.linspace(-1, 1, 7)
    b = a[::-1].copy()
    assert_outputs(v(a, b), per_element(seed_grad, a, b))
    assert v._fast is not None                       # recorded
    assert_outputs(v(a, b), per_element(seed_grad, a, b))
    cases = [(a.astype(np.float32), b.astype(np.float32)), (a, 0.5), (0.5, b), (a, b[:1]),
             (a[::2], b[::2]), (a.reshape(7, 1), b), (a.reshape(7, 1), b.reshape(7, 1)),
             (np.arange(7), b), (a[0], b[0])]
    for args in cases:
        got = v(*args)
        want = per_element(seed_grad, *args)
        assert_outputs(got, want, rtol=1e-6 if np.asarray(args[0]).dtype == np.float32 else 1e-12)
        assert_outputs(v(a, b), per_element(seed_grad, a, b))     # and back
    assert [g.shape for g in v(a[:0], b[:0])] == [(0,), (0,)]
    o = (np.empty(7), np.empty(7))
    v(a, b, out=o)
    assert_outputs(o, per_element(seed_grad, a, b))
    assert_outputs(v(b=b, a=a), per_element(seed_grad, a, b))



def test_fast_path_runs_flat_loops():
    """The common call of a kernel called element by element runs the 1-D driver (the block
    drivers are patched to fail), serial and threaded, 1-D and 2-D, scalars mixed in, out=."""
    v = srcgrad.vectorize(srcgrad.grad(huber, argnums=0))
    x = np.linspace(-3, 3, 5000)                     # more than a block: threaded when threads > 1
    want = np.clip(x, -1.0, 1.0)                     # d/dx huber(x, 1) (hand-derived)
    np.testing.assert_array_equal(v(x, 1.0), want)   # records the pattern
    build = v._fast[2]
    assert build.flat_serial is not None and build.flat_parallel is not None
    with pytest.MonkeyPatch.context() as mp:
        for name in ("serial", "parallel", "_drive"):
            mp.setattr(build if name != "_drive" else v, name,
                       lambda *a, **k: pytest.fail("took the block driver"))
        mp.setattr(v, "_run", lambda *a, **k: pytest.fail("took the general path"))
        np.testing.assert_array_equal(v(x, 1.0), want)
        np.testing.assert_array_equal(v(x.reshape(50, 100), 1.0), want.reshape(50, 100))
        o = np.empty_like(x)
        assert v(x, 1.0, out=o) is o
        np.testing.assert_array_equal(o, want)
        np.testing.assert_array_equal(v(x[:7], 1.0), want[:7])
    serial = srcgrad.vectorize(srcgrad.grad(huber, argnums=0), parallel=False)
    np.testing.assert_array_equal(serial(x, 1.0), want)
    np.testing.assert_array_equal(serial(x, 1.0), want)


def test_no_flat_loops_for_block_kernels():
    """Kernels run in SIMD lanes or in lock-step have no 1-D driver: those need their blocks."""
    lanes = srcgrad.vectorize(srcgrad.grad(black_scholes, argnums=(0, 2, 3, 4)))
    lock = srcgrad.vectorize(srcgrad.grad(logistic_euler, argnums=(0, 1, 2)))
    s, t = np.linspace(80, 120, 9), np.linspace(0.5, 2, 9)
    lanes(s, 100.0, t, 0.03, 0.2)
    y0 = np.linspace(0.1, 0.5, 9)
    lock(y0, 1.5, 2.0)
    for v in (lanes, lock):
        assert v._fast is not None and v._fast[2].flat_serial is None


def test_fast_path_with_out():
    """out= of the recorded shape and dtype takes the fast path and returns the very arrays;
    outputs over the inputs, other dtypes, strides, counts and read-only arrays do not."""
    v = srcgrad.vectorize(seed_grad)
    a = np.linspace(-1, 1, 9)
    b = np.linspace(0.5, 2, 9)
    want = per_element(seed_grad, a, b)
    v(a, b)                                          # records the pattern
    o = (np.empty(9), np.empty(9))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(v, "_run", lambda *args, **kw: pytest.fail("took the general path"))
        got = v(a, b, out=o)
    assert got[0] is o[0] and got[1] is o[1]
    assert_outputs(o, want)
    single = srcgrad.vectorize(srcgrad.grad(seed, argnums=1))
    single(a, b)
    o1 = np.empty(9)
    assert single(a, b, out=o1) is o1
    assert_outputs(o1, want[1:])
    # element for element over an input, as NumPy allows: each element reads before it writes
    a2, b2 = a.copy(), b.copy()
    assert_outputs(v(a2, b2, out=(a2, b2)), want)
    # shifted over an input: the input is copied first (the general path)
    buf = np.concatenate([a, [0.0]])
    x, y = buf[:9], np.empty(9)
    assert_outputs(v(x, b, out=(buf[1:], y)), want)
    for bad in [(np.empty(9, np.float32), np.empty(9, np.float32)),
                (np.empty(18)[::2], np.empty(9))]:
        got = v(a, b, out=bad)
        assert_outputs(got, want, rtol=1e-6)
    with pytest.raises(TypeError, match="2 output"):
        v(a, b, out=np.empty(9))
    ro = np.empty(9)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        v(a, b, out=(ro, np.empty(9)))
    assert_outputs(v(a, b), want)                    # and the common call still works
