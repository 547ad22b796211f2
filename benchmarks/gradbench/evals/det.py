"""GradBench ``det``: the determinant of an l x l matrix by expansion by minors (cmpad's
``det_by_minor``: rows and columns are removed by relinking the index lists ``r`` and ``c``,
not by copying), and its gradient w.r.t. the matrix, row-major."""
import numpy as np
import srcgrad

from . import Form, Function, jit


def det_of_minor(A, n, m, r, c):
    """Determinant of the m x m minor of A whose rows and columns are linked from r[n], c[n]."""
    R0 = r[n]
    Cj = c[n]
    if m == 1:
        return A[R0, Cj]
    detM = 0.0
    sign = 1
    r[n] = r[R0]                  # remove row R0
    Cj1 = n
    for j in range(m):
        M0j = A[R0, Cj]
        c[Cj1] = c[Cj]            # remove column Cj
        detS = det_of_minor(A, n, m - 1, r, c)
        c[Cj1] = Cj               # restore it
        if sign > 0:
            detM = detM + M0j * detS
        else:
            detM = detM - M0j * detS
        Cj1 = Cj
        Cj = c[Cj]
        sign = -sign
    r[n] = R0                     # restore row R0
    return detM


def det(A):
    n = A.shape[0]
    r = np.zeros(n + 1, dtype=np.int64)
    c = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        r[i] = i + 1
        c[i] = i + 1
    return det_of_minor(A, n, n, r, c)


def det_stack(A):
    """Adapted: srcgrad refuses recursion, so the same expansion (the same operations in the
    same order) runs as a loop over an explicit stack of the recursion's locals, one entry per
    minor size m."""
    n = A.shape[0]
    r = np.zeros(n + 1, dtype=np.int64)
    c = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        r[i] = i + 1
        c[i] = i + 1
    R0 = np.zeros(n + 1, dtype=np.int64)
    Cj = np.zeros(n + 1, dtype=np.int64)
    Cj1 = np.zeros(n + 1, dtype=np.int64)
    j = np.zeros(n + 1, dtype=np.int64)
    sign = np.zeros(n + 1, dtype=np.int64)
    detM = np.zeros(n + 1)
    m = n
    entering = True               # True: start the minor of size m; False: its child returned
    result = 0.0                  # the determinant the last finished minor returned
    while m <= n:
        if entering:
            R0[m] = r[n]
            Cj[m] = c[n]
            if m == 1:
                result = A[R0[m], Cj[m]]
                m += 1
                entering = False
            else:
                detM[m] = 0.0
                sign[m] = 1
                r[n] = r[R0[m]]
                Cj1[m] = n
                j[m] = 0
                c[Cj1[m]] = c[Cj[m]]
                m -= 1
        else:
            c[Cj1[m]] = Cj[m]
            M0j = A[R0[m], Cj[m]]
            if sign[m] > 0:
                detM[m] = detM[m] + M0j * result
            else:
                detM[m] = detM[m] - M0j * result
            Cj1[m] = Cj[m]
            Cj[m] = c[Cj[m]]
            sign[m] = -sign[m]
            j[m] += 1
            if j[m] < m:
                c[Cj1[m]] = c[Cj[m]]
                m -= 1
                entering = True
            else:
                r[n] = R0[m]
                result = detM[m]
                m += 1
    return result


def _prepare(input):
    ell = int(input["ell"])
    return (np.asarray(input["A"], dtype=np.float64).reshape(ell, ell),)


def _flat(a):
    return a.ravel().tolist()


def _builder(f):
    def build():
        return {"primal": Function(jit(f), _prepare, float),
                "gradient": Function(srcgrad.grad(f), _prepare, _flat)}
    return build


FORMS = (
    Form("natural", _builder(det)),
    Form("adapted", _builder(det_stack),
         ("the recursive expansion as a `while` loop over an explicit stack (same operations)",)),
)
EXAMPLE = {"A": [0.5, 0.2, 0.9, 0.1, 0.3, 0.8, 0.4, 0.7, 0.6, 0.3, 0.2, 0.9, 0.1, 0.5, 0.4, 0.8], "ell": 4}
