"""GradBench ``ba``: bundle adjustment (ADBench). ``objective``: the weighted reprojection
error (2 per observation) and the weight error 1 - w^2 (1 per observation); ``jacobian``: their
sparse Jacobian w.r.t. the cameras (11 each), the points (3 each) and the weights, assembled
in full as ADBench's sparse matrix (CSR row pointers, columns, values); GradBench compares its
first 30 entries and the last. The input is one camera, point, weight and feature, replicated
(n, m, p) times; nothing exploits the replication."""
import numba
import numpy as np
import srcgrad

from . import Form, Function, jit

N_CAM = 11


def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot * rot)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        w = rot / theta
        tmp = np.dot(w, X) * (1.0 - np.cos(theta))
        return X * np.cos(theta) + np.cross(w, X) * np.sin(theta) + w * tmp
    return X + np.cross(rot, X)


def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[0:3], X - cam[3:6])
    p = Xcam[0:2] / Xcam[2]
    rsq = np.sum(p * p)
    distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    return p * distortion * cam[6] + cam[7:9]


def reproj_error(cam, X, w, feat):
    return w * (project(cam, X) - feat)


def w_error(w):
    return 1.0 - w * w


def objective(cams, X, w, obs, feats):
    p = obs.shape[0]
    reproj = np.empty((p, 2))
    werr = np.empty(p)
    for i in range(p):
        reproj[i] = reproj_error(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i])
        werr[i] = w_error(w[i])
    return reproj, werr


def jacobian_rows(cams, X, w, obs, feats):
    """Each observation's 2 x 15 block (camera, point, weight) and the weights' 1 x 1 blocks."""
    p = obs.shape[0]
    J = np.empty((p, 2, N_CAM + 4))
    for i in range(p):
        dcam, dX, dw = _reproj_jacobian(cams[obs[i, 0]], X[obs[i, 1]], w[i], feats[i])
        J[i, :, :N_CAM] = dcam
        J[i, :, N_CAM:N_CAM + 3] = dX
        J[i, :, N_CAM + 3] = dw
    return J, srcgrad.vectorize(srcgrad.grad(w_error))(w)     # d w_error / d w, element by element


_reproj_jacobian = srcgrad.jacobian(reproj_error, argnums=(0, 1, 2))


# ---------------------------------------------------------------------------------- adapted

def reproj_u(r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, X0, X1, X2, w, fu):
    """Adapted: the u row of the reprojection error as a scalar function of the 15 parameters
    (reverse mode over an array-valued function is not available yet, and slices, `np.cross`
    and helpers returning arrays are refused), for srcgrad.vectorize over observations."""
    y0 = X0 - c0
    y1 = X1 - c1
    y2 = X2 - c2
    sqtheta = r0 * r0 + r1 * r1 + r2 * r2
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        ct = np.cos(theta)
        st = np.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
        tmp = (w0 * y0 + w1 * y1 + w2 * y2) * (1.0 - ct)
        z0 = y0 * ct + (w1 * y2 - w2 * y1) * st + w0 * tmp
        z1 = y1 * ct + (w2 * y0 - w0 * y2) * st + w1 * tmp
        z2 = y2 * ct + (w0 * y1 - w1 * y0) * st + w2 * tmp
    else:
        z0 = y0 + (r1 * y2 - r2 * y1)
        z1 = y1 + (r2 * y0 - r0 * y2)
        z2 = y2 + (r0 * y1 - r1 * y0)
    p0 = z0 / z2
    p1 = z1 / z2
    rsq = p0 * p0 + p1 * p1
    distortion = 1.0 + k1 * rsq + k2 * rsq * rsq
    return w * (p0 * distortion * f + u0 - fu)


def reproj_v(r0, r1, r2, c0, c1, c2, f, u0, v0, k1, k2, X0, X1, X2, w, fv):
    """Adapted: the v row (see reproj_u)."""
    y0 = X0 - c0
    y1 = X1 - c1
    y2 = X2 - c2
    sqtheta = r0 * r0 + r1 * r1 + r2 * r2
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        ct = np.cos(theta)
        st = np.sin(theta)
        w0 = r0 / theta
        w1 = r1 / theta
        w2 = r2 / theta
        tmp = (w0 * y0 + w1 * y1 + w2 * y2) * (1.0 - ct)
        z0 = y0 * ct + (w1 * y2 - w2 * y1) * st + w0 * tmp
        z1 = y1 * ct + (w2 * y0 - w0 * y2) * st + w1 * tmp
        z2 = y2 * ct + (w0 * y1 - w1 * y0) * st + w2 * tmp
    else:
        z0 = y0 + (r1 * y2 - r2 * y1)
        z1 = y1 + (r2 * y0 - r0 * y2)
        z2 = y2 + (r0 * y1 - r1 * y0)
    p0 = z0 / z2
    p1 = z1 / z2
    rsq = p0 * p0 + p1 * p1
    distortion = 1.0 + k1 * rsq + k2 * rsq * rsq
    return w * (p1 * distortion * f + v0 - fv)


def objective_loops(cams, X, w, obs, feats):
    p = obs.shape[0]
    reproj = np.empty((p, 2))
    werr = np.empty(p)
    for i in range(p):
        c = obs[i, 0]
        j = obs[i, 1]
        reproj[i, 0] = reproj_u(cams[c, 0], cams[c, 1], cams[c, 2], cams[c, 3], cams[c, 4], cams[c, 5],
                                cams[c, 6], cams[c, 7], cams[c, 8], cams[c, 9], cams[c, 10],
                                X[j, 0], X[j, 1], X[j, 2], w[i], feats[i, 0])
        reproj[i, 1] = reproj_v(cams[c, 0], cams[c, 1], cams[c, 2], cams[c, 3], cams[c, 4], cams[c, 5],
                                cams[c, 6], cams[c, 7], cams[c, 8], cams[c, 9], cams[c, 10],
                                X[j, 0], X[j, 1], X[j, 2], w[i], feats[i, 1])
        werr[i] = w_error(w[i])
    return reproj, werr


_PARAMS = tuple(range(N_CAM + 4))
_du = srcgrad.vectorize(srcgrad.grad(reproj_u, argnums=_PARAMS), parallel=False)
_dv = srcgrad.vectorize(srcgrad.grad(reproj_v, argnums=_PARAMS), parallel=False)
_dw = srcgrad.vectorize(srcgrad.grad(w_error), parallel=False)


def jacobian_rows_vectorized(cams, X, w, obs, feats):
    """Every observation's 2 x 15 block through srcgrad.vectorize (one thread)."""
    args = (*cams[obs[:, 0]].T, *X[obs[:, 1]].T, w)
    J = np.empty((obs.shape[0], 2, N_CAM + 4))
    for k, g in enumerate(_du(*args, feats[:, 0])):
        J[:, 0, k] = g
    for k, g in enumerate(_dv(*args, feats[:, 1])):
        J[:, 1, k] = g
    return J, _dw(w)


# ------------------------------------------------------------------------ input and output

def _prepare(input):
    n, m, p = int(input["n"]), int(input["m"]), int(input["p"])
    cams = np.tile(np.asarray(input["cam"], dtype=np.float64), (n, 1))
    X = np.tile(np.asarray(input["x"], dtype=np.float64), (m, 1))
    w = np.full(p, float(input["w"]))
    feats = np.tile(np.asarray(input["feat"], dtype=np.float64), (p, 1))
    i = np.arange(p)
    obs = np.stack([i % n, i % m], axis=1).astype(np.int64)
    return cams, X, w, obs, feats


def _post_objective(out):
    reproj, werr = out
    return {"reproj_error": {"elements": reproj[0].tolist(), "repeated": int(reproj.shape[0])},
            "w_err": {"element": float(werr[0]), "repeated": int(werr.shape[0])}}


@numba.njit(cache=False)
def sparse(n, m, obs, J, dw):
    """ADBench's sparse Jacobian: CSR row pointers, columns and values (3p rows: u, v of each
    observation, then each weight error), assembled in one compiled pass as the C++ reference
    does."""
    p = obs.shape[0]
    block = N_CAM + 4
    rows = np.empty(3 * p + 1, dtype=np.int64)
    cols = np.empty(2 * block * p + p, dtype=np.int64)
    vals = np.empty(2 * block * p + p)
    rows[0] = 0
    k = 0
    for i in range(p):
        for r in range(2):
            rows[2 * i + r + 1] = rows[2 * i + r] + block
            for j in range(N_CAM):
                cols[k] = N_CAM * obs[i, 0] + j
                vals[k] = J[i, r, j]
                k += 1
            for j in range(3):
                cols[k] = N_CAM * n + 3 * obs[i, 1] + j
                vals[k] = J[i, r, N_CAM + j]
                k += 1
            cols[k] = N_CAM * n + 3 * m + i
            vals[k] = J[i, r, N_CAM + 3]
            k += 1
    for i in range(p):
        rows[2 * p + i + 1] = rows[2 * p + i] + 1
        cols[k] = N_CAM * n + 3 * m + i
        vals[k] = dw[i]
        k += 1
    return rows, cols, vals


def _jacobian_function(rows_fn):
    def jacobian(n, m, cams, X, w, obs, feats):
        J, dw = rows_fn(cams, X, w, obs, feats)
        return sparse(n, m, obs, J, dw)
    return jacobian


def _prepare_jacobian(input):
    return (int(input["n"]), int(input["m"]), *_prepare(input))


def _post_jacobian(out):
    def cut(a):
        return np.concatenate([a[:30], a[-1:]]).tolist()
    rows, cols, vals = out
    return {"rows": cut(rows), "cols": cut(cols), "vals": cut(vals)}


def _builder(primal, rows_fn):
    def build():
        return {"objective": Function(jit(primal), _prepare, _post_objective),
                "jacobian": Function(_jacobian_function(rows_fn), _prepare_jacobian, _post_jacobian)}
    return build


FORMS = (
    Form("natural", _builder(objective, jacobian_rows)),
    Form("adapted", _builder(objective_loops, jacobian_rows_vectorized),
         ("the 2 x 15 block of each observation from two scalar functions (the u and v rows, "
          "parameters as 15 scalars) through `srcgrad.vectorize(srcgrad.grad(...))`, instead of "
          "`srcgrad.jacobian` of the array-valued `reproj_error` with slices and `np.cross`",)),
)
EXAMPLE = {"n": 3, "m": 4, "p": 5,
           "cam": [-0.758453, -1.109613, -0.845551, 34.556073, 39.676747, 53.881673, 419.194514,
                   5.864426, -8.518870, 0.087812, 0.002739],
           "x": [7.203245, 0.001144, 3.023326], "w": 0.417022, "feat": [271.760969, 834.209256]}
