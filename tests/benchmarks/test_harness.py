"""The harness itself: data discovery, the report, the lock-step kernel's partial
block, the timing helpers (run, never timed)."""
import json

import numpy as np
import pytest

from benchmarks import adbench, cases, handwritten, run
from benchmarks import contestants as K


def test_missing_data_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("SRCGRAD_ADBENCH_DIR", str(tmp_path))
    c = cases.gmm_case("gmm/1k/gmm_d2_K5.txt")
    assert c.missing.startswith("data not found")
    with pytest.raises(K.Unavailable, match="data not found"):
        K.build(K.HANDWRITTEN, c)
    rows = run.correctness(kernels=["ba"], verbose=False)
    assert rows and all("data not found" in r["status"] for r in rows)


def test_default_data_dir_is_next_to_the_repository(monkeypatch):
    monkeypatch.delenv("SRCGRAD_ADBENCH_DIR", raising=False)
    assert adbench.data_dir() == adbench.REPO.parent / "shared" / "data" / "adbench"


@pytest.mark.parametrize("n", [1, 255, 256, 257, 600])
def test_lockstep_matches_per_element(n):
    c = cases.elementwise_case("logistic_euler", n, seed=3)
    a = handwritten.elementwise_grad("logistic_euler", False)(*c.args)
    for parallel in (False, True):
        b = handwritten.elementwise_grad("logistic_euler_lockstep", parallel)(*c.args)
        for x, y in zip(a, b):
            np.testing.assert_allclose(y, x, rtol=1e-13)


def test_parallel_drivers_match_serial():
    for k in cases.ELEMENTWISE:
        c = cases.elementwise_case(k, 1000)
        for x, y in zip(handwritten.elementwise_grad(k, False)(*c.args),
                        handwritten.elementwise_grad(k, True)(*c.args)):
            np.testing.assert_allclose(y, x, rtol=1e-15)


def test_gmm_objective_independent_of_loop_form():
    try:
        g = adbench.read_gmm("gmm/1k/gmm_d10_K25.txt")
    except adbench.DataNotFound:
        pytest.skip("ADBench data not found")
    assert handwritten.gmm_primal(*g.args) == pytest.approx(
        adbench.gmm_objective_reference(g), rel=1e-12)
    assert handwritten.gmm_primal(*g.args) == pytest.approx(-2.5649652621e+04, rel=1e-10)


def test_ba_jacobian_structure():
    try:
        ba = adbench.read_ba("ba/test.txt")
    except adbench.DataNotFound:
        pytest.skip("ADBench data not found")
    rows, cols, vals = handwritten.ba_jacobian(ba)
    nrows, ncols = ba.shape
    assert (nrows, ncols) == (30, 62) and rows.shape == (nrows + 1,) and vals.size == 310
    assert np.all(np.diff(rows) == np.r_[np.full(2 * ba.p, 15), np.ones(ba.p)])
    assert cols.min() >= 0 and cols.max() < ncols
    # a generic assembly of the same blocks gives the same CSR
    J = vals[:30 * ba.p].reshape(ba.p, 2, 15)
    r2, c2, v2 = handwritten.assemble_csr(ba, np.ascontiguousarray(J[:, 0, :].T),
                                          np.ascontiguousarray(J[:, 1, :].T), -2.0 * ba.w)
    assert np.array_equal(rows, r2) and np.array_equal(cols, c2) and np.array_equal(vals, v2)


def test_measure_and_memory_helpers_run():
    first, med, runs = run.measure(lambda: np.ones(1000).sum(), min_runs=5, min_total=0.0)
    assert runs >= 5 and med >= 0 and first >= 0
    assert run.peak_memory_mb(lambda: np.ones(10 ** 6)) >= 0


def test_report_and_plot(tmp_path):
    rows = run.bench("quick", 1, sizes=[64], kernels=["huber"], verbose=False,
                     names=[K.PRIMAL, K.HANDWRITTEN, K.SRCGRAD, "PyTorch tape", K.TAPE])
    names = {r["contestant"] for r in rows}
    assert {K.HANDWRITTEN, K.SRCGRAD, K.TAPE} <= names      # errors are rows too
    res = [{"threads": 1, "versions": K.versions(), "machine": run.machine(), "rows": rows}]
    md = run.markdown(res, "quick")
    assert "| huber n=64 |" in md and "hand-written Numba" in md
    sg = next(r for r in rows if r["contestant"] == K.SRCGRAD)
    assert sg["pairs"] >= 30 and sg["paired_ratio"] > 0 and "alternating calls" in md
    assert run.plot(res, tmp_path / "p.png") and (tmp_path / "p.png").stat().st_size > 0
    json.dumps(res, default=float)


def test_paired_ratio_sees_the_slower_function():
    import time
    ratio, pairs = run.paired(lambda: time.sleep(0.001), lambda: time.sleep(0.003), min_total=0.0)
    assert pairs >= 30 and 2.0 < ratio < 4.0


def test_targets_and_scaling_from_rows():
    def row(contestant, ns, threads=1, **kw):
        r = dict(case="huber n=1e6", kernel="huber", kind="elementwise", contestant=contestant,
                 status="ok", ns_per_element=ns, seconds=ns * 1e-3, threads=threads)
        r.update(kw)
        return r

    rows = [row(K.HANDWRITTEN, 1.0), row(K.SRCGRAD, 1.1), row("JAX jit(vmap(grad))", 2.0),
            row("autograd", 50.0), row(K.TAPE, 5000.0)]
    for r in rows:
        r["vs_handwritten"] = r["ns_per_element"]
    got = {t[0]: t[3] for t in run.targets(rows)}
    assert got == {"within 1.15x of hand-written": True, ">= 100x faster than pure-Python tape": True,
                   ">= 100x faster than autograd": False, "ahead of JAX (control flow)": True}
    two = [row(K.HANDWRITTEN, 0.5, threads=2), row(K.SRCGRAD, 1.1, threads=2)]
    sc = run.scaling([{"threads": 1, "rows": rows}, {"threads": 2, "rows": two}])
    assert sorted((n, round(v, 6)) for _, n, _, v in sc) == [(K.HANDWRITTEN, 2.0), (K.SRCGRAD, 1.0)]


def test_missing_tool_is_reported_not_installed(monkeypatch):
    import sys
    for mod in ("autograd", "autograd.numpy", "autograd.scipy.special"):
        monkeypatch.setitem(sys.modules, mod, None)     # import raises ImportError
    c = cases.elementwise_case("seed", 8)
    with pytest.raises(K.Unavailable, match="^not installed$"):
        K.build("autograd", c)
    rows = run.bench("quick", 1, sizes=[8], kernels=["seed"], verbose=False, names=["autograd"])
    assert [r["status"] for r in rows] == ["not installed"]
    assert K.versions()["autograd"] == "not installed"
