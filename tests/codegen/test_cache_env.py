"""The cache directory: one subdirectory per Python environment, `python -m srcgrad cache
info|clear`, aging out, and the command line's behaviour in a closed pipe."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from srcgrad import __main__ as cli
from srcgrad.codegen import cachefiles
from srcgrad.codegen import compile as cache

REPO = Path(__file__).resolve().parents[2]

# A sitecustomize that makes SciPy unimportable, as in an environment without it.
NO_SCIPY = """\
import sys

class _NoScipy:
    def find_spec(self, name, path=None, target=None):
        if name == "scipy" or name.startswith("scipy."):
            raise ImportError("No module named 'scipy' (blocked by the test)")
        return None

sys.meta_path.insert(0, _NoScipy())
"""

DOT_MODEL = """\
import numpy as np

def loss(w, x):
    return np.dot(w, x) * np.dot(w, x)
"""

RUN_DOT = """\
import sys
sys.path.insert(0, {moddir!r})
import numpy as np
import srcgrad
import dot_model
print(srcgrad.grad(dot_model.loss)(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
"""


def _run(code, cache_dir, extra_path=()):
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_path), str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)


def test_a_cache_written_with_scipy_never_aborts_a_process_without_it(tmp_path):
    """Process A compiles a gradient that calls BLAS (np.dot) into a shared cache; process B,
    where SciPy cannot be imported, used to load A's Numba cache and die in Numba's BLAS
    wrapper (`Fatal Python error`, exit 134).  Now B compiles its own entry and is told to
    install SciPy; A's entry still serves A."""
    (tmp_path / "dot_model.py").write_text(DOT_MODEL)
    blocker = tmp_path / "no_scipy"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_SCIPY)
    shared = tmp_path / "shared-cache"
    code = RUN_DOT.format(moddir=str(tmp_path))
    a = _run(code, shared)
    assert a.returncode == 0, a.stderr
    assert a.stdout.split() == ["[66.", "88.]"]          # d/dw (w.x)^2 = 2 (w.x) x, w.x = 11
    b = _run(code, shared, extra_path=[blocker])
    assert "Fatal Python error" not in b.stderr
    assert b.returncode == 1, (b.returncode, b.stderr[-2000:])
    last = b.stderr.strip().splitlines()[-1]
    assert last.startswith("srcgrad.errors.SrcgradError: `np.dot` (from "), last
    assert "dot_model.py:4" in last and "python -m pip install scipy" in last, last
    assert len(list(shared.glob("env-*/loss_*.py"))) == 2      # one entry per environment
    again = _run(code, shared)
    assert again.returncode == 0 and again.stdout == a.stdout, again.stderr


def test_environment_fingerprint_covers_what_compiled_code_links_against(monkeypatch):
    text = cache.environment_description()
    for fact in (sys.executable, sys.prefix, "numba ", "llvmlite ", "numpy ", "scipy "):
        assert fact in text
    assert cache.cache_dir().name == "env-" + cache.environment_fingerprint()
    assert cache.cache_dir().parent == cache.cache_root()
    monkeypatch.setattr(cache, "LINKED_PACKAGES", ("numba", "llvmlite", "numpy", "no_such_package_xyz"))
    cache.environment_description.cache_clear()
    try:
        assert "no_such_package_xyz absent" in cache.environment_description()
        assert cache.environment_description() != text
    finally:
        cache.environment_description.cache_clear()


def test_cache_root_follows_srcgrad_cache_dir_then_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(tmp_path / "mine"))
    assert cache.cache_root() == tmp_path / "mine"
    if sys.platform in ("win32", "darwin"):
        return
    monkeypatch.delenv("SRCGRAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "srcgrad"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_root() == Path.home() / ".cache" / "srcgrad"


# ---------------------------------------------------------------- inventory, clear, prune
def _entry(directory: Path, stem: str, used: float, compiled_bytes=1000, qual="f_vjp"):
    """A fake entry: a checksummed module and Numba files, last used at `used`."""
    directory.mkdir(parents=True, exist_ok=True)
    body = f"def {qual}(x):\n    return x\n"
    mod = directory / f"{stem}.py"
    mod.write_text(cache.CHECK + cache._checksum(body) + "\n" + body)
    pyc = directory / "__pycache__"
    pyc.mkdir(exist_ok=True)
    files = [mod]
    for name in (f"{stem}.{qual}-2.py311.nbi", f"{stem}.{qual}-2.py311.1.nbc"):
        (pyc / name).write_bytes(b"\0" * (compiled_bytes // 2))
        files.append(pyc / name)
    for f in files:
        os.utime(f, (used, used))
    return files


@pytest.fixture
def root(tmp_path, monkeypatch):
    r = tmp_path / "cache-root"
    monkeypatch.setenv("SRCGRAD_CACHE_DIR", str(r))
    return r


def _foreign(root: Path):
    """Files that are not srcgrad's, beside and inside its directories."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("mine")
    (root / "user_script.py").write_text("print('not generated')\n")
    (root / "__pycache__").mkdir(exist_ok=True)
    (root / "__pycache__" / "user_script.cpython-311.pyc").write_bytes(b"x")
    return [root / "notes.txt", root / "user_script.py", root / "__pycache__" / "user_script.cpython-311.pyc"]


def test_info_counts_entries_and_bytes_of_every_environment(root, capsys):
    now = time.time()
    env = cache.cache_dir()
    _entry(env, "f_r" + "a" * 24, now, compiled_bytes=3000)
    _entry(env, "g_r" + "b" * 24, now - 3 * 86400, compiled_bytes=1000)
    _entry(root / "env-0123456789abcdef", "h_r" + "c" * 24, now - 40 * 86400)
    (root / "env-0123456789abcdef" / "environment.txt").write_text("python /elsewhere/bin/python\n")
    _entry(root, "old_r" + "d" * 24, now)           # the layout before environment directories
    _foreign(root)
    assert cli.main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"srcgrad cache: {root}  (from $SRCGRAD_CACHE_DIR)" in out
    assert f"{env.name}  <- this environment: 2 entries" in out
    assert "env-0123456789abcdef  (/elsewhere/bin/python): 1 entry" in out
    assert "older srcgrad (no environment directory): 1 entry" in out
    assert "total: 4 entries" in out
    assert "compiled code 6.0 kB" in out
    assert "unused for 30 days" in out and "SRCGRAD_CACHE_MAX_AGE_DAYS" in out


def test_info_of_a_missing_cache(root, capsys):
    assert cli.main(["cache", "info"]) == 0
    assert "empty" in capsys.readouterr().out


def test_clear_removes_srcgrad_files_and_nothing_else(root, capsys):
    now = time.time()
    mine = _entry(cache.cache_dir(), "f_r" + "a" * 24, now)
    other = _entry(root / "env-0123456789abcdef", "h_r" + "c" * 24, now)
    legacy = _entry(root, "old_r" + "d" * 24, now)
    (cache.cache_dir() / ".f_r.py.abc123.tmp").write_text("half a write")
    foreign = _foreign(root)
    assert cli.main(["cache", "clear", "--this-environment"]) == 0
    assert "removed 1 entry" in capsys.readouterr().out
    assert not any(f.exists() for f in mine) and not cache.cache_dir().exists()
    assert all(f.exists() for f in other + legacy + foreign)
    assert cli.main(["cache", "clear"]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert not any(f.exists() for f in other + legacy)
    assert all(f.exists() for f in foreign)
    assert sorted(p.name for p in root.iterdir()) == ["__pycache__", "notes.txt", "user_script.py"]


def test_a_cleared_entry_is_rebuilt(root):
    import srcgrad

    def cube(x):
        return x * x * x

    assert srcgrad.grad(cube)(2.0) == 12.0
    assert cachefiles.clear()[0] >= 1
    assert srcgrad.grad(cube)(3.0) == 27.0
    assert list(cache.cache_dir().glob("cube_*.py"))


def test_prune_ages_out_unused_entries_then_caps_the_size(root):
    now = time.time()
    env = cache.cache_dir()
    fresh = _entry(env, "a_r" + "1" * 24, now - 1 * 86400, compiled_bytes=4000)
    recent = _entry(env, "b_r" + "2" * 24, now - 5 * 86400, compiled_bytes=4000)
    stale = _entry(env, "c_r" + "3" * 24, now - 45 * 86400, compiled_bytes=4000)
    orphan = env / "__pycache__" / ("z_r" + "9" * 24 + ".z_vjp-2.py311.nbi")
    orphan.write_bytes(b"x")
    old_tmp, new_tmp = env / ".q.py.old.tmp", env / ".q.py.new.tmp"
    old_tmp.write_text("x")
    new_tmp.write_text("x")
    os.utime(old_tmp, (now - 3 * 86400, now - 3 * 86400))
    foreign = _foreign(root)
    n, freed = cachefiles.prune(max_age=30 * 86400, max_bytes=0, now=now)
    assert n == 1 and freed > 4000
    assert not any(f.exists() for f in stale) and not orphan.exists() and not old_tmp.exists()
    assert all(f.exists() for f in fresh + recent + foreign) and new_tmp.exists()
    size = sum(e.bytes for a in cachefiles.areas() for e in a.entries)
    n, _ = cachefiles.prune(max_age=30 * 86400, max_bytes=size - 1, now=now)   # one entry too many
    assert n == 1
    assert not any(f.exists() for f in recent) and all(f.exists() for f in fresh)


def test_importing_an_entry_marks_it_used_without_touching_its_mtime(root):
    import srcgrad

    def square(x):
        return x * x

    srcgrad.grad(square)(1.0)
    path = next(cache.cache_dir().glob("square_*.py"))
    old = time.time() - 90 * 86400
    os.utime(path, (old, old))
    cache.import_module("fresh_" + path.stem, path, cache.read_valid(path.stem))
    st = path.stat()
    assert st.st_mtime == pytest.approx(old) and st.st_atime > old + 80 * 86400
    assert cachefiles.prune(max_age=30 * 86400, max_bytes=0)[0] == 0


def test_maybe_prune_runs_at_most_once_a_day(root, monkeypatch):
    ran = []
    monkeypatch.setattr(cachefiles, "prune", lambda r, now=None: ran.append(now))
    now = time.time()
    root.mkdir()
    assert cachefiles.maybe_prune(now=now) is True
    assert cachefiles.maybe_prune(now=now + 3600) is False
    assert cachefiles.maybe_prune(now=now + 86400 + 1) is True
    assert len(ran) == 2


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SRCGRAD_CACHE_MAX_AGE_DAYS", "7")
    monkeypatch.setenv("SRCGRAD_CACHE_MAX_MB", "not a number")
    assert cachefiles.max_age_days() == 7.0
    assert cachefiles.max_megabytes() == cachefiles.DEFAULT_MAX_MB


# ---------------------------------------------------------------- the command line
def test_show_into_a_closed_pipe_prints_no_traceback(tmp_path):
    """`python -m srcgrad show ... | head` used to end with a BrokenPipeError traceback."""
    (tmp_path / "model.py").write_text("def f(a, b):\n    return (a + b) * (b + 1)\n")
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "srcgrad", "show", str(tmp_path / "model.py") + ":f",
                             "--argnums", "0,1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()                 # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 1


def test_show_usage_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "model2.py").write_text("def f(a):\n    return a * a\n\ndef g(a):\n    return a\n")
    target = str(tmp_path / "model2.py")
    cases = [([target], "expected path/to/file.py:function"),
             ([str(tmp_path / "absent.py") + ":f"], "no such file"),
             ([target + ":h"], "has no function 'h' (it defines: f, g)"),
             ([target + ":f", "--argnums", "x"], "--argnums takes comma-separated integers"),
             ([target + ":f", "--argnums", ","], "--argnums is empty")]
    for argv, message in cases:
        assert cli.main(["show", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("python -m srcgrad show: ") and message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1


def test_show_prints_srcgrad_errors_without_a_traceback(tmp_path, capsys):
    (tmp_path / "model3.py").write_text("def f(a):\n    try:\n        return a\n    except Exception:\n        return a\n")
    assert cli.main(["show", str(tmp_path / "model3.py") + ":f"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("srcgrad: ") and "model3.py:2" in err and "try" in err


def test_cache_without_an_action_explains_itself(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["cache"])
    assert exc.value.code == 2
    assert "{info,clear}" in capsys.readouterr().err


def test_module_docstring_names_every_command():
    doc = textwrap.dedent(cli.__doc__)
    for cmd in ("show", "cache info", "cache clear"):
        assert f"python -m srcgrad {cmd}" in doc
