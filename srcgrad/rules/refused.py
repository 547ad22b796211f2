"""NumPy functions srcgrad refuses on purpose, each group with the reason and the remedy that
the user's `NoDerivativeRuleError` states.  Together with the rules and composites this covers
every NumPy function that JAX or autograd differentiates for real inputs (checked by
tests/test_numpy_functions.py); the README's list is generated from it (rules/catalog.py).

NumPy 2's names are looked up with `_np` (None, and skipped, on NumPy 1.x).
"""
import numpy as np

from .registry import refuse


def _np(path):
    obj = np
    for part in path.split("."):
        obj = getattr(obj, part, None)
    return obj


_FFT = [_np(f"fft.{n}") for n in ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
                                   "irfft2", "rfftn", "irfftn", "hfft", "ihfft")]
refuse(*_FFT, why="complex-valued transforms: srcgrad differentiates real-valued code, and Numba compiles no np.fft",
       instead="compute the transform outside the differentiated function and pass it in, or write the real "
               "DFT you need as a matrix product with np.cos/np.sin of the frequencies")
refuse(np.fft.fftshift, np.fft.ifftshift, np.fft.fftfreq,
       why="Numba compiles no np.fft",
       instead="np.roll(x, x.shape[0] // 2) is np.fft.fftshift of a 1-D x (differentiated); compute the "
               "frequencies outside")
refuse(np.linalg.eig, np.linalg.eigh, np.linalg.eigvals, np.linalg.eigvalsh, np.linalg.svd, _np("linalg.svdvals"),
       np.linalg.qr, np.linalg.pinv, np.linalg.lstsq, np.linalg.cond,
       why="spectral decompositions and least squares are not differentiated yet (their derivatives divide "
           "by the gaps between eigenvalues or singular values)",
       instead="np.linalg.solve, inv, det, slogdet and cholesky are differentiated: a full-rank least-squares "
               "fit is np.linalg.solve(A.T @ A, A.T @ b)")
refuse(np.tensordot, _np("linalg.tensordot"), np.linalg.tensorinv, np.linalg.tensorsolve, _np("vecdot"),
       _np("linalg.vecdot"), _np("matvec"), _np("vecmat"),
       why="contractions over arrays of more than 2 dimensions are not differentiated yet",
       instead="np.einsum of the common contractions, np.dot and @ of 1-D and 2-D arrays are; "
               "np.sum(a * b, axis=-1) is np.vecdot")
refuse(np.sort, np.sort_complex, np.partition, np.median, np.percentile, np.quantile, np.nanmedian,
       np.nanpercentile, np.nanquantile,
       why="order statistics are not differentiated yet",
       instead="np.max/np.min are; or sort outside and pass the permutation in: x[idx] with a 1-D integer "
               "array is differentiated")
refuse(np.nanmax, np.nanmin, np.nanprod, np.nanstd, np.nanvar, np.nancumsum,
       np.nancumprod, np.nan_to_num,
       why="NaN-ignoring functions are not differentiated yet",
       instead="replace the NaNs with np.where(np.isnan(x), 0.0, x) and use the plain reduction")
refuse(np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, _np("unstack"), np.broadcast_arrays,
       np.meshgrid, np.ix_,
       why="they return a list of arrays; srcgrad's values are numbers, arrays and tuples written in the code",
       instead="take the pieces with slices x[a:b]; build grids by broadcasting (x[:, None] and y[None, :])")
refuse(np.compress, np.extract, np.delete, np.insert, np.trim_zeros, np.setdiff1d, np.setxor1d, np.intersect1d,
       np.resize, np.place, np.put, np.put_along_axis, np.take_along_axis, np.choose, np.select, np.piecewise,
       np.fill_diagonal,
       why="selections and writes by masks, by index arrays beyond 1-D indexing, or with data-dependent "
           "shapes are not differentiated yet",
       instead="use np.where(mask, x, 0.0), x[idx] with a 1-D integer array, or a loop that reads and writes "
               "elements")
refuse(np.atleast_1d, np.atleast_2d, np.atleast_3d, np.broadcast_to, np.squeeze, np.rollaxis, np.rot90,
       np.block, np.dstack, _np("row_stack"), np.diagflat, np.pad, np.asarray, _np("astype"), np.real_if_close,
       why="this shape function is not differentiated yet",
       instead="np.reshape, np.expand_dims, .T, slices, np.concatenate/np.stack/np.hstack/np.vstack, np.flip "
               "and np.diag are")
refuse(np.poly, np.polyadd, np.polyder, np.polydiv, np.polyfit, np.polyint, np.polymul, np.polysub, np.roots,
       np.vander,
       why="polynomial arithmetic is not differentiated yet",
       instead="np.polyval is; write the coefficients' arithmetic with slices, and powers as x[:, None] ** "
               "np.arange(n)")
refuse(np.cov, np.corrcoef,
       why="not differentiated yet",
       instead="write it with means and a product: d = x - np.mean(x, axis=1, keepdims=True); "
               "d @ d.T / (x.shape[1] - 1)")
refuse(np.convolve, np.correlate, np.gradient, np.unwrap, np.interp,
       why="not differentiated yet",
       instead="write the sum over shifts with slices (x[1:] - x[:-1], x[:-2] + x[2:]), which srcgrad "
               "differentiates")
refuse(np.histogram, np.histogram2d, np.histogramdd, np.histogram_bin_edges, np.bincount,
       why="counts of the data have no derivative in it, and weights= and bin edges are not differentiated yet",
       instead="compute the counts outside and pass them in, or a loop that adds weights into bins")
refuse(np.apply_along_axis, np.apply_over_axes,
       why="they take a function as an argument",
       instead="loop over the axis and call your function on each slice (helpers are differentiated)")
refuse(np.sinc, np.i0,
       why="not differentiated yet",
       instead="write np.sin(np.pi * x) / (np.pi * x) away from 0, or declare a rule with srcgrad.partials")
refuse(np.heaviside,
       why="a step (derivative 0) that Numba cannot compile",
       instead="np.where(x > 0, 1.0, 0.0)")
refuse(np.angle, np.imag,
       why="complex numbers are outside srcgrad's subset",
       instead="for a real x, np.imag(x) is 0 and np.angle(x) is 0 or pi")
refuse(np.frexp, np.ldexp, np.modf, np.divmod,
       why="functions of a number's binary parts, or with two outputs, are not differentiated yet",
       instead="x // y and x % y for divmod; x % 1.0 and np.floor(x) for modf")
refuse(np.geomspace, np.logspace,
       why="constructors from differentiated end points are not differentiated yet",
       instead="base ** np.linspace(start, stop, num) is")
