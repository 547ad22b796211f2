"""SIMD math in srcgrad.vectorize (srcgrad/vectorize/simd.py, lanes.py): libmvec's functions against
libm, and interleaved-lane kernels against per-element calls of the scalar derivative and
central differences, including every tail length of a block."""
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import srcgrad
from srcgrad.vectorize import simd
from benchmarks.kernels import black_scholes, huber, seed, sigmoid_neuron
from tests.extend_model import lgamma                 # a user's Numba function with a custom rule

needs_simd = pytest.mark.skipif(not simd.available(), reason="no libmvec/AVX2 on this machine")


@pytest.fixture(autouse=True, scope="module")
def _cache_dir(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SRCGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("srcgrad_cache")))
        yield


def mixed(x, y):
    """Nested calls, several libmvec functions, abs and max (runtime helpers) in one kernel."""
    a = math.tanh(x * y) + math.log1p(x * x)
    b = math.exp(math.sin(y) - abs(x)) * max(x, y)
    return a * b + math.sqrt(1.0 + y * y) + math.atan(x - y)


def central(f, args, i, h=1e-6):
    lo, hi = list(args), list(args)
    lo[i] -= h
    hi[i] += h
    return (f(*hi) - f(*lo)) / (2 * h)


def ulps(got, want, dtype=np.float64):
    """Distance in units in the last place of `want` in `dtype` (0 where both are the same
    non-finite)."""
    got, want = np.asarray(got, dtype), np.asarray(want, dtype)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    spacing = np.spacing(np.abs(np.where(np.isfinite(want), want, dtype(1.0))))
    with np.errstate(invalid="ignore"):
        return np.where(same, 0.0, np.abs(got.astype(float) - want.astype(float)) / spacing.astype(float))


# ---------------------------------------------------------------- the vector functions themselves

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 5e-324, 700.0, 710.0, -745.0, -800.0,
           1e300, -1e300, math.inf, -math.inf, math.nan]


SPECIAL32 = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-30, -1e-30, 1e-45, 80.0, 89.0, -87.0, -104.0,
             1e30, -1e30, math.inf, -math.inf, math.nan]
DOMAINS = {"acos": (-1, 1), "asin": (-1, 1), "atanh": (-0.999, 0.999), "acosh": (1, 50),
           "log": (1e-3, 1e3), "log2": (1e-3, 1e3), "log10": (1e-3, 1e3), "log1p": (-0.999, 1e3)}


def check_vector_function(name, f32, special, seed_):
    """libmvec's `name` through its intrinsic (float64, or float32 with `f32`) on random inputs
    over the function's domain and `special` values: the intrinsic's type, and within 4 ulp of
    the double-precision libm result rounded to that type (glibc's documented bound)."""
    import numba
    f = getattr(simd, simd.intrinsic_name(name, f32))
    W = simd.WIDTH32 if f32 else simd.WIDTH
    dtype = np.float32 if f32 else np.float64
    lanes = ", ".join(f"x[j + {k}]" for k in range(W))
    outs = ", ".join(f"o[j + {k}]" for k in range(W))
    scope = {"f": f}
    exec(f"def run(x, o):\n    for j in range(0, x.shape[0], {W}):\n        {outs} = f({lanes})\n", scope)
    run = numba.njit(scope["run"])
    rng = np.random.default_rng(seed_)
    lo, hi = DOMAINS.get(name, (-20, 20))
    x = np.concatenate([rng.uniform(lo, hi, 4000), special, [1.0] * (-len(special) % W)]).astype(dtype)
    o = np.empty_like(x)
    run(x, o)
    assert run.nopython_signatures[0].args[0].dtype == numba.from_dtype(dtype)
    want = np.empty_like(x)
    ref = getattr(math, name)
    for i, v in enumerate(x):
        try:
            with np.errstate(over="ignore"):    # a double beyond float32's range rounds to inf
                want[i] = dtype(ref(float(v)))
        except (ValueError, OverflowError):   # math raises where C returns nan or inf
            want[i] = o[i] if (np.isnan(o[i]) or np.isinf(o[i])) else np.nan
    assert np.max(ulps(o, want, dtype)) <= 4, (name, x[np.argmax(ulps(o, want, dtype))])


@needs_simd
@pytest.mark.parametrize("name", simd.FUNCTIONS)
def test_vector_function_matches_libm(name):
    """Within 4 ulp of libm on random inputs and the special values (inf, nan, signed zero...)."""
    check_vector_function(name, False, SPECIAL, 1)


@needs_simd
@pytest.mark.parametrize("name", simd.FUNCTIONS32)
def test_float32_vector_function_matches_libm(name):
    """libmvec's float variants (`exp8f`...) take and return float32, within 4 float32 ulp of
    the double-precision libm result rounded to float32, special values included."""
    check_vector_function(name, True, SPECIAL32, 2)


# ---------------------------------------------------------------- kernels written in lanes

greeks = srcgrad.grad(black_scholes, argnums=(0, 2, 3, 4))


def bs_inputs(n, seed_=0):
    rng = np.random.default_rng(seed_)
    return rng.uniform(80, 120, n), 100.0, rng.uniform(0.25, 2.0, n), rng.uniform(0.01, 0.05, n), \
        rng.uniform(0.1, 0.5, n)


def per_element(g, *args):
    n = max(np.size(a) for a in args)
    cols = [np.broadcast_to(a, (n,)) for a in args]
    rows = [g(*[float(c[i]) for c in cols]) for i in range(n)]
    flat = []
    for r in rows:                       # a value_and_grad gives (value, (grads...))
        r = r if isinstance(r, tuple) else (r,)
        flat.append(tuple(x for e in r for x in (e if isinstance(e, tuple) else (e,))))
    rows = flat
    return [np.array([r[k] for r in rows]) for k in range(len(rows[0]))]


@needs_simd
def test_black_scholes_uses_lanes_and_agrees():
    v = srcgrad.vectorize(greeks)
    args = bs_inputs(3001)
    got = v(*args)
    W = simd.WIDTH
    assert f"_sm.erf{W}(" in v.source and f"_sm.exp{W}(" in v.source and f"_sm.log{W}(" in v.source
    want = per_element(greeks, *args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12 * np.abs(w).max())
    # and against central differences of the price itself, on a sample
    for i in range(0, 3001, 500):
        point = [a[i] if isinstance(a, np.ndarray) else a for a in args]
        for k, argnum in enumerate((0, 2, 3, 4)):
            fd = central(black_scholes, point, argnum)
            assert got[k][i] == pytest.approx(fd, rel=1e-6, abs=1e-6)


@needs_simd
@pytest.mark.parametrize("n", [*range(1, 18), 1023, 1024, 1025, 2051])
def test_every_tail_length(n):
    """Blocks of 1024 whose last group has 1 to WIDTH elements; the spare lanes must not write past
    the end or disturb the elements before."""
    v = srcgrad.vectorize(srcgrad.value_and_grad(mixed, argnums=(0, 1)))
    rng = np.random.default_rng(n)
    x, y = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    outs = tuple(np.full(n + 3, 7.0)[:n] for _ in range(3))
    bases = [o.base for o in outs]
    v(x, y, out=outs)
    want = per_element(srcgrad.value_and_grad(mixed, argnums=(0, 1)), x, y)
    for g, w in zip(outs, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    for b in bases:                             # nothing written past the end
        np.testing.assert_array_equal(b[n:], 7.0)


@needs_simd
def test_mixed_kernel_against_central_differences():
    v = srcgrad.vectorize(srcgrad.grad(mixed, argnums=(0, 1)))
    assert f"_sm.tanh{simd.WIDTH}(" in v.source and f"_sm.exp{simd.WIDTH}(" in v.source
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-2, 2, 200), rng.uniform(-2, 2, 200)
    dx, dy = v(x, y)
    for i in range(200):
        if abs(abs(x[i]) - 0) < 1e-4 or abs(x[i] - y[i]) < 1e-4:
            continue                            # kinks of abs and max
        assert dx[i] == pytest.approx(central(mixed, (x[i], y[i]), 0), rel=1e-6, abs=1e-7)
        assert dy[i] == pytest.approx(central(mixed, (x[i], y[i]), 1), rel=1e-6, abs=1e-7)


@needs_simd
def test_broadcasting_strides_and_2d():
    v = srcgrad.vectorize(greeks)
    S, K, T, r, sig = bs_inputs(60)
    S2 = S.reshape(6, 10)[:, ::2]               # non-contiguous 2-D
    got = v(S2, K, T[:5], r[:5], 0.3)            # rows broadcast against a row vector
    want = per_element(greeks, *[np.broadcast_to(a, (6, 5)).ravel() for a in (S2, K, T[:5], r[:5], 0.3)])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.ravel(), w, rtol=1e-12, atol=1e-14)


@needs_simd
def test_special_values_flow_through():
    """inf and nan inputs give what the scalar derivative gives (inf/nan), not garbage in the
    other lanes of the same group."""
    v = srcgrad.vectorize(srcgrad.grad(mixed, argnums=(0, 1)))
    x = np.array([0.3, np.nan, 0.5, -0.4, 1e308, 0.1, np.inf, 0.2])
    y = np.full_like(x, 0.7)
    got = v(x, y)
    want = per_element(srcgrad.grad(mixed, argnums=(0, 1)), x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True)


def test_simd_math_off_is_the_scalar_kernel():
    v = srcgrad.vectorize(greeks, simd_math=False)
    args = bs_inputs(777)
    assert "_sm." not in v.source.split("def black_scholes_parallel")[0].split("_CACHE = ")[1]
    got = v(*args)
    for g, w in zip(got, per_element(greeks, *args)):
        np.testing.assert_array_equal(g, w)      # the same compiled scalar derivative per element
    v2 = pickle.loads(pickle.dumps(v))
    assert v2.simd_math is False


@pytest.mark.parametrize("fn, argnums", [(huber, 0), (seed, (0, 1))])
def test_kernels_without_calls_or_with_branches_keep_the_element_loop(fn, argnums):
    v = srcgrad.vectorize(srcgrad.grad(fn, argnums=argnums))
    v(*([np.linspace(-2, 2, 9)] * (2 if fn is seed else 1)), *([] if fn is seed else [1.0]))
    assert "def _lanes(" not in v.source


@needs_simd
def test_float32_calls_stay_float32_without_lanes():
    v = srcgrad.vectorize(srcgrad.grad(sigmoid_neuron, argnums=(0, 1, 2)))
    w = np.linspace(-1, 1, 10, dtype=np.float32)
    out = v(w, w, w, w, w)
    assert all(o.dtype == np.float32 for o in out)
    want = per_element(srcgrad.grad(sigmoid_neuron, argnums=(0, 1, 2)), *[w.astype(float)] * 5)
    for g, wv in zip(out, want):
        np.testing.assert_allclose(g, wv, rtol=1e-5, atol=1e-6)


def test_environment_switch_turns_it_off():
    code = "from srcgrad.vectorize import simd; print(simd.available(), len(simd.FUNCTIONS))"
    env = dict(os.environ, SRCGRAD_SIMD_MATH="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "0"]


@needs_simd
def test_avx2_width_in_a_fresh_process(tmp_path):
    """On an AVX-512 machine the tests above run 8 lanes; the 4-lane AVX2 variant here."""
    code = """
import numpy as np, srcgrad
from srcgrad.vectorize import simd
from benchmarks.kernels import black_scholes
assert simd.WIDTH == 4, simd.WIDTH
g = srcgrad.grad(black_scholes, argnums=(0, 2, 3, 4))
v = srcgrad.vectorize(g)
rng = np.random.default_rng(0)
S, T, r, s = rng.uniform(80, 120, 103), rng.uniform(0.25, 2, 103), rng.uniform(0.01, 0.05, 103), rng.uniform(0.1, 0.5, 103)
got = v(S, 100.0, T, r, s)
assert "_sm.erf4(" in v.source
for i in range(103):
    want = g(S[i], 100.0, T[i], r[i], s[i])
    for k in range(4):
        assert abs(got[k][i] - want[k]) <= 1e-12 * max(1.0, abs(want[k])), (i, k, got[k][i], want[k])
print("ok")
"""
    env = dict(os.environ, SRCGRAD_SIMD_WIDTH="4", SRCGRAD_CACHE_DIR=str(tmp_path))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def nb_loglik(k, mu):
    """A user's special function with a custom rule next to libmvec functions."""
    return lgamma(k + 1.0) + k * math.log(mu) - mu - math.exp(-mu * 0.1)


def test_custom_rules_keep_the_element_loop_and_agree():
    g = srcgrad.grad(nb_loglik, argnums=(0, 1))
    v = srcgrad.vectorize(g)
    k = np.linspace(0.5, 9.5, 21)
    mu = np.linspace(0.3, 4.0, 21)
    got = v(k, mu)
    want = per_element(g, k, mu)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for i in range(0, 21, 5):
        assert got[1][i] == pytest.approx(central(nb_loglik, (k[i], mu[i]), 1), rel=1e-6)


# ---------------------------------------------------------------- branches, if-converted

def stable_softplus(x, t):
    if x > 20.0:
        y = x
    elif x < -20.0:
        y = math.exp(x)
    else:
        y = math.log1p(math.exp(x))
    return y * t + math.tanh(t)


def guarded(x):
    if x > 0.0:
        return math.log(x) * x         # the side not taken computes log of a negative: nan
    return -x * math.exp(x)


def looped(x):
    s = 0.0
    for i in range(3):
        s = s + math.exp(x * i)
    return s


def int_division_in_branch(x, n):
    if n > 0:
        return math.exp(x) * (7 // n)
    return x


@needs_simd
@pytest.mark.parametrize("fn, nargs", [(stable_softplus, 2), (guarded, 1)], ids=["softplus", "guarded"])
def test_branches_are_if_converted_and_agree(fn, nargs):
    g = srcgrad.value_and_grad(fn, argnums=tuple(range(nargs)))
    v = srcgrad.vectorize(g)
    rng = np.random.default_rng(5)
    args = [np.concatenate([rng.uniform(-30, 30, 97), [0.0, -0.0, 20.0, -20.0, np.inf, -np.inf, np.nan]]),
            rng.uniform(-1, 1, 104)][:nargs]
    got = v(*args)
    assert "def _lanes(" in v.source and " if _c" in v.source
    for a, b in zip(got, per_element(g, *args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True)
    for i in range(0, 97, 7):                          # away from the branch points
        point = [a[i] for a in args]
        if min(abs(abs(point[0]) - 20.0), abs(point[0])) < 1e-3:
            continue
        for k in range(nargs):
            assert got[1 + k][i] == pytest.approx(central(fn, point, k), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("fn, args", [(looped, (np.linspace(-1, 1, 9),)),
                                      (int_division_in_branch, (np.linspace(-1, 1, 9), np.arange(-4, 5)))],
                         ids=["loop", "int-division"])
def test_loops_and_integer_division_under_a_branch_keep_the_element_loop(fn, args):
    g = srcgrad.grad(fn, argnums=0)
    v = srcgrad.vectorize(g)
    got = v(*args)
    assert "def _lanes(" not in v.source
    np.testing.assert_allclose(got, per_element(g, *args)[0], rtol=1e-13)


def lossy(x):
    """In float32, 1e8 + x loses x below 8: the derivative is exp(0) = 1 for small x."""
    return math.exp((x + 1e8) - 1e8) + math.log1p(x * x)


@needs_simd
@pytest.mark.skipif(not simd.FUNCTIONS32, reason="no float32 libmvec functions")
def test_float32_kernels_use_float_lanes_and_compute_in_float32():
    v = srcgrad.vectorize(greeks)
    args = bs_inputs(2051)
    args32 = [a.astype(np.float32) if isinstance(a, np.ndarray) else a for a in args]
    got = v(*args32)
    assert all(g.dtype == np.float32 for g in got)
    src32 = v._get_build(True).module.__srcgrad_source__
    assert f"_sm.erf{simd.WIDTH32}f(" in src32 and f"_sm.exp{simd.WIDTH32}f(" in src32
    want = v(*args)
    for g, w in zip(got, want):                   # float32 precision of the float64 result
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=2e-4 * np.abs(w).max())
    scalar = srcgrad.vectorize(greeks, simd_math=False)(*args32)
    for g, w in zip(got, scalar):                 # and within a few float32 ulp of libm's float32
        np.testing.assert_allclose(g, w, rtol=5e-5, atol=5e-6 * np.abs(w).max())
    # the arithmetic is float32: 1e8 + x drops x, so d/dx exp(...) is exp(0) = 1
    dl = srcgrad.vectorize(srcgrad.grad(lossy))
    x = np.linspace(0.25, 3.0, 37)
    g32 = dl(x.astype(np.float32))
    assert g32.dtype == np.float32 and f"_sm.exp{simd.WIDTH32}f(" in dl._get_build(True).module.__srcgrad_source__
    np.testing.assert_allclose(g32, 1.0 + 2 * x / (1 + x * x), rtol=1e-5)
    np.testing.assert_allclose(dl(x), np.exp(x) + 2 * x / (1 + x * x), rtol=1e-6)


@needs_simd
@pytest.mark.skipif(not simd.FUNCTIONS32, reason="no float32 libmvec functions")
@pytest.mark.parametrize("n", [1, 7, 8, 9, 17, 1025])
def test_float32_tail_lengths(n):
    v = srcgrad.vectorize(srcgrad.value_and_grad(mixed, argnums=(0, 1)))
    rng = np.random.default_rng(n)
    x, y = rng.uniform(-2, 2, n).astype(np.float32), rng.uniform(-2, 2, n).astype(np.float32)
    outs = tuple(np.full(n + 3, 7.0, np.float32)[:n] for _ in range(3))
    v(x, y, out=outs)
    want = per_element(srcgrad.value_and_grad(mixed, argnums=(0, 1)), x, y)
    for g, w in zip(outs, want):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
        np.testing.assert_array_equal(g.base[n:], 7.0)


@needs_simd
@pytest.mark.skipif(not simd.FUNCTIONS32, reason="no float32 libmvec functions")
def test_float32_lanes_that_do_not_type_fall_back_to_the_float32_element_loop(monkeypatch):
    from srcgrad.vectorize import lanes
    real = lanes.block_kernel_source

    def broken(*args, f32=False, **kw):     # float32 lanes whose vector exp gets a complex lane
        text = real(*args, f32=f32, **kw)
        call = f"_sm.exp{simd.WIDTH32}f("
        return text.replace(call, call + "1j * ") if f32 and text else text
    monkeypatch.setattr(lanes, "block_kernel_source", broken)
    dl = srcgrad.vectorize(srcgrad.grad(lossy))
    x = np.linspace(0.25, 3.0, 37)
    g32 = dl(x.astype(np.float32))
    assert not dl._float32_lanes and dl._float32_ok
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, 1.0 + 2 * x / (1 + x * x), rtol=1e-5)   # still float32 arithmetic
    np.testing.assert_allclose(dl(x), np.exp(x) + 2 * x / (1 + x * x), rtol=1e-6)


def decay(y0, r, k):
    """An Euler-integrated ODE whose step calls exp: lock-step, each step in SIMD lanes."""
    y = y0
    for i in range(40):
        y = y + 0.02 * (-r * y + math.exp(-k * y) + math.log1p(y * y) / (1.0 + i))
    return y


@needs_simd
@pytest.mark.parametrize("n", [1, 7, 8, 9, 1025, 2051])
def test_lockstep_step_with_calls_runs_in_lanes(n):
    g = srcgrad.grad(decay, argnums=(0, 1, 2))
    v = srcgrad.vectorize(g)
    rng = np.random.default_rng(n)
    y0, r, k = rng.uniform(0.1, 1, n), rng.uniform(0.5, 2, n), rng.uniform(0.5, 2, n)
    outs = tuple(np.full(n + 3, 7.0)[:n] for _ in range(3))
    v(y0, r, k, out=outs)
    step = v.source.split("for i in range(40):")[1].split("for e in range(m):")[0]
    W = simd.WIDTH
    assert f"_sm.exp{W}(" in step and f"_sm.log1p{W}(" in step     # the step loop's vector calls
    want = per_element(g, y0, r, k)
    for o, w in zip(outs, want):
        np.testing.assert_allclose(o, w, rtol=1e-12, atol=1e-14)
        np.testing.assert_array_equal(o.base[n:], 7.0)             # nothing written past the end
    for i in range(0, n, max(1, n // 4)):                          # and against central differences
        for j in range(3):
            fd = central(decay, (y0[i], r[i], k[i]), j)
            assert outs[j][i] == pytest.approx(fd, rel=1e-6, abs=1e-8)
    off = srcgrad.vectorize(g, simd_math=False)
    assert "_sm." not in off.source.split("_CACHE = ")[1].split("def decay_parallel")[0]
    for o, w in zip(off(y0, r, k), want):
        np.testing.assert_allclose(o, w, rtol=1e-12, atol=1e-14)
