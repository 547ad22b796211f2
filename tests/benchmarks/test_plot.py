"""The benchmark plot's data: the best peer per case, read from JSON rows or the published tables."""
import math

from benchmarks import plot

TABLE = """\
1 thread:

| case | Numba primal (floor) | hand-written Numba | srcgrad | JAX jit(vmap(grad)) | PyTorch tape | autograd | pure-Python tape |
|---|---|---|---|---|---|---|---|
| seed n=1e5 | 0.842 ns/el (0.42x) | 2 ns/el | 1.69 ns/el (0.85x) | 2.08 ns/el (1.04x) | 4.77 ns/el (2.39x) | 8.34 ns/el (4.18x) | 7,453 ns/el (3734.49x) |
| while n=1e5 | 53.3 ns/el (0.93x) | 57.3 ns/el | 56.5 ns/el (0.99x) | cannot express: data-dependent while | 977 ns/el (17.05x) | 983 ns/el (17.14x) | 46,227 ns/el (806.14x) |
| gmm 1k | 0.0943 ms (0.63x) | 0.15 ms | 1.39 ms (9.33x) | 0.428 ms (2.86x) | 0.78 ms (5.22x) | 1.95 ms (13.05x) | 544 ms (3639.58x) |

2 threads (autograd and the pure-Python tape have no threads):

| case | hand-written Numba | srcgrad | JAX jit(vmap(grad)) | PyTorch tape |
|---|---|---|---|---|
| seed n=1e5 | 1.59 ns/el | 1.5 ns/el (0.94x) | cannot express: no | not installed |
"""


def test_published_tables_are_read_back():
    results = plot.results_from_markdown(TABLE)
    assert [(r["threads"], len(r["rows"])) for r in results] == [(1, 21), (2, 4)]
    seed = {r["contestant"]: r for r in results[0]["rows"] if r["case"] == "seed n=1e5"}
    assert seed["srcgrad"]["vs_handwritten"] == 0.85 and seed["hand-written Numba"]["vs_handwritten"] == 1.0
    assert seed["pure-Python tape"]["vs_handwritten"] == 3734.49 and seed["srcgrad"]["kind"] == "elementwise"
    gmm = {r["contestant"]: r for r in results[0]["rows"] if r["case"] == "gmm 1k"}
    assert gmm["srcgrad"]["kind"] == "array"


def test_the_best_peer_is_the_fastest_ad_tool_not_a_numba_kernel():
    (one, rows1), (two, rows2) = plot.summary(plot.results_from_markdown(TABLE))
    assert one == 1 and two == 2
    assert rows1[0] == ("seed n=1e5", 0.85, 1.04, "JAX jit(vmap(grad))", "")
    assert rows1[1] == ("while n=1e5", 0.99, 17.05, "PyTorch tape", "")     # JAX cannot express it
    assert rows1[2] == ("gmm 1k", 9.33, 2.86, "JAX jit(vmap(grad))", "")
    case, sg, peer, name, why = rows2[0]
    assert (case, sg, peer, name) == ("seed n=1e5", 0.94, None, "") and why.startswith("cannot express")


def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "b.png"
    assert plot.plot(plot.results_from_markdown(TABLE), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plot.plot([{"threads": 1, "rows": []}], tmp_path / "none.png")
    assert not math.isnan(plot.summary(plot.results_from_markdown(TABLE))[0][1][0][1])
