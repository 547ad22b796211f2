"""The tape approach, as the seeds teach it: a pure-Python scalar tape.

A ``Value`` records, during the forward pass, its parents and the local
gradient with respect to each. ``backward`` orders the graph topologically
(iteratively: graphs here reach millions of nodes) and walks it in reverse,
accumulating adjoints where a value fans out. Comparisons return plain bools,
so branches and loops in the traced code simply run on the forward values.

``retarget(fn)`` re-binds a kernel from ``benchmarks.kernels`` so that its
``math`` and ``np`` are this module's taped versions: the tape traces the same
source that srcgrad differentiates.
"""
import math as _m
import types

import numpy as _np


class Value:
    __slots__ = ("data", "grad", "_parents", "_local")

    def __init__(self, data, parents=(), local=()):
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._local = local

    def __repr__(self):
        return f"Value({self.data!r}, grad={self.grad!r})"

    # -- arithmetic: forward value and local partials together -------------
    def __add__(self, o):
        if not isinstance(o, Value):
            return Value(self.data + o, (self,), (1.0,))
        return Value(self.data + o.data, (self, o), (1.0, 1.0))

    __radd__ = __add__

    def __neg__(self):
        return Value(-self.data, (self,), (-1.0,))

    def __sub__(self, o):
        if not isinstance(o, Value):
            return Value(self.data - o, (self,), (1.0,))
        return Value(self.data - o.data, (self, o), (1.0, -1.0))

    def __rsub__(self, o):
        return Value(o - self.data, (self,), (-1.0,))

    def __mul__(self, o):
        if not isinstance(o, Value):
            return Value(self.data * o, (self,), (float(o),))
        return Value(self.data * o.data, (self, o), (o.data, self.data))

    __rmul__ = __mul__

    def __truediv__(self, o):
        if not isinstance(o, Value):
            return Value(self.data / o, (self,), (1.0 / o,))
        q = self.data / o.data
        return Value(q, (self, o), (1.0 / o.data, -q / o.data))

    def __rtruediv__(self, o):
        q = o / self.data
        return Value(q, (self,), (-q / self.data,))

    def __pow__(self, o):
        if not isinstance(o, Value):
            out = self.data ** o
            return Value(out, (self,), (o * self.data ** (o - 1),))
        out = self.data ** o.data
        dlog = _m.log(self.data) if self.data > 0 else 0.0
        return Value(out, (self, o), (o.data * self.data ** (o.data - 1), out * dlog))

    def __rpow__(self, o):
        out = o ** self.data
        return Value(out, (self,), (out * _m.log(o),))

    # -- comparisons act on forward values (branches) ----------------------
    def __lt__(self, o):
        return self.data < _data(o)

    def __le__(self, o):
        return self.data <= _data(o)

    def __gt__(self, o):
        return self.data > _data(o)

    def __ge__(self, o):
        return self.data >= _data(o)

    def __eq__(self, o):
        return self.data == _data(o)

    def __ne__(self, o):
        return self.data != _data(o)

    __hash__ = object.__hash__

    def __float__(self):
        return self.data

    # -- reverse sweep ------------------------------------------------------
    def backward(self):
        order = []
        seen = set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for p in node._parents:
                if id(p) not in seen:
                    stack.append((p, False))
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            g = node.grad
            for p, d in zip(node._parents, node._local):
                p.grad += d * g


def _data(v):
    return v.data if isinstance(v, Value) else v


# -- elementary functions: forward value and local partial -----------------

def exp(x):
    if not isinstance(x, Value):
        return _m.exp(x)
    e = _m.exp(x.data)
    return Value(e, (x,), (e,))


def log(x):
    if not isinstance(x, Value):
        return _m.log(x)
    return Value(_m.log(x.data), (x,), (1.0 / x.data,))


def sin(x):
    if not isinstance(x, Value):
        return _m.sin(x)
    return Value(_m.sin(x.data), (x,), (_m.cos(x.data),))


def cos(x):
    if not isinstance(x, Value):
        return _m.cos(x)
    return Value(_m.cos(x.data), (x,), (-_m.sin(x.data),))


def tanh(x):
    if not isinstance(x, Value):
        return _m.tanh(x)
    t = _m.tanh(x.data)
    return Value(t, (x,), (1.0 - t * t,))


def sqrt(x):
    if not isinstance(x, Value):
        return _m.sqrt(x)
    s = _m.sqrt(x.data)
    return Value(s, (x,), (0.5 / s,))


_TWO_OVER_SQRT_PI = 2.0 / _m.sqrt(_m.pi)


def erf(x):
    if not isinstance(x, Value):
        return _m.erf(x)
    return Value(_m.erf(x.data), (x,), (_TWO_OVER_SQRT_PI * _m.exp(-x.data * x.data),))


def relu(x):
    if not isinstance(x, Value):
        return x if x > 0 else 0.0
    return Value(x.data if x.data > 0 else 0.0, (x,), (1.0 if x.data > 0 else 0.0,))


def maximum(x, y):
    """max(x, y); at a tie the adjoint goes to x."""
    return x if _data(x) >= _data(y) else y


# -- the namespaces a retargeted kernel sees ---------------------------------

math = types.SimpleNamespace(
    exp=exp, log=log, sin=sin, cos=cos, tanh=tanh, sqrt=sqrt, erf=erf,
    pi=_m.pi, e=_m.e, lgamma=_m.lgamma)


def _zeros(shape):
    out = _np.empty(shape, dtype=object)
    out.fill(0.0)
    return out


np = types.SimpleNamespace(zeros=_zeros)


def retarget(fn):
    """``fn`` with its globals ``math`` and ``np`` replaced by the taped ones."""
    g = dict(fn.__globals__)
    g["math"] = math
    g["np"] = np
    return types.FunctionType(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__)


def grad(fn, argnums=0):
    """Gradient of a scalar function by the tape, seeds-style.

    Arguments listed in ``argnums`` (an int or a tuple) become ``Value``s, or
    object arrays of ``Value``s when they are arrays; the gradient has the
    same structure (a float, a float array, or a tuple of those).
    """
    f = retarget(fn)
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def g(*args):
        args = list(args)
        leaves = {}
        for i in nums:
            a = args[i]
            if isinstance(a, _np.ndarray):
                arr = _np.empty(a.shape, dtype=object)
                flat = arr.reshape(-1)
                for j, v in enumerate(a.reshape(-1)):
                    flat[j] = Value(v)
                args[i] = arr
            else:
                args[i] = Value(a)
            leaves[i] = args[i]
        out = f(*args)
        if isinstance(out, Value):
            out.backward()
        grads = []
        for i in nums:
            leaf = leaves[i]
            if isinstance(leaf, _np.ndarray):
                grads.append(_np.array([v.grad for v in leaf.reshape(-1)]).reshape(leaf.shape))
            else:
                grads.append(leaf.grad)
        return grads[0] if single else tuple(grads)

    return g


def elementwise(fn, argnums):
    """Per-element gradients over 1-D arrays (scalars broadcast), one tape per element."""
    g = grad(fn, tuple(argnums))

    def run(*args):
        n = max(len(a) for a in args if isinstance(a, _np.ndarray))
        outs = [_np.empty(n) for _ in argnums]
        for e in range(n):
            r = g(*[a[e] if isinstance(a, _np.ndarray) else a for a in args])
            for o, v in zip(outs, r):
                o[e] = v
        return tuple(outs)

    return run
