"""GradBench ``ht``: hand tracking (ADBench). A skinned hand model posed by 26 parameters
``theta``; ``objective`` is the residual between the observed points and the posed model's
points (3 per point), ``jacobian`` its Jacobian. In the "complicated" variant each point lies
on a triangle at barycentric coordinates ``us[i]`` (2 per point, also differentiated): its rows
depend on its own u only, so the Jacobian is reported as 2 columns for u (the diagonal blocks)
followed by 26 for theta, as ADBench does."""
import numpy as np
import srcgrad

from . import Form, Function, jit, tolist


# ------------------------------------------------------------------------------ natural form

def angle_axis_to_rotation_matrix(angle_axis):
    norm = np.sqrt(np.sum(angle_axis * angle_axis))
    if norm < 0.0001:
        return np.eye(3)
    x, y, z = angle_axis / norm
    s = np.sin(norm)
    c = np.cos(norm)
    return np.array([[x * x + (1 - x * x) * c, x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
                     [x * y * (1 - c) + z * s, y * y + (1 - y * y) * c, y * z * (1 - c) - x * s],
                     [x * z * (1 - c) - y * s, z * y * (1 - c) + x * s, z * z + (1 - z * z) * c]])


def euler_angles_to_rotation_matrix(xzy):
    tx, tz, ty = xzy
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(tx), -np.sin(tx)], [0.0, np.sin(tx), np.cos(tx)]])
    Ry = np.array([[np.cos(ty), 0.0, np.sin(ty)], [0.0, 1.0, 0.0], [-np.sin(ty), 0.0, np.cos(ty)]])
    Rz = np.array([[np.cos(tz), -np.sin(tz), 0.0], [np.sin(tz), np.cos(tz), 0.0], [0.0, 0.0, 1.0]])
    return Rz @ Ry @ Rx


def to_pose_params(theta, n_bones):
    """Rows: global rotation, scale, global translation, then one (x, z, y) Euler row per bone."""
    pose = np.zeros((n_bones + 3, 3))
    pose[0] = theta[0:3]
    pose[1] = 1.0
    pose[2] = theta[3:6]
    i_theta = 6
    i_pose = 5
    for finger in range(5):
        for i in range(2, 5):
            pose[i_pose, 0] = theta[i_theta]
            i_theta += 1
            if i == 2:
                pose[i_pose, 1] = theta[i_theta]
                i_theta += 1
            i_pose += 1
        i_pose += 1
    return pose


def skinned_vertex_positions(pose, parents, base_relatives, inverse_base_absolutes, base_positions, weights):
    n_bones = parents.shape[0]
    absolutes = np.empty((n_bones, 4, 4))
    positions = np.zeros((base_positions.shape[0], 3))
    for b in range(n_bones):
        posed = np.eye(4)
        posed[:3, :3] = euler_angles_to_rotation_matrix(pose[b + 3])
        relative = base_relatives[b] @ posed
        absolutes[b] = relative if parents[b] == -1 else absolutes[parents[b]] @ relative
        transform = absolutes[b] @ inverse_base_absolutes[b]
        positions += weights[:, b:b + 1] * (base_positions @ transform.T)[:, :3]
    R = angle_axis_to_rotation_matrix(pose[0]) * pose[1]
    return positions @ R.T + pose[2]


def hand_objective(theta, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                   weights, triangles, correspondences, points):
    pose = to_pose_params(theta, parents.shape[0])
    vertices = skinned_vertex_positions(pose, parents, base_relatives, inverse_base_absolutes,
                                        base_positions, weights)
    if us.shape[0] == 0:
        return (points - vertices[correspondences]).ravel()
    corners = vertices[triangles[correspondences]]          # (points, 3 corners, 3)
    u = us[:, 0:1]
    v = us[:, 1:2]
    on_hand = u * corners[:, 0] + v * corners[:, 1] + (1.0 - u - v) * corners[:, 2]
    return (points - on_hand).ravel()


def hand_jacobian(theta, us, *model):
    """Columns: d/du, d/dv of each point's own rows (two forward sweeps: a row depends on its own
    u only), then the 26 columns of theta (srcgrad.jacobian)."""
    J_theta = srcgrad.jacobian(hand_objective, argnums=0)(theta, us, *model)
    if us.shape[0] == 0:
        return J_theta
    du = np.zeros_like(us)
    du[:, 0] = 1.0
    dv = np.zeros_like(us)
    dv[:, 1] = 1.0
    _, J_u = srcgrad.jvp(lambda us: hand_objective(theta, us, *model), (us,), (du,))
    _, J_v = srcgrad.jvp(lambda us: hand_objective(theta, us, *model), (us,), (dv,))
    return np.concatenate([J_u[:, None], J_v[:, None], J_theta], axis=1)


# ------------------------------------------------------------------------------ adapted form

def hand_objective_loops(theta, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                         weights, triangles, correspondences, points):
    """Adapted: every matrix product, rotation and selection written as element loops over
    2-D arrays (4 x 4 matrices as rows of 16): slices, list-built arrays, tuple unpacking,
    helpers returning arrays, fancy indexing and 3-D arrays are refused today."""
    n_bones = parents.shape[0]
    pose = np.zeros((n_bones + 3, 3))
    for j in range(3):
        pose[0, j] = theta[j]
        pose[1, j] = 1.0
        pose[2, j] = theta[3 + j]
    i_theta = 6
    i_pose = 5
    for finger in range(5):
        for i in range(2, 5):
            pose[i_pose, 0] = theta[i_theta]
            i_theta += 1
            if i == 2:
                pose[i_pose, 1] = theta[i_theta]
                i_theta += 1
            i_pose += 1
        i_pose += 1

    R = np.zeros(9)
    relative = np.zeros(16)
    absolutes = np.zeros((n_bones, 16))
    transforms = np.zeros((n_bones, 16))
    for b in range(n_bones):
        cx = np.cos(pose[b + 3, 0])
        sx = np.sin(pose[b + 3, 0])
        cy = np.cos(pose[b + 3, 2])
        sy = np.sin(pose[b + 3, 2])
        cz = np.cos(pose[b + 3, 1])
        sz = np.sin(pose[b + 3, 1])
        # R = Rz @ Ry @ Rx, row-major
        R[0] = cz * cy
        R[1] = -sz * cx + cz * sy * sx
        R[2] = sz * sx + cz * sy * cx
        R[3] = sz * cy
        R[4] = cz * cx + sz * sy * sx
        R[5] = -cz * sx + sz * sy * cx
        R[6] = -sy
        R[7] = cy * sx
        R[8] = cy * cx
        for r in range(4):
            for c in range(3):
                acc = 0.0
                for k in range(3):
                    acc += base_relatives[b, 4 * r + k] * R[3 * k + c]
                relative[4 * r + c] = acc
            relative[4 * r + 3] = base_relatives[b, 4 * r + 3]
        parent = parents[b]
        for r in range(4):
            for c in range(4):
                if parent == -1:
                    absolutes[b, 4 * r + c] = relative[4 * r + c]
                else:
                    acc = 0.0
                    for k in range(4):
                        acc += absolutes[parent, 4 * r + k] * relative[4 * k + c]
                    absolutes[b, 4 * r + c] = acc
        for r in range(4):
            for c in range(4):
                acc = 0.0
                for k in range(4):
                    acc += absolutes[b, 4 * r + k] * inverse_base_absolutes[b, 4 * k + c]
                transforms[b, 4 * r + c] = acc

    n_verts = base_positions.shape[0]
    positions = np.zeros((n_verts, 3))
    for b in range(n_bones):
        for v in range(n_verts):
            wt = weights[v, b]
            for r in range(3):
                acc = 0.0
                for c in range(4):
                    acc += transforms[b, 4 * r + c] * base_positions[v, c]
                positions[v, r] += wt * acc

    # global rotation (angle-axis), scaled columns, translation
    norm = np.sqrt(pose[0, 0] * pose[0, 0] + pose[0, 1] * pose[0, 1] + pose[0, 2] * pose[0, 2])
    if norm < 0.0001:
        for k in range(9):
            R[k] = 0.0
        R[0] = 1.0
        R[4] = 1.0
        R[8] = 1.0
    else:
        x = pose[0, 0] / norm
        y = pose[0, 1] / norm
        z = pose[0, 2] / norm
        s = np.sin(norm)
        c = np.cos(norm)
        R[0] = x * x + (1 - x * x) * c
        R[1] = x * y * (1 - c) - z * s
        R[2] = x * z * (1 - c) + y * s
        R[3] = x * y * (1 - c) + z * s
        R[4] = y * y + (1 - y * y) * c
        R[5] = y * z * (1 - c) - x * s
        R[6] = x * z * (1 - c) - y * s
        R[7] = z * y * (1 - c) + x * s
        R[8] = z * z + (1 - z * z) * c

    n_points = points.shape[0]
    err = np.zeros(3 * n_points)
    for i in range(n_points):
        for r in range(3):
            if us.shape[0] == 0:
                err[3 * i + r] = points[i, r] - _posed(positions, R, pose, correspondences[i], r)
            else:
                t = correspondences[i]
                u = us[i, 0]
                v = us[i, 1]
                err[3 * i + r] = points[i, r] - (u * _posed(positions, R, pose, triangles[t, 0], r)
                                                 + v * _posed(positions, R, pose, triangles[t, 1], r)
                                                 + (1.0 - u - v) * _posed(positions, R, pose, triangles[t, 2], r))
    return err


def _posed(positions, R, pose, vertex, r):
    """Coordinate r of a vertex after the global transform (rotation with scaled columns)."""
    return (R[3 * r] * pose[1, 0] * positions[vertex, 0] + R[3 * r + 1] * pose[1, 1] * positions[vertex, 1]
            + R[3 * r + 2] * pose[1, 2] * positions[vertex, 2] + pose[2, r])


def seeded_residual(seed, theta, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                    weights, triangles, correspondences, points):
    """seed . residual: its gradient w.r.t. us is one vector-Jacobian product."""
    err = hand_objective_loops(theta, us, parents, base_relatives, inverse_base_absolutes, base_positions,
                               weights, triangles, correspondences, points)
    return np.sum(seed * err)


_d_theta = srcgrad.jacobian(hand_objective_loops, argnums=0)
_d_us = srcgrad.grad(seeded_residual, argnums=2)


def hand_jacobian_loops(theta, us, *model):
    """The 26 theta columns by srcgrad.jacobian (forward mode, one sweep each); the u columns by
    three reverse sweeps of seed . residual, seeding coordinate r of every point at once (a
    point's rows depend on its own u only, so the products do not mix)."""
    J_theta = _d_theta(theta, us, *model)
    if us.shape[0] == 0:
        return J_theta
    J_us = np.empty((J_theta.shape[0], 2))
    seed = np.zeros(J_theta.shape[0])
    for r in range(3):
        seed[:] = 0.0
        seed[r::3] = 1.0
        J_us[r::3] = _d_us(seed, theta, us, *model)
    return np.concatenate([J_us, J_theta], axis=1)


# ------------------------------------------------------------------------ input and output

def _prepare(input):
    data, model = input["data"], input["data"]["model"]
    us = np.asarray(input["us"], dtype=np.float64).reshape(-1, 2)
    return (np.asarray(input["theta"], dtype=np.float64), us,
            np.asarray(model["parents"], dtype=np.int64),
            np.asarray(model["base_relatives"], dtype=np.float64),
            np.asarray(model["inverse_base_absolutes"], dtype=np.float64),
            np.asarray(model["base_positions"], dtype=np.float64),
            np.asarray(model["weights"], dtype=np.float64),
            np.asarray(model["triangles"], dtype=np.int64).reshape(-1, 3),
            np.asarray(data["correspondences"], dtype=np.int64),
            np.asarray(data["points"], dtype=np.float64))


def _prepare_loops(input):
    """The 4 x 4 matrices as rows of 16 (srcgrad's arrays are 1-D or 2-D)."""
    args = list(_prepare(input))
    args[3] = args[3].reshape(-1, 16)
    args[4] = args[4].reshape(-1, 16)
    return tuple(args)


def _builder(objective, jacobian, prepare):
    def build():
        return {"objective": Function(jit(objective), prepare, tolist),
                "jacobian": Function(jacobian, prepare, tolist)}
    return build


FORMS = (
    Form("natural", _builder(hand_objective, hand_jacobian, _prepare)),
    Form("adapted", _builder(hand_objective_loops, hand_jacobian_loops, _prepare_loops),
         ("rotations, 4 x 4 products and skinning written as element loops over 2-D arrays "
          "(matrices as rows of 16); the u columns by reverse sweeps of `np.sum(seed * residual)` "
          "(a jvp without closures would also differentiate every model array)",)),
)


def _example():
    rng = np.random.default_rng(0)
    n_bones, n_verts, n_points = 22, 6, 3       # the model's 22 bones: theta fills 25 pose rows
    rel = np.tile(np.eye(4), (n_bones, 1, 1)) + 0.1 * rng.normal(size=(n_bones, 4, 4))
    rel[:, 3] = [0.0, 0.0, 0.0, 1.0]
    inv = np.tile(np.eye(4), (n_bones, 1, 1)) + 0.1 * rng.normal(size=(n_bones, 4, 4))
    inv[:, 3] = [0.0, 0.0, 0.0, 1.0]
    base = np.concatenate([rng.normal(size=(n_verts, 3)), np.ones((n_verts, 1))], axis=1)
    weights = rng.uniform(size=(n_verts, n_bones))
    weights /= weights.sum(axis=1, keepdims=True)
    return {"theta": (0.3 * rng.normal(size=26)).tolist(),
            "us": rng.uniform(0.1, 0.4, size=(n_points, 2)).tolist(),
            "data": {"model": {"bone_count": n_bones, "bone_names": [f"b{i}" for i in range(n_bones)],
                               "parents": [-1] + [b // 2 for b in range(n_bones - 1)], "base_relatives": rel.tolist(),
                               "inverse_base_absolutes": inv.tolist(), "base_positions": base.tolist(),
                               "weights": weights.tolist(), "triangles": [[0, 1, 2], [2, 3, 4], [3, 4, 5]],
                               "is_mirrored": False},
                     "correspondences": [0, 2, 1], "points": rng.normal(size=(n_points, 3)).tolist()}}


EXAMPLE = _example()
