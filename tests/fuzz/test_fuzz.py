"""Hypothesis fuzzing of srcgrad: random programs of the supported subset against the oracle.

The CI budget is set by FUZZ_EXAMPLES (default 60 programs, each checked at 4 random inputs);
the long mode (`python -m tests.fuzz --long`) raises it and turns on the database and shrinking.
"""
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from . import gen
from .driver import check_program

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
# the same programs on every run, so that CI is reproducible (the long mode explores:
# python -m tests.fuzz ...); FUZZ_RANDOM=1 draws new ones
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") != "1"
INPUTS = int(os.environ.get("FUZZ_INPUTS", "4"))


@st.composite
def programs(draw):
    return gen.generate(lambda lo, hi: draw(st.integers(lo, hi)), **gen.size_from_env())


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.filter_too_much])
@given(program=programs(), seed=st.integers(0, 2**32 - 1))
def test_srcgrad_agrees_with_oracle(program, seed):
    check_program(program, seed, INPUTS)


def test_generator_is_deterministic_per_seed():
    assert gen.from_seed(7).source == gen.from_seed(7).source
