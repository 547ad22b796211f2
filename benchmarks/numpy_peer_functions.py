#!/usr/bin/env python
"""Build the list of NumPy functions that autograd / JAX differentiate for real
(float) inputs, and write it to tests/peer_numpy_functions.py (issue 23: srcgrad must
differentiate each of them or refuse it with a reason, tests/test_numpy_functions.py).
Needs JAX (the bench extra) and autograd's source (pip download autograd==1.7.0 --no-deps; unzip).

Usage (single process, no parallelism):
    python benchmarks/numpy_peer_functions.py [--autograd-src /tmp/ag/autograd] [--out tests/peer_numpy_functions.py]

AUTOGRAD: static (AST) scan of autograd/numpy/{numpy_vjps,numpy_jvps,linalg,fft}.py
  for defvjp / defjvp / def_linear / defvjp_argnum / defjvp_argnum registrations,
  mapped to the public NumPy name; private helpers dropped or mapped to the public
  function they implement; plus the public functions that numpy_wrapper.py
  re-implements in terms of differentiable primitives (vstack, stack, ...).
  Only names that exist in the installed NumPy are kept.  The AST result is
  cross-checked against autograd's runtime registries (primitive_vjps/jvps).

JAX: for each public callable in jax.numpy{,.linalg,.fft} that exists in numpy at
  the same path, try jax.grad of sum(real(f(*xs)) * w) over float64 inputs for a set
  of signatures; differentiable iff some signature gives an all-finite gradient
  that is not identically zero.
"""
import argparse
import ast
import datetime
import inspect
import os
import platform
import signal
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# autograd
# --------------------------------------------------------------------------
REGISTRARS = {"defvjp", "defjvp", "def_linear", "defvjp_argnum", "defjvp_argnum"}
# private helper -> public numpy function it implements (None = drop)
AG_MAP = {
    "concatenate_args": "concatenate",
    "array_from_args": "array",
    "_array_from_scalar_or_array": "array",
    "_astype": None,            # ndarray.astype method helper, not np.astype
    "make_diagonal": None,
    "untake": None,             # backward of ArrayBox.__getitem__
    "dot_adjoint_0": None, "dot_adjoint_1": None,
    "tensordot_adjoint_0": None, "tensordot_adjoint_1": None,
    "truncate_pad": None,
    "func": None,               # func(ArrayBox.__getitem__) = indexing
}
AG_FILE_NS = {"numpy_vjps.py": "", "numpy_jvps.py": "", "linalg.py": "linalg", "fft.py": "fft"}
AG_WRAPPER_SKIP = {"wrap_intdtype", "wrap_namespace", "wrap_if_boxes_inside",
                   "metadata", "parse_einsum_input", "r_class", "c_class"}


def np_has(path):
    """path like 'linalg.cholesky' -> exists in installed numpy?"""
    obj = np
    for part in path.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:
            return False
    return True


def ag_registered(src):
    """Return {raw_key: set(files)} where raw_key is 'ns:name' for each registration."""
    found = {}
    for fname, ns in AG_FILE_NS.items():
        tree = ast.parse(open(os.path.join(src, "numpy", fname)).read())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in REGISTRARS and node.args):
                continue
            a = node.args[0]
            if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "anp":
                key = ("", a.attr)
            elif isinstance(a, ast.Name):
                key = (ns, a.id)
            elif isinstance(a, ast.Call) and isinstance(a.func, ast.Name):
                key = ("", a.func.id)    # func(ArrayBox.__getitem__)
            else:
                raise RuntimeError("unhandled registration %s in %s" % (ast.dump(a), fname))
            found.setdefault(key, set()).add("%s:%s(%s)" % (fname, node.func.id, node.lineno))
    return found


def ag_wrapper_composites(src):
    """Public functions numpy_wrapper.py re-defines (non-primitive) in terms of primitives."""
    tree = ast.parse(open(os.path.join(src, "numpy", "numpy_wrapper.py")).read())
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.decorator_list:
            names.append(node.name)          # def hstack(tup): ...  (not @primitive)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            # concatenate = lambda ...;  vstack = row_stack = lambda ...
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [n for n in names if not n.startswith("_") and n not in AG_WRAPPER_SKIP
            and n not in AG_MAP]


def autograd_surface(src):
    reg = ag_registered(src)
    names, dropped, notes = set(), [], []
    for (ns, name), where in sorted(reg.items()):
        target = AG_MAP.get(name, name)
        if target is None or target.startswith("_"):
            dropped.append("%s%s" % (ns + "." if ns else "", name))
            continue
        path = (ns + "." if ns else "") + target
        if not np_has(path):
            notes.append("np.%s registered (%s) but absent from numpy %s" % (path, sorted(where)[0], np.__version__))
            continue
        names.add("np." + path)
    composites = []
    for n in ag_wrapper_composites(src):
        if np_has(n):
            composites.append("np." + n)
        else:
            notes.append("np.%s re-implemented in numpy_wrapper.py but absent from numpy %s" % (n, np.__version__))
    names |= set(composites)

    # runtime cross-check against autograd's registries
    try:
        sys.path.insert(0, os.path.dirname(os.path.abspath(src)))
        import autograd.numpy as anp
        import autograd.numpy.linalg as anpla
        import autograd.numpy.fft as anpfft
        from autograd.core import primitive_vjps, primitive_jvps
        rev = {}
        for mod, pre in ((anp, ""), (anpla, "linalg."), (anpfft, "fft.")):
            for n, obj in vars(mod).items():
                rev.setdefault(id(obj), []).append(pre + n)
        runtime = set()
        for f in list(primitive_vjps) + list(primitive_jvps):
            for n in rev.get(id(f), []):
                runtime.add(n)
        static_raw = {(ns + "." if ns else "") + n for ns, n in reg}
        miss_static = sorted(x for x in runtime - static_raw if not x.startswith("_"))
        miss_runtime = sorted(x for x in static_raw - runtime if not x.startswith("_") and x not in AG_MAP)
        notes.append("runtime cross-check: registered at runtime but not found by AST: %s; "
                     "found by AST but not registered at runtime: %s" % (miss_static, miss_runtime))
        # composites: confirm autograd really differentiates them
        from autograd import grad
        a, b = np.array([0.3, 0.5, 0.7, 0.9]), np.array([0.2, 0.4, 0.6, 0.8])
        tests = {
            "concatenate": lambda x: anp.concatenate([x, b]),
            "vstack": lambda x: anp.vstack([x, b]), "row_stack": lambda x: anp.row_stack([x, b]),
            "hstack": lambda x: anp.hstack([x, b]), "column_stack": lambda x: anp.column_stack([x, b]),
            "stack": lambda x: anp.stack([x, b]), "append": lambda x: anp.append(x, b),
            "array": lambda x: anp.array([x, b]),
            "select": lambda x: anp.select([a > 0.5, a <= 0.5], [x, b]),
        }
        res = {}
        for n in composites:
            k = n[3:]
            try:
                g = grad(lambda x: anp.sum(tests[k](x) ** 2))(a)
                res[k] = bool(np.all(np.isfinite(g)) and np.any(g != 0))
            except Exception as e:  # noqa
                res[k] = "error: %s" % type(e).__name__
        notes.append("composite grad check (autograd.grad): %s" % res)
    except Exception as e:  # noqa
        notes.append("runtime cross-check failed: %r" % (e,))
    return sorted(names), sorted(set(dropped)), notes, sorted(composites)


# --------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------
EXCLUDE_JAX = {
    # printing / IO / config
    "array_repr", "array_str", "get_printoptions", "set_printoptions", "printoptions",
    "load", "save", "savez", "fromfile", "fromstring", "frombuffer", "fromiter", "from_dlpack",
    # dtype / type introspection
    "can_cast", "promote_types", "result_type", "isdtype", "issubdtype",
}


class F:
    """Placeholder for a float64 input that is differentiated."""
    def __init__(self, arr):
        self.arr = np.asarray(arr, dtype=np.float64)


def _count(t):
    if isinstance(t, F):
        return [t.arr]
    if isinstance(t, (list, tuple)):
        return [a for e in t for a in _count(e)]
    return []


def _subst(t, xs, it):
    if isinstance(t, F):
        return xs[next(it)]
    if isinstance(t, list):
        return [_subst(e, xs, it) for e in t]
    if isinstance(t, tuple):
        return tuple(_subst(e, xs, it) for e in t)
    return t


def signatures(jnp, shift):
    """shift=0: values in (0.2, 0.8); shift=1: values in (1.2, 1.8) (arccosh etc.)."""
    rng = np.random.default_rng(0)
    v, u, w = (rng.uniform(0.2, 0.8, 4) + shift for _ in range(3))
    B = rng.uniform(0.2, 0.8, (3, 3))
    C = rng.uniform(0.2, 0.8, (3, 3))
    M = B @ B.T + 3 * np.eye(3) + shift   # symmetric positive definite, positive entries
    N = C @ C.T + 2 * np.eye(3) + shift
    t = rng.uniform(0.2, 0.8, 3) + shift
    p2 = rng.uniform(0.2, 0.8, 2) + shift
    s = np.float64(0.5 + shift)
    X = rng.uniform(0.2, 0.8, (2, 2, 2)) + shift
    mask = np.array([True, False, True, False])
    idx = np.array([0, 2])
    V, U, W, MM, NN, T, P2, S, XX = map(F, (v, u, w, M, N, t, p2, s, X))
    return [
        # the four basic signatures
        ("v", (V,)), ("M", (MM,)), ("v,u", (V, U)), ("M,N", (MM, NN)),
        # a few more so that functions with an int / sequence / mask argument get tried
        ("v,u,w", (V, U, W)), ("M,t", (MM, T)), ("[v,u]", ([V, U],)), ("[M,N]", ([MM, NN],)),
        ("s", (S,)), ("v,s", (V, S)), ("M,s", (MM, S)),
        ("v,1", (V, 1)), ("M,1", (MM, 1)), ("v,2", (V, 2)), ("M,2", (MM, 2)),
        ("v,-1", (V, -1)), ("M,0", (MM, 0)), ("4,v", (4, V)), ("v,u,1", (V, U, 1)),
        ("M,0,1", (MM, 0, 1)), ("M,(1,0)", (MM, (1, 0))), ("v,(3,4)", (V, (3, 4))),
        ("X,2", (XX, 2)), ("v,float64", (V, np.float64)),
        ("mask,v,u", (mask, V, U)), ("mask,v", (mask, V)), ("v,mask,u", (V, mask, U)),
        ("v,idx", (V, idx)), ("v,idx,0", (V, idx, 0)), ("v,idx,p2", (V, idx, P2)),
        ("v,idx,p2,0", (V, idx, P2, 0)), ("v,1,u", (V, 1, U)),
        ("[0,1,0,1],[v,u]", (np.array([0, 1, 0, 1]), [V, U])),
        ("[mask,~mask],[v,u]", ([mask, ~mask], [V, U])),
        ("'ij,jk->ik',M,N", ("ij,jk->ik", MM, NN)),
        ("sin,0,M", (jnp.sin, 0, MM)), ("sum,M,[0]", (jnp.sum, MM, [0])),
        ("v,[mask,~mask],[sin,cos]", (V, [mask, ~mask], [jnp.sin, jnp.cos])),
    ]


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout()


def _to_numpy(t, jnp):
    fmap = {id(jnp.sin): np.sin, id(jnp.cos): np.cos, id(jnp.sum): np.sum}
    if isinstance(t, F):
        return t.arr.copy()
    if isinstance(t, list):
        return [_to_numpy(e, jnp) for e in t]
    if isinstance(t, tuple):
        return tuple(_to_numpy(e, jnp) for e in t)
    if isinstance(t, np.ndarray):
        return t.copy()
    return fmap.get(id(t), t)


def numpy_accepts(jnp, nf, args, kwargs):
    """The same call must be valid NumPy (filters e.g. jnp.unravel_index/ix_ on floats)."""
    kw = {k: v for k, v in kwargs.items() if k != "inplace"}
    try:
        nf(*_to_numpy(args, jnp), **kw)
        return True
    except Timeout:
        raise
    except Exception:
        return False


def probe(jax, jnp, f, args, kwargs):
    floats = _count(args)
    if not floats:
        return False, "no float input"

    def call(*xs):
        return f(*_subst(args, xs, iter(range(len(xs)))), **kwargs)

    def float_leaves(out):
        return [l for l in jax.tree_util.tree_leaves(out)
                if hasattr(l, "dtype") and jnp.issubdtype(l.dtype, jnp.inexact)]

    xs0 = [jnp.asarray(a) for a in floats]
    leaves = float_leaves(call(*xs0))
    if not leaves:
        return False, "no float output"
    wrng = np.random.default_rng(1)
    ws = [jnp.asarray(wrng.standard_normal(np.shape(l))) for l in leaves]

    def loss(*xs):
        ls = float_leaves(call(*xs))
        return sum(jnp.sum(jnp.real(l) * wt) for l, wt in zip(ls, ws))

    gs = jax.grad(loss, argnums=tuple(range(len(xs0))))(*xs0)
    gs = [np.asarray(g) for g in gs]
    if not all(np.all(np.isfinite(g)) for g in gs):
        return False, "non-finite grad"
    if not any(np.any(g != 0) for g in gs):
        return False, "zero grad"
    return True, "ok"


def jax_candidates(jnp, module_pairs):
    cands = []
    for pre, jmod, nmod in module_pairs:
        for name in sorted(dir(jmod)):
            if name.startswith("_") or name in EXCLUDE_JAX:
                continue
            try:
                obj = getattr(jmod, name)
            except Exception:
                continue
            if not callable(obj) or isinstance(obj, type) or inspect.ismodule(obj):
                continue
            if not hasattr(nmod, name):
                continue
            cands.append((pre + name, obj, getattr(nmod, name)))
    return cands


def jax_surface(per_fn_timeout, log):
    import jax
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_platforms", "cpu")
    import jax.numpy as jnp
    cands = jax_candidates(jnp, [("np.", jnp, np), ("np.linalg.", jnp.linalg, np.linalg),
                                 ("np.fft.", jnp.fft, np.fft)])
    sigsets = [signatures(jnp, 0.0), signatures(jnp, 1.0)]
    yes, no = {}, {}
    signal.signal(signal.SIGALRM, _alarm)
    for i, (name, f, nf) in enumerate(cands):
        kwargs = {}
        try:
            if "inplace" in inspect.signature(f).parameters:
                kwargs["inplace"] = False   # jnp.put / place / fill_diagonal need this
        except (TypeError, ValueError):
            pass
        t0 = time.time()
        verdict, why = None, []
        signal.setitimer(signal.ITIMER_REAL, per_fn_timeout)
        try:
            for k, sigs in enumerate(sigsets):
                for label, args in sigs:
                    try:
                        ok, msg = probe(jax, jnp, f, args, kwargs)
                        if ok and not numpy_accepts(jnp, nf, args, kwargs):
                            ok, msg = False, "numpy rejects call"
                    except Timeout:
                        raise
                    except Exception as e:  # noqa
                        ok, msg = False, type(e).__name__
                    if ok:
                        verdict = "%s%s" % (label, "" if k == 0 else " (values>1)")
                        break
                    why.append(msg)
                if verdict:
                    break
        except Timeout:
            why.append("TIMEOUT")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if verdict:
            yes[name] = verdict
        else:
            reasons = sorted(set(why) - {"TypeError", "ValueError"}) or sorted(set(why))
            no[name] = ",".join(reasons[:4])
        log("[%3d/%d] %-28s %-5s %5.2fs %s" % (i + 1, len(cands), name, bool(verdict),
                                               time.time() - t0, verdict or no[name]))
    return yes, no, len(cands)


# Hand-checked caveats about entries that pass the mechanical test only in a weak sense.
# Emitted as JAX_BORDERLINE (only names that actually ended up in JAX); they do not change JAX.
BORDERLINE_NOTES = {
    "np.histogram": "counts have zero grad; only bin_edges (from min/max) carry a gradient",
    "np.histogram2d": "as histogram: gradient only through the bin edges",
    "np.histogramdd": "as histogram: gradient only through the bin edges",
    "np.histogram_bin_edges": "gradient through min/max of the data",
    "np.intersect1d": "zero grad in normal use; nonzero only for intersect1d(M, 0, assume_unique=1) on data with duplicates",
    "np.setdiff1d": "zero grad unless assume_unique=True",
    "np.setxor1d": "zero grad unless assume_unique=True",
    "np.fft.fftfreq": "constructor; gradient w.r.t. the sample spacing d only",
    "np.heaviside": "gradient w.r.t. h0 (value at x==0) only; zero w.r.t. x",
    "np.bincount": "gradient w.r.t. weights only",
    "np.ix_": "index helper; jnp/np accept float arrays and pass them through",
    "np.frexp": "gradient through the mantissa output",
    "np.divmod": "gradient through the remainder output",
    "np.modf": "gradient through the fractional output",
}


# --------------------------------------------------------------------------
def fmt_list(name, items, per_line=4):
    out = ["%s = [" % name]
    for i in range(0, len(items), per_line):
        out.append("    " + " ".join("%r," % x for x in items[i:i + per_line]))
    out.append("]")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--autograd-src", default="/tmp/ag/autograd")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "peer_numpy_functions.py"))
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per jax function")
    opts = ap.parse_args()
    start = time.time()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa

    ag, ag_dropped, ag_notes, ag_comp = autograd_surface(opts.autograd_src)
    log("autograd: %d names" % len(ag))
    for n in ag_notes:
        log("  note: " + n)

    yes, no, ncand = jax_surface(opts.timeout, log)
    jx = sorted(yes)

    import jax, jaxlib
    import jax.numpy
    ag_ver = "unknown"
    for d in os.listdir(os.path.dirname(os.path.abspath(opts.autograd_src))):
        if d.startswith("autograd-") and d.endswith(".dist-info"):
            ag_ver = d[len("autograd-"):-len(".dist-info")]
    cmd = "%s %s" % (os.path.basename(sys.executable), " ".join([os.path.abspath(sys.argv[0])] + sys.argv[1:]))
    union = sorted(set(ag) | set(jx))
    hdr = [
        "# NumPy functions that autograd / JAX differentiate for real (float64) inputs.",
        "# GENERATED by benchmarks/numpy_peer_functions.py -- do not edit by hand.",
        "#   command : . /work/venv/bin/activate && %s" % cmd,
        "#   date    : %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "#   versions: python %s, numpy %s, jax %s, jaxlib %s, autograd %s (source %s)"
        % (platform.python_version(), np.__version__, jax.__version__, jaxlib.__version__, ag_ver,
           opts.autograd_src),
        "#   runtime : %.0f s, single process, CPU" % (time.time() - start),
        "#",
        "# AUTOGRAD: every NumPy function given a derivative in autograd/numpy/{numpy_vjps,",
        "#   numpy_jvps,linalg,fft}.py (defvjp, defjvp, def_linear, defvjp_argnum, defjvp_argnum),",
        "#   found by AST scan, mapped to the public NumPy name (concatenate_args -> np.concatenate,",
        "#   array_from_args/_array_from_scalar_or_array -> np.array), private helpers dropped",
        "#   (%s)," % ", ".join(ag_dropped),
        "#   plus the functions numpy_wrapper.py re-implements from differentiable primitives",
        "#   (AUTOGRAD_COMPOSITE). Names absent from the installed NumPy are dropped.",
    ]
    hdr += ["#   note: %s" % n for n in ag_notes]
    hdr += [
        "#",
        "# JAX: every public callable in jax.numpy / jax.numpy.linalg / jax.numpy.fft that exists in",
        "#   numpy at the same path (%d candidates; dtype/class objects, printing/IO/config and dtype" % ncand,
        "#   introspection excluded: %s)," % ", ".join(sorted(EXCLUDE_JAX)),
        "#   counted when jax.grad(lambda *xs: sum over float output leaves of sum(real(leaf)*w))",
        "#   (w fixed random normal, x64 enabled) is finite everywhere and not identically zero for",
        "#   at least one signature. Signatures tried (values in (0.2,0.8), then again shifted by +1):",
        "#   v/u/w = float 1-D len 4, M/N = 3x3 symmetric positive definite, t = len 3, s = 0-d,",
        "#   plus int / mask / index / list / callable extras: %s." % "; ".join(l for l, _ in signatures(jax.numpy, 0)),
        "#   A signature only counts if NumPy itself accepts the same call (so e.g. jnp.unravel_index",
        "#   / jnp.ix_ fed floats do not count).",
        "#   Only float inputs are differentiated; ints, masks, index arrays are held fixed;",
        "#   inplace=False is passed to functions that take it (put, place, fill_diagonal, ...).",
        "#   Per-function timeout %gs. JAX_WITNESS gives the first signature that succeeded." % opts.timeout,
        "",
        "",
    ]
    body = "\n".join(hdr) + "\n\n".join([
        fmt_list("AUTOGRAD", ag),
        fmt_list("AUTOGRAD_COMPOSITE", ag_comp),
        fmt_list("JAX", jx),
        "UNION = sorted(set(AUTOGRAD) | set(JAX))",
        "# hand-written caveats (see BORDERLINE_NOTES in benchmarks/numpy_peer_functions.py); informational only\n"
        "JAX_BORDERLINE = {\n" + "".join("    %r: %r,\n" % (k, BORDERLINE_NOTES[k]) for k in jx
                                   if k in BORDERLINE_NOTES) + "}",
        "JAX_WITNESS = {\n" + "".join("    %r: %r,\n" % (k, yes[k]) for k in jx) + "}",
        "# why each non-differentiable JAX candidate was rejected (exception types / zero / non-finite)\n"
        "JAX_REJECTED = {\n" + "".join("    %r: %r,\n" % (k, no[k]) for k in sorted(no)) + "}",
    ]) + "\n"
    with open(opts.out, "w") as fh:
        fh.write(body)
    log("AUTOGRAD %d  JAX %d  union %d  both %d  autograd-only %d  jax-only %d  (%.0fs)" % (
        len(ag), len(jx), len(union), len(set(ag) & set(jx)), len(set(ag) - set(jx)),
        len(set(jx) - set(ag)), time.time() - start))
    log("autograd-only: %s" % sorted(set(ag) - set(jx)))


if __name__ == "__main__":
    main()
