"""Lowering: Program -> NumPy object arrays of SymEngine scalars, with NumPy's shape rules and located errors.

Variables and constants become arrays of element symbols (labelled `w[0,1]`); each definition becomes
an array of expressions in those symbols (SymEngine scalars). Definitions used twice are the same
objects, so the result is a shared expression graph (a DAG), never copied per use.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import symengine as se

from gradcli import functions
from gradcli.errors import GradcliError, LimitError, Span
from gradcli.model import (
    Binary,
    Call,
    Expr,
    Index,
    Limits,
    ListExpr,
    Name,
    Num,
    Program,
    Slice,
    Transpose,
    Unary,
)

PRODUCT_FACTOR = 10  # terms of a matmul or dot before summing, against the element limit


@dataclass(frozen=True)
class Lowered:
    """The program as arrays: element symbols of each declaration, element expressions of each definition."""

    program: Program
    symbols: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]  # every name: symbols for declarations, expressions for definitions

    def shape(self, name: str) -> tuple[int, ...]:
        return self.arrays[name].shape

    def owner(self) -> dict[se.Symbol, str]:
        """Which declared name each element symbol belongs to."""
        return {s: name for name, syms in self.symbols.items() for s in syms.flat}


def label(name: str, index: tuple[int, ...]) -> str:
    """The element label of SPEC: `x`, `x[2]`, `x[0,1]`."""
    return name if not index else f"{name}[{','.join(map(str, index))}]"


def labels(name: str, shape: tuple[int, ...]) -> list[str]:
    """Labels of every element, row-major."""
    return [label(name, idx) for idx in itertools.product(*(range(d) for d in shape))]


def tensor(value) -> np.ndarray:
    """Wrap a SymEngine scalar or an array-like as an object array (0-d for a scalar)."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value
    out = np.empty(np.shape(value) if isinstance(value, np.ndarray) else (), dtype=object)
    if out.shape == ():
        out[()] = value if not isinstance(value, np.ndarray) else value[()]
    else:
        out[...] = value
    return out


def distinct(array: np.ndarray) -> tuple[list, np.ndarray]:
    """The distinct elements of an array and each element's index among them.

    Derivatives are mostly the one shared zero (a Hessian of a million entries may hold a few
    thousand others), so those are found by identity, vectorised, and only the rest hashed."""
    objects = array.reshape(-1)
    identities = np.fromiter(map(id, objects), dtype=np.uintp, count=objects.size)
    zero = identities == id(functions.ZERO)
    index: dict = {functions.ZERO: 0} if zero.any() else {}
    codes = np.zeros(objects.size, dtype=np.intp)
    rest = np.flatnonzero(~zero)
    codes[rest] = [index.setdefault(objects[i], len(index)) for i in rest]
    return list(index), codes.reshape(array.shape)


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for idx in itertools.product(*(range(d) for d in shape)):
        out[idx] = se.Symbol(label(name, idx))
    return out


def scalar(value) -> se.Number:
    """A Python int, Fraction or float as an exact SymEngine number or a float64 one."""
    if isinstance(value, float):
        return se.RealDouble(value)
    if isinstance(value, int):
        return se.Integer(value)
    return se.Rational(value.numerator, value.denominator)


def lower(program: Program, stop: tuple[str, ...] = (), limits: Limits | None = None) -> Lowered:
    """Lower every declaration and definition. Raises GradcliError on a shape error or a limit."""
    lowering = _Lowering(limits or Limits())
    symbols = {}
    try:
        with np.errstate(all="ignore"):  # float constants fold by NumPy's rules: log(0.0) is -inf
            for decl in program.declarations:
                lowering.check_size(decl.shape, decl.span, f"'{decl.name}'")
                symbols[decl.name] = element_symbols(decl.name, decl.shape)
                lowering.arrays[decl.name] = symbols[decl.name]
            for definition in program.definitions:
                value = lowering.expr(definition.expr)
                if definition.name in stop:
                    value = _map1(functions.stop, value)
                lowering.arrays[definition.name] = value
    except GradcliError as error:
        raise error.located(program.source, program.filename) from None
    return Lowered(program, symbols, lowering.arrays)


def _map1(function, a: np.ndarray) -> np.ndarray:
    return tensor(np.frompyfunc(function, 1, 1)(a))


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(list(shape))


class _Lowering:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.arrays: dict[str, np.ndarray] = {}

    def check_size(self, shape: tuple[int, ...], span: Span, what: str) -> None:
        size = int(np.prod(shape, dtype=object)) if shape else 1
        if size > self.limits.elements:
            raise LimitError(
                f"{what} would have {size} elements, more than the limit of {self.limits.elements}; "
                "raise it with --limit elements=N",
                span,
            )

    def check_products(self, shape: tuple[int, ...], span: Span, what: str) -> None:
        """A product's terms, before they are summed, may number 10 times the element limit."""
        size = int(np.prod(shape, dtype=object)) if shape else 1
        if size > PRODUCT_FACTOR * self.limits.elements:
            raise LimitError(
                f"{what} needs {size} products, more than the limit of "
                f"{PRODUCT_FACTOR * self.limits.elements} ({PRODUCT_FACTOR} x --limit elements=N)",
                span,
            )

    def expr(self, node: Expr) -> np.ndarray:
        method = getattr(self, "_" + type(node).__name__.lower())
        result = method(node)
        self.check_size(result.shape, node.span, "this expression")
        if isinstance(node, (Binary, Call)) and any(map(_undefined, result.flat)):
            raise GradcliError(
                "this is undefined for its constant inputs (a division by zero or log(0)); "
                "the derivative would be meaningless",
                node.span,
            )
        return result

    def _num(self, node: Num) -> np.ndarray:
        return tensor(scalar(node.value))

    def _name(self, node: Name) -> np.ndarray:
        return self.arrays[node.id]

    def _listexpr(self, node: ListExpr) -> np.ndarray:
        items = [self.expr(item) for item in node.items]
        for item, sub in zip(items[1:], node.items[1:]):
            if item.shape != items[0].shape:
                raise GradcliError(
                    f"list elements differ in shape: {_shape_text(items[0].shape)} and "
                    f"{_shape_text(item.shape)}",
                    sub.span,
                )
        if not items:
            return np.empty((0,), dtype=object)
        out = np.empty((len(items), *items[0].shape), dtype=object)
        for i, item in enumerate(items):
            out[i] = item if item.ndim else item[()]  # a 0-d array would be stored as an object
        return out

    def _unary(self, node: Unary) -> np.ndarray:
        operand = self.expr(node.operand)
        return tensor(-operand) if node.op == "-" else operand

    def _binary(self, node: Binary) -> np.ndarray:
        left, right = self.expr(node.left), self.expr(node.right)
        if node.op == "@":
            return matmul(left, right, node.span, self.check_products)
        broadcast(left, right, node.span, node.op)
        if node.op == "**":
            return power(left, right, node.span, self.limits.exponent)
        if node.op == "+":
            return tensor(left + right)
        if node.op == "-":
            return tensor(left - right)
        if node.op == "*":
            return tensor(left * right)
        return tensor(left / right)

    def _call(self, node: Call) -> np.ndarray:
        name = node.function
        args = [self.expr(a) for a in node.args]
        if name in functions.ELEMENTWISE:
            return _map1(functions.ELEMENTWISE[name], args[0])
        if name == "pow":
            broadcast(args[0], args[1], node.span, "pow")
            return power(args[0], args[1], node.span, self.limits.exponent)
        if name in functions.BINARY_ELEMENTWISE:
            broadcast(args[0], args[1], node.span, name)
            return tensor(np.frompyfunc(functions.BINARY_ELEMENTWISE[name], 2, 1)(*args))
        if name in ("sum", "mean"):
            return self._reduction(node, args[0])
        if name == "matmul":
            return matmul(args[0], args[1], node.span, self.check_products)
        if name == "dot":
            return dot(args[0], args[1], node.span, self.check_products)
        if name == "transpose":
            return tensor(np.transpose(args[0]))
        raise GradcliError(f"'{name}' is not implemented", node.span)  # unreachable: parser checks

    def _reduction(self, node: Call, x: np.ndarray) -> np.ndarray:
        axis = None
        for _, value, span in node.keywords:
            axis = _integer_constant(value, span)
            if not -x.ndim <= axis < max(x.ndim, 1) or x.ndim == 0:
                raise GradcliError(
                    f"axis {axis} is out of range for an operand of shape {_shape_text(x.shape)}",
                    span,
                )
            axis %= x.ndim
        total = sum_axis(x, axis)
        if node.function == "sum":
            return total
        count = x.size if axis is None else x.shape[axis]
        if count == 0:
            raise GradcliError("mean of an empty array", node.span)
        return tensor(total / se.Integer(count))

    def _index(self, node: Index) -> np.ndarray:
        base = self.expr(node.base)
        key = tuple(
            slice(item.start, item.stop, item.step) if isinstance(item, Slice) else item
            for item in node.items
        )
        if len(key) > base.ndim:
            raise GradcliError(
                f"too many indices: {len(key)} for an operand of shape {_shape_text(base.shape)}",
                node.span,
            )
        for axis, (item, size) in enumerate(zip(key, base.shape)):
            if isinstance(item, int) and not -size <= item < size:
                raise GradcliError(f"index {item} is out of range for axis {axis} of size {size}", node.span)
            if isinstance(item, slice) and item.step == 0:
                raise GradcliError("slice step cannot be zero", node.span)
        return tensor(base[key])

    def _transpose(self, node: Transpose) -> np.ndarray:
        return tensor(np.transpose(self.expr(node.base)))


def _undefined(element) -> bool:
    """SymEngine's exact infinities and NaN, from folding constants (1/0 is zoo, not NumPy's inf)."""
    return type(element).__name__ in ("ComplexInfinity", "Infinity", "NegativeInfinity", "NaN")


def _integer_constant(node: Expr, span: Span) -> int:
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Num):
        value = -node.operand.value
    elif isinstance(node, Num):
        value = node.value
    else:
        value = None
    if not isinstance(value, int):
        raise GradcliError("axis must be an integer, e.g. axis=0", span)
    return value


def broadcast(a: np.ndarray, b: np.ndarray, span: Span, op: str) -> tuple[int, ...]:
    """NumPy's broadcast shape of two operands; a located error when they do not broadcast."""
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise GradcliError(
            f"shapes {_shape_text(a.shape)} and {_shape_text(b.shape)} do not broadcast for '{op}'",
            span,
        ) from None


def power(base: np.ndarray, exponent: np.ndarray, span: Span, max_exponent: int) -> np.ndarray:
    for b, e in zip(*(x.flat for x in np.broadcast_arrays(base, exponent))):
        if (
            isinstance(e, se.Integer)
            and abs(int(e)) > max_exponent
            and isinstance(b, se.Rational)
            and abs(b) != 1
            and b != 0
        ):
            raise LimitError(
                f"exact power with exponent {e} is too large (limit {max_exponent}); write the "
                "base as a float (e.g. 2.0) for a floating-point result, or --limit exponent=N",
                span,
            )
    return tensor(base**exponent)


def sum_axis(x: np.ndarray, axis: int | None) -> np.ndarray:
    """Sum over one axis (or all), each sum built at once as one Add."""
    if axis is None:
        return tensor(se.Add(*x.flat))
    moved = np.moveaxis(x, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1]) if moved.size else np.empty((0, 0), dtype=object)
    out = np.empty(moved.shape[:-1], dtype=object)
    flat = out.reshape(-1)
    for i in range(flat.size):
        flat[i] = se.Add(*rows[i]) if moved.shape[-1] else functions.ZERO
    return out


def matmul(a: np.ndarray, b: np.ndarray, span: Span, check=None) -> np.ndarray:
    """NumPy matmul: 1-D operands are promoted and the added axis removed; batch axes broadcast."""
    if a.ndim == 0 or b.ndim == 0:
        raise GradcliError(
            "matmul needs operands with at least one axis; use '*' to multiply by a scalar", span
        )
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise GradcliError(
            f"matmul: shapes {_shape_text(a.shape)} and {_shape_text(b.shape)} do not match "
            f"(inner sizes {a2.shape[-1]} and {b2.shape[-2]})",
            span,
        )
    try:
        np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    except ValueError:
        raise GradcliError(
            f"matmul: batch shapes of {_shape_text(a.shape)} and {_shape_text(b.shape)} do not broadcast",
            span,
        ) from None
    if check is not None:
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        check((*batch, a2.shape[-2], a2.shape[-1], b2.shape[-1]), span, "this matmul")
    products = a2[..., :, :, None] * b2[..., None, :, :]
    out = sum_axis(products, products.ndim - 2)
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return tensor(out)


def dot(a: np.ndarray, b: np.ndarray, span: Span, check=None) -> np.ndarray:
    """NumPy dot: scalars multiply, 1-D and 2-D as matmul, N-D sums a's last axis with b's second-to-last."""
    if a.ndim == 0 or b.ndim == 0:
        return tensor(a * b)
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b, span, check)
    inner_b = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if a.shape[-1] != inner_b:
        raise GradcliError(
            f"dot: shapes {_shape_text(a.shape)} and {_shape_text(b.shape)} do not align", span
        )
    b_moved = np.moveaxis(b, -2, 0) if b.ndim >= 2 else b
    if check is not None:
        check(a.shape + b_moved.shape[1:], span, "this dot")
    products = a.reshape(a.shape + (1,) * (b.ndim - 1)) * b_moved
    return sum_axis(np.moveaxis(products, a.ndim - 1, -1), products.ndim - 1)
