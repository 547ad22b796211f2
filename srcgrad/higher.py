"""Forward mode and higher order: jvp, jacobian, hessian, hvp (the tangent objects themselves
and the partial behind grad(grad(f)) are in forward_mode.py).

Forward mode is its own source transformation (passes/forward.py): the tangent function runs
beside the primal, no tape.  Second derivatives are reverse over forward: the generated
tangent function is plain Python inside srcgrad's subset, so `grad` differentiates it like any
user function.  That gives Hessian-vector products at the cost of about one gradient, and
`hessian` as one Hessian-vector product per input element (JAX builds `hessian` as forward over
reverse; both compute the same matrix, and this order lets every derivative be generated,
readable Python).
"""
from __future__ import annotations

import hashlib

from typing import Callable, Sequence

import numpy as np

from . import abstract
from .api import GradFunction, grad
from .codegen.derivative import normalize_argnums
from .forward_mode import _jvp_function
from .errors import ArgnumsError


class ForwardGradFunction(GradFunction):
    """The whole gradient in one forward sweep (one tangent per argument in argnums, no tape).
    `.vjp_kernel` has the signature of a stack-free reverse-mode vjp: `(*params, seed) ->
    (value, grads)`; srcgrad.vectorize uses it for loop kernels with few scalar inputs."""

    mode = "fgrad"

    def __init__(self, fun, argnums=0, kind="grad"):
        super().__init__(fun, argnums, kind=kind)

    def _transform(self, sig) -> str:
        from .pipeline import transform_forward
        return transform_forward(self.fun, self.argnums, gradient=True, sig=sig)

    @property
    def vjp_name(self) -> str:
        return f"{self.fun.__name__}_fwdgrad"

    @property
    def uses_stacks(self) -> bool:
        return False

    def __call__(self, *args, **kwargs):
        value, grads = self.vjp_kernel(*self.bind(args, kwargs), 1.0)
        out = grads[0] if self.single else grads
        return out if self.kind == "grad" else (value, out)


def jvp(fun: Callable, primals: Sequence, tangents: Sequence) -> tuple:
    """Like jax.jvp: `(fun(*primals), J(primals) @ tangents)`, by forward-mode source
    transformation. Arguments that are Python ints or integer arrays are not differentiated
    (their tangents must be zero).  `fun` may return a number, an array or a tuple of those.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.jvp(f, (3.0, 2.0), (1.0, 0.0))
        (18.0, 12.0)
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    argnums = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        is_int = isinstance(p, (bool, int, np.integer)) or (isinstance(p, np.ndarray) and p.dtype.kind != "f")
        if is_int:
            if np.any(np.asarray(t) != 0):
                raise ArgnumsError(f"jvp: argument {i} is an integer; its tangent must be zero")
            continue
        if np.shape(p) != np.shape(t):
            raise ArgnumsError(f"jvp: tangent {i} has shape {np.shape(t)}, its primal {np.shape(p)}")
        argnums.append(i)
    if not argnums:
        return fun(*primals), 0.0
    jf = _jvp_function(fun, argnums)
    return jf(*primals, *[tangents[i] for i in argnums])


def hessian(fun: Callable, argnums: int | tuple = 0) -> Callable:
    """Like jax.hessian: the matrix of second derivatives. For an int argnums naming a scalar,
    a float; naming an array of shape s, an array of shape s + s; for a tuple of scalar
    arguments, a tuple of tuples.

        >>> def f(x, y):
        ...     return x * x * y
        >>> srcgrad.hessian(f, argnums=(0, 1))(3.0, 2.0)
        ((4.0, 6.0), (6.0, 0.0))
    """
    nums, single, _ = normalize_argnums(fun, argnums)

    def h(*args):
        if single:
            i = nums[0]
            x = args[i]
            if isinstance(x, np.ndarray):
                return _array_hessian(fun, i, args)
            if any(isinstance(a, np.ndarray) for a in args):
                # grad(grad(f)) builds its inner partial for numbers first; H v with v = 1
                # is generated for the arguments' real types
                return float(hvp(fun, argnums=i)(*args, 1.0))
            return grad(grad(fun, argnums=i), argnums=i)(*args)
        return tuple(tuple(grad(grad(fun, argnums=j), argnums=k)(*args) for k in nums) for j in nums)

    h.__name__ = f"hessian_{getattr(fun, '__name__', 'f')}"
    return h


def _array_hessian(fun, i, args):
    h = hvp(fun, argnums=i)
    x = np.asarray(args[i], dtype=np.float64)
    out = np.empty(x.shape + x.shape)
    e = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        e[k] = 1.0
        out[(Ellipsis,) + k] = h(*args, e)
        e[k] = 0.0
    return out


class HvpFunction(GradFunction):
    """`(args..., v) -> H(args) @ v`: reverse mode over the forward-mode tangent function of
    `fun`, which is generated for the abstract signature of the primal arguments.  Arrays `fun`
    reads from its globals are the tangent function's last parameters; they are passed here."""

    def __init__(self, fun, argnum):
        self._jf = jf = _jvp_function(fun, (argnum,))
        params = jf._params + [f"{jf._params[argnum]}_dot"]
        ns: dict = {}
        exec(f"def {fun.__name__}_tangent({', '.join(params)}):\n    pass\n", ns)
        super().__init__(ns[f"{fun.__name__}_tangent"], argnums=argnum)

    def _primal_sig(self, sig):
        return sig[:len(self._jf._params)]

    def _key(self, sig=None):
        sig = self.default_signature() if sig is None else sig
        stem, watch = self._jf._key(self._primal_sig(sig))
        h = hashlib.sha256(f"hvp|{stem}|{self.argnums}|{sig}".encode()).hexdigest()
        return f"{self.fun.__name__}_h{h[:24]}", watch

    def _transform(self, sig) -> str:
        from .pipeline import transform
        psig = self._primal_sig(sig)
        tangent = self._jf.tangent_function(psig)
        hidden = tuple(abstract.of_value(v) for v in self._jf.hidden_values(psig))
        return transform(tangent, self.argnums, self.single, tuple(sig) + hidden)

    def hidden_values(self, sig) -> tuple:
        self.module(sig)
        psig = self._primal_sig(sig)
        self._jf.module(psig)       # (re)built if a rule declared since invalidated it
        return self._jf.hidden_values(psig)


def hvp(fun: Callable, argnums: int = 0) -> Callable:
    """Hessian-vector product `(args..., v) -> H(args) @ v` for one argument, at about the cost of
    one gradient (reverse over forward).

        >>> def f(x):
        ...     return np.sum(x ** 3)
        >>> srcgrad.hvp(f)(np.array([1.0, 2.0]), np.array([1.0, 1.0]))    # 6 x * v
        array([ 6., 12.])
    """
    nums, single, _ = normalize_argnums(fun, argnums)
    if not single:
        raise ArgnumsError("hvp takes one int argnums")
    key = (fun, nums[0])
    h = _HVPS.get(key)
    if h is None:
        h = _HVPS[key] = HvpFunction(fun, nums[0])
    return h


_HVPS: dict = {}


def _reverse_jacobian(out, pull, args, nums, single):
    """The Jacobian row by row: one adjoint sweep per output element (fewer outputs than inputs)."""
    tupled = isinstance(out, tuple)
    outs = out if tupled else (out,)
    per_out = []
    for o_idx, o in enumerate(outs):
        Js = [np.empty(np.shape(o) + np.shape(args[i])) for i in nums]
        for k in np.ndindex(np.shape(o)):
            cts = [np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in outs]
            if np.ndim(o):
                cts[o_idx][k] = 1.0
            else:
                cts[o_idx] = 1.0
            grads = pull(tuple(cts) if tupled else cts[0])
            for J, i in zip(Js, nums):
                J[k] = grads[i]
        per_out.append(Js[0] if single else tuple(Js))
    return tuple(per_out) if tupled else per_out[0]


def jacobian(fun: Callable, argnums: int | tuple = 0) -> Callable:
    """Like jax.jacobian: out.shape + in.shape for each output and argument.  With fewer output
    elements than input elements it uses reverse mode (one adjoint sweep per output element);
    otherwise forward mode, one sweep per input element.  A function returning a tuple gives a
    tuple over its outputs, each holding the Jacobian(s) for the differentiated arguments
    (JAX's nesting: outputs outside).

        >>> def f(x):
        ...     return np.sin(x) * x[0]
        >>> srcgrad.jacobian(f)(np.array([0.0, 1.0])).shape
        (2, 2)
    """
    nums, single, _ = normalize_argnums(fun, argnums)

    def jac(*args):
        floats = all(isinstance(args[i], (float, np.floating)) or
                     (isinstance(args[i], np.ndarray) and args[i].dtype.kind == "f") for i in nums)
        if floats and sum(np.size(args[i]) for i in nums) > 1:
            from .api import vjp
            out, pull = vjp(fun, *args)
            outs = out if isinstance(out, tuple) else (out,)
            if sum(np.size(o) for o in outs) < sum(np.size(args[i]) for i in nums):
                return _reverse_jacobian(out, pull, args, nums, single)
        per_arg = []            # per differentiated argument: one Jacobian per output
        tupled = False
        for i in nums:
            x = args[i]
            jf = _jvp_function(fun, (i,))
            if not isinstance(x, np.ndarray):
                val, t = jf(*args, 1.0)
                tupled = isinstance(val, tuple)
                per_arg.append([np.asarray(tk, dtype=np.float64) if np.ndim(tk) else float(tk)
                                for tk in (t if tupled else (t,))])
                continue
            xa = np.asarray(x, dtype=np.float64)
            e = np.zeros_like(xa)
            val, _ = jf(*args, e)
            tupled = isinstance(val, tuple)
            vals = val if tupled else (val,)
            if not tupled and np.ndim(val) == 0 and xa.size > 1:
                per_arg.append([grad(fun, argnums=i)(*args)])       # reverse: one sweep
                continue
            cols = [np.empty(np.shape(v) + xa.shape) for v in vals]
            for k in np.ndindex(xa.shape):
                e[k] = 1.0
                t = jf(*args, e)[1]
                for c, tk in zip(cols, t if tupled else (t,)):
                    c[(Ellipsis,) + k] = tk
                e[k] = 0.0
            per_arg.append(cols)
        per_out = [[J[o] for J in per_arg] for o in range(len(per_arg[0]))]
        shaped = [js[0] if single else tuple(js) for js in per_out]
        return tuple(shaped) if tupled else shaped[0]

    jac.__name__ = f"jacobian_{getattr(fun, '__name__', 'f')}"
    return jac
