"""Property-based fuzzing of srcgrad against an independent oracle (CPython + finite differences).

Two generators share the driver style: gen.py (scalar programs: branches, loops, early returns,
element reads/writes of one array) and gen_arrays.py (whole-array NumPy programs over 1-D and
2-D arrays: broadcasting, reductions, matmul, kinks, element writes, loops, helpers; construct
families behind FUZZ_FEATURES switches).

    pytest tests/fuzz                                  # the CI budget
    python -m tests.fuzz --long                        # scalar long mode (see __main__.py)
    python -m tests.fuzz --arrays --seeds 0:2000 --jobs 2         # array long mode, a summary by kind
    python -m tests.fuzz --arrays --list-features                 # the feature switches
    FUZZ_FEATURES=slices,carried_arrays pytest tests/fuzz/test_fuzz_arrays.py

Bugs found become plain functions: tests/corpus_regressions.py (scalar) and
tests/fuzz/array_regressions.py (arrays; open bugs are strict xfails named after the generator
switch that keeps their pattern out of the CI run).
"""
