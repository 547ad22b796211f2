"""Every failure the fuzzer found, as a plain function in tests/corpus_regressions.py."""
import numpy as np
import pytest

import srcgrad
from srcgrad.testing import numerical_grad
from tests import corpus_regressions as corpus


# Cases srcgrad now refuses (with a located error) rather than differentiates: never wrong, but
# a lost capability until the alias analysis is precise enough for them.
REFUSED = {
    "swap_local_arrays": "issue 22: `b, c = c, b` in a loop makes each name hold either array as far as "
                         "the alias analysis can tell, so the write `b[1] = ...` is refused",
}


@pytest.mark.parametrize("fun,argnums,inputs", corpus.CASES, ids=[c[0].__name__ for c in corpus.CASES])
def test_regression(fun, argnums, inputs):
    if fun.__name__ in REFUSED:
        with pytest.raises(srcgrad.UnsupportedArrayUseError):
            srcgrad.value_and_grad(fun, argnums=argnums)(*inputs[0])
        pytest.xfail(REFUSED[fun.__name__])
    vg = srcgrad.value_and_grad(fun, argnums=argnums)
    nums = (argnums,) if isinstance(argnums, int) else argnums
    for args in inputs:
        value, grads = vg(*args)
        assert value == pytest.approx(fun(*args), rel=1e-12, abs=1e-12)
        grads = (grads,) if isinstance(argnums, int) else grads
        for i, g in zip(nums, grads):
            assert np.shape(g) == np.shape(args[i]), f"gradient of argument {i} has the wrong shape"
        for g, n in zip(grads, numerical_grad(fun, args, nums)):
            np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-7)
