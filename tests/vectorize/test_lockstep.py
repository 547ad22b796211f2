"""srcgrad/vectorize/lockstep.py on its own: which per-element derivatives it rewrites into a
lock-step block kernel and which it refuses (None: the per-element path), the shape of what it
writes (step loop outside, element loop inside; carried values in per-block arrays; loop-invariant
divisions, powers and calls hoisted into the prefix), and the numbers of the lock-step path
against the per-element forward kernel and central differences, with a block-size tail.

Most tests read generated text only (`block_kernel_source` on the source of srcgrad's forward
derivative, or on a small hand-written derivative); two compile (one plain step, one in lanes).
"""
import ast
import math

import numpy as np
import pytest

import srcgrad
from srcgrad.higher import ForwardGradFunction
from srcgrad.testing import numerical_grad
from srcgrad.vectorize import lockstep, simd
from srcgrad.vectorize.kernel import kernel_parts


# ---------------------------------------------------------------- kernels (plain scalar code)

def euler(y0, r, k):
    y = y0
    for i in range(30):
        y = y + 0.05 * r * y * (1.0 - y / k)
    return y


def decay(y0, r, k):
    y = y0
    for i in range(20):
        y = y + 0.05 * (-r * y + math.exp(-k * y))
    return y


def fixed_bound(x, n):
    s = x
    for i in range(7):
        s = s * 0.9 + x * s * n
    return s


def bound_from_element(x, n):
    s = x
    for i in range(int(n)):
        s = s * 0.9 + x * s * n
    return s


def branch_in_step(x, c):
    s = x
    for i in range(10):
        if s > c:
            s = s * s * 0.5
        else:
            s = s * s + 1.0
    return s


def branch_before_loop(x, c):
    s = x
    if x > c:
        s = x * x
    for i in range(10):
        s = s * s * 0.5
    return s


def two_loops(x, c):
    s = x
    for i in range(5):
        s = s * s * c
    for j in range(5):
        s = s * s + c
    return s


def nested_loops(x, c):
    s = x
    for i in range(3):
        for j in range(3):
            s = s * s * c
    return s


def while_loop(x, c):
    s = x
    while s < 10.0:
        s = s * s * c + 1.0
    return s


def early_return(x, c):
    s = x
    for i in range(10):
        s = s * s * c
        if s > 5.0:
            return s
    return s


def early_break(x, c):
    s = x
    for i in range(10):
        s = s * s * c
        if s > 5.0:
            break
    return s


def straight(x, c):
    return x * x * c


def step_local_e(x, c):        # a local named like the block kernel's element index
    y = x
    for i in range(10):
        e = y * c * 0.1
        y = y - e * y
    return y


def param_m(x, m):             # a parameter named like the block kernel's element count
    y = x
    for i in range(10):
        y = y - 0.01 * m * y * y
    return y


def straight_seed(_seed, x, c):   # an input whose lane 1 would be named like the seed (`_seed_1`)
    return math.exp(-_seed * x) * c + _seed * c


def looped_seed(_seed, x):
    y = x
    for i in range(6):
        y = y - 0.05 * _seed * y + 0.01 * math.exp(-y * _seed)
    return y


def looped_load(n, r, _load):    # an input named like the driver's loader `_load`
    y = n
    for i in range(6):
        y = y - 0.05 * r * y * _load + 0.01 * math.exp(-y * r)
    return y


def forward(fn, argnums):
    """(source of srcgrad's forward-mode derivative module of fn, the derivative's name): what
    srcgrad.vectorize hands lockstep.py for a loop kernel.  Generating it compiles nothing."""
    eng = ForwardGradFunction(fn, argnums)
    return eng.module().__srcgrad_source__, eng.vjp_name


def block_of(fn, argnums, kind="grad", simd_math=False):
    src, name = forward(fn, argnums)
    return lockstep.block_kernel_source(src, name, kind, simd_math=simd_math)


def block_def(text) -> ast.FunctionDef:
    (fdef,) = ast.parse(text).body
    assert isinstance(fdef, ast.FunctionDef) and fdef.name == "_block"
    return fdef


def is_loop_over(node, var, call_text):
    return isinstance(node, ast.For) and ast.unparse(node.target) == var and ast.unparse(node.iter) == call_text


def assigned(stmts) -> list:
    return [s.targets[0].id for s in stmts if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)]


# ---------------------------------------------------------------- the decision, on srcgrad's own kernels

REFUSED = [bound_from_element, branch_in_step, branch_before_loop, two_loops, nested_loops,
           while_loop, early_return, early_break, straight]


@pytest.mark.parametrize("fn", REFUSED, ids=[f.__name__ for f in REFUSED])
def test_refuses_kernels_whose_control_flow_can_differ_per_element(fn):
    src, name = forward(fn, (0, 1))
    # the kernel itself is well formed: the refusal is the loop-shape decision
    assert kernel_parts(src, name, "grad") is not None
    assert lockstep.block_kernel_source(src, name, "grad") is None
    assert lockstep.block_kernel_source(src, name, "grad", simd_math=True) is None


def test_the_same_loop_with_a_constant_bound_is_accepted():
    """bound_from_element and fixed_bound differ only in range(int(n)) against range(7)."""
    src, _ = forward(bound_from_element, (0, 1))
    assert "for i in range(_t):" in src                # the bound is a per-element value
    text = block_of(fixed_bound, (0, 1))
    assert text is not None and "    for i in range(7):\n" in text


def test_euler_block_is_step_outer_element_inner():
    fdef = block_def(block_of(euler, (0, 1, 2)))
    assert [a.arg for a in fdef.args.args] == ["y0_s", "r_s", "k_s", "y0_z", "r_z", "k_z", "_seed", "outs", "m"]
    loops = [s for s in fdef.body if isinstance(s, ast.For)]
    assert len(loops) == 3
    prefix, step, suffix = loops
    assert is_loop_over(prefix, "e", "range(m)") and is_loop_over(suffix, "e", "range(m)")
    assert is_loop_over(step, "i", "range(30)")
    # the step loop holds exactly one loop, over the block's elements, and that one no loop
    (inner,) = step.body
    assert is_loop_over(inner, "e", "range(m)")
    assert not any(isinstance(n, (ast.For, ast.While, ast.If)) for s in inner.body for n in ast.walk(s))
    # everything else at the top is the per-block arrays, allocated before any loop
    top = [s for s in fdef.body if not isinstance(s, ast.For)]
    assert all(ast.unparse(s.value) == "np.empty(m)" for s in top)
    assert fdef.body.index(top[-1]) < fdef.body.index(prefix)


def test_euler_block_carries_only_what_lives_across_statements():
    fdef = block_def(block_of(euler, (0, 1, 2)))
    arrays = assigned(s for s in fdef.body if not isinstance(s, ast.For))
    # the value, its three tangents and the hoisted 1 / k; no temporaries (_t_1, y_1, ...)
    assert arrays == ["_hoist0_blk", "y_blk", "y_d0_blk", "y_d1_blk", "y_d2_blk"]
    prefix, step, suffix = [s for s in fdef.body if isinstance(s, ast.For)]
    inner = [ast.unparse(s) for s in step.body[0].body]
    # per element: inputs the step reads (not y0) and the carried values read from the arrays ...
    assert inner[:7] == ["r = _load(r_s, e, r_z)", "k = _load(k_s, e, k_z)", "_hoist0 = _hoist0_blk[e]",
                         "y = y_blk[e]", "y_d0 = y_d0_blk[e]", "y_d1 = y_d1_blk[e]", "y_d2 = y_d2_blk[e]"]
    # ... and written back after the step; the hoisted value is only read
    assert inner[-4:] == ["y_blk[e] = y", "y_d0_blk[e] = y_d0", "y_d1_blk[e] = y_d1", "y_d2_blk[e] = y_d2"]
    assert "_hoist0_blk[e] = _hoist0" not in inner
    # the suffix reads no input and writes the three gradients, nothing else
    tail = [ast.unparse(s) for s in suffix.body]
    assert not any("_load" in t for t in tail)
    assert tail[-3:] == ["outs[0][e] = y_d0 * _seed", "outs[1][e] = y_d1 * _seed", "outs[2][e] = y_d2 * _seed"]
    assert not any(t.startswith("outs[3]") for t in tail)


def test_value_and_grad_writes_the_value_first():
    tail = block_def(block_of(euler, (0, 1, 2), kind="value_and_grad")).body[-1]
    outs = [ast.unparse(s) for s in tail.body if ast.unparse(s).startswith("outs[")]
    assert outs == ["outs[0][e] = y", "outs[1][e] = y_d0 * _seed", "outs[2][e] = y_d1 * _seed",
                    "outs[3][e] = y_d2 * _seed"]


def test_euler_hoists_one_over_k_into_the_prefix():
    src, name = forward(euler, (0, 1, 2))
    per_element_step = src.split("\n    for i in range(30):\n")[1]
    assert per_element_step.count("1 / k") == 2           # d(y/k)/dy and d(y/k)/dk, every step
    fdef = block_def(lockstep.block_kernel_source(src, name, "grad"))
    prefix, step, _ = [s for s in fdef.body if isinstance(s, ast.For)]
    pre = [ast.unparse(s) for s in prefix.body]
    assert "_hoist0 = 1 / k" in pre
    assert pre.index("_hoist0 = 1 / k") > pre.index("k = _load(k_s, e, k_z)")
    step_text = ast.unparse(step)
    assert "1 / k" not in step_text and "_hoist1" not in step_text      # one name for both uses
    assert "_t_2_dy = _hoist0" in step_text and "_t_2_in2 = -_t_2 * _hoist0" in step_text
    assert "_t_2 = y / k" in step_text                     # reads the carried y: stays in the step


# ---------------------------------------------------------------- decision and text, hand-written derivatives
# One accepted derivative (the shape srcgrad's forward mode writes) and one-edit variants of it.

BASE = '''
import math

def f_fwd(x, c, _seed):
    y = x
    y_d = 1.0
    for i in range(5):
        y_1 = y * c + 0.5
        y_1_d = c * y_d
        y = y_1
        y_d = y_1_d
    z = y * 2.0
    return (z, (y_d * 2.0 * _seed,))
'''

BASE_BLOCK = '''
def _block(x_s, c_s, x_z, c_z, _seed, outs, m):
    y_blk = np.empty(m)
    y_d_blk = np.empty(m)
    for e in range(m):
        x = _load(x_s, e, x_z)
        c = _load(c_s, e, c_z)
        y = x
        y_d = 1.0
        y_blk[e] = y
        y_d_blk[e] = y_d
    for i in range(5):
        for e in range(m):
            c = _load(c_s, e, c_z)
            y = y_blk[e]
            y_d = y_d_blk[e]
            y_1 = y * c + 0.5
            y_1_d = c * y_d
            y = y_1
            y_d = y_1_d
            y_blk[e] = y
            y_d_blk[e] = y_d
    for e in range(m):
        y = y_blk[e]
        y_d = y_d_blk[e]
        z = y * 2.0
        outs[0][e] = y_d * 2.0 * _seed
'''


def hand(*edits, kind="grad"):
    src = BASE
    for old, new in edits:
        assert src.count(old) == 1, old
        src = src.replace(old, new)
    return lockstep.block_kernel_source(src, "f_fwd", kind)


def same_code(a, b):
    """Equal up to comments and layout."""
    return ast.unparse(ast.parse(a)) == ast.unparse(ast.parse(b))


def test_hand_written_derivative_gives_the_expected_block():
    assert same_code(hand(), BASE_BLOCK)
    # range(0, 5, 1) is constant too
    assert same_code(hand(("range(5)", "range(0, 5, 1)")), BASE_BLOCK.replace("range(5)", "range(0, 5, 1)"))


STEP = "        y_1 = y * c + 0.5\n"
REFUSED_EDITS = {
    "bound_is_a_variable": [("range(5)", "range(c)")],
    "not_a_range": [("range(5)", "reversed(range(5))")],
    "loop_else": [("    z = y * 2.0\n", "    else:\n        y = y + 1.0\n    z = y * 2.0\n")],
    "if_in_step": [(STEP, STEP + "        if y_1 > c:\n            y_1 = c\n")],
    "ifexp_in_step": [(STEP, "        y_1 = (y if y > c else c) * c + 0.5\n")],
    "ifexp_in_prefix": [("    y = x\n", "    y = x if x > c else c\n")],
    "ifexp_in_suffix": [("    z = y * 2.0\n", "    z = y if y > c else c\n")],
    "subscript_in_step": [(STEP, "        y_1 = y * c + _arr[0]\n")],
    "augmented_assignment": [(STEP, STEP + "        y_1 += 0.5\n")],
    "tuple_assignment": [("    y = x\n", "    y, w = x, c\n")],
    "custom_rule_object": [(STEP, "        y_1 = y * c + _x_rule(c)\n")],
    "carried_comparison": [(STEP, STEP + "        flag = y_1 > c\n"),
                           ("    z = y * 2.0\n", "    z = y * 2.0 + flag\n")],
    "carried_int_call": [("    y = x\n", "    y = x\n    n = int(c)\n"), (STEP, "        y_1 = y * c + n\n")],
    "carried_int_constant": [("    y = x\n", "    y = x\n    n = 3\n"),
                             (STEP, "        y_1 = y * c + n\n        n = 4\n")],
    "return_not_value_and_grads": [("    return (z, (y_d * 2.0 * _seed,))\n", "    return z\n")],
    "a_second_loop": [("    z = y * 2.0\n", "    for j in range(2):\n        y = y * c\n    z = y * 2.0\n")],
}


@pytest.mark.parametrize("edits", REFUSED_EDITS.values(), ids=REFUSED_EDITS.keys())
def test_refuses_hand_written_variants(edits):
    assert hand() is not None
    assert hand(*edits) is None


def test_refuses_a_function_the_module_does_not_have():
    assert lockstep.block_kernel_source(BASE, "g_fwd", "grad") is None


def test_constants_are_hoisted_out_of_the_element_loops_but_not_carried():
    # an int constant the loop does not change is no per-block state: set once, at the top
    fdef = block_def(hand(("    y = x\n", "    y = x\n    n = 3\n"), (STEP, "        y_1 = y * c + n\n")))
    assert ast.unparse(fdef.body[0]) == "n = 3"
    assert "n_blk" not in ast.unparse(fdef)
    # a float the loop does not change, computed from an input, is state: an array
    text = hand(("    y = x\n", "    y = x\n    n = c * 2.0\n"), (STEP, "        y_1 = y * c + n\n"))
    assert "n_blk = np.empty(m)" in text and "n = n_blk[e]" in text


def test_carried_floats_are_kept_in_arrays_and_floor_of_numpy_is_refused():
    text = hand((STEP, STEP + "        flag = y_1 * c\n"), ("    z = y * 2.0\n", "    z = y * 2.0 + flag\n"))
    assert "flag_blk = np.empty(m)" in text and "flag_blk[e] = flag" in text
    assert hand(("    y = x\n", "    y = x\n    n = np.floor(c)\n"), (STEP, "        y_1 = y * c + n\n")) is None


HOIST = '''
import math

def h_fwd(x, c, _seed):
    y = x
    y_d = 1.0
    for i in range(4):
        a = c * 3.0
        b = 1.0 / a
        y_1 = y * b + math.exp(-c) + y / c + c ** 2 + c ** 2.0 + 1.0 / (i + 1.0) + c * 2.0 + 1.0 / a
        y_1_d = b * y_d
        y = y_1
        y_d = y_1_d
    return (y, (y_d * _seed,))
'''


def test_hoisting_rules():
    """Hoisted: a division, power or call whose value is surely a float and that reads only
    inputs, constants and values the step does not change (`a`, inlined); one name per distinct
    expression.  Not hoisted: what reads the carried y or the step index, `c ** 2` (an int if c
    is), a product (not costly)."""
    fdef = block_def(lockstep.block_kernel_source(HOIST, "h_fwd", "grad"))
    prefix, step, _ = [s for s in fdef.body if isinstance(s, ast.For)]
    hoisted = [ast.unparse(s) for s in prefix.body if any(n.startswith("_hoist") for n in assigned([s]))]
    assert hoisted == ["_hoist0 = 1.0 / (c * 3.0)", "_hoist1 = math.exp(-c)", "_hoist2 = c ** 2.0"]
    body = [ast.unparse(s) for s in step.body[0].body]
    assert "a = c * 3.0" in body and "b = _hoist0" in body
    assert "y_1 = y * b + _hoist1 + y / c + c ** 2 + _hoist2 + 1.0 / (i + 1.0) + c * 2.0 + _hoist0" in body
    assert [s for s in body if "_hoist" in s and "_blk[e]" in s] == [
        "_hoist0 = _hoist0_blk[e]", "_hoist1 = _hoist1_blk[e]", "_hoist2 = _hoist2_blk[e]"]
    # a name the kernel already uses is not taken
    taken = lockstep.block_kernel_source(HOIST.replace("a = c * 3.0", "_hoist0 = c * 3.0")
                                         .replace("1.0 / a", "1.0 / _hoist0"), "h_fwd", "grad")
    assert "_hoist1 = 1.0 / (c * 3.0)" in taken and "_hoist3 = c ** 2.0" in taken
    assert "_hoist0 = c * 3.0" in taken and "_hoist0_blk" not in taken


@pytest.mark.skipif(not simd.available(), reason="no libmvec SIMD math on this machine")
def test_a_step_calling_exp_runs_in_lanes_with_a_scalar_tail():
    W = simd.WIDTH
    plain = block_of(decay, (0, 1, 2))
    lanes = block_of(decay, (0, 1, 2), simd_math=True)
    assert "_sm." not in plain and "math.exp(" in plain
    fdef = block_def(lanes)
    step = [s for s in fdef.body if isinstance(s, ast.For)][1]
    assert is_loop_over(step, "i", "range(20)")
    groups, tail = step.body
    assert is_loop_over(groups, "e", f"range(0, m - m % {W}, {W})")
    assert is_loop_over(tail, "e", f"range(m - m % {W}, m)")
    assert ast.unparse(groups).count(f"_sm.exp{W}(") == 1                # one vector call per step group
    assert "math.exp(" in ast.unparse(tail) and "_sm." not in ast.unparse(tail)
    # the lanes read the carried values of elements e .. e + W - 1
    assert f"y_{W - 1} = y_blk[e + {W - 1}]" in ast.unparse(groups)
    # a step with no libmvec call keeps the plain element loop, with or without SIMD math
    assert block_of(euler, (0, 1, 2), simd_math=True) == block_of(euler, (0, 1, 2))


# ---------------------------------------------------------------- the numbers, through srcgrad.vectorize

def check_numbers(fn, v, args, rtol):
    """v (a vectorized grad of fn over all its arguments) on 1-D args, written into out= views of
    longer buffers: the per-element forward kernel's numbers, central differences, nothing written
    past the end."""
    n = len(args[0])
    argnums = tuple(range(len(args)))
    outs = tuple(np.full(n + 3, 7.0)[:n] for _ in argnums)
    v(*args, out=outs)
    fwd = ForwardGradFunction(fn, argnums)
    for i in range(n):
        point = [float(a[i]) for a in args]
        want = fwd(*point)
        fd = numerical_grad(fn, point, argnums)
        for j in argnums:
            if rtol == 0:
                assert outs[j][i] == want[j], (i, j)
            else:
                assert outs[j][i] == pytest.approx(want[j], rel=rtol, abs=1e-15), (i, j)
            assert outs[j][i] == pytest.approx(fd[j], rel=1e-6, abs=1e-9), (i, j)
    for o in outs:
        np.testing.assert_array_equal(o.base[n:], 7.0)


def test_lockstep_numbers_equal_the_per_element_kernel_with_a_block_tail():
    """11 elements in blocks of 8: a full block and a tail of 3.  Same expressions on the same
    operands (1 / k hoisted included): the per-element forward kernel's numbers, bit for bit."""
    v = srcgrad.vectorize(srcgrad.grad(euler, argnums=(0, 1, 2)), block=8, simd_math=False)
    assert "for i in range(30):" in v.source.split("def _block", 1)[1]     # the lock-step path
    rng = np.random.default_rng(3)
    args = [rng.uniform(0.05, 1.0, 11), rng.uniform(0.5, 2.0, 11), rng.uniform(5.0, 10.0, 11)]
    check_numbers(euler, v, args, rtol=0)


@pytest.mark.skipif(not simd.available(), reason="no libmvec SIMD math on this machine")
def test_lanes_step_numbers_with_lane_and_block_tails():
    """21 elements in blocks of 16: segments of 16 and 5, so a lane tail (5 % WIDTH) after the
    full lane groups.  libmvec is within 4 ulp of libm: close to, not equal to, the scalar kernel."""
    v = srcgrad.vectorize(srcgrad.grad(decay, argnums=(0, 1, 2)), block=16)
    assert f"_sm.exp{simd.WIDTH}(" in v.source.split("def _block", 1)[1]
    rng = np.random.default_rng(5)
    args = [rng.uniform(0.1, 1.0, 21), rng.uniform(0.5, 2.0, 21), rng.uniform(0.5, 2.0, 21)]
    check_numbers(decay, v, args, rtol=1e-12)


# ---------------------------------------------------------------- names and types the block must keep apart

@pytest.mark.parametrize("fn", [step_local_e, param_m], ids=["local_e", "param_m"])
def test_kernel_names_do_not_clobber_the_block_kernels_own(fn):
    """Found by these tests: the block function's element index `e`, count `m` and `outs` were
    the kernel's names too, and the kernel's code runs inside it.  A parameter `m` (a mass) was
    overwritten by the element count (NaN, silently); a step local `e` made Numba fail.  The
    block's own names are now ones the kernel does not use, and the numbers are right."""
    text = block_of(fn, (0, 1))
    assert text is not None                                   # still lock-step
    fdef = block_def(text)
    params = [a.arg for a in fdef.args.args]
    kernel_names = {n.id for n in ast.walk(ast.parse(forward(fn, (0, 1))[0])) if isinstance(n, ast.Name)}
    count, outs = params[-1], params[-2]
    assert count not in kernel_names and outs not in kernel_names
    element_loops = {ast.unparse(n.target) for n in ast.walk(fdef) if isinstance(n, ast.For)
                     and ast.unparse(n.iter) == f"range({count})"}
    assert element_loops and not element_loops & kernel_names
    v = srcgrad.vectorize(srcgrad.grad(fn, argnums=(0, 1)), block=8, simd_math=False)
    rng = np.random.default_rng(11)
    args = [rng.uniform(0.1, 1.0, 11), rng.uniform(0.5, 2.0, 11)]
    check_numbers(fn, v, args, rtol=0)


@pytest.mark.parametrize("fn,n", [(straight_seed, 3), (looped_seed, 2), (looped_load, 3)],
                         ids=["straight", "looped", "loader_name"])
def test_an_input_named_like_a_lane_of_the_seed(fn, n):
    """Found by a name fuzz of vectorize: an input `_seed` makes the kernel's seed `_seed_1`,
    and lane 1 of `_seed` had the same name (a duplicate argument of the lane function; in a
    lock-step step, a lane overwriting the seed).  Such a kernel now keeps its elements apart.
    An input `_load` hid the driver's loader (Numba failed to compile the block)."""
    v = srcgrad.vectorize(srcgrad.grad(fn, argnums=tuple(range(n))), block=8)
    rng = np.random.default_rng(12)
    check_numbers(fn, v, [rng.uniform(0.5, 1.5, 11) for _ in range(n)], rtol=1e-12)


def test_a_carried_math_floor_is_refused_like_np_floor():
    """Found by these tests: `_floaty`'s exclusion of math.floor/math.ceil was dead code (`a or
    b and not c` binds as `a or (b and not c)`), so a carried math.floor(...), an int in Numba,
    was kept in a float array."""
    assert hand(("    y = x\n", "    y = x\n    n = math.floor(c)\n"), (STEP, "        y_1 = y * c + n\n")) is None
