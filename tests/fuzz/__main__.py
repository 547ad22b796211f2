"""Long-mode fuzzing from one command.

    python -m tests.fuzz --long                  # Hypothesis, 1000 programs x 4 inputs, shrinking on
    python -m tests.fuzz --long --examples 5000 --inputs 8
    python -m tests.fuzz --seeds 0:500           # deterministic programs from seeds; reports every
                                                 # failure instead of stopping at the first
    python -m tests.fuzz --show 57               # print the program of one seed
    python -m tests.fuzz --seeds 0:200 --depth 3 --stmts 8   # bigger programs

Every failure found becomes a plain function in tests/corpus_regressions.py (with a CASES entry).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--long", action="store_true", help="run the Hypothesis test with a large budget")
    ap.add_argument("--examples", type=int, default=1000, help="programs for --long (default 1000)")
    ap.add_argument("--inputs", type=int, default=4, help="random inputs per program (default 4)")
    ap.add_argument("--seeds", help="A:B, run the deterministic programs of seeds A..B-1")
    ap.add_argument("--show", type=int, help="print the program of one seed")
    ap.add_argument("--depth", type=int, default=2, help="nesting depth of if/for/while (default 2)")
    ap.add_argument("--stmts", type=int, default=6, help="statements per block, at most (default 6)")
    args = ap.parse_args(argv)
    os.environ["FUZZ_DEPTH"], os.environ["FUZZ_STMTS"] = str(args.depth), str(args.stmts)
    os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-fuzz-cache-"))
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    if args.show is not None:
        from tests.fuzz import gen
        print(gen.from_seed(args.show, **gen.size_from_env()).source)
        return 0
    if args.seeds:
        return run_seeds(*(int(v) for v in args.seeds.split(":")), n_inputs=args.inputs)
    if not args.long:
        ap.print_help()
        return 2
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["FUZZ_INPUTS"] = str(args.inputs)
    import pytest
    return pytest.main([os.path.join(HERE, "test_fuzz.py"), "-q", "-x", "-p", "no:cacheprovider",
                        "--hypothesis-show-statistics", "-k", "agrees_with_oracle"])


def run_seeds(lo, hi, n_inputs=4):
    from tests.fuzz import gen
    from tests.fuzz.driver import FuzzFailure, check_program
    total = {"ok": 0, "skip": 0}
    failed = []
    t0 = time.time()
    for seed in range(lo, hi):
        program = gen.from_seed(seed, **gen.size_from_env())
        try:
            counts = check_program(program, seed, n_inputs)
        except FuzzFailure as exc:
            failed.append(seed)
            print(f"=== seed {seed}: FAIL\n{exc}\n", flush=True)
            continue
        for k in counts:
            total[k] += counts[k]
        print(f"seed {seed}: {counts}", flush=True)
    print(f"{hi - lo} programs, {total['ok']} inputs checked, {total['skip']} skipped "
          f"(branch switch or ill-conditioned), failures: {failed or 'none'}, {time.time() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
