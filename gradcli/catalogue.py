"""The function catalogue (SPEC 9): every function of the language as a constructor over the
operation table (ops.py), with NumPy's names and semantics (jax.nn's where NumPy has none).

A function is either a row of the table (a primitive with its own VJP, e.g. `erf`, `det`,
`softmax`) or a composition of rows (`gelu`, `var`, `norm`, `trace`), which gets its derivatives,
exact values and printed forms from the rows it is made of. Arguments arrive as nodes; static
arguments (axes, shapes, `ord`, einsum's subscripts) as Python values, checked here.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli import ops
from gradcli.arrays import Node, ShapeError

# ---- element-wise ---------------------------------------------------------------------------------

# Functions of one argument that are rows of the table, by the name a program calls them.
UNARY_ROWS: dict[str, ops.Op] = {
    **{op.name: op for op in (ops.SIN, ops.COS, ops.TAN, ops.ARCSIN, ops.ARCCOS, ops.ARCTAN, ops.SINH)},
    **{op.name: op for op in (ops.COSH, ops.TANH, ops.EXP, ops.LOG, ops.SQRT, ops.ABS, ops.SIGMOID)},
    **{op.name: op for op in (ops.RELU, ops.SOFTPLUS, ops.STOP, ops.STEP, ops.SIGN, ops.LOG1P, ops.EXPM1)},
    **{op.name: op for op in (ops.LOG2, ops.LOG10, ops.CBRT, ops.FLOOR, ops.CEIL, ops.ERF)},
    **{op.name: op for op in (ops.ERFC, ops.ARCSINH, ops.ARCCOSH, ops.ARCTANH)},
}


def square(x: Node) -> Node:
    return x**2


def exp2(x: Node) -> Node:
    return ops.power(2, x)


def reciprocal(x: Node) -> Node:
    return 1 / x


def gelu(x: Node) -> Node:
    """The exact GELU, x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2 (jax.nn.gelu(approximate=False))."""
    return x / 2 * (1 + ops.ERF(x / ops.sqrt(2)))


def silu(x: Node) -> Node:
    return x * ops.sigmoid(x)


def elu(x: Node, alpha=1) -> Node:
    """x where x > 0, else alpha * (exp(x) - 1); derivative alpha at 0 (JAX, TensorFlow). The
    exponential only sees x <= 0, so no overflow reaches the unused branch's gradient."""
    return ops.where(ops.greater(x, 0), x, alpha * ops.EXPM1(ops.MINIMUM(x, 0)))


def leaky_relu(x: Node, negative_slope=0.01) -> Node:
    """x where x > 0, else negative_slope * x; derivative negative_slope at 0 (TensorFlow)."""
    return ops.where(ops.greater(x, 0), x, negative_slope * x)


def log_sigmoid(x: Node) -> Node:
    return -ops.SOFTPLUS(-x)


def softsign(x: Node) -> Node:
    return x / (1 + ops.ABS(x))


def clip(x: Node, low: Node, high: Node) -> Node:
    """NumPy's clip, minimum(maximum(x, low), high): derivative 1 where low <= x <= high (ties go to
    x, as TensorFlow's clip_by_value), and the bound's where x is outside."""
    return ops.MINIMUM(ops.MAXIMUM(x, low), high)


def trunc(x: Node) -> Node:
    """Rounding towards zero, sign(x) * floor(abs(x)): derivative 0, exact where x is (np.trunc, np.fix)."""
    return ops.SIGN(x) * ops.FLOOR(ops.ABS(x))


def mod(a: Node, b: Node) -> Node:
    """NumPy's mod (remainder): a - floor(a / b) * b, with the sign of b; derivatives 1 and
    -floor(a / b), as JAX's."""
    return a - ops.FLOOR(a / b) * b


def fmod(a: Node, b: Node) -> Node:
    """C's fmod: a - trunc(a / b) * b, with the sign of a."""
    return a - trunc(a / b) * b


def floor_divide(a: Node, b: Node) -> Node:
    return ops.FLOOR(a / b)


def deg2rad(x: Node) -> Node:
    return x * ops.math_constant("pi") / 180


def rad2deg(x: Node) -> Node:
    return x * 180 / ops.math_constant("pi")


def logaddexp2(a: Node, b: Node) -> Node:
    """log2(2 ** a + 2 ** b), stable: logaddexp(a ln 2, b ln 2) / ln 2."""
    ln2 = ops.LOG(ops.literal(2))
    return ops.LOGADDEXP(a * ln2, b * ln2) / ln2


def heaviside(x: Node, h0: Node) -> Node:
    """0 where x < 0, h0 where x == 0, 1 where x > 0 (NaN stays NaN): derivative 0 in x, and in h0
    1 where x == 0."""
    return ops.where(
        ops.COMPARISONS["<"](x, 0), 0, ops.where(ops.greater(x, 0), 1, ops.where(ops.equal(x, 0), h0, x))
    )


def identity(x: Node) -> Node:
    return x


# Functions whose arguments (and keyword values) are all arrays.
ELEMENTWISE = {
    "square": square,
    "exp2": exp2,
    "reciprocal": reciprocal,
    "gelu": gelu,
    "silu": silu,
    "elu": elu,
    "leaky_relu": leaky_relu,
    "log_sigmoid": log_sigmoid,
    "softsign": softsign,
    "pow": ops.power,
    "maximum": ops.MAXIMUM,
    "minimum": ops.MINIMUM,
    "atan2": ops.ARCTAN2,
    "hypot": ops.HYPOT,
    "logaddexp": ops.LOGADDEXP,
    "where": ops.where,
    "matmul": ops.matmul,
    "dot": ops.dot,
    "outer": None,  # filled below
    "inner": None,
    "solve": ops.SOLVE,
    "trace": None,
    "diag": None,
    "det": ops.DET,
    "logdet": ops.LOGDET,
    "inv": ops.INV,
    "zeros_like": lambda x: ops.full_like(x, 0),
    "ones_like": lambda x: ops.full_like(x, 1),
    "trunc": trunc,
    "mod": mod,
    "fmod": fmod,
    "floor_divide": floor_divide,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "logaddexp2": logaddexp2,
    "heaviside": heaviside,
    "positive": identity,
    "copy": identity,
    "negative": lambda x: -x,
}

# ---- reductions ---------------------------------------------------------------------------------


def _counted(x: Node, axes: tuple[int, ...], what: str) -> int:
    count = 1
    for axis in axes:
        count *= x.shape[axis]
    if count == 0:
        raise ShapeError(f"{what} of an empty array")
    return count


def mean(x: Node, axis=None, keepdims: bool = False) -> Node:
    axes = ops.normalize_axes(axis, x.ndim)
    return ops.sum_(x, axis, keepdims) / _counted(x, axes, "mean")


def var(x: Node, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    """NumPy's variance (two passes: the mean first), dividing by count - ddof."""
    axes = ops.normalize_axes(axis, x.ndim)
    count = _counted(x, axes, "var") - ddof
    if count <= 0:
        raise ShapeError(f"var with ddof={ddof} of {count + ddof} elements")
    centred = x - mean(x, axis, keepdims=True)
    return ops.sum_(centred**2, axis, keepdims) / count


def std(x: Node, axis=None, keepdims: bool = False, ddof: int = 0) -> Node:
    return ops.sqrt(var(x, axis, keepdims, ddof))


def _reduction(row: ops.Op):
    def reduce(x: Node, axis=None, keepdims: bool = False) -> Node:
        return row(x, axes=ops.normalize_axes(axis, x.ndim), keepdims=keepdims)

    return reduce


REDUCTIONS = {
    "sum": ops.sum_,
    "mean": mean,
    "prod": _reduction(ops.PROD),
    "max": _reduction(ops.MAX),
    "min": _reduction(ops.MIN),
    "logsumexp": _reduction(ops.LOGSUMEXP),
    "var": var,
    "std": std,
}


def _vector_norm(x: Node, order, axis, keepdims: bool) -> Node:
    if order is None or order == 2:
        return ops.sqrt(ops.sum_(x**2, axis, keepdims))
    magnitude = ops.ABS(x)
    if order == math.inf:
        return REDUCTIONS["max"](magnitude, axis, keepdims)
    if order == -math.inf:
        return REDUCTIONS["min"](magnitude, axis, keepdims)
    if order == 1:
        return ops.sum_(magnitude, axis, keepdims)
    if order == 0:
        return ops.sum_(ops.COMPARISONS["!="](x, 0), axis, keepdims)
    return ops.sum_(magnitude**order, axis, keepdims) ** (1 / ops.literal(order))


def _matrix_norm(x: Node, order, axes: tuple[int, int], keepdims: bool) -> Node:
    rows, cols = axes
    if order is None:
        return ops.sqrt(ops.sum_(x**2, axes, keepdims))
    if order not in (1, -1, math.inf, -math.inf):
        raise ShapeError(
            f"norm: ord={order} of a matrix is not available (2, -2 and the nuclear norm need singular "
            "values); use ord=1, ord=inf or the default (Frobenius), or axis=K for vector norms"
        )
    summed, then = (rows, cols) if abs(order) == 1 else (cols, rows)
    sums = ops.sum_(ops.ABS(x), summed, keepdims=True)
    extreme = REDUCTIONS["max" if order > 0 else "min"](sums, then, keepdims=True)
    return (
        extreme
        if keepdims
        else ops.reshape(extreme, tuple(d for i, d in enumerate(x.shape) if i not in axes))
    )


def norm(x: Node, order=None, axis=None, keepdims: bool = False) -> Node:
    """NumPy's linalg.norm: the 2-norm of all elements by default (Frobenius for a matrix); ord 1,
    2, inf, -inf, 0 or p for vectors (axis=K or a 1-D x), 1, inf, -1, -inf for matrices (axis=(K, L)
    or a 2-D x). Its derivative at 0 is undefined (NaN), as in NumPy-based frameworks."""
    if axis is None:
        if order is None:
            return ops.sqrt(ops.sum_(x**2, None, keepdims))
        if x.ndim not in (1, 2):
            raise ShapeError(
                f"norm with ord={order} needs a vector or a matrix, or axis=..., got shape {list(x.shape)}"
            )
        axis = 0 if x.ndim == 1 else (0, 1)
    axes = axis if isinstance(axis, tuple) else (axis,)
    if len(axes) == 1:
        return _vector_norm(x, order, ops.normalize_axes(axes, x.ndim), keepdims)
    if len(axes) == 2:
        normalized = tuple(ops.normalize_axes(a, x.ndim)[0] for a in axes)
        if normalized[0] == normalized[1]:
            raise ShapeError("norm: the two axes of a matrix norm must differ")
        return _matrix_norm(x, order, normalized, keepdims)
    raise ShapeError("norm: axis is one axis (vector norms) or two (matrix norms)")


# ---- along an axis ------------------------------------------------------------------------------


def _one_axis(x: Node, axis: int, what: str) -> int:
    if x.ndim == 0:
        raise ShapeError(f"{what} needs an array with at least one axis")
    return ops.normalize_axes(axis, x.ndim)[0]


def softmax(x: Node, axis=-1) -> Node:
    return ops.SOFTMAX(x, axis=_one_axis(x, axis, "softmax"))


def log_softmax(x: Node, axis=-1) -> Node:
    return ops.LOG_SOFTMAX(x, axis=_one_axis(x, axis, "log_softmax"))


def cumsum(x: Node, axis=None) -> Node:
    """NumPy's cumsum: along `axis`, or along all elements flattened (row-major) by default."""
    if axis is None:
        x, axis = ops.reshape(x, (x.size,)), 0
    return ops.CUMSUM(x, axis=_one_axis(x, axis, "cumsum"))


def flip(x: Node, axis=None) -> Node:
    return ops.reverse(x, ops.normalize_axes(axis, x.ndim))


def expand_dims(x: Node, axis) -> Node:
    if axis is None:
        raise ShapeError("expand_dims needs axis=K (where the new axis goes)")
    items = axis if isinstance(axis, tuple) else (axis,)
    added = ops.normalize_axes(items, x.ndim + len(items))
    sizes = iter(x.shape)
    return ops.reshape(x, tuple(1 if i in added else next(sizes) for i in range(x.ndim + len(items))))


def squeeze(x: Node, axis=None) -> Node:
    axes = (
        tuple(i for i, d in enumerate(x.shape) if d == 1)
        if axis is None
        else ops.normalize_axes(axis, x.ndim)
    )
    for i in axes:
        if x.shape[i] != 1:
            raise ShapeError(f"squeeze: axis {i} has length {x.shape[i]}, not 1")
    return ops.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


ALONG_AXIS = {
    "softmax": softmax,
    "log_softmax": log_softmax,
    "cumsum": cumsum,
    "flip": flip,
    "expand_dims": expand_dims,
    "squeeze": squeeze,
}

# ---- linear algebra -------------------------------------------------------------------------------


def outer(a: Node, b: Node) -> Node:
    """NumPy's outer: both flattened, a[i] * b[j]."""
    a, b = ops.reshape(a, (a.size,)), ops.reshape(b, (b.size,))
    return ops.BROADCAST(a, shape=(a.size, b.size), dims=(0,)) * b


def inner(a: Node, b: Node) -> Node:
    """NumPy's inner: a sum over the last axes (a product for a scalar)."""
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: shapes {list(a.shape)} and {list(b.shape)} differ in their last axis")
    left = "abcdefghijklm"[: a.ndim - 1]
    right = "nopqrstuvwxyz"[: b.ndim - 1]
    return einsum(f"{left}z,{right}z->{left}{right}", a, b)


def _diagonal_mask(x: Node) -> tuple[Node, Node]:
    """x cut to its leading square part (the first two axes) and the identity on that part,
    broadcast over the other axes."""
    k = min(x.shape[0], x.shape[1])
    if x.shape[0] != x.shape[1]:
        x = ops.getitem(x, (("slice", 0, k, None), ("slice", 0, k, None)))
    return x, ops.BROADCAST(ops.EYE(n=k), shape=x.shape, dims=(0, 1))


def trace(x: Node) -> Node:
    """The sum of the diagonal (over the first two axes, as NumPy): sum(x * eye(n))."""
    if x.ndim < 2:
        raise ShapeError(f"trace needs a matrix, got shape {list(x.shape)}")
    square_part, eye = _diagonal_mask(x)
    return ops.sum_(square_part * eye, (0, 1))


def diag(x: Node) -> Node:
    """NumPy's diag: a vector's diagonal matrix, or a matrix's diagonal."""
    if x.ndim == 1:
        n = x.shape[0]
        return ops.BROADCAST(x, shape=(n, n), dims=(0,)) * ops.EYE(n=n)
    if x.ndim == 2:
        square_part, eye = _diagonal_mask(x)
        return ops.sum_(square_part * eye, 1)
    raise ShapeError(f"diag needs a vector or a matrix, got shape {list(x.shape)}")


def diagonal(x: Node) -> Node:
    """A matrix's diagonal (np.diagonal of a 2-D array)."""
    if x.ndim != 2:
        raise ShapeError(f"diagonal needs a matrix, got shape {list(x.shape)}")
    return diag(x)


def ravel(x: Node) -> Node:
    """The elements in one axis, row-major (np.ravel, x.flatten())."""
    return ops.reshape(x, (x.size,))


def vdot(a: Node, b: Node) -> Node:
    """The dot product of the flattened arrays (np.vdot, real)."""
    if a.size != b.size:
        raise ShapeError(f"vdot: shapes {list(a.shape)} and {list(b.shape)} differ in size")
    return ops.sum_(ravel(a) * ravel(b))


def kron(a: Node, b: Node) -> Node:
    """NumPy's Kronecker product: block (i, j) of the result is a[i, j] * b (any number of axes)."""
    ndim = max(a.ndim, b.ndim)
    a_shape, b_shape = (1,) * (ndim - a.ndim) + a.shape, (1,) * (ndim - b.ndim) + b.shape
    spread_a = ops.reshape(a, tuple(d for size in a_shape for d in (size, 1)))
    spread_b = ops.reshape(b, tuple(d for size in b_shape for d in (1, size)))
    return ops.reshape(spread_a * spread_b, tuple(m * n for m, n in zip(a_shape, b_shape)))


def triangle(x: Node, k: int, upper: bool) -> Node:
    """np.triu (upper) or np.tril of the last two axes: x times a constant mask of ones and zeros."""
    if x.ndim < 2:
        raise ShapeError(f"{'triu' if upper else 'tril'} needs a matrix, got shape {list(x.shape)}")
    ones = np.ones(x.shape[-2:], dtype=int)
    k = max(-x.shape[-2], min(k, x.shape[-1]))  # beyond the matrix, every k gives the same mask
    mask = np.triu(ones, k) if upper else np.tril(ones, k)
    return x * ops.literal(mask.tolist())


def swapaxes(x: Node, first: int, second: int) -> Node:
    perm = list(range(x.ndim))
    first, second = (ops.normalize_axes(axis, x.ndim)[0] for axis in (first, second))
    perm[first], perm[second] = perm[second], perm[first]
    return ops.transpose(x, perm)


def moveaxis(x: Node, source: tuple[int, ...], destination: tuple[int, ...]) -> Node:
    """np.moveaxis: the axes `source` moved to the positions `destination`, the others in order."""
    source, destination = ([ops.normalize_axes(a, x.ndim)[0] for a in axes] for axes in (source, destination))
    if len(source) != len(destination):
        raise ShapeError("moveaxis: source and destination need the same number of axes")
    if len(set(source)) != len(source) or len(set(destination)) != len(destination):
        raise ShapeError("moveaxis: an axis is given twice")
    rest = iter(i for i in range(x.ndim) if i not in source)
    placed = dict(zip(destination, source))
    return ops.transpose(x, [placed[i] if i in placed else next(rest) for i in range(x.ndim)])


def matrix_power(x: Node, n: int) -> Node:
    """np.linalg.matrix_power: x @ x ... (n times, by squaring); eye for n = 0, inv(x) for n < 0."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"matrix_power needs square matrices, got shape {list(x.shape)}")
    if n == 0:
        return ops.broadcast_to(ops.EYE(n=x.shape[-1]), x.shape)
    if n < 0:
        x, n = ops.INV(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else result @ x
        n >>= 1
        if n:
            x = x @ x
    return result


ELEMENTWISE.update(
    outer=outer, inner=inner, trace=trace, diag=diag, diagonal=diagonal, ravel=ravel, vdot=vdot, kron=kron
)


def parse_einsum(subscripts: str, count: int) -> tuple[tuple[str, ...], str]:
    """einsum's subscripts as (one string of letters per operand, the output's letters); the
    implicit form (no '->') gives the letters used once, in alphabetical order, as NumPy does."""
    text = subscripts.replace(" ", "")
    if "." in text:
        raise ShapeError("einsum: '...' in subscripts is not supported; name every axis with a letter")
    left, arrow, output = text.partition("->")
    inputs = tuple(left.split(","))
    if len(inputs) != count:
        raise ShapeError(f"einsum: {len(inputs)} operand subscripts in '{subscripts}' for {count} operands")
    for letters in (*inputs, output):
        if not all(c.isascii() and c.isalpha() for c in letters):
            raise ShapeError(f"einsum: subscripts are letters, got '{letters}'")
    for letters in inputs:
        if len(set(letters)) != len(letters):
            raise ShapeError(
                f"einsum: a letter repeated within one operand ('{letters}') is not supported; "
                "use trace(x) or diag(x) for diagonals"
            )
    joined = "".join(inputs)
    if not arrow:
        output = "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    if len(set(output)) != len(output) or not set(output) <= set(joined):
        raise ShapeError(f"einsum: output subscripts '{output}' must be distinct letters of the inputs")
    return inputs, output


def einsum(subscripts: str, *operands: Node) -> Node:
    inputs, output = parse_einsum(subscripts, len(operands))
    return ops.EINSUM(*operands, inputs=inputs, output=output)
