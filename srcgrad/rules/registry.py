"""How a derivative rule is declared, stored and turned into generated code.

A rule is an ordinary Python function whose body is a single `return`:

* ``partials``: the local partial derivative of the primitive's output with respect to each
  argument, in terms of the arguments and optionally ``out`` (the primal output).  The engine
  multiplies each partial by the incoming adjoint; the author states only the maths
  (ChainRules' ``@scalar_rule``)::

      @partials(math.sin)
      def sin(x):
          return math.cos(x)

* ``vjp``: for array primitives whose adjoint is not elementwise (sums, matrix products), the
  contribution to each argument's adjoint given the incoming adjoint ``g``::

      @vjp(np.sum, arity=1)
      def sum_(g, x, out):
          return _rt.sum_grad(g, x)

* ``nondiff``: the output carries no derivative (floor, len, comparisons, random draws).

The function is real Python: tests call it directly against central differences, and the
reverse pass inlines its return expression (with the operands substituted) into the generated
code, so the adjoint line reads ``x_bar += y_bar * math.cos(x)`` rather than a call to an
opaque helper.  Names in the expression must be ``math``, ``np``, ``_rt`` (srcgrad.runtime) or
the rule's parameters.
"""
from __future__ import annotations

import ast
import builtins
import copy
import inspect
import math
import re
import textwrap
from dataclasses import dataclass

from ..errors import SrcgradError
from . import shapes

# Test domain for an argument: (low, high) for uniform sampling in tests.
DEFAULT_DOMAIN = (-2.0, 2.0)


@dataclass
class Rule:
    name: str                         # shown in generated code comments and errors
    key: object                       # the primal callable, or an operator name like "add"
    arity: int
    kind: str                         # "partials" | "vjp" | "nondiff"
    call: str = ""                    # how the forward sweep calls the primal, e.g. "math.sin"
    params: tuple[str, ...] = ()      # the primal's argument names as used by the rule
    exprs: tuple[ast.expr | None, ...] = ()   # one per argument (None: not differentiable there)
    uses_out: bool = False
    domain: tuple[tuple[float, float], ...] = ()
    fn: object = None                 # the rule function itself, for tests
    result: str = "float"             # "float" | "int" | "bool" | "array" | "same": static kind hint
    array_only: bool = False          # the primitive reveals that its argument is an array
    source: str = ""                  # the rule function's source, part of the cache key
    typer: object = None              # (argument types, constants) -> result type (rules/shapes.py)
    view: bool = False                # the result shares memory with the first argument (x.T)
    linear: bool = False              # linear in its first argument (the others constants): forward
                                      # mode's tangent is the primitive applied to the tangent
    depends: tuple = ()               # nondiff rules whose output depends on the arguments' values:
                                      # (why, instead) for the refusal (see `nondiff`)
    variadic: bool = False            # a binary rule that more arguments fold over from the left:
                                      # max(a, b, c) is max(max(a, b), c)
    nonfinite: tuple[bool, ...] = ()  # partials rules: per argument, whether the partial can be
                                      # inf/NaN where the primal is finite (see `partials`)
    tangents: tuple[ast.expr | None, ...] = ()   # vjp rules: forward mode's tangent of the result
                                      # for a tangent `t` of each argument (in terms of t, the
                                      # arguments and `out`; None: that argument has none)

    def result_type(self, tys, consts):
        return self.typer(list(tys), list(consts))

    def reads(self, i: int) -> set[str]:
        """Names of the rule's parameters (and 'out') the i-th partial/contribution reads."""
        e = self.exprs[i]
        if e is None:
            return set()
        return {n.id for n in ast.walk(e) if isinstance(n, ast.Name)} & (set(self.params) | {"out", "g"})


RULES: dict = {}            # primal object (or operator name) -> {number of arguments: Rule}
_OPERATORS: dict[str, Rule] = {}

# Names that generated code must import because a rule refers to an object outside math/np/_rt
# (a user's primal function, or the helpers its derivative calls): mangled name -> (module, qualname).
EXTERNAL: dict[str, tuple[str, str]] = {}
_BUILTIN_NAMES = {"math", "np", "_rt", "out", "g"}
GENERATION = [0]     # bumped on every registration, so gradients built earlier are rebuilt


def _external_name(obj) -> str | None:
    """The name generated code uses for a user object (None for math/numpy/builtins/operators)."""
    if isinstance(obj, str):
        return None
    mod = getattr(obj, "__module__", None) or ""
    if mod in ("math", "builtins", "srcgrad.runtime") or mod.startswith("numpy") \
            or isinstance(obj, _np_ufunc_type()):
        return None
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qual is None or "<" in qual:
        raise SrcgradError(f"{obj!r} must be a module-level function to have a derivative rule")
    mangled = "_x_" + re.sub(r"\W", "_", f"{mod}.{qual}")
    EXTERNAL[mangled] = (mod, qual)
    return mangled


def _tangent_exprs(fns, params):
    """A vjp rule's forward-mode tangents: one function `(t, *args, out) -> expr` per argument
    (a single function: the first argument's), in the rule's parameter names."""
    out = []
    for fn in _as_tuple(fns):
        if fn is None:
            out.append(None)
            continue
        names, expr = _return_expr(fn)
        if names[1:1 + len(params)] != list(params):
            raise SrcgradError(f"tangent {fn.__name__}: parameters must be (t, {', '.join(params)}[, out])")
        out.append(_bind_externals(fn, (expr,), set(names))[0])
    return tuple(out)


def _bind_externals(fn, exprs, params):
    """Rename names the rule expressions take from the rule's module to their import names."""
    g = getattr(fn, "__globals__", {})
    mapping = {}
    for e in exprs:
        if e is None:
            continue
        for n in ast.walk(e):
            if isinstance(n, ast.Name) and n.id not in params and n.id not in _BUILTIN_NAMES \
                    and n.id not in mapping:
                obj = g.get(n.id)
                if obj is None:
                    raise SrcgradError(f"rule {fn.__name__}: unknown name {n.id!r} in its return expression")
                ext = _external_name(obj)
                if ext is None:
                    raise SrcgradError(f"rule {fn.__name__}: use math/np names for {n.id!r} "
                                       "(the generated code imports math and numpy as np)")
                mapping[n.id] = ext

    class Ren(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.copy_location(ast.Name(mapping[node.id], ast.Load()), node) if node.id in mapping else node

    return tuple(None if e is None else Ren().visit(e) for e in exprs)


def _return_expr(fn) -> tuple[list[str], ast.expr]:
    try:
        src = textwrap.dedent(inspect.getsource(fn))
        fdef = ast.parse(src).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        fdef = None
    if not isinstance(fdef, ast.FunctionDef):
        raise SrcgradError(f"rule {getattr(fn, '__name__', fn)!r}: srcgrad cannot read its source; "
                           "define the rule with `def` in a file (not in an interactive session or a lambda)")
    body = [s for s in fdef.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        raise SrcgradError(f"rule {fn.__name__}: the body must be a single `return <expr>` statement")
    return [a.arg for a in fdef.args.args], body[0].value


def _register(rule: Rule):
    GENERATION[0] += 1
    if isinstance(rule.key, str):
        _OPERATORS[rule.key] = rule
    RULES.setdefault(rule.key, {})[rule.arity] = rule
    return rule


def _call_name(key) -> str:
    ext = _external_name(key)
    if ext is not None:
        return ext
    mod = getattr(key, "__module__", None) or ""
    name = getattr(key, "__name__", str(key))
    if mod in ("math",):
        return f"math.{name}"
    if mod == "srcgrad.runtime":
        return f"_rt.{name}"
    if mod.startswith("numpy") or isinstance(key, _np_ufunc_type()):
        return f"np.{name}"
    return name


def _np_ufunc_type():
    import numpy as np
    return np.ufunc


def partials(*keys, arity: int | None = None, domain=None, call: str | dict | None = None,
             array_only: bool = False, dtype: str | None = "f", nonfinite: bool = False, variadic: bool = False):
    """Declare elementwise partial derivatives for one or more primal callables (or operator names).
    Twins are one stanza (`@partials(math.sin, np.sin)`), the partials written with NumPy calls:
    for a key from `math` or the builtins, `np.f` in them becomes `math.f` where `math` has `f`.
    `call`: how the forward sweep calls the primal (a dict: per key; default: the key's name).
    `variadic=True` (binary rules): a call with more arguments folds from the left.
    `dtype`: the result's kind ("f", or None for NumPy's promotion of the arguments' kinds).
    `nonfinite=True`: a partial can be infinite or NaN where the primal is finite (tan near
    pi/2, 1/x**2 at 0 through `out`, helper calls); partials with a division or a power, or
    calling a user's function, are taken to be so without saying it.  The reverse pass then
    multiplies such a partial by its adjoint with `_rt.zsafe`, so that a zero adjoint (an
    untaken branch) gives 0, not 0 * inf = NaN.  tests/rules checks the declarations."""

    def deco(fn):
        names, expr = _return_expr(fn)
        params = tuple(n for n in names if n != "out")
        if "g" in params:       # the reverse pass binds `g` to the incoming adjoint
            raise SrcgradError(f"rule {fn.__name__}: a parameter may not be named `g` (the adjoint's name)")
        exprs = tuple(expr.elts) if isinstance(expr, ast.Tuple) else (expr,)
        if len(exprs) != len(params):
            raise SrcgradError(f"rule {fn.__name__}: {len(params)} arguments but {len(exprs)} partials")
        exprs = tuple(None if (isinstance(e, ast.Constant) and e.value is None) else e for e in exprs)
        exprs = _bind_externals(fn, exprs, set(params))
        dom = tuple(domain) if domain is not None else (DEFAULT_DOMAIN,) * len(params)
        if dom and not isinstance(dom[0], tuple):
            dom = (dom,) * len(params)
        for key in keys:
            name = (call.get(key) if isinstance(call, dict) else call) or _call_name(key)
            _register(Rule(name=name, key=key, arity=arity or len(params), kind="partials", call=name,
                           params=params, exprs=_in_math(exprs) if _is_math_key(key) else exprs,
                           uses_out="out" in names, domain=dom, fn=fn,
                           array_only=array_only, source=_source(fn), typer=shapes.elementwise(dtype),
                           variadic=variadic, nonfinite=tuple(nonfinite or _may_be_nonfinite(e) for e in exprs)))
        return fn

    return deco


def _is_math_key(key) -> bool:
    return getattr(key, "__module__", None) == "math" or key is getattr(builtins, getattr(key, "__name__", ""), None)


class _NumpyToMath(ast.NodeTransformer):
    """`np.f(...)` -> `math.f(...)` where `math` has `f` (a twin's partials, for its math key)."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "np" and hasattr(math, node.attr):
            return ast.copy_location(ast.Attribute(ast.Name("math", ast.Load()), node.attr, node.ctx), node)
        return node


def _in_math(exprs) -> tuple:
    return tuple(None if e is None else _NumpyToMath().visit(copy.deepcopy(e)) for e in exprs)


def vjp(*keys, arity: int, call: str | None = None, result: str = "same", domain=None,
        array_only: bool = True, typer=None, view: bool = False, linear: bool = False,
        tangent=None):
    """Declare a vector-Jacobian product: the function takes (g, *args, out) and returns one
    contribution per argument (None where the argument is not differentiable).  `tangent`, a
    function of (t, *args, out) returning one expression, gives forward mode the tangent of
    the result for a tangent t of the first argument; a tuple of such functions gives one per
    argument (`linear=True` says the tangent is the primitive applied to t)."""

    def deco(fn):
        names, expr = _return_expr(fn)
        params = tuple(n for n in names if n not in ("g", "out"))
        if tangent is not None and "t" in params:     # tangent expressions bind `t` to the tangent
            raise SrcgradError(f"rule {fn.__name__}: with a tangent, a parameter may not be named `t`")
        exprs = tuple(expr.elts) if isinstance(expr, ast.Tuple) else (expr,)
        exprs = tuple(None if (isinstance(e, ast.Constant) and e.value is None) else e for e in exprs)
        exprs = _bind_externals(fn, exprs, set(params))
        dom = tuple(domain) if domain is not None else (DEFAULT_DOMAIN,) * len(params)
        for key in keys:
            _register(Rule(name=call or _call_name(key), key=key, arity=arity, kind="vjp",
                           call=call or _call_name(key), params=params[:arity], exprs=exprs[:arity],
                           uses_out="out" in names, domain=dom, fn=fn,
                           result=result, array_only=array_only,
                           source=_source(fn) + "".join(_source(t) for t in _as_tuple(tangent)),
                           typer=typer or _default_typer(result), view=view, linear=linear,
                           tangents=_tangent_exprs(tangent, params[:arity])))
        return fn

    return deco


def nondiff(*keys, arity: int | tuple[int, ...] | None = None, call: str | None = None,
            result: str = "float", array_only: bool = False, typer=None, depends: tuple = ()):
    """Declare primal callables whose outputs carry no derivative (any arity unless given).
    `depends=(why, instead)`: the output does depend on the arguments' values (np.full's fill
    value, np.linspace's end points), so a call that a differentiated value reaches is refused
    with these words rather than run as a constant."""
    if arity is None:
        arity = tuple(range(9))
    arities = arity if isinstance(arity, tuple) else (arity,)
    for key in keys:
        for a in arities:
            _register(Rule(name=call or _call_name(key), key=key, arity=a, kind="nondiff",
                           call=call or _call_name(key), result=result, array_only=array_only,
                           typer=typer or _default_typer(result), depends=depends))


def _may_be_nonfinite(expr) -> bool:
    """What a partial's expression shows: a division or a power (1 / x, x ** -0.5), or a call
    of a user's function (whose values srcgrad cannot see)."""
    if expr is None:
        return False
    for n in ast.walk(expr):
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.Pow, ast.FloorDiv, ast.Mod)):
            return True
        if isinstance(n, ast.Name) and n.id.startswith("_x_"):
            return True
    return False


def _as_tuple(fns):
    return () if fns is None else fns if isinstance(fns, tuple) else (fns,)


def _default_typer(result: str):
    """Element-wise typing with the result kind named by `result` ("same": the first argument)."""
    if result == "same":
        return shapes.same
    if result == "array":
        return shapes.float_like_first
    return shapes.elementwise({"float": "f", "int": "i", "bool": "b"}[result])


def _source(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return repr(fn)


def all_rules():
    """Every declared rule (each object's, for each number of arguments)."""
    return (r for by_arity in RULES.values() for r in by_arity.values())


def rules_for(obj) -> dict:
    """The rules declared for `obj`, by number of arguments (empty if none or unhashable)."""
    try:
        return RULES.get(obj, {})
    except TypeError:  # unhashable object
        return {}


def fingerprint(obj) -> str:
    """The sources of every rule declared for `obj` (empty if none): part of the cache key."""
    return "".join(r.source + r.kind for _, r in sorted(rules_for(obj).items()))


def lookup(fn, arity: int) -> Rule | None:
    return rules_for(fn).get(arity)


def has_any_rule(fn) -> bool:
    return bool(rules_for(fn))


def lookup_any(fn) -> Rule | None:
    """A rule declared for `fn` with any number of arguments (the first declared), or None."""
    return next(iter(rules_for(fn).values()), None)


# Composites: NumPy/math functions written as plain Python over primitives, inlined where they
# are called (keywords, defaults and static branches like `if axis is None:` resolved then).
COMPOSITES: dict = {}


def composite(*keys):
    """Declare `fn` (plain Python inside srcgrad's subset) as what a call of each key means
    when no primitive rule matches the call exactly (by number of positional arguments)."""
    def deco(fn):
        for key in keys:
            if key is not None:         # a name this NumPy does not have (see composites.py)
                COMPOSITES[key] = fn
        GENERATION[0] += 1
        return fn
    return deco


# Functions srcgrad knows and does not differentiate (srcgrad/rules/refused.py): the object ->
# (why, what to do instead).  The lowering refuses a call of one with these words, and the
# README's list of NumPy functions is generated from here and from the rules (srcgrad/rules/catalog.py).
REFUSED: dict = {}


def refuse(*keys, why: str, instead: str):
    """Declare functions srcgrad refuses, with the reason and the remedy a user is shown."""
    for key in keys:
        if key is not None:             # a name this NumPy does not have
            REFUSED[key] = (why, instead)


def lookup_operator(op: str) -> Rule:
    return _OPERATORS[op]


def substitute(expr: ast.expr, mapping: dict[str, ast.expr]) -> ast.expr:
    """The rule expression with its parameters replaced by operand expressions, constant-folded."""

    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping:
                return _copy(mapping[node.id])
            return node

    out = Sub().visit(_copy(expr))
    return fold(out)


def _copy(node):
    return ast.parse(ast.unparse(node), mode="eval").body if not isinstance(node, ast.Name) else ast.Name(node.id, ast.Load())


def fold(node: ast.expr) -> ast.expr:
    """Fold arithmetic on numeric literals (`2 - 1` -> `1`) so generated code stays readable."""

    class Fold(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            # a power's partial with a literal exponent, written out: `3.0 * x ** 2.0`
            if ast.unparse(node.func) == "_rt.pow_dx" and len(node.args) == 2 and \
                    isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, (int, float)):
                x, y = node.args
                if y.value == 0:
                    return ast.Constant(0.0)
                power = ast.BinOp(x, ast.Pow(), _num(y.value - 1))
                return ast.BinOp(ast.Constant(y.value), ast.Mult(), power)
            return node

        def visit_BinOp(self, node):
            self.generic_visit(node)
            if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
                try:
                    val = eval(compile(ast.Expression(node), "<fold>", "eval"), {})  # numeric literals only
                except Exception:
                    return node
                if isinstance(val, (int, float)) and not isinstance(val, bool):
                    return _num(val)
            return node

        def visit_UnaryOp(self, node):
            self.generic_visit(node)
            if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                    and isinstance(node.operand.value, (int, float)) and not isinstance(node.operand.value, bool):
                return _num(-node.operand.value)
            return node

    return ast.fix_missing_locations(Fold().visit(node))


def _num(v):
    if v < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-v))
    return ast.Constant(v)
