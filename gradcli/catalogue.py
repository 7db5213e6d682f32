"""The function catalogue (SPEC 9): every function of the language as a constructor over the
operation table (ops.py), with NumPy's names and semantics (jax.nn's where NumPy has none).

A function is either a row of the table (a primitive with its own VJP, e.g. `erf`, `det`,
`softmax`) or a composition of rows (`gelu`, `var`, `norm`, `trace`), which gets its derivatives,
exact values and printed forms from the rows it is made of. Arguments arrive as nodes; static
arguments (axes, shapes, `ord`, einsum's subscripts) as Python values, checked here.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from gradcli import ops
from gradcli.arrays import MAX_DIMENSIONS, Node, ShapeError

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
    """NumPy's mod (remainder, a % b): the sign of b; derivatives 1 and -(a // b), as JAX's."""
    return ops.MOD(a, b)


def fmod(a: Node, b: Node) -> Node:
    """C's fmod: the sign of a; derivatives 1 and -trunc(a / b)."""
    return ops.FMOD(a, b)


def floor_divide(a: Node, b: Node) -> Node:
    """NumPy's floor_divide (a // b): a == (a // b) * b + a % b, exactly where exact."""
    return ops.FLOOR_DIVIDE(a, b)


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


def sinc(x: Node) -> Node:
    """NumPy's normalized sinc, sin(pi x) / (pi x), 1 at 0. Near 0 (|x| < 1/2) the value and every
    derivative come from sinc_maclaurin (the series of sin(y)/y and of its derivatives about 0,
    each the derivative of the one before), elsewhere from the quotient, whose divisor is kept from
    0 there (so no NaN reaches a derivative): right at 0 to every order, as JAX's rule, and near 0
    too, where the quotient's derivatives lose their digits."""
    pi = ops.math_constant("pi")
    near = ops.COMPARISONS["<"](ops.ABS(x), ops.literal(Fraction(1, 2)))
    return ops.where(near, ops.SINC_MACLAURIN(0, pi * x), ops.sin(pi * x) / (pi * ops.where(near, 1, x)))


_BOOLEANS = frozenset(ops.COMPARISONS.values())


def _truth(x: Node) -> Node:
    """x as 1 (true) or 0: a comparison is one already; anything else is x != 0 (NaN is true, as in
    NumPy)."""
    return x if x.op in _BOOLEANS else ops.COMPARISONS["!="](x, 0)


def logical_and(a: Node, b: Node) -> Node:
    """np.logical_and as 1 or 0 (as comparisons give): no gradient flows through it, nor through
    the other logical functions. They are arithmetic of 0s and 1s (no comparison of a comparison,
    which the printers could not write back as the language)."""
    return _truth(a) * _truth(b)


def logical_or(a: Node, b: Node) -> Node:
    return ops.MAXIMUM(_truth(a), _truth(b))


def logical_xor(a: Node, b: Node) -> Node:
    return ops.ABS(_truth(a) - _truth(b))


def logical_not(x: Node) -> Node:
    return 1 - _truth(x)


def full(shape: tuple[int, ...], value: Node) -> Node:
    """np.full: the fill value broadcast to `shape` (its gradient goes to the value)."""
    try:
        fits = np.broadcast_shapes(value.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"a fill value of shape {list(value.shape)} does not broadcast to shape {list(shape)}"
        )
    return ops.broadcast_to(value, shape)


def identity(x: Node) -> Node:
    return x


def as_float(x: Node) -> Node:
    """x.astype(float), np.float64(x): the same numbers, exact ones made float64 (as 1.0 * x);
    derivative 1."""
    return ops.literal(1.0) * x


# The casts (x.astype(float), np.int64(x), float(s)), by the dtype the parser names: an integer
# cast truncates towards 0 as NumPy's, with derivative 0 (JAX's; as floor and trunc).
CASTS = {"float64": as_float, "float": as_float, "int64": trunc, "int": trunc}


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
    "full_like": lambda x, value: full(x.shape, value),
    "trunc": trunc,
    "mod": mod,
    "fmod": fmod,
    "floor_divide": floor_divide,
    "deg2rad": deg2rad,
    "rad2deg": rad2deg,
    "logaddexp2": logaddexp2,
    "heaviside": heaviside,
    "sinc": sinc,
    "sinc_maclaurin": ops.SINC_MACLAURIN,
    "positive": identity,
    "copy": identity,
    "negative": lambda x: -x,
    "logit": ops.LOGIT,
    "xlogy": ops.XLOGY,
    "logical_and": logical_and,
    "logical_or": logical_or,
    "logical_xor": logical_xor,
    "logical_not": logical_not,
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


def average(x: Node, axis=None, weights: Node | None = None, keepdims: bool = False) -> Node:
    """np.average: the mean, or with weights sum(x * w) / sum(w) over `axis`. Weights have x's
    shape, or (with axis) the shape of x along those axes, in their order. Weights that sum to 0
    give inf or NaN where NumPy raises ZeroDivisionError (an error here only for constant weights)."""
    if weights is None:
        return mean(x, axis, keepdims)
    if weights.shape != x.shape:
        if axis is None:
            raise ShapeError(
                f"average: weights of shape {list(weights.shape)} differ from the shape {list(x.shape)} "
                "of the array; give axis= to weight along it"
            )
        axes = axis if isinstance(axis, tuple) else (axis,)
        normalized = tuple(ops.normalize_axes(a, x.ndim)[0] for a in axes)
        along = tuple(x.shape[a] for a in normalized)
        if weights.shape != along:
            raise ShapeError(
                f"average: weights of shape {list(weights.shape)} fit neither the array's shape "
                f"{list(x.shape)} nor its shape {list(along)} along axis={axis}"
            )
        order = sorted(range(len(normalized)), key=lambda i: normalized[i])
        weights = ops.transpose(weights, order) if order != list(range(len(order))) else weights
        spread = tuple(size if i in normalized else 1 for i, size in enumerate(x.shape))
        weights = ops.broadcast_to(ops.reshape(weights, spread), x.shape)
    return ops.sum_(x * weights, axis, keepdims) / ops.sum_(weights, axis, keepdims)


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


def ptp(x: Node, axis=None, keepdims: bool = False) -> Node:
    """np.ptp, the range max - min: its gradient is max's minus min's (ties share them)."""
    return REDUCTIONS["max"](x, axis, keepdims) - REDUCTIONS["min"](x, axis, keepdims)


REDUCTIONS["ptp"] = ptp


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
    return _axis_of(x.ndim, axis, what)


def _axis_of(ndim: int, axis: int, what: str) -> int:
    """One axis of an array with ndim axes, counted from 0 (a tuple of axes is refused, as NumPy
    refuses it: none of these functions works along several axes at once)."""
    if isinstance(axis, tuple):
        raise ShapeError(f"{what} works along one axis, an integer (axis=0), not axis={axis}")
    if ndim == 0:
        raise ShapeError(f"{what} needs an array with at least one axis")
    return ops.normalize_axes(axis, ndim)[0]


def _over_axes(row: ops.Op, x: Node, axis, what: str) -> Node:
    """A row along one axis, or over several as jax.nn's softmax(x, axis=(0, 1)) and axis=None
    (every axis): those axes moved last and merged into one for the row, then put back. An
    empty array is its own result (the row's maximum of no elements is undefined)."""
    if axis is not None and not isinstance(axis, tuple):
        axis = _one_axis(x, axis, what)
        return x if x.size == 0 else row(x, axis=axis)
    axes = ops.normalize_axes(axis, x.ndim)
    if x.size == 0:
        return x
    order = tuple(i for i in range(x.ndim) if i not in axes) + axes
    moved = ops.transpose(x, order)
    merged = ops.reshape(moved, moved.shape[: x.ndim - len(axes)] + (math.prod(x.shape[i] for i in axes),))
    done = ops.reshape(row(merged, axis=merged.ndim - 1), moved.shape)
    return ops.transpose(done, tuple(order.index(i) for i in range(x.ndim)))


def softmax(x: Node, axis=-1) -> Node:
    return _over_axes(ops.SOFTMAX, x, axis, "softmax")


def log_softmax(x: Node, axis=-1) -> Node:
    return _over_axes(ops.LOG_SOFTMAX, x, axis, "log_softmax")


def cumsum(x: Node, axis=None) -> Node:
    """NumPy's cumsum: along `axis`, or along all elements flattened (row-major) by default."""
    if axis is None:
        x, axis = ops.reshape(x, (x.size,)), 0
    return ops.CUMSUM(x, axis=_one_axis(x, axis, "cumsum"))


def cumprod(x: Node, axis=None) -> Node:
    """NumPy's cumprod: along `axis`, or along all elements flattened by default."""
    if axis is None:
        x, axis = ravel(x), 0
    return ops.CUMPROD(x, axis=_one_axis(x, axis, "cumprod"))


def _stable_ranks(x: Node) -> Node:
    """Each element's place in NumPy's stable sort along the last axis (NaN after every number,
    ties and NaNs in their order): the count of elements sorted before it, from one comparison
    per pair (no gradient). An earlier element j < i counts where x[j] <= x[i] or x[i] is NaN; a
    later one j > i where x[j] < x[i], or x[i] is NaN and x[j] is not, which is
    1 - (x[i] <= x[j]) - isnan(x[j]) in every case. So with below[i, j] = (x[j] <= x[i]) for j < i
    (else 0), rank[i] = (its row sum) - (its column sum) + (n - 1 - i) + i * isnan(x[i]) - (the NaNs
    after i)."""
    n = x.shape[-1]
    mine = ops.reshape(x, (*x.shape, 1))  # [..., i, 1]
    other = ops.reshape(x, (*x.shape[:-1], 1, n))  # [..., 1, j]
    index = ops.literal(tuple(range(n)))
    earlier = ops.COMPARISONS["<"](index, ops.reshape(index, (n, 1)))  # [i, j]: j < i
    below = earlier * ops.COMPARISONS["<="](other, mine)
    nan = ops.COMPARISONS["!="](x, x)
    later_nans = ops.sum_(ops.transpose(earlier) * ops.reshape(nan, (*x.shape[:-1], 1, n)), -1)
    return ops.sum_(below, -1) - ops.sum_(below, -2) + (n - 1 - index) + index * nan - later_nans


def _order_statistics(x: Node, ranks: Node, places: tuple[int, ...]) -> Node:
    """The elements sorted to `places` along the last axis (a new last axis of them): each
    sum(where(rank == k, x, 0)), so its gradient goes to the element sorted there."""
    k = ops.reshape(ops.literal(places), (len(places), 1))  # [k, 1]
    chosen = ops.equal(ops.reshape(ranks, (*ranks.shape[:-1], 1, ranks.shape[-1])), k)  # [..., k, i]
    return ops.sum_(ops.where(chosen, ops.reshape(x, (*x.shape[:-1], 1, x.shape[-1])), 0), -1)


def sort(x: Node, axis=-1) -> Node:
    """NumPy's sort along `axis` (None: the elements flattened), NaN last. Element k of the result
    is sum(where(rank == k, x, 0)) with the stable ranks of _stable_ranks, so its gradient is the
    permutation's, ties broken by position as JAX's stable sort (its JVP gathers the tangents by the
    sorted indices). A comparison of every pair and a selection of every (place, element): n ** 2
    work along the axis (a value-independent form: the lowered program serves every point)."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _one_axis(x, axis, "sort")
    if x.shape[axis] <= 1:
        return x  # nothing to order
    last = moveaxis(x, (axis,), (-1,))
    ordered = _order_statistics(last, _stable_ranks(last), tuple(range(last.shape[-1])))
    return moveaxis(ordered, (-1,), (axis,))


def median(x: Node, axis=None, keepdims: bool = False) -> Node:
    """NumPy's median: the middle of the sorted elements (the mean of the two middle ones for an
    even count), NaN where the elements hold a NaN (sorted last). Only those places are selected
    (_order_statistics): n ** 2 comparisons and n selections, not a whole sort's n ** 2."""
    axes = ops.normalize_axes(axis, x.ndim)
    count = _counted(x, axes, "median")
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    flat = ops.reshape(ops.transpose(x, kept + axes), tuple(x.shape[i] for i in kept) + (count,))
    middle_places = (count // 2,) if count % 2 else (count // 2 - 1, count // 2)
    places = middle_places + ((count - 1,) if count > 2 else ())  # the last holds a NaN if any
    chosen = flat if count == 1 else _order_statistics(flat, _stable_ranks(flat), places)
    at = lambda k: ops.getitem(chosen, _along_key(chosen.ndim, chosen.ndim - 1, k))  # noqa: E731
    middle = at(0) if count % 2 else (at(0) + at(1)) / 2
    last = at(len(places) - 1)
    result = middle if count <= 2 else ops.where(ops.COMPARISONS["!="](last, last), last, middle)
    if keepdims:
        return ops.reshape(result, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return result


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


def _along_key(ndim: int, axis: int, item) -> tuple:
    """An index that applies `item` to one axis and keeps the others whole."""
    whole = ("slice", None, None, None)
    return (whole,) * axis + (item,) + (whole,) * (ndim - axis - 1)


def _rolled(x: Node, shift: int, axis: int) -> Node:
    n = x.shape[axis]
    shift = shift % n if n else 0
    if shift == 0:
        return x
    tail = ops.getitem(x, _along_key(x.ndim, axis, ("slice", n - shift, None, None)))
    head = ops.getitem(x, _along_key(x.ndim, axis, ("slice", None, n - shift, None)))
    return ops.CONCATENATE(tail, head, axis=axis)


def roll(x: Node, shift: tuple[int, ...], axis=None) -> Node:
    """np.roll: the elements moved `shift` places along `axis` (those past the end come back at the
    start); without axis, over the elements flattened. Shifts and axes pair up (one of either is
    repeated), and shifts along the same axis add: a concatenation of two slices per axis."""
    if axis is None:
        return ops.reshape(_rolled(ravel(x), sum(shift), 0), x.shape)
    axes = tuple(ops.normalize_axes(a, x.ndim)[0] for a in (axis if isinstance(axis, tuple) else (axis,)))
    if len(shift) != len(axes) and 1 not in (len(shift), len(axes)):
        raise ShapeError(f"roll: {len(shift)} shifts for {len(axes)} axes")
    count = len(axes) if len(shift) == 1 else len(shift)  # as NumPy broadcasts them (none: no roll)
    totals: dict[int, int] = {}
    for s, a in zip(shift * count if len(shift) == 1 else shift, axes * count if len(axes) == 1 else axes):
        totals[a] = totals.get(a, 0) + s
    for a, s in totals.items():
        x = _rolled(x, s, a)
    return x


def _padded(shape: tuple[int, ...], reps: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """np.tile's shape and reps padded with leading 1s to the same length; raises ShapeError for a
    negative count."""
    if any(r < 0 for r in reps):
        raise ShapeError(f"tile: reps must not be negative, got {list(reps)}")
    ndim = max(len(reps), len(shape))
    return (1,) * (ndim - len(shape)) + shape, (1,) * (ndim - len(reps)) + tuple(reps)


def tiled_shape(shape: tuple[int, ...], reps: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of tile(x, reps) for an x of `shape` (to bound it before anything is built)."""
    return tuple(r * s for s, r in zip(*_padded(shape, reps)))


def tile(x: Node, reps: tuple[int, ...]) -> Node:
    """np.tile: x repeated reps[i] times along axis i (reps and the shape padded with leading 1s to
    the same length): each tiled axis spread over a new outer axis of length reps[i], then merged."""
    shape, reps = _padded(x.shape, reps)
    ndim = len(shape)
    if ndim > MAX_DIMENSIONS:
        raise ShapeError(f"tile: the result would have {ndim} axes; at most {MAX_DIMENSIONS} are supported")
    # An axis of length 0 stays empty whatever its count, and an axis tiled 0 times is x cut to
    # none along it: so no step holds more than the result (an empty array's other sizes count).
    reps = tuple(1 if s == 0 else r for r, s in zip(reps, shape))
    if 0 in reps:
        cut = tuple(("slice", 0, 0, None) if r == 0 else ("slice", None, None, None) for r in reps)
        x, reps = ops.getitem(ops.reshape(x, shape), cut), tuple(1 if r == 0 else r for r in reps)
        shape = x.shape
    tiled = [i for i in range(ndim) if reps[i] != 1]
    if ndim + len(tiled) > MAX_DIMENSIONS:
        raise ShapeError(
            f"tile: tiling {len(tiled)} of {ndim} axes spreads them over {ndim + len(tiled)} axes; at most "
            f"{MAX_DIMENSIONS} are supported"
        )
    spread = tuple(d for i, s in enumerate(shape) for d in ((1, s) if i in tiled else (s,)))
    target = tuple(d for i, s in enumerate(shape) for d in ((reps[i], s) if i in tiled else (s,)))
    copies = ops.broadcast_to(ops.reshape(x, spread), target)
    return ops.reshape(copies, tuple(r * s for r, s in zip(reps, shape)))


def repeated_shape(shape: tuple[int, ...], repeats: tuple[int, ...], axis: int | None) -> tuple[int, ...]:
    """The shape of repeat(x, repeats, axis) for an x of `shape` (one count, or a count per element
    along the axis); raises ShapeError for a negative count."""
    if any(r < 0 for r in repeats):
        raise ShapeError("repeat: counts must not be negative")
    if axis is None:
        shape, axis = (math.prod(shape),), 0
    axis = _axis_of(len(shape), axis, "repeat")
    total = repeats[0] * shape[axis] if len(repeats) == 1 else sum(repeats)
    return shape[:axis] + (total,) + shape[axis + 1 :]


def repeat(x: Node, repeats: tuple[int, ...], axis=None) -> Node:
    """np.repeat: each element repeated along `axis` (without axis, over the elements flattened):
    one count for all (a broadcast over a new inner axis), or one count per element (an index
    that names each element that many times, so their gradients add)."""
    repeated_shape(x.shape, repeats, None)  # the counts checked
    if axis is None:
        x, axis = ravel(x), 0
    axis = _one_axis(x, axis, "repeat")
    n = x.shape[axis]
    if len(repeats) == 1:
        r = repeats[0] if n else 1  # an empty axis stays empty: no step holds more than the result
        spread = x.shape[: axis + 1] + (1,) + x.shape[axis + 1 :]
        copies = ops.broadcast_to(ops.reshape(x, spread), x.shape[: axis + 1] + (r,) + x.shape[axis + 1 :])
        return ops.reshape(copies, x.shape[:axis] + (n * r,) + x.shape[axis + 1 :])
    if len(repeats) != n:
        raise ShapeError(f"repeat: {len(repeats)} counts for an axis of length {n}")
    indices = tuple(i for i, r in enumerate(repeats) for _ in range(r))
    return ops.getitem(x, _along_key(x.ndim, axis, ("list", indices)))


def fliplr(x: Node) -> Node:
    if x.ndim < 2:
        raise ShapeError(f"fliplr needs an array with at least 2 axes, got shape {list(x.shape)}")
    return ops.reverse(x, (1,))


def flipud(x: Node) -> Node:
    return ops.reverse(x, (_one_axis(x, 0, "flipud"),))


def _ends(x: Node, axis: int) -> tuple[Node, Node]:
    """x without its first element along `axis`, and x without its last."""
    n = x.shape[axis]
    return (
        ops.getitem(x, _along_key(x.ndim, axis, ("slice", 1, None, None))),
        ops.getitem(x, _along_key(x.ndim, axis, ("slice", None, max(n - 1, 0), None))),
    )


def _beside(x: Node, extra: Node, axis: int) -> Node:
    """diff's prepend or append: a scalar spread to x's shape with length 1 along `axis`."""
    if extra.ndim == 0:
        return ops.broadcast_to(extra, x.shape[:axis] + (1,) + x.shape[axis + 1 :])
    others = x.shape[:axis] + x.shape[axis + 1 :]
    if extra.ndim != x.ndim or extra.shape[:axis] + extra.shape[axis + 1 :] != others:
        raise ShapeError(
            f"diff: an array of shape {list(extra.shape)} does not join one of shape {list(x.shape)} "
            f"along axis {axis}"
        )
    return extra


def diff(x: Node, n: int = 1, axis=-1, prepend: Node | None = None, append: Node | None = None) -> Node:
    """np.diff: differences of neighbours along `axis`, n times (n = 0: x itself), after prepend and
    append are joined to x there (a scalar as one element)."""
    if n < 0:
        raise ShapeError(f"diff: the order n={n} must not be negative")
    axis = _one_axis(x, axis, "diff")
    if n == 0:
        return x
    parts = [_beside(x, e, axis) for e in (prepend,) if e is not None]
    parts += [x] + [_beside(x, e, axis) for e in (append,) if e is not None]
    x = ops.CONCATENATE(*parts, axis=axis) if len(parts) > 1 else x
    for _ in range(min(n, x.shape[axis])):  # beyond the length, each difference of none is none
        later, earlier = _ends(x, axis)
        x = later - earlier
    return x


def trapezoid(y: Node, x: Node | None = None, dx: Node | int = 1, axis=-1) -> Node:
    """np.trapezoid (trapz): sum(d * (y[1:] + y[:-1]) / 2) along `axis`, d the spacing dx or
    diff(x) (x one axis of sample points, or shaped as y); exact where y and the spacing are."""
    given, axis = axis, _one_axis(y, axis, "trapezoid")
    if x is not None:
        if x.ndim == 1:
            if x.shape[0] != y.shape[axis]:
                raise ShapeError(
                    f"trapezoid: x has {x.shape[0]} sample points, y has {y.shape[axis]} along axis {axis}"
                )
            spacing = diff(x)
            dx = ops.reshape(spacing, tuple(spacing.size if i == axis else 1 for i in range(y.ndim)))
        else:
            dx = diff(x, axis=given)
    later, earlier = _ends(y, axis)
    return ops.sum_(dx * (later + earlier) / 2, axis)


def take(x: Node, indices, axis=None) -> Node:
    """np.take: the elements at `indices` (an integer, or nested lists of them: their shape replaces
    the axis) along `axis`, or of x flattened; negative indices count from the end."""
    if axis is None:
        x, axis = ravel(x), 0
    axis = _one_axis(x, axis, "take")
    n = x.shape[axis]
    shape = np.shape(np.array(indices, dtype=object))
    flat = [int(i) for i in np.array(indices, dtype=object).reshape(-1)]
    for i in flat:
        if not -n <= i < n:
            raise ShapeError(f"take: index {i} is out of range for axis {axis} of size {n}")
    if not shape:
        return ops.getitem(x, _along_key(x.ndim, axis, flat[0] % n))
    picked = ops.getitem(x, _along_key(x.ndim, axis, ("list", tuple(i % n for i in flat))))
    return ops.reshape(picked, x.shape[:axis] + shape + x.shape[axis + 1 :])


def atleast_1d(x: Node) -> Node:
    return x if x.ndim >= 1 else ops.reshape(x, (1,))


def atleast_2d(x: Node) -> Node:
    """np.atleast_2d: a scalar as [[x]], a vector as one row."""
    return x if x.ndim >= 2 else ops.reshape(x, (1,) * (2 - x.ndim) + x.shape)


def atleast_3d(x: Node) -> Node:
    """np.atleast_3d: a scalar as [1, 1, 1], a vector of n as [1, n, 1], a matrix [m, n] as [m, n, 1]."""
    if x.ndim >= 3:
        return x
    shape = {0: (1, 1, 1), 1: (1, *x.shape, 1), 2: (*x.shape, 1)}[x.ndim]
    return ops.reshape(x, shape)


def column_stack(items: list[Node]) -> Node:
    """np.column_stack: vectors as columns (a scalar as [[x]]), matrices as they are, side by side."""
    columns = [ops.reshape(i, (i.size, 1)) if i.ndim < 2 else i for i in items]
    return ops.CONCATENATE(*columns, axis=1)


def dstack(items: list[Node]) -> Node:
    """np.dstack: each atleast_3d, joined along the third axis."""
    return ops.CONCATENATE(*(atleast_3d(i) for i in items), axis=2)


def pad_widths(pad_width, ndim: int) -> tuple[tuple[int, int], ...]:
    """np.pad's pad_width (an integer, (before, after), or one pair per axis) as one pair per axis,
    broadcast as NumPy broadcasts it; raises ShapeError for a form that does not fit or a negative
    width."""
    given = np.array(pad_width, dtype=object)
    try:
        pairs = np.broadcast_to(given, (ndim, 2))
    except ValueError:
        raise ShapeError(
            f"pad: pad_width of shape {list(given.shape)} does not fit an array of {ndim} axes; give an "
            "integer, (before, after) or one (before, after) per axis"
        ) from None
    if any(w < 0 for w in pairs.flat):
        raise ShapeError(f"pad: widths must not be negative, got {pad_width}")
    return tuple((int(b), int(a)) for b, a in pairs)


def padded_shape(shape: tuple[int, ...], widths: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    return tuple(b + s + a for s, (b, a) in zip(shape, widths))


def pad(x: Node, widths: tuple[tuple[int, int], ...], value: Node | int = 0) -> Node:
    """np.pad in mode "constant": `value` (a scalar, 0 by default; its gradient is the sum over the
    padding) before and after x along each axis."""
    value = ops.literal(value) if isinstance(value, int) else value
    if value.ndim != 0:
        raise ShapeError(f"pad: constant_values is one number here, got shape {list(value.shape)}")
    for axis, (before, after) in enumerate(widths):
        parts = [
            ops.broadcast_to(value, x.shape[:axis] + (w,) + x.shape[axis + 1 :]) if w else None
            for w in (before, after)
        ]
        if any(p is not None for p in parts):
            x = ops.CONCATENATE(*(p for p in (parts[0], x, parts[1]) if p is not None), axis=axis)
    return x


REDUCTIONS["median"] = median

ALONG_AXIS = {
    "softmax": softmax,
    "log_softmax": log_softmax,
    "cumsum": cumsum,
    "cumprod": cumprod,
    "sort": sort,
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


def cross(a: Node, b: Node) -> Node:
    """np.cross of 3-vectors along the last axis (the other axes broadcast): its three components
    as products of components, stacked."""
    for v in (a, b):
        if v.ndim == 0 or v.shape[-1] != 3:
            raise ShapeError(
                f"cross needs vectors of 3 components along the last axis, got shape {list(v.shape)}"
            )
    ax, ay, az = (ops.getitem(a, _along_key(a.ndim, a.ndim - 1, i)) for i in range(3))
    bx, by, bz = (ops.getitem(b, _along_key(b.ndim, b.ndim - 1, i)) for i in range(3))
    parts = (ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)
    return ops.CONCATENATE(*(ops.reshape(p, (*p.shape, 1)) for p in parts), axis=parts[0].ndim)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def tensordot(a: Node, b: Node, axes) -> Node:
    """np.tensordot: the sum over the axes `axes[0]` of a paired with `axes[1]` of b (an integer N
    pairs a's last N axes with b's first N), the remaining axes of a then of b: an einsum."""
    if isinstance(axes, int):
        most = min(a.ndim, b.ndim)
        if axes < 0:
            raise ShapeError(
                f"tensordot: axes={axes} is negative; an integer N (0 <= N <= {most} here) pairs the "
                "last N axes of a with the first N of b"
            )
        if axes > most:
            raise ShapeError(
                f"tensordot: axes={axes} pairs the last {axes} axes of a with the first {axes} of b, but "
                f"the shapes are {list(a.shape)} and {list(b.shape)}; it is at most {most}"
            )
        axes = (tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes)))
    for items, v, name in zip(axes, (a, b), "ab"):
        for i in items:
            if not -v.ndim <= i < v.ndim:
                raise ShapeError(f"tensordot: axis {i} is out of range for {name}, of shape {list(v.shape)}")
        if len({i % v.ndim for i in items}) != len(items):
            raise ShapeError(f"tensordot: an axis of {name} is given twice in {list(items)}")
    first, second = (tuple(i % v.ndim for i in items) for items, v in zip(axes, (a, b)))
    if len(first) != len(second):
        raise ShapeError(
            f"tensordot: the axes of a {list(axes[0])} and of b {list(axes[1])} differ in number; each "
            "axis of a is paired with one of b"
        )
    for i, j in zip(first, second):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(
                f"tensordot: axis {i} of a (length {a.shape[i]}) and axis {j} of b "
                f"(length {b.shape[j]}) differ"
            )
    if a.ndim + b.ndim - len(first) > len(_LETTERS):
        raise ShapeError(f"tensordot: more than {len(_LETTERS)} axes in all")
    letters = iter(_LETTERS)
    left = [next(letters) for _ in range(a.ndim)]
    paired = {j: left[i] for i, j in zip(first, second)}
    right = [paired[j] if j in paired else next(letters) for j in range(b.ndim)]
    output = [c for i, c in enumerate(left) if i not in first] + [
        c for j, c in enumerate(right) if j not in second
    ]
    return ops.EINSUM(a, b, inputs=("".join(left), "".join(right)), output="".join(output))


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
    outer=outer,
    inner=inner,
    trace=trace,
    diag=diag,
    diagonal=diagonal,
    ravel=ravel,
    vdot=vdot,
    kron=kron,
    cross=cross,
    fliplr=fliplr,
    flipud=flipud,
    atleast_1d=atleast_1d,
    atleast_2d=atleast_2d,
    atleast_3d=atleast_3d,
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
