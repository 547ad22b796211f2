"""The public API's conventions: argnums forms, arity, ints as floats, errors, CLI, cache."""
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import srcgrad


def f3(x, y, z):
    return x * y * y + z


def uses_int(x, n):
    s = 0.0
    for i in range(n):
        s += x
    return s


def with_default(x, k=3.0):
    return k * x * x


def test_argnums_forms():
    assert srcgrad.grad(f3)(1.0, 2.0, 3.0) == 4.0
    assert srcgrad.grad(f3, argnums=(0, 2))(1.0, 2.0, 3.0) == (4.0, 1.0)
    assert srcgrad.grad(f3, argnums=(2, 0))(1.0, 2.0, 3.0) == (1.0, 4.0)
    assert srcgrad.grad(argnums=1)(f3)(1.0, 2.0, 3.0) == 4.0
    assert srcgrad.grad(f3, argnums=-1)(1.0, 2.0, 3.0) == 1.0

    @srcgrad.grad
    def g(x):
        return x * x
    assert g(3.0) == 6.0


def test_value_and_grad_is_one_fused_call():
    v, g = srcgrad.value_and_grad(f3, argnums=(0, 1))(1.0, 2.0, 3.0)
    assert v == 7.0 and g == (4.0, 4.0)


def test_argnums_out_of_range_raises_at_grad_time():
    with pytest.raises(srcgrad.ArgnumsError, match="out of range"):
        srcgrad.grad(f3, argnums=3)
    with pytest.raises(srcgrad.ArgnumsError):
        srcgrad.grad(f3, argnums=(0, 0))


def test_wrong_arity_is_a_type_error():
    g = srcgrad.grad(f3)
    with pytest.raises(TypeError):
        g(1.0, 2.0)
    with pytest.raises(TypeError):
        g(1.0, 2.0, 3.0, 4.0)


def test_int_for_differentiated_argument_is_a_float_and_defaults_bind():
    assert srcgrad.grad(f3)(1, 2, 3) == 4.0
    assert srcgrad.grad(with_default)(2.0) == 12.0
    assert srcgrad.grad(with_default, argnums=(0, 1))(2.0, k=1.0) == (4.0, 4.0)


def test_integer_use_of_a_differentiated_argument_is_refused():
    with pytest.raises(srcgrad.NotDifferentiableError, match="range") as info:
        srcgrad.grad(uses_int, argnums=1)(2.0, 3)
    assert info.value.loc.line == uses_int.__code__.co_firstlineno + 2
    assert srcgrad.grad(uses_int)(2.0, 3) == 3.0


def test_kernel_from_user_njit_gives_the_same_result():
    g = srcgrad.grad(f3, argnums=(0, 1))
    k = g.kernel

    @numba.njit
    def simulate(x):
        acc = 0.0
        for i in range(3):
            dx, dy = k(x, 2.0, 3.0)
            acc += dx + dy
        return acc
    assert simulate(1.0) == 3 * sum(g(1.0, 2.0, 3.0))


def weighted_loop(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s = s * np.sin(x[i] * w) + x[i]
    return s


@pytest.mark.parametrize("kind", ["grad", "value_and_grad"])
def test_array_calls_run_the_vjp_and_compile_no_wrapper(kind):
    """With an array argument a call runs `<f>_vjp` itself (with stacks made in Python): Numba
    compiles no `<f>_grad` wrapper, which would optimise the whole vjp again. The result is
    the wrapper's: compared with `.kernel` called from Numba code, which runs the wrapper."""
    make = srcgrad.grad if kind == "grad" else srcgrad.value_and_grad
    g = make(weighted_loop, argnums=(0, 1))
    x = np.linspace(-1.0, 1.0, 5)
    got = g(x, 0.7)
    mod = g.module(g._last_sig)
    assert mod.USES_STACKS and getattr(mod, g.vjp_name).signatures
    assert not getattr(mod, g.entry_name).signatures
    k = g.kernel

    @numba.njit
    def through_numba(x, w):
        return k(x, w)
    want = through_numba(x, 0.7)
    assert getattr(mod, g.entry_name).signatures         # .kernel compiled the wrapper
    flat = lambda r: np.concatenate([np.ravel(v) for v in (r if kind == "grad" else (r[0], *r[1]))])  # noqa: E731
    np.testing.assert_array_equal(flat(got), flat(want))


def test_source_is_valid_python_with_provenance():
    src = srcgrad.grad(f3).source
    compile(src, "<generated>", "exec")
    assert "adjoint of: return x * y * y + z" in src
    assert "test_api.py:" in src


def test_cli_show(tmp_path):
    mod = tmp_path / "model.py"
    mod.write_text("import math\n\ndef f(x, y):\n    return math.sin(x) * y\n")
    out = subprocess.run([sys.executable, "-m", "srcgrad", "show", f"{mod}:f", "--argnums", "0,1"],
                         capture_output=True, text=True, check=True, env=os.environ.copy())
    assert "def f_vjp(x, y, _seed):" in out.stdout
    assert "adjoint of: return math.sin(x) * y" in out.stdout


def test_cache_is_reused_by_a_second_process_without_transforming(tmp_path):
    mod = tmp_path / "cached_model.py"
    mod.write_text(textwrap.dedent("""
        import math
        def bs_like(s, t, r, v):
            d = (math.log(s) + (r + 0.5 * v * v) * t) / (v * math.sqrt(t))
            return s * 0.5 * (1 + math.erf(d / math.sqrt(2.0)))
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import srcgrad, srcgrad.pipeline
        import cached_model
        if sys.argv[1] == "second":
            def boom(*a, **k):
                raise SystemExit("transformed again")
            srcgrad.pipeline.transform = boom
        print(srcgrad.grad(cached_model.bs_like, argnums=(0, 1, 2, 3))(100.0, 1.0, 0.05, 0.2))
    """)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"))
    first = subprocess.run([sys.executable, "-c", script, "first"], capture_output=True, text=True, env=env)
    second = subprocess.run([sys.executable, "-c", script, "second"], capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    assert list((tmp_path / "cache").glob("env-*/bs_like_*.py"))
    assert list((tmp_path / "cache").glob("env-*/__pycache__/*.nbi")), "Numba's cache index was written"


def test_arrays_float32_and_integer_labels():
    def loss(w, labels):
        s = 0.0
        for i in range(len(labels)):
            s += w[labels[i]] ** 2
        return s
    w = np.arange(3, dtype=np.float32)
    labels = np.array([0, 2, 2])
    g = srcgrad.grad(loss)(w, labels)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, [0.0, 0.0, 8.0])


def test_integer_array_cannot_be_differentiated():
    def f(x):
        return x[0] * 1.0
    with pytest.raises(srcgrad.ArgnumsError, match="int"):
        srcgrad.grad(f)(np.arange(3))


@numba.njit
def _jitted_square(u):
    return u * u


def test_a_users_njit_helper_is_read_and_differentiated():
    # d/dx (x**2 + x) = 2x + 1, by hand
    def f(x):
        return _jitted_square(x) + x

    assert srcgrad.grad(f)(0.7) == pytest.approx(2.4, rel=1e-15)
    assert srcgrad.grad(_jitted_square)(3.0) == pytest.approx(6.0, rel=1e-15)
