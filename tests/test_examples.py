"""Run every example (in its quick mode) as a user would, and check the numbers it prints.

The examples run as subprocesses, two at a time, all queued by the first test here. They use
this session's fresh SRCGRAD_CACHE_DIR (see conftest.py; a new temporary directory if it is
unset), so nothing compiled before the session is reused. The MLP example instead runs
in this process through its main(), while the subprocesses run: tests/test_mlp.py imports
the same module, so its gradient is compiled once. No timing is asserted: the examples
print timings, but the checks are on values only.
"""
import concurrent.futures
import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
OUTPUT = EXAMPLES / "output"

# name -> command-line arguments; the slowest first, so that the pool finishes sooner
RUNS = {
    "lennard_jones": ["--quick"],
    "gradient_check": [],
    "rosenbrock_scipy": [],
    "black_scholes_greeks": ["--quick"],
    "activations": [],
    "quickstart": [],
    "computation_graph": [],
    "gates": [],
    "shop": [],
    "black_scholes_greeks_fallback": ["--quick", "--fallback"],   # after the first: cache warm
}


def load_example(name):
    """Import examples/<name>.py as a module (shared with tests/test_mlp.py)."""
    key = f"srcgrad_example_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, EXAMPLES / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


# examples whose time is their own compiled loops, not compiling: they run at Numba's default
# optimisation, not the suite's -O0 (gradient_check's central differences over 1,000
# parameters: 30 s at -O0, 7 s at the default)
OPTIMISED = {"gradient_check"}


def _run(name, args, env):
    script = EXAMPLES / (name.replace("_fallback", "") + ".py")
    if name in OPTIMISED:
        env = {k: v for k, v in env.items() if k != "NUMBA_OPT"}
    proc = subprocess.run([sys.executable, str(script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    return proc


@pytest.fixture(scope="module")
def runs():
    env = dict(os.environ)
    env.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-examples-cache-"))
    env["MPLBACKEND"] = "Agg"
    workers = 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_run, name, args, env) for name, args in RUNS.items()}
        yield futures
        pool.shutdown(cancel_futures=True)


def output_of(runs, name):
    proc = runs[name].result()
    assert proc.returncode == 0, f"examples/{name}.py failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def number(pattern, text):
    """The number captured by `pattern`'s first group (\\S+ there stops at a ; or ,)."""
    m = re.search(pattern.replace(r"(\S+)", r"([-+0-9.eE]+)"), text)
    assert m, f"{pattern!r} not found in:\n{text}"
    return float(m.group(1))


def test_mlp(runs, capsys):
    load_example("mlp").main(["--quick"])          # in this process, while the others run
    out = capsys.readouterr().out
    assert number(r"max \|srcgrad - hand-written backprop\| over W1, b1, W2, b2: (\S+)", out) < 1e-10
    for name in ("SGD", "Adam"):
        assert len(re.findall(rf"^{name}\s+epoch", out, re.M)) == 12
        m = re.search(rf"final {name}\s*: loss (\S+) -> (\S+), accuracy (\S+)", out)
        assert m, name
        assert float(m.group(2)) < 0.3 * float(m.group(1))
        assert float(m.group(3)) > 0.95
    assert (OUTPUT / "mlp.png").stat().st_size > 0


def test_quickstart(runs):
    out = output_of(runs, "quickstart")
    assert "def graph_vjp(a, b, _seed):" in out          # the generated source is printed
    assert "# adjoint of: c = a + b" in out
    assert "de/da, de/db = (2.0, 5.0)" in out
    assert "df/dx, df/dy, df/dz = (-4.0, -4.0, 3.0)" in out
    assert "df/dx, df/dy, df/dz = (2.0, 5.0, 0.0)" in out
    assert "price = 715" in out
    assert ("d/dapple = 2.2, d/dapple_num = 110, d/dorange = 3.3, d/dorange_num = 165, "
            "d/dtax = 650") in out
    mine = re.search(r"srcgrad:\s+d/dw0, d/dw1, d/db = (.*)", out).group(1)
    hand = re.search(r"by hand s\(1-s\)\*\(x0, x1, 1\)\s+= (.*)", out).group(1)
    assert mine == hand == "-0.196612, -0.393224, 0.196612"


def test_computation_graph(runs):
    out = output_of(runs, "computation_graph")
    for line in ("c = a + b  = 3", "d = b + 1  = 2", "e = c * d  = 6",
                 "de/da = 1 * 2 = 2", "de/db = 1 * 2 + 1 * 3 = 5"):
        assert line in out
    assert re.search(r"^  de/da = 2$", out, re.M) and re.search(r"^  de/db = 5$", out, re.M)
    assert "def graph_vjp(a, b, _seed):" in out and "b_bar += c_bar" in out


def test_gates(runs):
    out = output_of(runs, "gates")
    assert "srcgrad:            df/dx = -4, df/dy = -4, df/dz = 3" in out
    assert "srcgrad:            df/dx = 3, df/dy = 7, df/dz = 0" in out   # max routes to y
    assert "srcgrad:            df/dx = 5, df/dy = 5, df/dz = 4" in out   # max routes to z


def test_shop(runs):
    out = output_of(runs, "shop")
    expected = {"price": 715, "d/dapple": 2.2, "d/dapple_num": 110, "d/dorange": 3.3,
                "d/dorange_num": 165, "d/dtax": 650}
    for name, value in expected.items():
        m = re.search(rf"^{re.escape(name)}\s+(\S+)\s+(\S+)$", out, re.M)
        assert m, name
        assert float(m.group(1)) == pytest.approx(value, rel=1e-12)
        assert float(m.group(2)) == pytest.approx(value, rel=1e-12)
    assert number(r"largest difference between the two: (\S+)", out) < 1e-12


def test_activations(runs):
    out = output_of(runs, "activations")
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu", "maxout", "prelu d/da"):
        assert re.search(rf"^{re.escape(name)}\s", out, re.M), name
    assert number(r"largest derivative error over all activations: (\S+)", out) < 1e-12
    assert "d/d(w1, b1, w2, b2) = (2.0, 1.0, 0.0, 0.0)" in out
    assert "d/d(w1, b1, w2, b2) = (0.0, 0.0, -2.0, 1.0)" in out
    assert (OUTPUT / "activations.png").stat().st_size > 0


def test_gradient_check(runs):
    out = output_of(runs, "gradient_check")
    for p in (10, 100, 1000):
        m = re.search(rf"^\s*{p}\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+x$", out, re.M)
        assert m, p
        assert float(m.group(1)) < 1e-7        # central differences agree with srcgrad
    # the error curve over h has its minimum in the middle (truncation vs rounding)
    errs = {h: float(e) for h, e in re.findall(r"h =\s+(\S+): (\S+)", out)}
    assert errs["1e-04"] < errs["1e-01"] and errs["1e-04"] < errs["1e-10"]
    assert "check_grad(loss, w, X, y, lam) passed" in out


@pytest.mark.parametrize("name", ["black_scholes_greeks", "black_scholes_greeks_fallback"])
def test_black_scholes_greeks(runs, name):
    out = output_of(runs, name)
    assert "100,000 European calls" in out
    path = re.search(r"^path: (.*)$", out, re.M).group(1)
    if name.endswith("fallback"):
        assert path.startswith("fallback: numba.prange loop over grad(...).kernel")
    else:
        assert path == "srcgrad.vectorize" or "srcgrad.vectorize not available" in path
    for greek in ("delta", "vega", "rho", "theta"):
        m = re.search(rf"^{greek}\s+(\S+)\s+(\S+)\s+(\S+)$", out, re.M)
        assert m, greek
        assert float(m.group(3)) < 1e-10
    assert number(r"largest error against the closed form: (\S+)", out) < 1e-10
    assert "ns per option" in out


def test_lennard_jones(runs):
    out = output_of(runs, "lennard_jones")
    assert number(r"max \|F - F_fd\| on atom 1 = (\S+)", out) < 1e-6
    assert number(r"net force \|sum F\| = (\S+)", out) < 1e-10
    assert number(r"max relative energy error (\S+) < 1e-3", out) < 1e-3
    ratio = number(r"divides the rms energy error by (\S+)", out)
    assert 2.5 < ratio < 6.0                    # second order: about 4
    assert (OUTPUT / "lennard_jones.png").stat().st_size > 0


def test_rosenbrock_scipy(runs):
    out = output_of(runs, "rosenbrock_scipy")
    row = r"^{}\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(True|False)$"
    exact = re.search(row.format(re.escape("jac=srcgrad.grad(f)")), out, re.M)
    fd = re.search(row.format(re.escape("no jac (finite differences)")), out, re.M)
    assert exact and fd
    assert int(exact.group(2)) < int(fd.group(2))            # fewer function evaluations
    assert exact.group(6) == "True"
    assert float(exact.group(4)) < 1e-10 and float(exact.group(5)) < 1e-6
    assert float(fd.group(5)) < 1e-3                          # the same minimum, less precisely
    assert number(r"same minimum: .* = (\S+)", out) < 1e-3


def test_custom_rule():
    """examples/custom_rule.py: a user's Numba lgamma with a declared digamma rule (issue #9)."""
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "custom_rule.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "check_grad passed" in out
    assert number(r"\|gradient\| (\S+)", out) < 1e-6
    fitted = number(r"fitted mean (\S+)", out)
    assert fitted == pytest.approx(number(r"sample mean (\S+)", out), rel=1e-4)
    assert abs(number(r"fitted r = (\S+)", out) - 3.0) < 0.5
