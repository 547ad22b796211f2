"""The benchmark plot: srcgrad against the best peer and the hand-written derivative.

One row per case, one panel per thread count; the x axis is time / hand-written Numba
derivative (log scale: 0.5x and 2x are equally far from 1).  A filled dot is srcgrad, a hollow
one the fastest of the AD tools that are not Numba-based (JAX, PyTorch, autograd), named
beside it; the vertical line is the hand-written derivative.  Left of the line is faster.

    python -m benchmarks.plot [benchmarks/results/results.json] [-o docs/benchmarks.png]
    python -m benchmarks.plot --from-readme README.md -o docs/benchmarks.png

`--from-readme` reads the published tables (the README's bench-table section, which is the
`results.md` of a full run) when the JSON of that run is not at hand.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

SRCGRAD = "srcgrad"
HANDWRITTEN = "hand-written Numba"
# AD tools a user would otherwise reach for (the pure-Python tape is a teaching baseline,
# the Numba primal and the lock-step kernel are not AD tools)
PEERS = ("JAX jit(vmap(grad))", "PyTorch tape", "PyTorch vmap(grad)", "autograd")
GROUP = {"elementwise": "per element (vectorize)", "array": "whole arrays"}
SHORT = {"JAX jit(vmap(grad))": "JAX", "PyTorch tape": "PyTorch", "PyTorch vmap(grad)": "PyTorch vmap",
         "autograd": "autograd"}


def summary(results):
    """Per panel (thread count): rows (case, srcgrad ratio or None, best peer ratio or None,
    best peer name, why the peers have no number)."""
    panels = []
    for res in results:
        rows = [r for r in res.get("rows", []) if r.get("contestant")]
        if not rows:
            continue
        out = []
        for case in dict.fromkeys(r["case"] for r in rows):
            mine = [r for r in rows if r["case"] == case]
            sg = next((r for r in mine if r["contestant"] == SRCGRAD and r["status"] == "ok"
                       and "vs_handwritten" in r), None)
            peers = [r for r in mine if r["contestant"] in PEERS and r["status"] == "ok" and "vs_handwritten" in r]
            best = min(peers, key=lambda r: r["vs_handwritten"], default=None)
            why = ""
            if best is None:
                reasons = [r["status"] for r in mine if r["contestant"] in PEERS]
                why = next((s for s in reasons if s.startswith("cannot express")), reasons[0] if reasons else "")
            out.append((case, sg["vs_handwritten"] if sg else None,
                        best["vs_handwritten"] if best else None,
                        best["contestant"] if best else "", why))
        panels.append((res["threads"], out))
    return panels


def plot(results, path) -> bool:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = summary(results)
    if not panels:
        return False
    cases = list(dict.fromkeys(c for _, rows in panels for c, *_ in rows))
    ratios = [v for _, rows in panels for _, s, p, _, _ in rows for v in (s, p) if v]
    lo = min(0.1, min(ratios, default=1.0) / 1.5)
    hi = max(10.0, max(ratios, default=1.0) * 3.0)
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.6, 0.36 * len(cases) + 1.6),
                             sharey=True, squeeze=False)
    y = {c: len(cases) - 1 - i for i, c in enumerate(cases)}
    kinds = {r["case"]: r["kind"] for res in results for r in res.get("rows", []) if r.get("kind")}
    for ax, (threads, rows) in zip(axes[0], panels):
        ax.axvspan(lo, 1.0, color="#e8f4e8", zorder=0)
        ax.axvline(1.0, color="black", lw=1.2, zorder=1)
        for case, sg, peer, name, why in rows:
            yy = y[case]
            if sg and peer:
                ax.plot([sg, peer], [yy, yy], color="#bbbbbb", lw=1.5, zorder=2)
            if peer:
                ax.scatter([peer], [yy], s=55, facecolors="white", edgecolors="#555555", lw=1.5, zorder=3)
                left = sg is not None and peer < sg          # the name away from the srcgrad dot
                ax.annotate(SHORT.get(name, name), (peer, yy), xytext=(-7 if left else 7, 0),
                            textcoords="offset points", va="center", ha="right" if left else "left",
                            fontsize=7.5, color="#555555")
            elif why:
                ax.annotate("peers: " + why.split(":")[0], (hi, yy), xytext=(-4, 0),
                            textcoords="offset points", va="center", ha="right", fontsize=7.5,
                            color="#555555", style="italic")
            if sg:
                ax.scatter([sg], [yy], s=60, color="#c0392b", zorder=4)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}x" for t in ticks], fontsize=8)
        ax.minorticks_off()
        ax.grid(axis="x", color="#dddddd", lw=0.6, zorder=0)
        ax.set_xlabel("time / hand-written Numba derivative  (left of 1x: faster)", fontsize=8.5)
        ax.set_title(f"{threads} thread{'s' if threads > 1 else ''}", fontsize=10)
        ax.set_ylim(-0.7, len(cases) - 0.3)
        for a, b in zip(cases, cases[1:]):          # per-element kernels above, whole-array below
            if kinds.get(a) != kinds.get(b):
                mid = (y[a] + y[b]) / 2
                ax.axhline(mid, color="#888888", lw=0.8, ls="--", zorder=1)
                for dy, va, kind in ((0.08, "bottom", kinds.get(a)), (-0.08, "top", kinds.get(b))):
                    ax.text(lo * 1.08, mid + dy, GROUP.get(kind, kind or ""), ha="left", va=va,
                            fontsize=7, color="#666666", style="italic")
    axes[0][0].set_yticks(list(y.values()))
    axes[0][0].set_yticklabels(list(y.keys()), fontsize=8.5)
    handles = [plt.Line2D([], [], marker="o", ls="", color="#c0392b", ms=7, label="srcgrad"),
               plt.Line2D([], [], marker="o", ls="", mfc="white", mec="#555555", mew=1.5, ms=7,
                          label="fastest of JAX / PyTorch / autograd"),
               plt.Line2D([], [], color="black", lw=1.2, label="hand-written Numba derivative (1x)")]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False, fontsize=8.5)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------ the published tables
_CELL = re.compile(r"^([\d,.]+) (ns/el|ms)(?: \(([\d,.]+)x\))?$")


def results_from_markdown(text: str):
    """Rows (case, contestant, status, vs_handwritten) of the tables in a results.md / the
    README's bench-table section: a `N thread(s)` line, then a `| case | ... |` table."""
    results, threads, header = [], None, None
    for line in text.splitlines():
        m = re.match(r"^(?:## )?(\d+) threads?\b", line)
        if m:
            threads, header = int(m.group(1)), None
            continue
        if threads is None or not line.startswith("|"):
            if header is not None and not line.strip():
                threads, header = None, None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "case":
            header = cells[1:]
            results.append({"threads": threads, "rows": []})
            continue
        if header is None or set(cells[0]) <= set("-: "):
            continue
        for name, cell in zip(header, cells[1:]):
            if not cell:
                continue
            row = {"case": cells[0], "contestant": name, "threads": threads}
            m = _CELL.match(cell)
            if m:
                row["status"] = "ok"
                row["kind"] = "elementwise" if m.group(2) == "ns/el" else "array"
                ratio = m.group(3)
                row["vs_handwritten"] = float(ratio.replace(",", "")) if ratio else (
                    1.0 if name == HANDWRITTEN else math.nan)
            else:
                row["status"] = cell
            results[-1]["rows"].append(row)
    return [r for r in results if r["rows"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.plot", description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", default=str(Path(__file__).parent / "results" / "results.json"))
    ap.add_argument("--from-readme", help="read the tables of this Markdown file instead of JSON")
    ap.add_argument("-o", "--out", default=None, help="the PNG (default: results.png beside the JSON)")
    a = ap.parse_args(argv)
    if a.from_readme:
        text = Path(a.from_readme).read_text()
        if "<!-- bench-table -->" in text:
            text = text.split("<!-- bench-table -->", 1)[1].split("<!-- /bench-table -->", 1)[0]
        results = results_from_markdown(text)
        out = Path(a.out or "benchmarks.png")
    else:
        results = json.loads(Path(a.results).read_text())
        out = Path(a.out) if a.out else Path(a.results).with_name("results.png")
    if not plot(results, out):
        print("no timed rows to plot", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
