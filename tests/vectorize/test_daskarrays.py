"""srcgrad.vectorize with Dask arrays: lazy, blockwise, the same numbers as the in-process call,
on the local threaded scheduler and on a dask.distributed LocalCluster of worker processes.

The kernels are module-level functions of this file, so worker processes can import them when
they unpickle the vectorized function."""
import math
import pickle

import numpy as np
import pytest

import srcgrad

da = pytest.importorskip("dask.array")


def black_scholes(S, K, T, r, sigma):
    sqrt_t = math.sqrt(T)
    d1 = (math.log(S / K) + (r + 0.5 * sigma * sigma) * T) / (sigma * sqrt_t)
    d2 = d1 - sigma * sqrt_t
    n1 = 0.5 * (1.0 + math.erf(d1 / math.sqrt(2.0)))
    n2 = 0.5 * (1.0 + math.erf(d2 / math.sqrt(2.0)))
    return S * n1 - K * math.exp(-r * T) * n2


def while_threshold(a, b, thresh):
    y = 1.0
    while y <= thresh:
        y = y * a + b
    return y


greeks = srcgrad.vectorize(srcgrad.grad(black_scholes, argnums=(0, 2, 3, 4)), parallel=False)
loop_vag = srcgrad.vectorize(srcgrad.value_and_grad(while_threshold, argnums=(0, 1)), parallel=False)


def _inputs():
    rng = np.random.default_rng(7)
    S = rng.uniform(80, 120, (4, 1000))
    T = rng.uniform(0.1, 2.0, 1000)
    a = rng.uniform(1.1, 2.0, 3000)
    thresh = rng.uniform(1.0, 500.0, 3000)
    return S, T, a, thresh


def test_dask_arrays_give_lazy_dask_results_equal_to_numpy():
    S, T, a, thresh = _inputs()
    want = greeks(S, 100.0, T, 0.05, 0.2)
    lazy = greeks(da.from_array(S, chunks=(3, 300)), 100.0, da.from_array(T, chunks=250), 0.05, 0.2)
    assert isinstance(lazy, tuple) and len(lazy) == 4
    for x, w in zip(lazy, want):
        assert isinstance(x, da.Array) and x.shape == w.shape and x.dtype == w.dtype
    got = da.compute(*lazy, scheduler="threads")
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_dask_mixed_with_numpy_broadcasting_and_float32():
    S, T, _, _ = _inputs()
    S32, T32 = S.astype(np.float32), T.astype(np.float32)
    want = greeks(S32[:, :1], 100.0, T32, np.float32(0.05), 0.2)          # (4,1) with (1000,)
    lazy = greeks(da.from_array(S32[:, :1], chunks=(2, 1)), 100.0, T32, np.float32(0.05), 0.2)
    assert lazy[0].dtype == np.float32 and lazy[0].shape == (4, 1000)
    for g, w in zip(da.compute(*lazy, scheduler="threads"), want):
        assert g.dtype == np.float32
        np.testing.assert_array_equal(g, w)


def test_dask_single_output_and_loop_kernel():
    _, _, a, thresh = _inputs()
    primal = srcgrad.vectorize(while_threshold, parallel=False)
    lazy = primal(da.from_array(a, chunks=700), 0.25, thresh)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float64
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), primal(a, 0.25, thresh))
    v, ga, gb = loop_vag(da.from_array(a, chunks=700), 0.25, da.from_array(thresh, chunks=1000))
    want = loop_vag(a, 0.25, thresh)
    for g, w in zip(da.compute(v, ga, gb, scheduler="threads"), want):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(TypeError, match="out="):
        primal(da.from_array(a, chunks=700), 0.25, thresh, out=np.empty(3000))


def test_local_cluster_of_worker_processes():
    distributed = pytest.importorskip("distributed")
    S, T, a, thresh = _inputs()
    assert pickle.loads(pickle.dumps(greeks)).kind == "grad"
    want_greeks = greeks(S, 100.0, T, 0.05, 0.2)
    want_loop = loop_vag(a, 0.25, thresh)

    def lazy():
        return (greeks(da.from_array(S, chunks=(2, 500)), 100.0, da.from_array(T, chunks=500), 0.05, 0.2)
                + loop_vag(da.from_array(a, chunks=1000), 0.25, da.from_array(thresh, chunks=1000)))

    # in process first: the blocks' drivers then sit in the on-disk cache the workers share
    local = da.compute(*lazy(), scheduler="threads")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        got = client.compute(list(lazy()), sync=True)
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    for g, x, w in zip(got, local, list(want_greeks) + list(want_loop)):
        np.testing.assert_array_equal(x, w)
        np.testing.assert_array_equal(g, w)
