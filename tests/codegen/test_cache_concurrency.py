"""The on-disk cache and concurrency: corruption, unusable directories, processes and threads
compiling at once, invalidation when a helper or a constant changes, no writes into the user's
module, and reuse across processes without re-transforming.

Every test compiles functions from freshly written module files (tmp_path), so nothing is
already in memory or on disk from another test.
"""
import importlib.util
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

import srcgrad
import srcgrad.pipeline
from srcgrad.codegen import compile as cache

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_module(directory, source, name=None):
    """Write `source` as a real module file and import it under a unique name."""
    name = name or f"sg_mod_{uuid.uuid4().hex[:12]}"
    path = os.path.join(str(directory), name + ".py")
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod, path


def unique_body():
    """A distinct constant per test, so that no two tests share a cached derivative."""
    return f"{1.0 + (uuid.uuid4().int % 10**6) / 10**7!r}"


@pytest.fixture
def count_transforms(monkeypatch):
    """Count calls of srcgrad.pipeline.transform (api imports it at each build)."""
    calls = []
    lock = threading.Lock()
    real = srcgrad.pipeline.transform

    def counting(*a, **k):
        with lock:
            calls.append(a[0].__qualname__)
        time.sleep(0.05)            # widen the window in which other threads could race
        return real(*a, **k)

    monkeypatch.setattr(srcgrad.pipeline, "transform", counting)
    return calls


def forget(g):
    """Drop the generated module from memory so the next build must go through the disk cache."""
    stem, _ = g._key()
    sys.modules.pop(f"srcgrad_generated.{stem}", None)
    return stem


# ---------------------------------------------------------------------- corrupted cache files
@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "garbage"])
def test_corrupted_cache_file_is_detected_and_regenerated(tmp_path, count_transforms, damage):
    c = unique_body()
    mod, _ = write_module(tmp_path, f"""
        import math
        def f(x):
            return math.sin(x) * {c} + x * x
    """)
    g = srcgrad.grad(mod.f)
    want = g(0.3)
    stem = forget(g)
    path = cache.path_for(stem)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "flip":     # same length, one character changed in the body
        i = text.index("math.sin")
        path.write_text(text[:i] + "math.cos" + text[i + 8:])
    elif damage == "empty":
        path.write_text("")
    else:
        path.write_bytes(b"\xff\xfe\x00 not python")
    assert cache.read_valid(stem) is None
    g2 = srcgrad.grad(mod.f)
    assert g2(0.3) == want
    assert count_transforms == ["f", "f"]          # regenerated, not imported damaged
    assert cache.read_valid(stem) is not None       # and the file is whole again


# ---------------------------------------------------------------------- unusable cache directory
def test_missing_cache_dir_is_created(tmp_path, monkeypatch):
    where = tmp_path / "not" / "there" / "yet"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(where))
    mod, _ = write_module(tmp_path, f"def f(x):\n    return {unique_body()} * x * x\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", srcgrad.SrcgradWarning)
        g = srcgrad.grad(mod.f)
        assert g(2.0) == pytest.approx(4.0 * mod.f(1.0))
    assert any(where.glob("env-*/*.py"))


def test_uncreatable_cache_dir_falls_back_to_memory_with_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(blocker / "cache"))
    mod, _ = write_module(tmp_path, f"def f(x):\n    return {unique_body()} * x * x * x\n")
    g = srcgrad.grad(mod.f)
    with pytest.warns(srcgrad.SrcgradWarning, match="cache directory"):
        got = g(2.0)
    assert got == pytest.approx(12.0 * mod.f(1.0))
    assert g.module().__file__.startswith("<srcgrad")
    assert "def f_vjp" in g.source


def test_read_only_cache_dir_falls_back_to_memory_with_warning(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(ro))
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root ignores permission bits: make every attempt to create a file there fail instead
        real = cache.tempfile.mkstemp

        def refuse(*a, dir=None, **k):
            if dir is not None and Path(dir).resolve().is_relative_to(ro.resolve()):
                raise PermissionError(13, "Permission denied", str(ro))
            return real(*a, dir=dir, **k)
        monkeypatch.setattr(cache.tempfile, "mkstemp", refuse)
    else:
        ro.chmod(0o500)
    try:
        mod, _ = write_module(tmp_path, f"def f(x):\n    return {unique_body()} * (x - 1.0) * x\n")
        g = srcgrad.value_and_grad(mod.f)
        with pytest.warns(srcgrad.SrcgradWarning, match="cannot write"):
            v, d = g(2.0)
        assert v == mod.f(2.0)
        assert d == pytest.approx(3.0 * mod.f(2.0) / 2.0)
        assert not [p for p in ro.rglob("*") if p.is_file()]      # nothing written
    finally:
        ro.chmod(0o700)


# ---------------------------------------------------------------------- threads
def test_threads_asking_for_the_same_gradient_compile_it_once(tmp_path, count_transforms):
    mod, _ = write_module(tmp_path, f"""
        import math
        def f(x, y):
            s = 0.0
            for i in range(3):
                s = s + math.tanh(x * i) * y + {unique_body()}
            return s
    """)
    shared = srcgrad.value_and_grad(mod.f, argnums=(0, 1))
    n = 8
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def work(k):
        try:
            g = shared if k % 2 else srcgrad.value_and_grad(mod.f, argnums=(0, 1))
            barrier.wait()
            results[k] = g(0.4, 1.3)
        except BaseException as exc:      # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert count_transforms == ["f"]
    assert all(r == results[0] for r in results)
    assert results[0][0] == mod.f(0.4, 1.3)


# ---------------------------------------------------------------------- processes
CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
sys.path.insert(0, {moddir!r})
import srcgrad, srcgrad.pipeline
import {modname} as m
if {forbid!r}:
    def never(*a, **k):
        raise AssertionError("transform called in the second process")
    srcgrad.pipeline.transform = never
start = {start!r}
while time.time() < start:
    time.sleep(0.005)
v, g = srcgrad.value_and_grad(m.f, argnums=(0, 1))(0.7, -1.1)
print(repr(v), repr(g[0]), repr(g[1]))
"""

MODULE = """
import math
SCALE = {c}

def helper(u):
    return math.exp(0.5 * u) * SCALE

def f(x, y):
    s = helper(x) * y
    for i in range(4):
        if s > 0.0:
            s = s - math.sin(x * i)
        else:
            s = s + y * y
    return s
"""


def _child(tmp_path, modname, start, forbid, cache_dir):
    code = CHILD.format(repo=REPO, moddir=str(tmp_path), modname=modname, start=start, forbid=forbid)
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache_dir))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_processes_compiling_at_once_both_get_the_right_answer(tmp_path):
    mod, _ = write_module(tmp_path, MODULE.format(c=unique_body()))
    want = srcgrad.value_and_grad(mod.f, argnums=(0, 1))(0.7, -1.1)   # in this process' cache
    fresh = tmp_path / "shared-cache"
    start = time.time() + 4.0      # both children import srcgrad first, then start together
    procs = [_child(tmp_path, mod.__name__, start, False, fresh) for _ in range(2)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        v, g0, g1 = (float(t) for t in out.split())
        assert (v, (g0, g1)) == want
    assert len(list(fresh.glob("env-*/f_*.py"))) == 1       # one module, written atomically
    assert not list(fresh.glob("env-*/.*.tmp"))


def test_second_process_reuses_the_cache_without_transforming(tmp_path):
    mod, _ = write_module(tmp_path, MODULE.format(c=unique_body()))
    fresh = tmp_path / "reuse-cache"
    first = _child(tmp_path, mod.__name__, 0.0, False, fresh)
    out1, err1 = first.communicate(timeout=240)
    assert first.returncode == 0, err1
    second = _child(tmp_path, mod.__name__, 0.0, True, fresh)
    out2, err2 = second.communicate(timeout=240)
    assert second.returncode == 0, err2
    assert out1 == out2


# ---------------------------------------------------------------------- invalidation
def test_rebinding_a_module_constant_invalidates(tmp_path):
    mod, _ = write_module(tmp_path, "SCALE = 2.0\n\ndef f(x):\n    return SCALE * x * x\n")
    g = srcgrad.grad(mod.f)
    assert g(1.0) == 4.0
    mod.SCALE = 3.0
    assert g(1.0) == 6.0
    mod.SCALE = 3            # an int equal in value: still a different constant type
    assert g(1.0) == 6.0
    assert srcgrad.grad(mod.f)(1.0) == 6.0


def test_rebinding_a_helper_invalidates(tmp_path):
    mod, _ = write_module(tmp_path, "def helper(u):\n    return u * u\n\ndef f(x):\n    return helper(x) + x\n")
    other, _ = write_module(tmp_path, "def helper(u):\n    return u * u * u\n")
    g = srcgrad.grad(mod.f)
    assert g(2.0) == 5.0
    mod.helper = other.helper
    assert g(2.0) == 13.0


def test_editing_the_file_and_reloading_invalidates(tmp_path):
    src = """
        import math
        SCALE = 2.0

        def inner(u):
            return u * u

        def helper(u):
            return inner(u) * SCALE

        def f(x):
            return helper(x) + math.sin(x)
    """
    mod, path = write_module(tmp_path, src)
    g_old = srcgrad.grad(mod.f)
    x = 0.8
    assert g_old(x) == pytest.approx(4.0 * x + np.cos(x))
    time.sleep(0.01)
    with open(path, "w") as fh:          # edit a helper of a helper and the constant
        fh.write(textwrap.dedent(src).replace("return u * u", "return u * u * u  # cubic now")
                 .replace("SCALE = 2.0", "SCALE = 5.0"))
    importlib.util.spec_from_file_location(mod.__name__, path).loader.exec_module(mod)   # reload
    want = 15.0 * x * x + np.cos(x)
    assert srcgrad.grad(mod.f)(x) == pytest.approx(want)
    # the old object's f reads the same module globals, so it must not serve the stale result
    assert g_old(x) == pytest.approx(want)


def test_srcgrad_writes_nothing_into_user_globals(tmp_path):
    mod, _ = write_module(tmp_path, f"""
        import math
        import numpy as np
        K = {unique_body()}

        def helper(u):
            return math.tanh(u) * K

        def f(x, a):
            s = 0.0
            for i in range(a.shape[0]):
                s = s + helper(a[i] * x)
            return s
    """)
    before = dict(vars(mod))
    g = srcgrad.value_and_grad(mod.f, argnums=(0, 1))
    g(0.5, np.arange(3.0))
    g.source, g.kernel
    srcgrad.vectorize(srcgrad.grad(mod.f))  # building a vectorized wrapper does not either
    after = dict(vars(mod))
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


def test_helper_and_constant_of_another_module_invalidate(tmp_path):
    """`othermod.helper(x)` and `othermod.K`: their source and value are part of the key, and
    are re-checked before each call (they were not: an edited helper gave stale gradients,
    even in a new process through the disk cache)."""
    other, opath = write_module(tmp_path, "K = 2.0\n\ndef helper(u):\n    return u * u\n")
    mod, _ = write_module(tmp_path, f"import {other.__name__} as om\n\n"
                                    "def f(x):\n    return om.helper(x) * om.K + x\n")
    g = srcgrad.grad(mod.f)
    assert g(2.0) == 9.0
    key_before = g._key()[0]
    other.K = 3.0
    assert g(2.0) == 13.0
    time.sleep(0.01)
    with open(opath, "w") as fh:
        fh.write("K = 3.0\n\ndef helper(u):\n    return u * u * u  # cubic\n")
    importlib.util.spec_from_file_location(other.__name__, opath).loader.exec_module(other)
    assert g(2.0) == 37.0
    assert srcgrad.grad(mod.f)(2.0) == 37.0
    assert g._key()[0] != key_before         # a new process would not reuse the old file either


def test_truncated_numba_cache_files_are_dropped_and_recompiled(tmp_path):
    """Numba's own cache files (next to the generated module, in __pycache__) were unpickled
    unchecked: a truncated one crashed the first call with a raw UnpicklingError."""
    mod, _ = write_module(tmp_path, MODULE.format(c=unique_body()))
    fresh = tmp_path / "numba-cache"
    first = _child(tmp_path, mod.__name__, 0.0, False, fresh)
    out1, err1 = first.communicate(timeout=240)
    assert first.returncode == 0, err1
    files = list(fresh.glob("env-*/__pycache__/f_*.nb*"))
    assert files
    for f in files:
        f.write_bytes(f.read_bytes()[:30])
    second = _child(tmp_path, mod.__name__, 0.0, True, fresh)     # the .py is intact: no transform
    out2, err2 = second.communicate(timeout=240)
    assert second.returncode == 0, err2
    assert out1 == out2
    assert all(f.stat().st_size > 30 for f in fresh.glob("env-*/__pycache__/f_*.nb*"))


def test_threads_building_different_gradients_at_once(tmp_path, count_transforms):
    """Different functions transform concurrently (one build lock per function, not one global):
    every thread gets its own function's gradient."""
    n = 4
    mod, _ = write_module(tmp_path, "import math\n" + "".join(
        f"\ndef f{k}(x):\n    s = 0.0\n    for i in range({k + 1}):\n        s = s + math.sin(x * {k + 1}) * i\n"
        f"    return s * {unique_body()}\n" for k in range(n)))
    funs = [getattr(mod, f"f{k}") for k in range(n)]
    barrier = threading.Barrier(n)
    results, errors = [None] * n, []

    def work(k):
        try:
            g = srcgrad.value_and_grad(funs[k])
            barrier.wait()
            results[k] = g(0.3)
        except BaseException as exc:      # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(count_transforms) == sorted(f"f{k}" for k in range(n))
    for k in range(n):
        v, d = results[k]
        assert v == funs[k](0.3)
        h = 1e-6
        assert d == pytest.approx((funs[k](0.3 + h) - funs[k](0.3 - h)) / (2 * h), rel=1e-6)
