"""The function catalogue on arrays, one row per function: derivatives of orders 1 to 3 along a
random direction against mpmath (an independent implementation of each function on mpf arrays),
and the gradient from every path (per element, whole-array float64, matrix form, backward program)
agreeing with that reference. Exact values, ties, zeros, stability and errors follow the table."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gradcli import api, whole
from gradcli.model import Request, SymbolicMode
from gradcli.parser import parse

mpmath.mp.dps = 40
RNG = np.random.default_rng(7)


def _mp(function):
    return np.frompyfunc(function, 1, 1)


exp, log, sqrt, sin, cos, erf = map(
    _mp, (mpmath.exp, mpmath.log, mpmath.sqrt, mpmath.sin, mpmath.cos, mpmath.erf)
)
absolute = _mp(abs)
sincpi = _mp(mpmath.sincpi)


def _matrix(rows) -> mpmath.matrix:
    return mpmath.matrix([[rows[i, j] for j in range(rows.shape[1])] for i in range(rows.shape[0])])


def _array(matrix: mpmath.matrix) -> np.ndarray:
    return np.array([[matrix[i, j] for j in range(matrix.cols)] for i in range(matrix.rows)], dtype=object)


def _logsumexp(x, axis=None):
    return log(np.sum(exp(x), axis=axis))


def _softmax(x, axis):
    e = exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


def _det(a):
    return mpmath.det(_matrix(a))


def _var(x, axis=None, ddof=0):
    mean = np.sum(x, axis=axis, keepdims=True) / (x.size // np.sum(x, axis=axis, keepdims=True).size)
    count = x.size // np.sum(x, axis=axis).size if axis is not None else x.size
    return np.sum((x - mean) ** 2, axis=axis) / (count - ddof)


def _floor(x):
    return np.vectorize(mpmath.floor, otypes=[object])(x)


def _trunc(x):
    return np.vectorize(lambda t: mpmath.floor(t) if t >= 0 else mpmath.ceil(t), otypes=[object])(x)


def _mod(a, b):
    return a - _floor(np.divide(a, b)) * b


def _fmod(a, b):
    return a - _trunc(np.divide(a, b)) * b


def _rounded(x, decimals):
    return np.vectorize(lambda t: mpmath.nint(t * 10**decimals) / 10**decimals, otypes=[object])(x)


def _cross(a, b):
    """The cross product by its definition, on object arrays (the last axis: the components)."""
    a, b = np.broadcast_arrays(a, b)
    i, j, k = (a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1], a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
               a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])  # fmt: skip
    return np.stack([i, j, k], axis=-1)


def _median(x, axis=None):
    """The middle of the sorted values by its definition (the mean of the two middle ones)."""
    ordered = np.sort(x.reshape(-1) if axis is None else np.moveaxis(x, axis, -1), axis=-1)
    n = ordered.shape[-1]
    return ordered[..., n // 2] if n % 2 else (ordered[..., n // 2 - 1] + ordered[..., n // 2]) / 2


def _step(x):
    return np.vectorize(lambda t: 1 if t > 0 else 0, otypes=[object])(x)


SPD = (lambda m: m @ m.T + 3 * np.eye(3))(RNG.normal(size=(3, 3)))
X0 = RNG.normal(size=(2, 3))
V0 = RNG.normal(size=3) + 0.5


def _padded(x, widths, value):
    """np.pad in mode "constant" by its definition, on object arrays (value: an mpf or a number)."""
    out = np.full(tuple(b + n + a for n, (b, a) in zip(x.shape, widths)), value, dtype=object)
    out[tuple(slice(b, b + n) for n, (b, _) in zip(x.shape, widths))] = x
    return out


# id -> (shapes of the variables, the definition of F in gradcli, the same on object arrays of mpf)
ROWS = {
    "sum_axis_keepdims": (
        {"X": (2, 3)},
        "sum(X, axis=1, keepdims=True)",
        lambda x: np.sum(x, 1, keepdims=True),
    ),
    "mean_axes": ({"X": (2, 3)}, "mean(X, axis=(0, 1))", lambda x: np.sum(x) / 6),
    "prod": ({"X": (2, 3)}, "prod(X)", lambda x: np.prod(x)),
    "prod_axis": ({"X": (2, 3)}, "prod(X, axis=1)", lambda x: np.prod(x, axis=1)),
    "max_axis": ({"X": (2, 3)}, "max(X, axis=0)", lambda x: np.max(x, axis=0)),
    "max_keepdims": ({"X": (2, 3)}, "max(X, axis=(0, 1), keepdims=True)", lambda x: np.max(x, keepdims=True)),
    "min_last": ({"X": (2, 3)}, "min(X, axis=-1)", lambda x: np.min(x, axis=-1)),
    "var": ({"X": (2, 3)}, "var(X, axis=0)", lambda x: _var(x, 0)),
    "var_ddof": ({"X": (2, 3)}, "var(X, ddof=1)", lambda x: _var(x, None, 1)),
    "std": ({"X": (2, 3)}, "std(X, axis=1)", lambda x: sqrt(_var(x, 1))),
    "logsumexp": ({"X": (2, 3)}, "logsumexp(X, axis=1)", lambda x: _logsumexp(x, 1)),
    "logsumexp_all": ({"X": (2, 3)}, "logsumexp(X)", lambda x: _logsumexp(x)),
    "norm": ({"X": (2, 3)}, "norm(X)", lambda x: mpmath.sqrt(np.sum(x**2))),
    "norm_axis": ({"X": (2, 3)}, "norm(X, axis=1)", lambda x: sqrt(np.sum(x**2, axis=1))),
    "norm_1": ({"v": (3,)}, "norm(v, ord=1)", lambda v: np.sum(absolute(v))),
    "norm_inf": ({"v": (3,)}, "norm(v, ord=inf)", lambda v: np.max(absolute(v))),
    "norm_3": ({"v": (3,)}, "norm(v, 3)", lambda v: np.sum(absolute(v) ** 3) ** (mpmath.mpf(1) / 3)),
    "norm_matrix_1": ({"X": (2, 3)}, "norm(X, ord=1)", lambda x: np.max(np.sum(absolute(x), axis=0))),
    "norm_matrix_inf": ({"X": (2, 3)}, "norm(X, inf)", lambda x: np.max(np.sum(absolute(x), axis=1))),
    "cumsum": ({"X": (2, 3)}, "cumsum(X, axis=1)", lambda x: np.cumsum(x, axis=1)),
    "cumsum_flat": ({"X": (2, 3)}, "cumsum(X)", lambda x: np.cumsum(x)),
    "softmax": ({"X": (2, 3)}, "softmax(X, axis=0)", lambda x: _softmax(x, 0)),
    "log_softmax": ({"X": (2, 3)}, "log_softmax(X)", lambda x: log(_softmax(x, -1))),
    "softmax_axes": (  # jax.nn's softmax over several axes (axis=None: all); was along the first only
        {"X": (2, 3)},
        "softmax(X, axis=(1, 0)) + log_softmax(X, axis=None) * X",
        lambda x: _softmax(x, (0, 1)) + log(_softmax(x, (0, 1))) * x,
    ),
    "expand_dims": ({"X": (2, 3)}, "expand_dims(X, 1) * X", lambda x: x[:, None] * x),
    "squeeze": ({"X": (2, 3)}, "squeeze(X[:, None, 1:2])", lambda x: x[:, 1]),
    "flip": ({"X": (2, 3)}, "flip(X, axis=1) * X", lambda x: x[:, ::-1] * x),
    "flip_all": ({"X": (2, 3)}, "flip(X) ** 2", lambda x: x[::-1, ::-1] ** 2),
    "reshape": ({"X": (2, 3)}, "reshape(X, [3, -1]) @ X", lambda x: x.reshape(3, 2) @ x),
    "transpose_axes": (
        {"X": (2, 3)},
        "transpose(X[None], (2, 0, 1)) * X[1, :2]",
        lambda x: np.transpose(x[None], (2, 0, 1)) * x[1, :2],
    ),
    "concatenate": (
        {"X": (2, 3)},
        "concatenate([X, X ** 2], axis=1)",
        lambda x: np.concatenate([x, x**2], 1),
    ),
    "stack": ({"X": (2, 3)}, "stack([X[0], X[1] ** 2], axis=1)", lambda x: np.stack([x[0], x[1] ** 2], 1)),
    "broadcast_to": ({"v": (3,)}, "broadcast_to(v, [2, 3]) * [[1], [2]]", lambda v: np.stack([v, 2 * v])),
    "index_lists": ({"v": (3,)}, "v[[0, 0, 2]] * v[..., None]", lambda v: v[[0, 0, 2]] * v[:, None]),
    "like": ({"X": (2, 3)}, "X * ones_like(X) + zeros_like(X) + X ** 2", lambda x: x + x**2),
    "stop": ({"X": (2, 3)}, "stop(X ** 2) * X", lambda x: X0**2 * x),  # stop(...) holds its value at t = 0
    "constructors": (
        {"v": (3,)},
        "v * ones([3]) + zeros([2, 3]) + full([3], 2) * v + eye(3) @ v",
        lambda v: np.stack([4 * v, 4 * v]),
    ),
    "clip": ({"X": (2, 3)}, "clip(X, -0.5, 0.5) * X", lambda x: np.clip(x, -0.5, 0.5) * x),
    "where": ({"X": (2, 3)}, "where(X > 0, X ** 3, sin(X))", lambda x: np.where(x > 0, x**3, sin(x))),
    "outer": ({"X": (2, 3)}, "outer(X[0], X[1])", lambda x: np.outer(x[0], x[1])),
    "dot": ({"X": (2, 3)}, "dot(X, X[0]) + matmul(X, X.T)[0]", lambda x: x @ x[0] + (x @ x.T)[0]),
    "inner": ({"X": (2, 3)}, "inner(X, X)", lambda x: x @ x.T),
    "inner_vectors": ({"v": (3,)}, "inner(v, v ** 2)", lambda v: np.sum(v**3)),
    "trace": ({"A": (3, 3)}, "trace(A @ A)", lambda a: np.trace(a @ a)),
    "trace_rectangular": ({"X": (2, 3)}, "trace(X) * X", lambda x: (x[0, 0] + x[1, 1]) * x),
    "diag_vector": ({"v": (3,)}, "diag(v) @ v", lambda v: v * v),
    "diag_matrix": ({"A": (3, 3)}, "diag(A @ A)", lambda a: np.diag(a @ a)),
    "det": ({"A": (3, 3)}, "det(A)", lambda a: _det(a)),
    "logdet": ({"A": (3, 3)}, "logdet(A)", lambda a: mpmath.log(_det(a))),
    "inv": ({"A": (3, 3)}, "inv(A)", lambda a: _array(_matrix(a) ** -1)),
    "solve_vector": (
        {"A": (3, 3)},
        "solve(A, A[0] + 1)",
        lambda a: _array(mpmath.lu_solve(_matrix(a), list(a[0] + 1))).reshape(-1),
    ),
    "solve_matrix": ({"A": (3, 3)}, "solve(A, A * A)", lambda a: _array(_matrix(a) ** -1 * _matrix(a * a))),
    "einsum_matmul": ({"A": (3, 3)}, 'einsum("ij,jk->ik", A, A * A)', lambda a: a @ (a * a)),
    "einsum_implicit": ({"A": (3, 3)}, "einsum('ij,jk', A, sin(A))", lambda a: a @ sin(a)),
    "einsum_sum": ({"X": (2, 3)}, 'einsum("ij,ij->", X, X)', lambda x: np.sum(x * x)),
    "einsum_outer": ({"X": (2, 3)}, 'einsum("i,j->ji", X[0], X[1])', lambda x: np.outer(x[1], x[0])),
    "einsum_unique": ({"X": (2, 3)}, 'einsum("ij,k->k", X, X[0] ** 2)', lambda x: np.sum(x) * x[0] ** 2),
    "einsum_three": ({"A": (3, 3)}, 'einsum("ij,jk,kl->il", A, A, A)', lambda a: a @ a @ a),
    "gelu": ({"X": (2, 3)}, "gelu(X)", lambda x: x * (1 + erf(x / mpmath.sqrt(2))) / 2),
    # NumPy's further names: compositions of rows (catalogue.py)
    "round_decimals": ({"X": (2, 3)}, "round(X * 7, 1) * X", lambda x: _rounded(x * 7, 1) * x),
    "trunc_mod": (
        {"X": (2, 3)},
        "trunc(X * 5) * X + mod(X * 5, 1.5) + fmod(X * 5, 1.5) * floor_divide(X * 5, 1.5)",
        lambda x: _trunc(x * 5) * x + _mod(x * 5, 1.5) + _fmod(x * 5, 1.5) * _floor(x * 5 / 1.5),
    ),
    "mod_divisor": ({"v": (3,)}, "mod(2.5, v) + fmod(-2.5, v)", lambda v: _mod(2.5, v) + _fmod(-2.5, v)),
    "degrees": (
        {"X": (2, 3)},
        "deg2rad(X) * rad2deg(X ** 2)",
        lambda x: x * mpmath.pi / 180 * x**2 * 180 / mpmath.pi,
    ),
    "logaddexp2": (
        {"X": (2, 3)},
        "logaddexp2(X, X[0] * 3)",
        lambda x: log(2**x + 2 ** (x[0] * 3)) / mpmath.log(2),
    ),
    "heaviside": ({"v": (3,)}, "heaviside(v - 0.5, 0.25) * v", lambda v: _step(v - 0.5) * v),
    "signs": ({"X": (2, 3)}, "positive(X) * negative(X) + copy(X)", lambda x: -(x**2) + x),
    "diagonal": ({"A": (3, 3)}, "diagonal(A @ A)", lambda a: np.diag(a @ a)),
    "ravel_vdot": ({"X": (2, 3)}, "ravel(X) * vdot(X, X ** 2)", lambda x: x.reshape(-1) * np.sum(x**3)),
    "kron": ({"X": (2, 3)}, "kron(X, X[:, :2] ** 2)", lambda x: np.kron(x, x[:, :2] ** 2)),
    "kron_vectors": (
        {"v": (3,)},
        "kron(v, [1, 2]) * kron(v, v)[:6]",
        lambda v: np.kron(v, [1, 2]) * np.kron(v, v)[:6],
    ),
    "triangles": (
        {"A": (3, 3)},
        "triu(A) @ tril(A, k=-1) + triu(A, 1)",
        lambda a: np.triu(a) @ np.tril(a, -1) + np.triu(a, 1),
    ),
    "axes_moved": (
        {"X": (2, 3)},
        "swapaxes(X[None], 0, 2) * moveaxis(X[None], [0, 2], [2, 0])",
        lambda x: np.swapaxes(x[None], 0, 2) * np.moveaxis(x[None], [0, 2], [2, 0]),
    ),
    "matrix_power": (
        {"A": (3, 3)},
        "matrix_power(A, 3) + matrix_power(A, -2) + matrix_power(A, 0)",
        lambda a: a @ a @ a + _array(_matrix(a) ** -2) + np.eye(3),
    ),
    "stacks": (
        {"X": (2, 3)},
        "hstack([X, X ** 2]) @ vstack([X[0], X[1], X[0] ** 2, X[1], X[0], X[1]])",
        lambda x: np.hstack([x, x**2]) @ np.vstack([x[0], x[1], x[0] ** 2, x[1], x[0], x[1]]),
    ),
    "clip_one_sided": (
        {"X": (2, 3)},
        "clip(X, 0, None) + clip(X, None, -0.5) * X",
        lambda x: np.maximum(x, 0) + np.minimum(x, -0.5) * x,
    ),
    "roll": (
        {"X": (2, 3)},
        "roll(X, 1) * X + roll(X, (1, -4), axis=(0, 1)) ** 2",
        lambda x: np.roll(x, 1) * x + np.roll(x, (1, -4), axis=(0, 1)) ** 2,
    ),
    "tile": (
        {"X": (2, 3)},
        "tile(X, (2, 1, 2)) * tile(X[0] ** 2, 2)",
        lambda x: np.tile(x, (2, 1, 2)) * np.tile(x[0] ** 2, 2),
    ),
    "repeat": (
        {"X": (2, 3)},
        "repeat(X, 2) * repeat(X ** 2, [2, 0, 2, 1, 3, 4])[:12] + repeat(X, [3, 0, 1], axis=1)[1, 0]",
        lambda x: (
            np.repeat(x, 2) * np.repeat(x**2, [2, 0, 2, 1, 3, 4])[:12] + np.repeat(x, [3, 0, 1], 1)[1, 0]
        ),
    ),
    "flips": ({"X": (2, 3)}, "fliplr(X) * flipud(X ** 2)", lambda x: np.fliplr(x) * np.flipud(x**2)),
    "cross": (
        {"X": (2, 3)},
        "cross(X, X[::-1] ** 2) + cross(X[0], sin(X))",
        lambda x: _cross(x, x[::-1] ** 2) + _cross(x[0], sin(x)),
    ),
    "tensordot": (
        {"X": (2, 3)},
        "tensordot(X, X ** 2) * tensordot(X, X.T, 1) + tensordot(X, sin(X), axes=([1, 0], [1, 0]))",
        lambda x: np.tensordot(x, x**2) * np.tensordot(x, x.T, 1) + np.sum(x * sin(x)),
    ),
    "tensordot_outer": ({"v": (3,)}, "tensordot(v, v ** 2, axes=0)", lambda v: np.multiply.outer(v, v**2)),
    "cumprod": (
        {"X": (2, 3)},
        "cumprod(X, axis=1) + cumprod(X ** 2)[1:4]",
        lambda x: np.cumprod(x, axis=1) + np.cumprod(x**2)[1:4],
    ),
    "sort": (
        {"X": (2, 3)},
        "sort(X) * X + sort(X * [[1.0], [-2.0]], axis=0) + sort(sin(X), axis=None)[1:4]",
        lambda x: (
            np.sort(x) * x + np.sort(x * np.array([[1.0], [-2.0]]), axis=0) + np.sort(sin(x), axis=None)[1:4]
        ),
    ),
    "median": (
        {"X": (2, 3)},
        "median(X, axis=1) * median(X ** 3) + median(X, axis=0, keepdims=True)[0, 1:]",
        lambda x: _median(x, 1) * _median(x**3) + _median(x, 0)[1:],
    ),
    "sinc": ({"X": (2, 3)}, "sinc(X) * X + sinc(X ** 2 * 3)", lambda x: sincpi(x) * x + sincpi(x**2 * 3)),
    "sinc_at_zero": (  # sinc_maclaurin(k, y): sinc's k-th Taylor coefficient, used where y is 0
        {"v": (3,)},
        "sinc(v * 0) * v + sinc_maclaurin(2, 0 * v) * v ** 2",
        lambda v: v - v**2 / 3,
    ),
    "constructed": (
        {"v": (3,)},
        "v * arange(3) + v ** 2 * linspace(-1, 2, 3) + full_like(v, 2) * v + identity(3) @ v",
        lambda v: v * np.arange(3) + v**2 * np.linspace(-1, 2, 3) + 3 * v,
    ),
    "constructed_from_constants": (  # arange and linspace of constant expressions: NumPy's float64s
        {"v": (3,)},
        "v * arange(-pi / 2, 2, 5 / 4) + v ** 2 * linspace(1 / 3, 2 * pi, 3)",
        lambda v: v * np.arange(-np.pi / 2, 2, 5 / 4) + v**2 * np.linspace(1 / 3, 2 * np.pi, 3),
    ),
    "ptp": (
        {"X": (2, 3)},
        "ptp(X, axis=1) * ptp(X ** 2) + ptp(X, 0, keepdims=True)[0, :2]",
        lambda x: (
            (np.max(x, 1) - np.min(x, 1)) * (np.max(x**2) - np.min(x**2)) + (np.max(x, 0) - np.min(x, 0))[:2]
        ),
    ),
    "average": (
        {"X": (2, 3)},
        "average(X, axis=1, weights=X[0] ** 2) + average(X ** 2, weights=exp(X)) + average(X, 0)[1:]",
        lambda x: (
            np.sum(x * x[0] ** 2, 1) / np.sum(x[0] ** 2)
            + np.sum(x**2 * exp(x)) / np.sum(exp(x))
            + np.sum(x, 0)[1:] / 2
        ),
    ),
    "diff": (
        {"X": (2, 3)},
        "diff(X) * diff(X ** 3, axis=0)[0, 1:] + diff(X, 2, prepend=X[:, :1] ** 2) + diff(X, 0)[:, :1]",
        lambda x: (
            np.diff(x) * np.diff(x**3, axis=0)[0, 1:]
            + np.diff(np.concatenate([x[:, :1] ** 2, x], 1), 2)
            + x[:, :1]
        ),
    ),
    "trapezoid": (
        {"X": (2, 3)},
        "trapezoid(X ** 2) * trapz(X, X[0] ** 2) + trapezoid(X, dx=X[0, 0], axis=0)[:2]",
        lambda x: (
            np.sum((x[:, 1:] ** 2 + x[:, :-1] ** 2) / 2, 1)
            * np.sum(np.diff(x[0] ** 2) * (x[:, 1:] + x[:, :-1]) / 2, 1)
            + (x[0, 0] * (x[0] + x[1]) / 2)[:2]
        ),
    ),
    "take": (
        {"X": (2, 3)},
        "take(X, [[5, -6], [1, 1]]) * take(X ** 2, -1, axis=1)[0] + take(X, [2, 0], axis=-1)[1]",
        lambda x: x.reshape(-1)[[[5, 0], [1, 1]]] * (x[:, -1] ** 2)[0] + x[1, [2, 0]],
    ),
    "atleast": (
        {"X": (2, 3)},
        "atleast_1d(X[0, 0]) * atleast_2d(X[0]) * atleast_3d(X ** 2)[:, :, 0] + atleast_3d(X[1])[0, :, 0]",
        lambda x: x[0, 0] * x[0] * x**2 + x[1],
    ),
    "column_stack_dstack": (
        {"X": (2, 3)},
        "column_stack([X[0], X[1] ** 2, X.T]) + dstack([X, sin(X)])[0, :, 1:2] * X[0, 0]",
        lambda x: np.concatenate([x[0][:, None], x[1][:, None] ** 2, x.T], 1) + sin(x)[0][:, None] * x[0, 0],
    ),
    "pad": (
        {"X": (2, 3)},
        "pad(X, 1)[1:, :4] * 3 + pad(X ** 2, ((0, 1), (2, 0)), constant_values=X[0, 1])[:, 1:]",
        lambda x: (
            _padded(x, ((1, 1), (1, 1)), 0)[1:, :4] * 3 + _padded(x**2, ((0, 1), (2, 0)), x[0, 1])[:, 1:]
        ),
    ),
    "logical": (
        {"X": (2, 3)},
        "where(logical_and(X > 0, X < 1) + logical_not(X) * 2, X ** 2, X) + logical_or(X, 0) * X"
        " + where(logical_xor(X > 0.5, X < 0), X ** 3, 0)",
        lambda x: np.where((x > 0) & (x < 1), x**2, x) + x + np.where((x > 0.5) ^ (x < 0), x**3, 0),
    ),
    "constants": ({"X": (2, 3)}, "pi * X ** 2 + e ** X", lambda x: mpmath.pi * x**2 + exp(x)),
    "grad_variable": ({"X": (2, 3)}, "grad(sum(sin(X) * X), X)", lambda x: cos(x) * x + sin(x)),
    "grad_defined": (
        {"X": (2, 3)},
        "H = sin(X)\nF = grad(sum(H ** 3 * X), H) * X",
        lambda x: 3 * sin(x) ** 2 * x * x,
    ),
}
POINTS = {"X": X0, "v": V0, "A": SPD}


def _literal(array) -> str:
    return repr(np.asarray(array).tolist()).replace(" ", "")


def _body(definition: str) -> str:
    return definition + "\n" if "\n" in definition else f"F = {definition}\n"


def _directional_program(shapes: dict, definition: str, weights: np.ndarray) -> str:
    lines = ["var t = 0.0"]
    for name in shapes:
        lines += [
            f"const {name}0 = {_literal(POINTS[name])}",
            f"const {name}D = {_literal(_direction(name))}",
        ]
        lines.append(f"{name} = {name}0 + t * {name}D")
    lines.append(_body(definition).rstrip())
    lines.append(f"L = sum({_literal(weights)} * F)" if weights.ndim else "L = F * 1.0")
    return "\n".join(lines) + "\n"


def _direction(name: str) -> np.ndarray:
    return np.random.default_rng(len(name) + 11).normal(size=POINTS[name].shape)


def _output_shape(shapes: dict, definition: str) -> tuple:
    text = "".join(f"var {n} = {_literal(POINTS[n])}\n" for n in shapes) + _body(definition)
    return whole.evaluate(parse(text), Request(of=("F",))).values["F"].__class__ is list and np.shape(
        whole.evaluate(parse(text), Request(of=("F",))).values["F"]
    )


def _weights(shapes, definition) -> np.ndarray:
    shape = _output_shape(shapes, definition) or ()
    return np.round(np.random.default_rng(5).normal(size=shape), 3)


def _mpf_array(array) -> np.ndarray:
    return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])(np.asarray(array))


def _reference_line(shapes: dict, reference, weights: np.ndarray):
    def g(t):
        arrays = [
            np.array(
                [
                    mpmath.mpf(float(a)) + t * mpmath.mpf(float(d))
                    for a, d in zip(POINTS[n].flat, _direction(n).flat)
                ],
                dtype=object,
            ).reshape(POINTS[n].shape)
            for n in shapes
        ]
        value = np.asarray(reference(*arrays), dtype=object)
        return (
            mpmath.fsum((np.asarray(weights, dtype=object) * value).reshape(-1))
            if weights.ndim
            else value[()]
        )

    return g


@pytest.mark.parametrize("row", sorted(ROWS))
@pytest.mark.parametrize("order", [1, 2, 3])
def test_directional_derivatives_match_mpmath(row, order):
    shapes, definition, reference = ROWS[row]
    weights = _weights(shapes, definition)
    text = _directional_program(shapes, definition, weights)
    expected = mpmath.diff(_reference_line(shapes, reference, weights), 0, order)
    for symbolic in (SymbolicMode.AUTO, SymbolicMode.NONE):
        request = Request(of=("L",), wrt=("t",), order=order, symbolic=symbolic)
        (result,) = api.gradient(parse(text), request).gradients
        assert result.status == "ok"
        assert np.isclose(float(result.value), float(expected), rtol=1e-8, atol=1e-9), (row, order, symbolic)


@pytest.mark.parametrize("row", sorted(ROWS))
def test_every_path_gives_the_same_gradient(row):
    """The gradient with respect to each array variable, per element, from whole arrays in float64,
    from its matrix form and from the backward program, all agree, and along the direction they
    give the mpmath derivative."""
    shapes, definition, reference = ROWS[row]
    weights = _weights(shapes, definition)
    declarations = "".join(f"var {n} = {_literal(POINTS[n])}\n" for n in shapes)
    loss = f"L = sum({_literal(weights)} * F)\n" if weights.ndim else "L = F * 1.0\n"
    text = declarations + _body(definition) + loss
    program = parse(text)
    request = Request(of=("L",))
    result = api.gradient(program, request)
    floats = whole.float_gradients(whole.prepare(program, request), request.limits)
    written = whole.backward_program(program, request)
    adjoints = whole.evaluate(parse(written.program), Request(of=tuple(written.targets.values()))).values
    expected = mpmath.diff(_reference_line(shapes, reference, weights), 0, 1)
    along = 0.0
    for target in result.gradients:
        value = np.array(target.value, dtype=float)
        np.testing.assert_allclose(floats[target.name], value, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            np.array(adjoints[written.targets[target.name]], float), value, rtol=1e-10, atol=1e-12
        )
        assert target.matrix is not None or target.matrix_elided
        if target.matrix is not None:
            extended = text + f"matrix_form_ = {target.matrix}\n"
            form = whole.evaluate(parse(extended), Request(of=("matrix_form_",))).values["matrix_form_"]
            np.testing.assert_allclose(
                np.broadcast_to(np.array(form, float), value.shape), value, rtol=1e-10, atol=1e-12
            )
        along += float(np.sum(value * _direction(target.name)))
    assert np.isclose(along, float(expected), rtol=1e-9, atol=1e-10), row


def test_every_array_row_is_walked():
    from tests.test_ops import ARRAY_FUNCTIONS

    written = " ".join(definition for _, definition, _ in ROWS.values())
    for name in ARRAY_FUNCTIONS:
        assert f"{name}(" in written, name


# ---- exact values, ties, zeros, stability ----------------------------------------------------------


def test_exact_inputs_give_exact_values(run_json):
    text = (
        "var A = [[1, 2], [3, 4]]\nd = det(A)\nI = A @ inv(A)\nJ = inv(A)\n"
        "s = solve([[2, 0], [0, 4]], [2, 8])\n"
        "k = [log2(8), cbrt(-27), floor(7/2), hypot(3, 4), round(5/2), sin(pi), log(e), exp2(10), expm1(0)]\n"
        "m = [prod([2, 3, 4]), var([1, 3]), max([1, 5]), logdet(eye(2)), trace(A), sum(cumsum([1, 2, 3]))]\n"
    )
    code, doc, err = run_json(text, "eval")
    assert code == 0, err
    assert doc["values"] == {
        "d": -2,
        "I": [[1, 0], [0, 1]],
        "J": [[-2.0, 1.0], [1.5, -0.5]],
        "s": [1, 2],
        "k": [3, -3, 3, 5, 2, 0, 1, 1024, 0],
        "m": [24, 1, 5, 0, 5, 10],
    }
    code, doc, _ = run_json(text, "grad", "--of", "d")
    assert doc["gradients"]["A"]["value"] == [[4, -3], [-2, 1]]  # the cofactors, exact integers
    assert doc["gradients"]["A"]["symbolic"] == [["A[1,1]", "-A[1,0]"], ["-A[0,1]", "A[0,0]"]]


def test_numpy_further_names_keep_exact_values_exact(run_json):
    """Exact inputs give exact results through the compositions too (NumPy gives the same numbers)."""
    text = (
        "var A = [[1, 1], [0, 1]]\nvar n = [7, -7]\n"
        "k = [mod(7, 3), mod(-7, 3), fmod(-7, 3), floor_divide(7, 2), trunc(-7/2)]\nr = round(7/4, 1)\n"
        "P = matrix_power(A, 3) + kron(A, [[2]]) + triu(A) * tril(A)\n"
        "g = sum(mod(n, 3) * n)\n"
    )
    code, doc, err = run_json(text, "eval")
    assert code == 0, err
    assert doc["values"]["k"] == [1, 2, -1, 3, -3] and all(type(v) is int for v in doc["values"]["k"])
    assert doc["values"]["r"] == 1.8  # 9/5, shown as a float as every non-integer rational is
    assert doc["values"]["P"] == [[4, 5], [0, 4]]
    code, doc, err = run_json(text, "grad", "--of", "g", "--wrt", "n")
    assert code == 0 and doc["gradients"]["n"]["value"] == [1 + 7, 2 - 7], err  # mod(n, 3) + n * 1


@pytest.mark.parametrize(
    "definition, words",
    [
        ("round(x, 100000000000)", "exponent beyond 10000"),  # 10 ** decimals is never computed
        ("round(x, 1.5)", "decimals is an integer"),
        ("matrix_power(A, 2.0)", "an integer power"),
        ("matrix_power(x, 2)", "square matrices"),
        ("clip(A, None, None)", "a lower or an upper bound"),
        ("moveaxis(A, [0, 0], [0, 1])", "an axis is given twice"),
        ("vdot(A, x)", "differ in size"),
        ("hstack(A)", "takes a list of arrays"),
        ("diagonal(x)", "needs a matrix"),
    ],
)
def test_further_names_refuse_bad_arguments_clearly(run, definition, words):
    code, out, err = run(
        f"var x = [1.5, 2.5]\nvar A = [[1.0, 2.0], [3.0, 4.0]]\nf = sum({definition})\n", "grad"
    )
    assert code == 1 and out == "" and ":3:" in err and words in err, err


def test_triangles_take_any_diagonal_offset(run_json):
    """k beyond the matrix gives the all-ones or all-zeros mask, as NumPy (no overflow)."""
    big = 10**21
    text = f"var A = [[1.0, 2.0], [3.0, 4.0]]\nu = sum(triu(A, {big}))\nl = sum(tril(A, {big}))\n"
    code, doc, err = run_json(text, "eval")
    assert code == 0 and doc["values"] == {"u": 0.0, "l": 10.0}, err


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=1")])
@pytest.mark.parametrize(
    "definition, expected",
    [
        ("max(x)", [0.0, 0.5, 0.5, 0.0]),  # ties share the gradient equally (TensorFlow, JAX)
        ("min(x)", [0.0, 0.0, 0.0, 1.0]),
        ("max(reshape(x, [2, 2]), axis=0, keepdims=True) @ [[1.0], [2.0]]", [0.0, 2.0, 1.0, 0.0]),
        ("prod(x - 3)", [0.0, 0.0, 0.0, 0.0]),  # two zeros: no gradient anywhere
        ("prod(x[1:])", [0.0, 0.0, 0.0, 9.0]),  # one zero: only it gets the product of the rest
        ("prod(x[:3])", [9.0, 3.0, 3.0, 0.0]),
    ],
)
def test_ties_and_zeros(run_json, definition, expected, limit):
    """Per element (exact inputs) and on whole arrays (beyond the element limit) alike."""
    code, doc, err = run_json(f"var x = [1, 3, 3, 0]\ny = {definition}\n", "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == pytest.approx(expected)


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=1")])
def test_softmax_and_logsumexp_are_stable(run_json, limit):
    text = (
        "var x = [1000.0, 0.0, -1000.0]\ns = softmax(x)\nl = log_softmax(x)\n"
        "f = logsumexp(x) + logaddexp(x[0], x[0])\n"
    )
    code, doc, err = run_json(text, "eval", *limit)
    assert code == 0, err
    assert doc["values"]["s"] == [1.0, 0.0, 0.0] and doc["values"]["l"] == [0.0, -1000.0, -2000.0]
    assert doc["values"]["f"] == pytest.approx(2000 + np.log(2))
    code, doc, err = run_json(text, "grad", "--of", "f", *limit)
    assert doc["gradients"]["x"]["value"] == pytest.approx([2.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "text, target, matrix",
    [
        ("var X: [3, 3]\nf = logdet(X)\n", "X", "inv(X).T"),
        ("var X: [3, 3]\nf = det(X)\n", "X", "f * inv(X).T"),
        ("var X: [3, 3]\nf = trace(X @ X)\n", "X", "2 * X.T"),
        ("var X: [3, 2]\nconst A: [3, 3]\nf = trace(X.T @ A @ X)\n", "X", "A.T @ X + A @ X"),
        (
            "var Z: [4, 3]\nconst T: [4, 3]\nL = -sum(T * log_softmax(Z, axis=1))\n",
            "Z",
            "softmax(Z, axis=1) * sum(T, axis=1, keepdims=True) - T",
        ),
        ("var x: [3]\nf = logsumexp(x)\n", "x", "exp(x - f)"),
        (
            "var A: [3, 3]\nconst b: [3]\nf = sum(solve(A, b))\n",
            "A",
            "-solve(A.T, ones([3]))[:, None] * solve(A, b)",
        ),
    ],
)
def test_matrix_forms_read_as_the_textbook(run_json, text, target, matrix):
    code, doc, _ = run_json(text, "grad", "--symbolic", "none")
    assert code == 0 and doc["gradients"][target]["matrix"] == matrix


def test_latex_names(run):
    code, out, _ = run(
        "var x = 0.5\nvar X: [2, 2]\nf = erf(x) * x * pi + logdet(X)\n", "grad", "--format", "latex"
    )
    assert code == 0 and r"\operatorname{erf}" in out and r"\pi" in out and r"\operatorname{inv}" in out


@pytest.mark.parametrize(
    "text, message",
    [
        ('y = einsum("ij,j->k", X, v)\n', "output subscripts 'k'"),
        ('y = einsum("ii->i", X)\n', "repeated within one operand"),
        ('y = einsum("ij,jk->ik", X)\n', "2 operand subscripts"),
        ('y = einsum("...j->j", X)\n', "'...'"),
        ('y = einsum("ij,j->i", X, [1.0, 2.0, 3.0])\n', "'j' stands for sizes"),
        ("y = einsum(X, v)\n", "subscripts first, as a string"),
        ('y = sum("ij")\n', "a string goes only first in einsum"),
        ("y = norm(X, ord=2)\n", "singular values"),
        ("y = det(X[0])\n", "det needs a square matrix"),
        ("y = inv(X[:, :1])\n", "inv needs a square matrix"),
        ("y = solve(X, [1.0, 2.0, 3.0])\n", "does not fit"),
        ("y = max(v[0:0])\n", "empty array"),
        ("y = grad(sum(v), c)\n", "'c' is a constant"),
        ("y = grad(sum(v), v[0])\n", "a variable or a defined name"),
        ("y = squeeze(X, axis=0)\n", "axis 0 has length 2"),
        ("y = expand_dims(X)\n", "expand_dims needs axis"),
        ("y = softmax(v[0])\n", "at least one axis"),
        ("y = sum(v, axis=None) + None\n", "'None' stands only for an axis"),
        ("y = pi * 2\npi = 3.0\n", "'pi' is used as a constant at line 5"),
        ("y = norm(v, ord=w)\n", "a number written in the program"),
    ],
)
def test_errors_are_located(run, text, message):
    program = "var X = [[1.0, 2.0], [3.0, 4.0]]\nvar v = [1.0, 2.0]\nconst c = 1.0\nvar w = 2.0\n" + text
    code, out, err = run(program, "grad")
    assert code == 1 and out == "" and message in err, err
    assert "Traceback" not in err and err.count("^") >= 1


def test_names_of_constants_are_the_programs_where_it_defines_them(run_json):
    code, doc, _ = run_json("var e = 2.0\nvar x = 1.0\ny = e * x + pi\n", "grad")
    assert code == 0 and doc["gradients"]["e"]["value"] == 1.0 and doc["gradients"]["x"]["value"] == 2.0
    code, doc, _ = run_json("var x = 1.0\ny = e ** x\n", "grad")
    assert doc["gradients"]["x"]["value"] == pytest.approx(np.e) and doc["wrt"] == ["x"]


# ---- gradients with respect to defined names ---------------------------------------------------------

INTERMEDIATE = "var x = [0.5, -1.25]\nh = tanh(x * 2)\ny = sum(h ** 3 * x) + sum(tanh(x * 2))\n"


def _numpy_y(x, h):
    return np.sum(h**3 * x) + np.sum(np.tanh(x * 2))


def test_wrt_a_defined_name_is_the_gradient_with_respect_to_its_uses(run_json):
    """As tf.gradients(y, h): only the uses of the name h count (not tanh(x * 2) written again),
    and the derivative with respect to x stays the total one."""
    x = np.array([0.5, -1.25])
    h = np.tanh(2 * x)
    step = 1e-6
    by_h = [(_numpy_y(x, h + step * e) - _numpy_y(x, h - step * e)) / (2 * step) for e in np.eye(2)]
    by_x = [
        (
            _numpy_y(x + step * e, np.tanh(2 * (x + step * e)))
            - _numpy_y(x - step * e, np.tanh(2 * (x - step * e)))
        )
        / (2 * step)
        for e in np.eye(2)
    ]
    code, doc, err = run_json(INTERMEDIATE, "grad", "--wrt", "h,x")
    assert code == 0, err
    assert doc["gradients"]["h"]["value"] == pytest.approx(list(3 * h**2 * x), rel=1e-12)
    assert doc["gradients"]["h"]["value"] == pytest.approx(by_h, rel=1e-8)
    assert doc["gradients"]["x"]["value"] == pytest.approx(by_x, rel=1e-8)
    assert doc["gradients"]["h"]["symbolic"] == ["3*x[0]*tanh(2*x[0])**2", "3*x[1]*tanh(2*x[1])**2"]
    assert doc["gradients"]["h"]["matrix"] == "3 * (x * h ** 2)"
    code, doc, _ = run_json(INTERMEDIATE, "hessian", "--wrt", "h")
    assert doc["rows"] == ["h[0]", "h[1]"] and doc["value"] == pytest.approx(np.diag(6 * h * x))
    code, doc, _ = run_json(INTERMEDIATE, "grad", "--wrt", "h", "--order", "2", "--symbolic", "none")
    assert doc["gradients"]["h"]["value"] == pytest.approx(np.diag(6 * h * x))
    code, doc, _ = run_json(INTERMEDIATE, "hessian", "--wrt", "x,h")  # the cross block: d(3 h^2 x)/dx
    assert np.array(doc["value"])[2:, :2] == pytest.approx(np.diag(3 * h**2 + 6 * h * x * 2 * (1 - h**2)))
    code, doc, _ = run_json(INTERMEDIATE, "jacobian", "--wrt", "h")
    assert doc["cols"] == ["h[0]", "h[1]"] and doc["value"] == [pytest.approx(list(3 * h**2 * x))]
    code, doc, _ = run_json(INTERMEDIATE, "backward", "--wrt", "h")
    program = parse(doc["program"])
    values = whole.evaluate(program, Request(of=(doc["targets"]["h"],))).values
    assert values[doc["targets"]["h"]] == pytest.approx(3 * h**2 * x)
    code, doc, _ = run_json(INTERMEDIATE, "check", "--wrt", "h,x")
    assert code == 0


def test_grad_inside_a_program_counts_only_the_uses_of_the_name(run_json):
    text = INTERMEDIATE + "g = grad(y, h)\nz = sum(g * g)\n"
    x = np.array([0.5, -1.25])
    h = np.tanh(2 * x)
    code, doc, _ = run_json(text, "eval", "--of", "g")
    assert doc["values"]["g"] == pytest.approx(3 * h**2 * x)
    code, doc, _ = run_json(text, "grad", "--of", "z")  # differentiated again: d sum(9 h^4 x^2)/dx
    expected = 9 * (4 * h**3 * 2 * (1 - h**2) * x**2 + h**4 * 2 * x)
    assert doc["gradients"]["x"]["value"] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    "command, message",
    [(("step", "--lr", "0.1"), "step updates variables only"), (("plot",), "plot varies a variable")],
)
def test_commands_that_change_a_variable_refuse_a_defined_name(run, command, message):
    code, out, err = run("var x = 1.0\nh = 2 * x\ny = h ** 2\n", *command, "--wrt", "h")
    assert code == 1 and out == "" and message in err


@pytest.mark.parametrize("symbolic", ["auto", "none"])
@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0], [0.0, 0.0, 3.0]])
def test_prod_is_exact_at_zeros_to_every_order(run_json, x, symbolic):
    """d2 prod / dx_i dx_j is the product of the rest (x0 * x1 * x2: H01 = x2, ...)."""
    text = f"var x = {x}\ny = prod(x)\n"
    code, doc, _ = run_json(text, "hessian", "--symbolic", symbolic)
    a, b, c = x
    assert doc["value"] == [[0, c, b], [c, 0, a], [b, a, 0]]
    code, doc, _ = run_json(text, "grad", "--order", "3", "--symbolic", symbolic)
    assert np.array(doc["gradients"]["x"]["value"])[0, 1, 2] == 1.0


def test_prod_of_a_long_vector_has_an_exact_gradient_at_zeros(run_json):
    values = [1.5] * 19 + [0.0]
    code, doc, _ = run_json(f"var x = {values}\ny = prod(x)\n", "grad", "--limit", "elements=10")
    assert doc["gradients"]["x"]["value"] == [0.0] * 19 + [1.5**19]


def _inverse_sum_gradient(a):
    inverse = np.linalg.inv(a)
    return -np.swapaxes(inverse, -1, -2) @ np.ones(a.shape) @ np.swapaxes(inverse, -1, -2)


@pytest.mark.parametrize(
    "text, reason, gradient",
    [
        (
            "var A: [8, 8]\ny = logdet(A)\n",
            "logdet of a 8x8 matrix is expanded",
            lambda a: np.linalg.inv(a).T,
        ),
        ("var A: [400, 5, 5]\ny = sum(inv(A))\n", "inv of 400 matrices of 5x5", _inverse_sum_gradient),
        (
            "var x: [3000]\ny = sum(cumsum(x) ** 2)\n",
            "this cumsum has 4501500 terms",
            lambda x: np.cumsum((2 * np.cumsum(x))[::-1])[::-1],
        ),
    ],
)
def test_large_catalogue_work_goes_to_whole_arrays(run_json, run, text, reason, gradient):
    """Beyond what the element view expands, the gradient comes from whole arrays in float64 (at
    a random well-conditioned value), and so does the second order (seeded rows): it agrees with
    central differences of the gradient's oracle, or is refused by the result limit."""
    (decl,) = parse(text).declarations
    rng = np.random.default_rng(3)
    value = rng.normal(size=decl.shape) * 0.1 + (np.eye(decl.shape[-1]) if len(decl.shape) > 1 else 0)
    literal = _literal(value)
    code, doc, err = run_json(text, "grad", "--at", f"{decl.name}={literal}")
    assert code == 0, err
    result = doc["gradients"][decl.name]
    assert reason in result["symbolic_elided"]
    np.testing.assert_allclose(np.array(result["value"]), gradient(value), rtol=1e-9, atol=1e-12)
    if value.size**2 > 1_000_000:
        code, _, err = run(text, "grad", "--order", "2", "--at", f"{decl.name}={literal}")
        assert code == 1 and "more than the limit of 1000000" in err
        return
    code, doc, err = run_json(text, "grad", "--order", "2", "--at", f"{decl.name}={literal}")
    assert code == 0, err
    second = np.array(doc["gradients"][decl.name]["value"])
    direction, h = rng.normal(size=decl.shape), 1e-5
    expected = (gradient(value + h * direction) - gradient(value - h * direction)) / (2 * h)
    contracted = np.tensordot(second, direction, axes=len(decl.shape))
    np.testing.assert_allclose(contracted, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "body",
    [
        "sum(T * log_softmax(x))",
        "sum(softmax(x) * T)",
        "sum(cumsum(x) ** 2)",
        "sum(solve([[2.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0]], x) ** 2)",
        "sum(erf(x) * x) + logsumexp(x) + sum(hypot(x, T) * gelu(x))",
    ],
)
def test_closed_form_hessians_are_right_or_absent(body):
    """Shape-keeping functions that are not element-wise (softmax, cumsum, solve) never pass for
    element-wise ones in a closed-form Hessian."""
    text = f"var x = [0.5, -1.0, 2.0]\nconst T = [0.2, 0.3, 0.5]\ny = {body}\n"
    request = Request(symbolic=SymbolicMode.FULL)
    node, _, _ = whole.closed_hessian(whole.prepare(parse(text), request))
    if node is None:
        return
    closed = whole.numbers.evaluate(
        [node], {"x": np.array([0.5, -1.0, 2.0]), "T": np.array([0.2, 0.3, 0.5])}
    )[0]
    per_element = np.array(api.hessian(parse(text), request).value, dtype=float)
    np.testing.assert_allclose(closed, per_element, rtol=1e-12, atol=1e-14)


EDGE_ROWS = [
    [0.0, -0.0, 1.0],
    [np.inf, 1.0, -np.inf],
    [np.nan, 1.0, 2.0],
    [-np.inf, -np.inf, -np.inf],
    [np.inf, np.inf, 0.0],
]
EDGE_EXPRESSIONS = [
    *("logsumexp(x)", "softmax(x)", "log_softmax(x)", "max(x)", "min(x)", "prod(x)", "cumsum(x)", "norm(x)"),
    *("norm(x, ord=1)", "norm(x, ord=inf)", "var(x)", "std(x)", "logaddexp(x, x[::-1])", "hypot(x, 1.0)"),
    *("clip(x, -1.0, 1.0)", "gelu(x)", "elu(x)", "leaky_relu(x)", "log_sigmoid(x)", "softsign(x)", "silu(x)"),
    *("erf(x)", "erfc(x)", "round(x)", "floor(x)", "cbrt(x)", "expm1(x)", "log1p(x)", "asinh(x)"),
]


@pytest.mark.parametrize("expression", EDGE_EXPRESSIONS)
def test_float64_and_element_views_agree_on_edges(expression):
    """The value and gradient from whole arrays in float64 and per element (SymEngine, then the
    evaluator) at zeros, infinities and NaN: the same numbers, NaN where NaN."""
    from gradcli import elements, numbers
    from gradcli.evaluate import Evaluator

    program = parse(f"var x: [3]\ny = sum({expression} * [1.0, 2.0, 3.0])\n")
    prepared = api.prepare(program, Request())
    nodes = [prepared.lowered.ir.node("y"), api.first_derivatives(prepared)["x"]]
    arrays = elements.evaluate(nodes, prepared.lowered.symbols)
    symbols = list(prepared.lowered.symbols["x"].flat)
    for row in EDGE_ROWS:
        with np.errstate(all="ignore"):
            floats = [np.asarray(v, dtype=float) for v in numbers.evaluate(nodes, {"x": np.array(row)})]
        evaluator = Evaluator({s: np.float64(v) for s, v in zip(symbols, row)})
        per_element = [np.array([float(evaluator(e)) for e in a.flat]).reshape(a.shape) for a in arrays]
        for f, e in zip(floats, per_element):
            np.testing.assert_allclose(f, e, rtol=1e-12, atol=0, err_msg=f"{expression} at {row}")
