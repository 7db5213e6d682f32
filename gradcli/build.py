"""Lowering to the array program: Program -> nodes over whole arrays, shapes checked once, with places.

No element is expanded here: a 784x128 layer is one node. Each definition's node is remembered
under its name, so printers can write results over the program's own names.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from gradcli import ad, catalogue, elements, functions, numbers, ops, spelling
from gradcli.arrays import MAX_DIMENSIONS, Node, ShapeError, postorder
from gradcli.errors import GradcliError, LimitError, Span
from gradcli.model import Limits
from gradcli.ops import to_float
from gradcli.syntax import (
    AtAdd,
    Binary,
    Call,
    Expr,
    Index,
    ListExpr,
    Name,
    Num,
    Program,
    Slice,
    Str,
    Transpose,
    TupleExpr,
    Unary,
    walk,
)


@dataclass(frozen=True)
class ArrayProgram:
    """A program as nodes: `nodes` maps every declared and defined name to its node; `names` maps
    a node's id to the first name it was given (for printing)."""

    program: Program
    nodes: dict[str, Node]
    names: dict[int, str]
    defined: dict[str, Node]  # each definition as written (before --stop cuts it)
    spans: dict[int, Span] = field(default_factory=dict)  # where each node was first written

    def node(self, name: str) -> Node:
        return self.nodes[name]


_RECENT: list[tuple[tuple, ArrayProgram]] = []  # the last few builds: one command builds once


def build(
    program: Program,
    stop: tuple[str, ...] = (),
    limits: Limits | None = None,
    intermediates: tuple[str, ...] = (),
) -> ArrayProgram:
    """Lower every declaration and definition; each defined name in `intermediates` (a gradient
    target, --wrt) becomes a perturbed ops.INTERMEDIATE node. Raises GradcliError (located) on a
    shape error, an exact constant too large for the limits, or a constant that is undefined."""
    key = (program, tuple(stop), limits or Limits(), tuple(intermediates))
    for known, built in _RECENT:
        if known == key:
            return built
    built = _build(program, tuple(stop), limits or Limits(), tuple(intermediates))
    _RECENT[:] = [(key, built), *_RECENT[:3]]
    return built


def _build(
    program: Program, stop: tuple[str, ...], limits: Limits, intermediates: tuple[str, ...]
) -> ArrayProgram:
    nodes: dict[str, Node] = {}
    names: dict[int, str] = {}
    defined: dict[str, Node] = {}
    targets = set(intermediates) | _grad_targets(program)
    try:
        for decl in program.declarations:
            if len(decl.shape) > MAX_DIMENSIONS:
                raise GradcliError(
                    f"'{decl.name}' would have {len(decl.shape)} axes; at most {MAX_DIMENSIONS} are "
                    "supported",
                    decl.span,
                )
            make = ops.constant if decl.constant else ops.variable
            nodes[decl.name] = make(decl.name, decl.shape)
            names[id(nodes[decl.name])] = decl.name
        lowering = _Lowering(nodes, limits)
        for definition in program.definitions:
            node = lowering.expr(definition.expr)
            names.setdefault(id(node), definition.name)
            defined[definition.name] = node
            if definition.name in targets:  # its own node: only the uses of the name count
                perturbed = definition.name in intermediates
                node = ops.INTERMEDIATE(node, name=definition.name, perturbed=perturbed)
                names.setdefault(id(node), definition.name)
            if definition.name in stop:
                node = ops.STOP(node)
                names.setdefault(id(node), definition.name)
            nodes[definition.name] = node
    except GradcliError as error:
        raise error.located(program.source, program.filename) from None
    return ArrayProgram(program, nodes, names, defined, lowering.spans)


def _grad_targets(program: Program) -> set[str]:
    """The names x of every grad(y, x) in the program."""
    return {
        node.args[1].id
        for definition in program.definitions
        for node, _ in walk(definition.expr)
        if isinstance(node, Call) and node.function == "grad" and isinstance(node.args[1], Name)
    }


_BINARY = {
    "+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide, "**": ops.power,
    "//": catalogue.floor_divide, "%": catalogue.mod,  # Python's and NumPy's: floor, sign of the divisor
}  # fmt: skip


class _Lowering:
    def __init__(self, nodes: dict[str, Node], limits: Limits):
        self.nodes = nodes
        self.limits = limits
        self.spans: dict[int, Span] = {}
        self.constants = _Constants(limits)

    def expr(self, node: Expr) -> Node:
        result = self._expr(node)
        if result.ndim > MAX_DIMENSIONS:
            raise GradcliError(
                f"this would have {result.ndim} axes; at most {MAX_DIMENSIONS} are supported", node.span
            )
        self.spans.setdefault(id(result), node.span)
        if isinstance(node, (Binary, Call)):
            self.constants.check(result, node.span)
        return result

    def _expr(self, node: Expr) -> Node:
        try:
            if isinstance(node, Num):
                return ops.literal(node.value)
            if isinstance(node, Name):
                return self.nodes[node.id] if node.id in self.nodes else _builtin_name(node)
            if isinstance(node, Str):
                raise GradcliError('a string goes only first in einsum("ij,jk->ik", a, b)', node.span)
            if isinstance(node, ListExpr):
                return self._list(node)
            if isinstance(node, Unary):
                operand = self.expr(node.operand)
                return -operand if node.op == "-" else operand
            if isinstance(node, Binary):
                left, right = self.expr(node.left), self.expr(node.right)
                if node.op == "@":
                    return ops.matmul(left, right)
                if node.op in ops.COMPARISONS:
                    return ops.COMPARISONS[node.op](left, right)
                return _BINARY[node.op](left, right)
            if isinstance(node, Call):
                return self._call(node)
            if isinstance(node, Index):
                return self._index(node)
            if isinstance(node, Transpose):
                return ops.transpose(self.expr(node.base))
            if isinstance(node, AtAdd):
                base = self.expr(node.base)
                key = self._key(node.items, base, node.span)
                value = ops.broadcast_to(self.expr(node.value), ops.index_shape(base.shape, key))
                return base + ops.SCATTER(value, key=key, shape=base.shape)
            if isinstance(node, TupleExpr):
                raise GradcliError("a tuple goes only where a function takes one (axis=(0, 1))", node.span)
        except ShapeError as error:
            if error.span is None:
                error.span = node.span
            raise
        raise GradcliError("this expression is not supported", node.span)

    def _list(self, node: ListExpr) -> Node:
        items = [self.expr(item) for item in node.items]
        for item, sub in zip(items[1:], node.items[1:]):
            if item.shape != items[0].shape:
                raise GradcliError(
                    f"list elements differ in shape: {list(items[0].shape)} and {list(item.shape)}", sub.span
                )
        if not items:
            return ops.literal(())
        if all(i.op is ops.LITERAL for i in items):
            return ops.literal(tuple(i.param("value") for i in items))
        return ops.stack(items)

    def _call(self, node: Call) -> Node:
        name = spelling.ALIASES.get(node.function, node.function)  # NumPy's other names
        keywords = {k: (value, span) for k, value, span in node.keywords}
        special = _SPECIAL_CALLS.get(name)
        if special is not None:
            return special(self, node, keywords)
        if name in catalogue.UNARY_ROWS:
            return catalogue.UNARY_ROWS[name](self.expr(node.args[0]))
        if name in catalogue.ELEMENTWISE:
            args = [self.expr(a) for a in node.args]
            named = {key: self.expr(value) for key, (value, _) in keywords.items()}
            return catalogue.ELEMENTWISE[name](*args, **named)
        if name in catalogue.REDUCTIONS:
            return self._reduction(node, name, keywords)
        if name in catalogue.ALONG_AXIS:
            x = self.expr(node.args[0])
            axis = self._axis(
                node, keywords, x, default=-1 if name.endswith("softmax") or name == "sort" else None
            )
            return catalogue.ALONG_AXIS[name](x, axis)
        raise GradcliError(f"'{node.function}' is not implemented", node.span)

    def _made_shape(self, node: Expr) -> tuple[int, ...]:
        """The shape a constructor is given (zeros([2, 3])): sizes not negative, and an array that
        fits --limit memory in float64."""
        shape = _shape_constant(node)
        if any(d < 0 for d in shape):
            raise GradcliError(f"a shape has no negative sizes, got {list(shape)}", node.span)
        self._bounded_shape(shape, "array", node.span)
        return shape

    def _bounded_shape(self, shape: tuple[int, ...], noun: str, span: Span) -> None:
        """Refuse, before it is built, an array of `shape` (made by zeros, tile, ...) with too many
        axes or beyond --limit memory; an empty one by its other sizes, as NumPy refuses those
        beyond its index range."""
        if len(shape) > MAX_DIMENSIONS:
            message = f"this would have {len(shape)} axes; at most {MAX_DIMENSIONS} are supported"
            raise GradcliError(message, span)
        if all(shape):
            self._bounded(math.prod(shape), f"this {noun}", span)
        else:
            self._bounded(math.prod(d for d in shape if d), f"this empty {noun}'s other sizes", span)

    def _filled(self, node: Call, keywords) -> Node:
        return ops.full_like(self._made_shape(node.args[0]), int(node.function == "ones"))

    def _eye(self, node: Call, keywords) -> Node:
        """np.eye(N, M=None, k=0): the identity row for a square eye; with M or k, a constant mask
        of ones on the k-th diagonal (a literal, so at most --limit elements of it)."""
        n = _size_constant(node.args[0], node.args[0].span, "eye")
        given = self._static(node, keywords, "M", 1)
        m = n if given is None or _is_none(given[0]) else _size_constant(*given, "eye")
        given = self._static(node, keywords, "k", 2)
        k = 0 if given is None else _integer_constant(*given, "k is an integer (the diagonal), e.g. k=1")
        if m == n and k == 0:
            self._bounded(n * n, "this eye", node.span)
            return ops.EYE(n=n)
        self._listed(n * m, "eye", node.span)
        self._bounded_shape((n, m), "eye", node.span)  # eye(0, 10**30): its other size, as zeros
        k = max(-n, min(k, m))  # beyond the matrix, every k gives the same (empty) diagonal
        return ops.literal(np.eye(n, m, k, dtype=int).tolist())

    def _full(self, node: Call, keywords) -> Node:
        return catalogue.full(self._made_shape(node.args[0]), self.expr(node.args[1]))

    def _arange(self, node: Call, keywords) -> Node:
        """np.arange(stop), (start, stop) or (start, stop, step), each also by keyword as NumPy 2
        takes them (arange(stop=5), arange(start=1, stop=5)): exact integers where all three are
        integers, else NumPy's float64 values (of constant expressions too: arange(0, 2 * pi,
        pi / 4)); at most --limit elements of them."""
        written = "arange takes numbers written in the program"
        given = dict(zip(("start", "stop", "step"), ((a, a.span, written) for a in node.args)))
        for place, keyword in enumerate(("start", "stop", "step"), 1):
            if keyword in keywords and keyword in given:
                message = f"arange: {keyword} is given twice (as argument {place} and as {keyword}=)"
                raise GradcliError(message, keywords[keyword][1])
            if keyword in keywords:
                example = f"{keyword} is a number, e.g. {keyword}={'0.5' if keyword == 'step' else '5'}"
                given[keyword] = (*keywords[keyword], example)
        if "stop" not in given:
            if "start" not in given or "start" in keywords:  # NumPy 2 refuses arange(start=5)
                raise GradcliError("arange() requires stop, e.g. arange(5) or arange(stop=5)", node.span)
            given["stop"] = given.pop("start")  # arange(5): the one number is stop
        start, stop, step = (
            self._number(*given[k]) if k in given else default
            for k, default in (("start", 0), ("stop", 0), ("step", 1))
        )
        if step == 0:
            raise GradcliError("arange: step must not be 0", node.span)
        if all(isinstance(v, int) for v in (start, stop, step)):
            self._listed(-((start - stop) // step), "arange", node.span)
            return ops.literal(tuple(range(start, stop, step)))
        start, stop, step = (float(v) for v in (start, stop, step))
        count = (stop - start) / step  # inf where it overflows
        count = math.ceil(count) if math.isfinite(count) and abs(count) < 2**62 else count
        self._listed(count, "arange", node.span)
        return ops.literal(tuple(np.arange(start, stop, step, dtype=np.float64).tolist()))

    def _linspace(self, node: Call, keywords) -> Node:
        """np.linspace(start, stop, num=50, endpoint=True): NumPy's float64 values."""
        start, stop = (
            self._number(a, a.span, "linspace takes numbers written in the program") for a in node.args[:2]
        )
        given = self._static(node, keywords, "num", 2)
        num = 50 if given is None else _integer_constant(*given, "num is a count, e.g. num=5")
        if num < 0:
            raise GradcliError(f"linspace: num must not be negative, got {num}", given[1])
        endpoint = self._static(node, keywords, "endpoint", 3)
        closed = True if endpoint is None else bool(_integer_constant(*endpoint, "endpoint is True or False"))
        self._listed(num, "linspace", node.span)
        with np.errstate(all="ignore"):  # stop - start beyond float64 is inf: NaN and inf, as NumPy's
            values = np.linspace(float(start), float(stop), num, endpoint=closed)
        return ops.literal(tuple(values.tolist()))

    def _number(self, node: Expr, span: Span, message: str):
        """A number the program writes for arange or linspace: an integer (exact, however large),
        or a constant expression of numbers, pi and e (1/3, 2 * pi, 2 ** 0.5) as its float64 value,
        as NumPy computes it; within float64's range (not inf or NaN)."""
        value = self.expr(node)  # exact arithmetic bounded by the limits, as anywhere
        if value.shape != () or numbers.leaves([value]):
            raise GradcliError(f"{message}, within float64's range", span)
        exact = ops.scalar_value(value)
        if not isinstance(exact, int):
            with np.errstate(all="ignore"):
                exact = float(numbers.evaluate([value], {})[0])
        if not math.isfinite(to_float(exact)):
            raise GradcliError(f"{message}, within float64's range", span)
        return exact

    def _listed(self, length, what: str, span: Span) -> None:
        """A constructor's values are a literal written out: at most --limit elements of them."""
        if length > self.limits.elements:
            count = length if isinstance(length, int) else f"{length:.3g}"
            raise LimitError(
                f"{what} would make {count} values, more than the limit of {self.limits.elements}; "
                "raise it with --limit elements=N",
                span,
            )

    def _transpose(self, node: Call, keywords) -> Node:
        axes = keywords["axes"][0] if "axes" in keywords else (node.args[1] if len(node.args) > 1 else None)
        return ops.transpose(self.expr(node.args[0]), None if axes is None else _ints(axes))

    def _reshape(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        return ops.reshape(x, _reshape_target(x, _shape_constant(node.args[1])))

    def _broadcast_to(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        shape = _shape_constant(node.args[1])
        try:
            fits = np.broadcast_shapes(x.shape, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"cannot broadcast shape {list(x.shape)} to {list(shape)}")
        return ops.broadcast_to(x, shape)

    def _norm(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        order = self._static(node, keywords, "ord", 1)
        order = None if order is None else _static_number(*order)
        axis = self._axis(node, keywords, x, default=None, position=2)
        keepdims = bool(_integer_constant(*keywords["keepdims"])) if "keepdims" in keywords else False
        return catalogue.norm(x, order, axis, keepdims)

    def _einsum(self, node: Call, keywords) -> Node:
        subscripts = node.args[0]
        if not isinstance(subscripts, Str):
            raise GradcliError(
                'einsum takes its subscripts first, as a string: einsum("ij,jk->ik", a, b)', node.span
            )
        operands = [self.expr(a) for a in node.args[1:]]
        try:
            return catalogue.einsum(subscripts.value, *operands)
        except ShapeError as error:
            error.span = subscripts.span
            raise

    def _grad(self, node: Call, keywords) -> Node:
        """grad(y, x): the gradient of sum(y) with respect to x (a variable or a defined name), as
        nodes of this program, so later definitions use it and it is differentiated again."""
        y = self.expr(node.args[0])
        target = node.args[1]
        if not isinstance(target, Name) or target.id not in self.nodes:
            raise GradcliError("grad(y, x) takes a variable or a defined name as x", target.span)
        x = self.nodes[target.id]
        if x.op is ops.CONSTANT:
            raise GradcliError(
                f"'{target.id}' is a constant, so no gradient is taken with respect to it; "
                "declare it with 'var'",
                target.span,
            )
        (gradient,) = ad.vjp([(y, ops.full_like(y, 1))], [x])
        return gradient if gradient is not None else ops.zeros(x.shape)

    def _items(self, node: Call) -> list[Node]:
        """The arrays of a function that takes a list of them (concatenate, stack, hstack, vstack)."""
        sequence = node.args[0]
        if not isinstance(sequence, (ListExpr, TupleExpr)) or not sequence.items:
            raise GradcliError(f"{node.function}() takes a list of arrays, e.g. [a, b]", node.span)
        return [self.expr(item) for item in sequence.items]

    def _join(self, node: Call, keywords) -> Node:
        items = self._items(node)
        axis = _integer_constant(*keywords["axis"]) if "axis" in keywords else 0
        if node.function == "stack":
            ndim = items[0].ndim + 1
            axis = ops.normalize_axes(axis, ndim)[0]
            items = [ops.reshape(i, (*i.shape[:axis], 1, *i.shape[axis:])) for i in items]
        else:
            axis = ops.normalize_axes(axis, max(items[0].ndim, 1))[0]
        return ops.CONCATENATE(*items, axis=axis)

    def _stacked(self, node: Call, keywords) -> Node:
        """np.hstack (along axis 1, or 0 for vectors) and np.vstack (vectors as rows)."""
        least = 2 if node.function == "vstack" else 1  # np.atleast_2d or np.atleast_1d of each
        items = [
            ops.reshape(i, (1,) * (least - i.ndim) + i.shape) if i.ndim < least else i
            for i in self._items(node)
        ]
        return ops.CONCATENATE(*items, axis=0 if node.function == "vstack" or items[0].ndim == 1 else 1)

    def _clip(self, node: Call, keywords) -> Node:
        """clip(x, lo, hi) with either bound None (np.clip(x, 0, None)): a one-sided clip."""
        x = self.expr(node.args[0])
        low, high = (None if _is_none(bound) else self.expr(bound) for bound in node.args[1:])
        if low is None and high is None:
            raise GradcliError("clip needs a lower or an upper bound (both are None)", node.span)
        if high is None:
            return ops.MAXIMUM(x, low)
        return catalogue.clip(x, low, high) if low is not None else ops.MINIMUM(x, high)

    def _round(self, node: Call, keywords) -> Node:
        """round(x, decimals=D): round(x * 10 ** D) / 10 ** D, as NumPy computes it."""
        x = self.expr(node.args[0])
        given = self._static(node, keywords, "decimals", 1)
        decimals = 0 if given is None else _integer_constant(*given, "decimals is an integer, e.g. 2")
        if abs(decimals) > self.limits.exponent:  # 10 ** decimals is exact: bounded before it is made
            raise LimitError(
                f"round: decimals={decimals} makes an exact power with exponent beyond "
                f"{self.limits.exponent}; raise it with --limit exponent=N",
                given[1],
            )
        if decimals == 0:
            return ops.ROUND(x)
        scale = ops.literal(Fraction(10) ** decimals)
        return ops.ROUND(x * scale) / scale

    def _cast(self, node: Call, keywords) -> Node:
        """x.astype(float), np.float64(x), np.int64(x) (the parser names the dtype) and Python's
        float(s) and int(s), which take one number."""
        x = self.expr(node.args[0])
        if node.function in spelling.SCALAR_CASTS and x.shape != ():
            raise GradcliError(
                f"{node.function}() takes one number, got an array of shape {list(x.shape)}; for an array "
                f"write x.astype({node.function})",
                node.span,
            )
        return catalogue.CASTS[node.function](x)

    def _triangle(self, node: Call, keywords) -> Node:
        given = self._static(node, keywords, "k", 1)
        k = 0 if given is None else _integer_constant(*given, "k is an integer (the diagonal), e.g. k=1")
        return catalogue.triangle(self.expr(node.args[0]), k, upper=node.function == "triu")

    def _axes_moved(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        if node.function == "swapaxes":
            first, second = (_integer_constant(a, a.span) for a in node.args[1:])
            return catalogue.swapaxes(x, first, second)
        return catalogue.moveaxis(x, _ints(node.args[1]), _ints(node.args[2]))

    def _matrix_power(self, node: Call, keywords) -> Node:
        power = node.args[1]
        n = _integer_constant(power, power.span, "matrix_power takes an integer power, e.g. 3")
        return catalogue.matrix_power(self.expr(node.args[0]), n)

    def _required(self, node: Call, keywords, keyword: str, position: int, example: str):
        given = self._static(node, keywords, keyword, position)
        if given is None:
            raise GradcliError(f"{node.function}() needs {keyword}, e.g. {example}", node.span)
        return given

    def _bounded(self, size: int, what: str, span: Span) -> None:
        """Refuse, before it is built, an array larger than --limit memory allows in float64."""
        if size * 8 > self.limits.memory * 2**20:
            raise LimitError(
                f"{what} would have {size} elements, more than --limit memory={self.limits.memory} MiB "
                "allows; raise it with --limit memory=MIB",
                span,
            )

    def _roll(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        shift, span = self._required(node, keywords, "shift", 1, "roll(x, 1)")
        shifts = _int_items(shift, span, "shift is an integer or a tuple of integers, e.g. 1 or (1, -2)")
        axis = self._axis(node, keywords, x, default=None, position=2)
        return catalogue.roll(x, shifts, axis)

    def _tile(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        given, span = self._required(node, keywords, "reps", 1, "tile(x, 2) or tile(x, (2, 1))")
        reps = _int_items(given, span, "reps is an integer or a tuple of integers, e.g. (2, 1)")
        self._bounded_shape(catalogue.tiled_shape(x.shape, reps), "tile", span)
        return catalogue.tile(x, reps)

    def _repeat(self, node: Call, keywords) -> Node:
        x = self.expr(node.args[0])
        given, span = self._required(node, keywords, "repeats", 1, "repeat(x, 2)")
        repeats = _int_items(given, span, "repeats is an integer or a list of integers, e.g. 2 or [1, 2]")
        if x.ndim == 0:  # NumPy repeats a 0-d array as one of shape [1] (along axis 0 or -1)
            x = ops.reshape(x, (1,))
        axis = self._axis(node, keywords, x, default=None, position=2)
        shape = catalogue.repeated_shape(x.shape, repeats, axis)
        self._bounded_shape(shape, "repeat", span)
        total = shape[0 if axis is None else axis]
        if len(repeats) > 1 and total > self.limits.elements:  # before the index that names them
            raise LimitError(
                f"repeat with one count per element names {total} elements, more than the limit of "
                f"{self.limits.elements}; raise it with --limit elements=N",
                span,
            )
        return catalogue.repeat(x, repeats, axis)

    def _tensordot(self, node: Call, keywords) -> Node:
        a, b = self.expr(node.args[0]), self.expr(node.args[1])
        given = self._static(node, keywords, "axes", 2)
        if given is None:
            return catalogue.tensordot(a, b, 2)
        value, span = given
        message = "axes is an integer or a pair of axis lists, e.g. axes=2 or axes=([1, 0], [0, 1])"
        if not isinstance(value, (ListExpr, TupleExpr)):
            axes = _integer_constant(value, span, message)
        elif len(value.items) != 2:
            raise GradcliError(message, span)
        else:
            axes = tuple(_int_items(item, item.span, message) for item in value.items)
        try:
            return catalogue.tensordot(a, b, axes)
        except ShapeError as error:
            error.span = span
            raise

    def _average(self, node: Call, keywords) -> Node:
        """np.average(a, axis=None, weights=None, keepdims=False)."""
        x = self.expr(node.args[0])
        axis = self._axis(node, keywords, x, default=None)
        given = self._static(node, keywords, "weights", 2)
        weights = None if given is None or _is_none(given[0]) else self.expr(given[0])
        keepdims = bool(_integer_constant(*keywords["keepdims"])) if "keepdims" in keywords else False
        try:
            return catalogue.average(x, axis, weights, keepdims)
        except ShapeError as error:
            error.span = given[1] if given is not None else node.span
            raise

    def _optional(self, node: Call, keywords, keyword: str, position: int) -> Node | None:
        """An array argument that may be left out or given as None."""
        given = self._static(node, keywords, keyword, position)
        return None if given is None or _is_none(given[0]) else self.expr(given[0])

    def _diff(self, node: Call, keywords) -> Node:
        """np.diff(a, n=1, axis=-1, prepend=None, append=None)."""
        x = self.expr(node.args[0])
        given = self._static(node, keywords, "n", 1)
        n = 1 if given is None else _integer_constant(*given, "n is an integer (the order), e.g. n=2")
        axis = self._axis(node, keywords, x, default=-1, position=2)
        prepend, append = (self._optional(node, keywords, k, _KEYWORD_ONLY) for k in ("prepend", "append"))
        try:
            return catalogue.diff(x, n, axis, prepend, append)
        except ShapeError as error:
            error.span = given[1] if given is not None and n < 0 else node.span
            raise

    def _trapezoid(self, node: Call, keywords) -> Node:
        """np.trapezoid(y, x=None, dx=1.0, axis=-1) and its old name trapz."""
        y = self.expr(node.args[0])
        x = self._optional(node, keywords, "x", 1)
        dx = self._optional(node, keywords, "dx", 2)
        axis = self._axis(node, keywords, y, default=-1, position=3)
        return catalogue.trapezoid(y, x, 1 if dx is None else dx, axis)

    def _take(self, node: Call, keywords) -> Node:
        """np.take(a, indices, axis=None): indices an integer or (nested) lists of them."""
        x = self.expr(node.args[0])
        indices = node.args[1]
        message = "take: indices are an integer or a list of integers written in the program, e.g. [0, 2]"
        values = _int_nested(indices, message)
        if np.shape(np.array(values, dtype=object)) != _nested_shape(values):
            raise GradcliError("take: the lists of indices are not all of one length", indices.span)
        axis = self._axis(node, keywords, x, default=None, position=2)
        try:
            return catalogue.take(x, values, axis)
        except ShapeError as error:
            error.span = indices.span
            raise

    def _pad(self, node: Call, keywords) -> Node:
        """np.pad(array, pad_width, mode="constant", constant_values=0)."""
        x = self.expr(node.args[0])
        width = node.args[1]
        message = "pad: pad_width is an integer, (before, after) or one (before, after) per axis"
        try:
            widths = catalogue.pad_widths(_int_nested(width, message), x.ndim)
        except ShapeError as error:
            error.span = width.span
            raise
        mode = self._static(node, keywords, "mode", 2)
        if mode is not None and not (isinstance(mode[0], Str) and mode[0].value == "constant"):
            written = f', not "{mode[0].value}"' if isinstance(mode[0], Str) else ""
            raise GradcliError(
                f'pad: only mode="constant" is available (constant_values around the array){written}', mode[1]
            )
        self._bounded_shape(catalogue.padded_shape(x.shape, widths), "pad", node.span)
        value = self._optional(node, keywords, "constant_values", _KEYWORD_ONLY)
        try:
            return catalogue.pad(x, widths, 0 if value is None else value)
        except ShapeError as error:
            error.span = keywords["constant_values"][1]
            raise

    def _columns(self, node: Call, keywords) -> Node:
        """np.column_stack and np.dstack of a list of arrays."""
        joined = catalogue.column_stack if node.function == "column_stack" else catalogue.dstack
        return joined(self._items(node))

    def _reduction(self, node: Call, name: str, keywords) -> Node:
        x = self.expr(node.args[0])
        axis = self._axis(node, keywords, x, default=None)
        keepdims = bool(_integer_constant(*keywords["keepdims"])) if "keepdims" in keywords else False
        if "ddof" in keywords:
            ddof = _integer_constant(*keywords["ddof"], "ddof is an integer, e.g. ddof=1")
            return catalogue.REDUCTIONS[name](x, axis, keepdims, ddof)
        return catalogue.REDUCTIONS[name](x, axis, keepdims)

    @staticmethod
    def _static(node: Call, keywords, keyword: str, position: int):
        """A static argument, given by keyword or at a position: (expression, place) or None."""
        if keyword in keywords:
            return keywords[keyword]
        if len(node.args) > position:
            return node.args[position], node.args[position].span
        return None

    def _axis(self, node: Call, keywords, x: Node, default, position: int = 1):
        """axis=K, axis=(K, L) or axis=None (or the argument at `position`), checked against x."""
        given = self._static(node, keywords, "axis", position)
        if given is None:
            return default
        value, span = given
        if _is_none(value):
            return None
        several = isinstance(value, (TupleExpr, ListExpr))  # axis=(0, 1) or, as NumPy also takes, [0, 1]
        message = "axis must be an integer, e.g. axis=0" + _two_values_hint(node.function)
        axis = _ints(value) if several else _integer_constant(value, span, message)
        for item in axis if isinstance(axis, tuple) else (axis,):
            if x.ndim == 0 or not -x.ndim <= item < x.ndim:
                if node.function == "expand_dims":
                    continue  # counts axes of the result
                message = f"axis {item} is out of range for an operand of shape {list(x.shape)}"
                raise GradcliError(message + _two_values_hint(node.function), span)
        return axis

    def _index(self, node: Index) -> Node:
        base = self.expr(node.base)
        return ops.getitem(base, self._key(node.items, base, node.span))

    def _key(self, items, base: Node, span: Span) -> tuple:
        """A model index as an ops key, checked against the base's shape."""
        real = [i for i in items if i is not None and i is not Ellipsis]
        if len(real) > base.ndim:
            raise GradcliError(
                f"too many indices: {len(real)} for an operand of shape {list(base.shape)}", span
            )
        if sum(i is Ellipsis for i in items) > 1:
            raise GradcliError("an index can have only one '...'", span)
        expanded = []
        for item in items:
            if item is Ellipsis:
                expanded += [Slice(None, None, None, span)] * (base.ndim - len(real))
            else:
                expanded.append(item)
        key, axis = [], 0
        for item in expanded:
            if item is None:
                key.append(None)
                continue
            size = base.shape[axis]
            if isinstance(item, Slice):
                if item.step == 0:
                    raise GradcliError("slice step cannot be zero", span)
                key.append(("slice", item.start, item.stop, item.step))
            elif isinstance(item, tuple):
                for i in item:
                    if not -size <= i < size:
                        raise GradcliError(f"index {i} is out of range for axis {axis} of size {size}", span)
                key.append(("list", tuple(i % size for i in item)))
            else:
                if not -size <= item < size:
                    raise GradcliError(f"index {item} is out of range for axis {axis} of size {size}", span)
                key.append(item % size)
            axis += 1
        return tuple(key)


_KEYWORD_ONLY = 1 << 30  # the position of an argument given only by keyword (no call has that many)

_SPECIAL_CALLS = {
    "zeros": _Lowering._filled,
    "ones": _Lowering._filled,
    "eye": _Lowering._eye,
    "full": _Lowering._full,
    "concatenate": _Lowering._join,
    "stack": _Lowering._join,
    "transpose": _Lowering._transpose,
    "reshape": _Lowering._reshape,
    "broadcast_to": _Lowering._broadcast_to,
    "norm": _Lowering._norm,
    "einsum": _Lowering._einsum,
    "grad": _Lowering._grad,
    "hstack": _Lowering._stacked,
    "vstack": _Lowering._stacked,
    "clip": _Lowering._clip,
    "round": _Lowering._round,
    "triu": _Lowering._triangle,
    "tril": _Lowering._triangle,
    "swapaxes": _Lowering._axes_moved,
    "moveaxis": _Lowering._axes_moved,
    "matrix_power": _Lowering._matrix_power,
    "roll": _Lowering._roll,
    "tile": _Lowering._tile,
    "repeat": _Lowering._repeat,
    "tensordot": _Lowering._tensordot,
    "arange": _Lowering._arange,
    "linspace": _Lowering._linspace,
    "average": _Lowering._average,
    "diff": _Lowering._diff,
    "trapezoid": _Lowering._trapezoid,
    "take": _Lowering._take,
    "pad": _Lowering._pad,
    "column_stack": _Lowering._columns,
    **dict.fromkeys(catalogue.CASTS, _Lowering._cast),
    "dstack": _Lowering._columns,
}


def _builtin_name(node: Name) -> Node:
    """pi and e (exact symbols) and inf, where the program does not declare or define the name."""
    if node.id in ops.MATH_CONSTANTS:
        return ops.math_constant(node.id)
    if node.id == "inf":
        return ops.literal(math.inf)
    raise GradcliError(f"'{node.id}' stands only for an axis (axis=None) or a new axis (x[None])", node.span)


def _static_number(node: Expr, span: Span):
    """A number written in the program (ord=2, ord=-1, ord=inf, ord=-inf)."""
    negative = isinstance(node, Unary) and node.op == "-"
    inner = node.operand if negative else node
    if isinstance(inner, Num):
        value = inner.value
    elif isinstance(inner, Name) and inner.id == "inf":
        value = math.inf
    else:
        raise GradcliError("this is a number written in the program, e.g. ord=1 or ord=inf", span)
    return -value if negative else value


def _size_constant(node: Expr, span: Span, function: str) -> int:
    """A size written in the program: a non-negative integer."""
    n = _integer_constant(node, span, f"{function} takes a size, e.g. {function}(3)")
    if n < 0:
        raise GradcliError(f"{function}: the size must not be negative, got {n}", span)
    return n


def _is_none(node: Expr) -> bool:
    return isinstance(node, Name) and node.id == "None"


def _shape_constant(node: Expr) -> tuple[int, ...]:
    """A shape written as a list or tuple of integers (or one integer)."""
    message = "a shape is a list of integers, e.g. [2, 3]"
    if isinstance(node, (ListExpr, TupleExpr)):
        return tuple(_integer_constant(item, item.span, message) for item in node.items)
    return (_integer_constant(node, node.span, message),)


def _ints(node: Expr) -> tuple[int, ...]:
    if isinstance(node, (ListExpr, TupleExpr)):
        return tuple(_integer_constant(item, item.span) for item in node.items)
    return (_integer_constant(node, node.span),)


def _int_items(node: Expr, span: Span, message: str) -> tuple[int, ...]:
    """An integer or a list or tuple of integers written in the program, as a tuple."""
    if isinstance(node, (ListExpr, TupleExpr)):
        return tuple(_integer_constant(item, item.span, message) for item in node.items)
    return (_integer_constant(node, span, message),)


def _int_nested(node: Expr, message: str):
    """An integer, or (nested) lists or tuples of integers, written in the program."""
    if isinstance(node, (ListExpr, TupleExpr)):
        return tuple(_int_nested(item, message) for item in node.items)
    return _integer_constant(node, node.span, message)


def _nested_shape(value) -> tuple[int, ...]:
    """The shape of nested tuples along their first items (compared with NumPy's to find ragged ones)."""
    shape = []
    while isinstance(value, tuple):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _reshape_target(x: Node, shape: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's reshape target with at most one -1 worked out."""
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ShapeError(
            f"cannot reshape into {list(shape)}: only one -1 is allowed and no other negative size"
        )
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1], dtype=np.int64))
        if known == 0 or x.size % known:
            raise ShapeError(f"cannot reshape an array of shape {list(x.shape)} into {list(shape)}")
        shape = tuple(x.size // known if d == -1 else d for d in shape)
    return shape


def _two_values_hint(function: str) -> str:
    """For max(a, b) and min(a, b) as Python writes them (NumPy reads b as an axis): what to write."""
    elementwise = spelling.ELEMENTWISE_OF_TWO.get(function)
    if elementwise is None:
        return ""
    return f"; {function}(x, axis) reduces x: for two values element-wise write {elementwise}(a, b)"


def _integer_constant(node: Expr, span: Span, message: str = "axis must be an integer, e.g. axis=0") -> int:
    value = _folded_integer(node)
    if value is None:
        raise GradcliError(message, span)
    return value


_INTEGER_ARITHMETIC = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "//": operator.floordiv, "%": operator.mod,
    "**": operator.pow,
}  # fmt: skip
STATIC_INTEGER_BITS = 4096  # integer arithmetic in a static argument (a shift, a count) stays below this


def _folded_integer(node: Expr) -> int | None:
    """An integer written as a number or as integer arithmetic of numbers (10**9, -2 * 3), as Python
    computes it; None for anything else (a float, a name, a division by zero, a negative power, or
    arithmetic that makes a number much longer than STATIC_INTEGER_BITS bits)."""
    if isinstance(node, Num):
        return node.value if isinstance(node.value, int) else None
    if isinstance(node, Unary):
        value = _folded_integer(node.operand)
        return None if value is None else (-value if node.op == "-" else value)
    if not isinstance(node, Binary) or node.op not in _INTEGER_ARITHMETIC:
        return None
    left, right = _folded_integer(node.left), _folded_integer(node.right)
    if left is None or right is None or (node.op in ("//", "%") and right == 0):
        return None
    if node.op == "**" and (right < 0 or (abs(left) > 1 and right * left.bit_length() > STATIC_INTEGER_BITS)):
        return None
    value = _INTEGER_ARITHMETIC[node.op](left, right)
    longest = max(STATIC_INTEGER_BITS, left.bit_length(), right.bit_length())
    return value if value.bit_length() <= longest + 1 else None


class _Constants:
    """Checks on exact numbers before anything computes them: every node keeps a cheap bound on the
    bits of the exact numbers in it (a variable counts as 1), so an exact power or product too
    large for `--limit bits` (or an exponent beyond `--limit exponent`) is refused from the
    program's text; and a constant that is undefined (1/0, log(0)) is an error."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.bits: dict[int, int] = {}  # node id -> bound on the bits of its exact numbers
        self.constant: dict[int, bool] = {}  # node id -> no variable or constant name below it
        self.keep: list[Node] = []

    def check(self, node: Node, span: Span) -> None:
        for item in postorder([node], self.bits):
            self.keep.append(item)
            self.constant[id(item)] = item.op not in (ops.VARIABLE, ops.CONSTANT) and all(
                self.constant[id(a)] for a in item.args
            )
            self.bits[id(item)] = self._bits(item, span)
        if self.constant[id(node)] and node.size <= self.limits.elements:
            self._defined(node, span)
        divisor = node.args[1] if node.op is ops.DIVIDE else None
        if divisor is not None and self.constant[id(divisor)] and divisor.size <= self.limits.elements:
            (values,) = elements.evaluate([divisor], {})
            if any(functions.is_number(v) and float(v) == 0 for v in values.flat):
                raise GradcliError(_UNDEFINED, span)

    def _bits(self, node: Node, span: Span) -> int:
        """A bound on the bits of the exact number a constant node folds to, or, for a node with
        variables, of its numeric coefficient (SymEngine distributes a power over a product's
        numbers: (2*x)**n is 2**n * x**n; it never expands a sum)."""
        if node.op is ops.LITERAL:
            return max((_bits_of(v) for v in _flat(node.param("value"))), default=1)
        if not node.args:
            return 0  # a name: its value is bounded when it is evaluated
        parts = [self.bits[id(a)] for a in node.args]
        constant = self.constant[id(node)]
        if node.op is ops.POWER:
            exponent = ops.scalar_value(node.args[1])
            base = ops.scalar_value(node.args[0])
            unit = base is not None and not isinstance(base, float) and abs(base) <= 1
            if not isinstance(exponent, int) or unit:
                return parts[0]
            if abs(exponent) > self.limits.exponent and self.constant[id(node.args[0])]:
                raise LimitError(
                    f"exact power with exponent {exponent} is too large (limit {self.limits.exponent}); "
                    "write the base as a float (e.g. 2.0) for a floating-point result, or --limit exponent=N",
                    span,
                )
            total = parts[0] * max(abs(exponent), 1)
        elif node.op in (ops.MULTIPLY, ops.DIVIDE, ops.MATMUL):
            total = sum(parts) + (node.args[0].shape[-1].bit_length() if node.op is ops.MATMUL else 0)
        elif not constant:
            return 0  # a sum or a function of variables keeps its numbers inside
        elif node.op in (ops.ADD, ops.SUBTRACT, ops.NEGATIVE, ops.SUM):
            total = max(parts) + 1
        else:
            return max(parts)  # a function keeps its argument's numbers (sqrt(3) ** n is 3 ** (n/2))
        if total > self.limits.bits:
            raise LimitError(
                f"an exact number here would have more than {self.limits.bits} bits; write a number "
                "as a float (e.g. 2.0) for floating-point arithmetic, or --limit bits=N",
                span,
            )
        if self.constant[id(node)]:
            count = node.size * (node.args[0].shape[-1] if node.op is ops.MATMUL else 1)
            if count * total > FOLDED_BITS_FACTOR * self.limits.bits:
                raise LimitError(
                    f"this folds {count} exact numbers of up to {total} bits, more than "
                    f"{FOLDED_BITS_FACTOR} x --limit bits allows in one operation; write a number as a float "
                    "(e.g. 2.0), or --limit bits=N",
                    span,
                )
        return total

    def _defined(self, node: Node, span: Span) -> None:
        with np.errstate(all="ignore"):
            (values,) = elements.evaluate([node], {})
        if any(_undefined(v) for v in values.flat):
            raise GradcliError(_UNDEFINED, span)


_UNDEFINED = (
    "this is undefined for its constant inputs (a division by zero or log(0)); the derivative would "
    "be meaningless"
)
FOLDED_BITS_FACTOR = 10_000  # exact numbers one operation folds, in all: this many times `bits`


def _flat(value):
    if isinstance(value, tuple):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def _bits_of(value) -> int:
    if isinstance(value, float):
        return 64
    value = Fraction(value)
    return max(value.numerator.bit_length(), value.denominator.bit_length(), 1)


def _undefined(element) -> bool:
    """SymEngine's exact infinities and NaN, from folding constants (1/0 is zoo, not NumPy's inf)."""
    return type(element).__name__ in ("ComplexInfinity", "Infinity", "NegativeInfinity", "NaN")
