"""What is measured: the kernels' inputs and the sizes of the quick, full and check runs."""
from dataclasses import dataclass, field

import numpy as np

from . import adbench

# per-element kernel -> (input generator, differentiated argument positions)
# Inputs are arrays except the fixed constants (K, delta, thresh), Python floats.
ELEMENTWISE = {
    "seed": (lambda u, n: (u(-1, 1, n), u(-1, 1, n)), (0, 1)),
    "sigmoid_neuron": (lambda u, n: tuple(u(-2, 2, n) for _ in range(5)), (0, 1, 2)),
    "black_scholes": (lambda u, n: (u(80, 120, n), 100.0, u(0.25, 2.0, n), u(0.01, 0.05, n),
                                    u(0.1, 0.5, n)), (0, 2, 3, 4)),
    "huber": (lambda u, n: (u(-3, 3, n), 1.0), (0,)),
    "logistic_euler": (lambda u, n: (u(0.1, 1.0, n), u(0.5, 2.0, n), u(5.0, 10.0, n)), (0, 1, 2)),
    # a in [1.05, 1.5], b > 0: 10 to 60 trips, different per element
    "while_threshold": (lambda u, n: (u(1.05, 1.5, n), u(0.1, 1.0, n), 100.0), (0, 1)),
}

GMM_FILES = {
    "quick": ["gmm/1k/gmm_d2_K5.txt", "gmm/1k/gmm_d10_K25.txt"],
    "full": ["gmm/1k/gmm_d2_K5.txt", "gmm/1k/gmm_d10_K25.txt", "gmm/10k/gmm_d2_K5.txt"],
    "check": ["gmm/test.txt", "gmm/1k/gmm_d2_K5.txt"],
}
BA_FILES = {
    "quick": ["ba/ba1_n49_m7776_p31843.txt"],
    "full": ["ba/ba1_n49_m7776_p31843.txt"],
    "check": ["ba/test.txt"],
}
ELEMENT_SIZES = {"quick": [10_000], "full": [100_000, 10_000_000], "check": [300]}
ROSENBROCK_SIZES = {"quick": [10_000], "full": [100_000], "check": [1000]}


@dataclass
class Case:
    kernel: str
    kind: str                 # "elementwise" or "array"
    label: str
    args: tuple = ()
    wrt: tuple = ()
    data: object = None       # adbench.GMM / adbench.BA
    n: int = 0                # elements (per-element kernels)
    missing: str = ""         # "data not found: ..." when the input file is absent
    extra: dict = field(default_factory=dict)


def _human(n):
    for e in range(9, 0, -1):
        if n == 10 ** e:
            return f"1e{e}"
    return str(n)


def elementwise_case(kernel, n, seed=0):
    rng = np.random.default_rng(seed)
    gen, wrt = ELEMENTWISE[kernel]
    args = gen(rng.uniform, n)
    return Case(kernel, "elementwise", f"{kernel} n={_human(n)}", tuple(args), wrt, n=n)


def rosenbrock_case(n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, n)
    return Case("rosenbrock", "array", f"rosenbrock n={_human(n)}", (x,), (0,), n=n)


def gmm_case(rel):
    label = "gmm " + rel.replace("gmm/", "").replace(".txt", "")
    try:
        g = adbench.read_gmm(rel)
    except adbench.DataNotFound as exc:
        return Case("gmm", "array", label, missing=str(exc))
    return Case("gmm", "array", label, data=g, n=g.x.shape[0])


def ba_case(rel):
    label = "ba " + rel.replace("ba/", "").replace(".txt", "")
    try:
        b = adbench.read_ba(rel)
    except adbench.DataNotFound as exc:
        return Case("ba", "array", label, missing=str(exc))
    return Case("ba", "array", label, data=b, n=b.p)


def cases(mode, sizes=None, kernels=None):
    """All cases of a mode ("quick", "full" or "check"), per-element ones first."""
    out = []
    for n in sizes or ELEMENT_SIZES[mode]:
        for k in ELEMENTWISE:
            out.append(elementwise_case(k, n))
    for n in ROSENBROCK_SIZES[mode]:
        out.append(rosenbrock_case(n))
    out += [gmm_case(f) for f in GMM_FILES[mode]]
    out += [ba_case(f) for f in BA_FILES[mode]]
    if kernels:
        out = [c for c in out if c.kernel in kernels]
    return out
