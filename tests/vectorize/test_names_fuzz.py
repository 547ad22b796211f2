"""A few kernels of tests/fuzz/vectorize_names.py (names clashing with srcgrad.vectorize's own
block code) against central differences; `python -m tests.fuzz.vectorize_names --seeds A:B`
runs any number of them."""
import pytest

from ..fuzz import vectorize_names as vn


def test_the_vocabulary_holds_the_names_that_clashed():
    assert {"e", "m", "outs", "_seed", "_seed_1", "_load"} <= set(vn.VOCAB)
    assert vn.program(7) == vn.program(7)                   # deterministic per seed
    assert "for it_ in range(6)" in vn.program(1)[0] and "if " in vn.program(0)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])     # one of each shape: branch, lockstep, straight
def test_kernel_named_like_the_block_code_agrees_with_central_differences(seed, tmp_path):
    assert vn.check(seed, str(tmp_path)) < vn.TOLERANCE
