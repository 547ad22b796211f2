"""Every derivative rule checked against central differences over its declared domain, called
directly (rules are real Python), plus the documented conventions at singular points."""
import math
import operator

import numpy as np
import pytest

import srcgrad  # noqa: F401  (registers rules)
from srcgrad.rules import all_rules

_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
        "pow": operator.pow, "mod": operator.mod, "neg": operator.neg, "pos": operator.pos}


def _primal(rule):
    return _OPS.get(rule.key, rule.key) if isinstance(rule.key, str) else rule.key


PARTIAL_RULES = sorted({id(r): r for r in all_rules() if r.kind == "partials" and not
                        (isinstance(r.key, str) and r.key not in _OPS)}.values(),
                       key=lambda r: (r.name, r.arity, str(r.key)))


@pytest.mark.parametrize("rule", PARTIAL_RULES, ids=lambda r: f"{r.name}/{r.arity}:{getattr(r.key, '__name__', r.key)}")
def test_partials_match_central_differences(rule):
    rng = np.random.default_rng(0)
    f = _primal(rule)
    for _ in range(5):
        args = [float(rng.uniform(lo, hi)) for lo, hi in rule.domain]
        if rule.key is np.where:
            args[0] = bool(args[0] > 0)
        out = f(*args)
        kw = {"out": out} if rule.uses_out else {}
        parts = rule.fn(*args, **kw)
        parts = parts if isinstance(parts, tuple) else (parts,)
        for i, p in enumerate(parts):
            if p is None or (rule.key is np.where and i == 0):
                continue
            h = 1e-6 * max(1.0, abs(args[i]))
            up, dn = list(args), list(args)
            up[i] += h
            dn[i] -= h
            numeric = (float(f(*up)) - float(f(*dn))) / (2 * h)
            assert float(p) == pytest.approx(numeric, rel=1e-5, abs=1e-6), (rule.name, i, args)


def _d(fn, x, argnums=0):
    return srcgrad.grad(fn, argnums=argnums)(*x)


def f_abs(x):
    return abs(x)


def f_fabs(x):
    return math.fabs(x)


def f_relu_first_zero(x):
    return max(0.0, x)


def f_relu_first_x(x):
    return max(x, 0.0)


def f_max2(x, y):
    return max(x, y)


def f_min2(x, y):
    return min(x, y)


def f_sqrt(x):
    return math.sqrt(x)


def f_pow_y(x, y):
    return x ** y


def f_floor(x):
    return math.floor(x) * x


def test_conventions_at_kinks():
    assert _d(f_abs, (0.0,)) == 0.0
    assert _d(f_fabs, (0.0,)) == 0.0
    assert _d(f_abs, (-2.0,)) == -1.0
    assert _d(f_relu_first_zero, (0.0,)) == 0.0
    assert _d(f_relu_first_x, (0.0,)) == 1.0
    assert _d(f_max2, (1.0, 1.0), (0, 1)) == (1.0, 0.0)
    assert _d(f_min2, (1.0, 1.0), (0, 1)) == (1.0, 0.0)
    assert _d(f_sqrt, (0.0,)) == math.inf
    assert _d(f_pow_y, (0.0, 2.0), (0, 1)) == (0.0, 0.0)
    assert _d(f_floor, (2.5,)) == 2.0


_PROBES = (0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 0.5, 2.0, -3.0, 1e10)


@pytest.mark.parametrize("rule", PARTIAL_RULES, ids=lambda r: f"{r.name}/{r.arity}:{getattr(r.key, '__name__', r.key)}")
def test_a_partial_that_can_be_infinite_says_so(rule):
    """Where the primal is finite and a partial is not (sqrt at 0, tan's 1 + out**2 near its
    poles, pow at 0 with a negative exponent), the rule must carry `nonfinite` for that
    argument, or the reverse pass multiplies an untaken branch's zero adjoint by inf: NaN."""
    import itertools
    f = _primal(rule)
    if rule.key is np.where:
        return
    for args in itertools.product(_PROBES, repeat=rule.arity):
        with np.errstate(all="ignore"):
            try:
                out = f(*args)
                parts = rule.fn(*args, **({"out": out} if rule.uses_out else {}))
            except (ValueError, ZeroDivisionError, OverflowError):
                continue
        if not np.all(np.isfinite(out)):
            continue
        parts = parts if isinstance(parts, tuple) else (parts,)
        for i, p in enumerate(parts):
            if p is not None and not np.all(np.isfinite(p)):
                assert rule.nonfinite[i], (rule.name, i, args, p)
