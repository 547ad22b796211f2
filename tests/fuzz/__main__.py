"""Long-mode fuzzing from one command.

    python -m tests.fuzz --long                  # Hypothesis, 1000 programs x 4 inputs, shrinking on
    python -m tests.fuzz --long --examples 5000 --inputs 8
    python -m tests.fuzz --seeds 0:500           # deterministic programs from seeds; reports every
                                                 # failure instead of stopping at the first
    python -m tests.fuzz --show 57               # print the program of one seed
    python -m tests.fuzz --seeds 0:200 --depth 3 --stmts 8   # bigger programs

Whole-array programs (gen_arrays.py, oracle_arrays.py) with --arrays:

    python -m tests.fuzz --arrays --seeds 0:2000             # the default feature set
    python -m tests.fuzz --arrays --seeds 0:500 --features slices,carried_arrays --allow-refusals
    python -m tests.fuzz --arrays --show 57 --features all
    python -m tests.fuzz --arrays --long --examples 500      # Hypothesis, with shrinking

--features takes the FUZZ_FEATURES syntax of gen_arrays.parse_features (`all`, `none`,
`name`, `-name`); --allow-refusals counts located refusals (families srcgrad does not support
yet) instead of failing on them; crashes and wrong results always fail.  --seeds ends with a
summary of failures by kind (crash, refusal, value, gradient, shape).

Every failure found becomes a plain function in tests/corpus_regressions.py (scalar programs,
with a CASES entry) or tests/fuzz/array_regressions.py (array programs).
"""
from __future__ import annotations

import argparse
import collections
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
    ap.add_argument("--inputs", type=int, default=None, help="random inputs per program (default 4; 3 with --arrays)")
    ap.add_argument("--seeds", help="A:B, run the deterministic programs of seeds A..B-1")
    ap.add_argument("--show", type=int, help="print the program of one seed")
    ap.add_argument("--depth", type=int, default=2, help="nesting depth of if/for/while (default 2)")
    ap.add_argument("--stmts", type=int, default=None,
                    help="statements per block, at most (default 6; 5 with --arrays)")
    ap.add_argument("--arrays", action="store_true", help="whole-array programs (gen_arrays.py)")
    ap.add_argument("--features", default=None,
                    help="array feature set, FUZZ_FEATURES syntax (default: the default set)")
    ap.add_argument("--allow-refusals", action="store_true",
                    help="count located refusals instead of failing (--arrays --seeds)")
    ap.add_argument("--minutes", type=float, default=None,
                    help="with --arrays --seeds: stop after this many minutes and report the programs run")
    ap.add_argument("--list-features", action="store_true", help="print the array feature switches and exit")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes for --arrays --seeds (default 1)")
    ap.add_argument("--numba-opt", default="0",
                    help="NUMBA_OPT for --arrays (default 0: LLVM optimisation does not change what "
                         "srcgrad generates, and compiles take a third of the time)")
    args = ap.parse_args(argv)
    inputs = args.inputs if args.inputs is not None else (3 if args.arrays else 4)
    stmts = args.stmts if args.stmts is not None else (5 if args.arrays else 6)
    os.environ["FUZZ_DEPTH"], os.environ["FUZZ_STMTS"] = str(args.depth), str(stmts)
    if args.features is not None:
        os.environ["FUZZ_FEATURES"] = args.features
    os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-fuzz-cache-"))
    os.environ.setdefault("FUZZ_RANDOM", "1")    # the long mode explores: new programs every run
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    if args.list_features:
        from tests.fuzz import gen_arrays as g
        for title, table in (("families", g.FEATURES), ("bug switches", g.BUG_FEATURES), ("limitations", g.LIMITS)):
            print(f"{title}:")
            for name, doc in table.items():
                print(f"  {name:26} {'on ' if name in g.DEFAULT else 'off'}  {doc}")
        return 0
    if args.show is not None:
        if args.arrays:
            from tests.fuzz import gen_arrays as g
            print(g.from_seed(args.show, g.features_from_env(), **g.size_from_env()).source)
        else:
            from tests.fuzz import gen
            print(gen.from_seed(args.show, **gen.size_from_env()).source)
        return 0
    if args.seeds:
        lo, hi = (int(v) for v in args.seeds.split(":"))
        if args.arrays:
            os.environ.setdefault("NUMBA_OPT", args.numba_opt)
            return run_array_seeds(lo, hi, n_inputs=inputs, allow_refusals=args.allow_refusals, jobs=args.jobs,
                                   minutes=args.minutes)
        return run_seeds(lo, hi, n_inputs=inputs)
    if not args.long:
        ap.print_help()
        return 2
    import pytest
    # the long mode: CI's extended job holds the array test, which a plain run deselects
    os.environ["SRCGRAD_LONG"] = "1"
    if args.arrays:
        os.environ.setdefault("NUMBA_OPT", args.numba_opt)
        os.environ["FUZZ_ARRAY_EXAMPLES"] = str(args.examples)
        os.environ["FUZZ_ARRAY_INPUTS"] = str(inputs)
        return pytest.main([os.path.join(HERE, "test_fuzz_arrays.py"), "-q", "-x", "-p", "no:cacheprovider",
                            "--hypothesis-show-statistics", "-k", "agrees_with_oracle"])
    os.environ["FUZZ_EXAMPLES"] = str(args.examples)
    os.environ["FUZZ_INPUTS"] = str(inputs)
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


def run_array_seeds(lo, hi, n_inputs=3, allow_refusals=False, jobs=1, minutes=None):
    from tests.fuzz import gen_arrays
    from tests.fuzz.driver_arrays import run_seed
    total = collections.Counter()
    refusals = collections.Counter()
    failed = collections.defaultdict(list)
    t0 = time.time()
    print(f"features: {','.join(sorted(gen_arrays.features_from_env()))}; NUMBA_OPT={os.environ.get('NUMBA_OPT')}; "
          f"{jobs} job(s)", flush=True)
    work = [(seed, n_inputs, allow_refusals) for seed in range(lo, hi)]
    if jobs > 1:
        import multiprocessing
        pool = multiprocessing.get_context("spawn").Pool(jobs)
        results = pool.imap(run_seed, work)
    else:
        pool, results = None, map(run_seed, work)
    done = 0
    try:
        for seed, counts, kind, message, dt in results:
            if minutes is not None and time.time() - t0 > 60 * minutes:
                print(f"time budget of {minutes} min reached", flush=True)
                break
            done += 1
            if counts is None:
                failed[kind].append(seed)
                print(f"=== seed {seed}: FAIL ({kind})\n{message}\n", flush=True)
                continue
            why = counts.pop("why", None)
            total.update(counts)
            refusals.update([why] if why else [])
            print(f"seed {seed}: {counts} {dt:.1f} s{'  refused: ' + why if why else ''}", flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    n_failed = sum(len(v) for v in failed.values())
    n = done
    print(f"{n} programs in {time.time() - t0:.0f} s: {n - n_failed - total['refused']} passed, "
          f"{total['refused']} refused (located), {n_failed} failed; {total['ok']} inputs checked "
          f"({total['checked']} gradient coordinates), {total['skip']} skipped")
    for why, times in refusals.most_common():
        print(f"  refused {times}x: {why}")
    for kind, seeds in sorted(failed.items()):
        print(f"  {kind}: {len(seeds)} programs, seeds {seeds[:30]}{' ...' if len(seeds) > 30 else ''}")
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
