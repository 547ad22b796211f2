"""The per-element derivative of a generated module, taken apart for the two block-kernel
writers (lanes.py, lockstep.py), which both import it from here.
"""
from __future__ import annotations

import ast


def kernel_parts(module_source: str, function: str, kind: str):
    """The per-element derivative `function(x0.., seed)` of a generated module, taken apart for
    a block-kernel writer (lanes.py, lockstep.py): (its def, input names, seed name, body
    without the return, the return, the output expressions in vectorize's order), or None if it
    does not end in `return (value, (grads...))`."""
    tree = ast.parse(module_source)
    fdef = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function), None)
    if fdef is None:
        return None
    params = [a.arg for a in fdef.args.args]
    *body, ret = fdef.body
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == 2
            and isinstance(ret.value.elts[1], ast.Tuple)):
        return None
    value, grads = ret.value.elts[0], ret.value.elts[1].elts
    outs = ([value] if kind == "value_and_grad" else []) + list(grads)
    return fdef, params[:-1], params[-1], body, ret, outs
