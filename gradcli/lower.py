"""Lowering: Program -> NumPy object arrays of SymEngine scalars, with NumPy's shape rules and located errors.

Variables and constants become arrays of element symbols (labelled `w[0,1]`); each definition becomes
an array of expressions in those symbols (SymEngine scalars). Definitions used twice are the same
objects, so the result is a shared expression graph (a DAG), never copied per use.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import symengine as se
from symengine.lib.symengine_wrapper import ComplexBase

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
MAX_DIMENSIONS = 32  # axes of any tensor (NumPy's broadcasting supports no more)
FOLDED_BITS_FACTOR = 10_000  # exact numbers one operation folds, in all: this many times `bits`


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
                lowering.bits[definition.name] = lowering.bits_of(definition.expr)
                if definition.name in stop:
                    value = _map1(functions.stop, value)
                lowering.arrays[definition.name] = value
    except GradcliError as error:
        raise error.located(program.source, program.filename) from None
    return Lowered(program, symbols, lowering.arrays)


def size(shape: tuple[int, ...]) -> int:
    """The number of elements of a shape, as an exact Python int (no overflow)."""
    return int(np.prod(shape, dtype=object)) if shape else 1


def _map1(function, a: np.ndarray) -> np.ndarray:
    return tensor(np.frompyfunc(function, 1, 1)(a))


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(list(shape))


class _Lowering:
    """Lowers expressions to arrays, checking every limit before the work it bounds. Beside each
    array it keeps a bound of the bits of the exact numbers that arithmetic on its elements would
    combine (see _folded_numbers), from the operands' bounds, so exact constants are bounded
    without looking at elements; only a bound above the limit has the operands' numbers measured."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.arrays: dict[str, np.ndarray] = {}
        self.bits: dict[str, int] = {}  # defined name -> bound of its folding numbers' bits
        self._node_bits: dict[int, int] = {}  # id(expression node) -> the same bound

    def check_size(self, shape: tuple[int, ...], span: Span, what: str) -> None:
        """Refuse a shape with more elements than the limit, or more axes than NumPy supports,
        before anything of that shape is built."""
        if len(shape) > MAX_DIMENSIONS:
            raise GradcliError(
                f"{what} would have {len(shape)} axes; at most {MAX_DIMENSIONS} are supported", span
            )
        count = size(shape)
        if count > self.limits.elements:
            raise LimitError(
                f"{what} would have {count} elements, more than the limit of {self.limits.elements}; "
                "raise it with --limit elements=N",
                span,
            )

    def fold(self, node: Expr, count: int, operands: tuple[np.ndarray, ...], combine) -> None:
        """Before `node` computes `count` results from `operands`: record the bound of its folding
        numbers, `combine(*operand bounds)`, and refuse when one could outgrow --limit bits, or all
        of them together FOLDED_BITS_FACTOR times that."""
        bound = combine(*(self.bits_of(arg) for arg in _operand_nodes(node)))
        if self._too_large(bound, count):
            bound = combine(*map(max_bits, operands))
            limit = self.limits.bits
            if bound > limit:
                raise LimitError(
                    f"a constant here would have {bound} bits, more than the limit of {limit}; write a "
                    "number as a float (e.g. 2.0) for floating-point arithmetic, or --limit bits=N",
                    node.span,
                )
            if self._too_large(bound, count):
                raise LimitError(
                    f"this would compute {count} exact numbers of up to {bound} bits, more than "
                    f"{FOLDED_BITS_FACTOR} x --limit bits={limit} bits in all; write the numbers as "
                    "floats (e.g. 2.0), or raise --limit bits=N",
                    node.span,
                )
        self._node_bits[id(node)] = bound

    def _too_large(self, bound: int, count: int) -> bool:
        return bound > self.limits.bits or bound * count > FOLDED_BITS_FACTOR * self.limits.bits

    def bits_of(self, node: Expr) -> int:
        return self._node_bits[id(node)]

    def _same_bits(self, node: Expr, source: Expr) -> None:
        self._node_bits[id(node)] = self.bits_of(source)

    def _product_check(self, node: Expr, a: np.ndarray, b: np.ndarray):
        """What matmul and dot check on the shape of their products before forming them: a product's
        terms, before they are summed, may number 10 times the element limit, and their exact
        numbers are bounded as any folding is."""

        def check(shape: tuple[int, ...], span: Span, what: str) -> None:
            count = size(shape)
            if count > PRODUCT_FACTOR * self.limits.elements:
                raise LimitError(
                    f"{what} needs {count} products, more than the limit of "
                    f"{PRODUCT_FACTOR * self.limits.elements} ({PRODUCT_FACTOR} x --limit elements=N)",
                    span,
                )
            self.fold(node, count, (a, b), lambda x, y: x + y + count.bit_length())

        return check

    def expr(self, node: Expr) -> np.ndarray:
        method = getattr(self, "_" + type(node).__name__.lower())
        result = method(node)
        self.check_size(result.shape, node.span, "this expression")  # each builder checked before
        if isinstance(node, (Binary, Call)):
            result = self._folded(result, node)
        return result

    def _folded(self, result: np.ndarray, node: Binary | Call) -> np.ndarray:
        """The elements of an operation's result as NumPy would have them: a complex number that
        SymEngine made from real constants (sqrt(-1), log(-2.0), (-1.0)**0.5) becomes NaN. Refuses
        SymEngine's exact infinities (1/0)."""
        functional = (
            node.function in functions.ELEMENTWISE or node.function == "pow"
            if isinstance(node, Call)
            else node.op == "**"
        )  # only functions and powers of real numbers can be complex
        out = result
        for index, element in enumerate(result.flat):
            kind = type(element)
            if kind in _UNDEFINED:
                raise GradcliError(
                    "this is undefined for its constant inputs (a division by zero or log(0)); "
                    "the derivative would be meaningless",
                    node.span,
                )
            if not functional or kind not in _MAYBE_COMPLEX and not isinstance(element, ComplexBase):
                continue
            imaginary = [n for n in _folded_numbers(element) if isinstance(n, ComplexBase)]
            if imaginary:
                if out is result:
                    out = result.copy()
                out.flat[index] = _real_or_nan(element, imaginary)
        return out

    def _num(self, node: Num) -> np.ndarray:
        number = scalar(node.value)
        self._node_bits[id(node)] = _bits(number)
        return tensor(number)

    def _name(self, node: Name) -> np.ndarray:
        self._node_bits[id(node)] = self.bits.get(node.id, 0)
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
        self._node_bits[id(node)] = max(map(self.bits_of, node.items), default=0)
        if not items:
            return np.empty((0,), dtype=object)
        self.check_size((len(items), *items[0].shape), node.span, "this list")
        out = np.empty((len(items), *items[0].shape), dtype=object)
        for i, item in enumerate(items):
            out[i] = item if item.ndim else item[()]  # a 0-d array would be stored as an object
        return out

    def _unary(self, node: Unary) -> np.ndarray:
        operand = self.expr(node.operand)
        self._same_bits(node, node.operand)
        return tensor(-operand) if node.op == "-" else operand

    def _binary(self, node: Binary) -> np.ndarray:
        left, right = self.expr(node.left), self.expr(node.right)
        if node.op == "@":
            return matmul(left, right, node.span, self._product_check(node, left, right))
        shape = broadcast(left, right, node.span, node.op)
        self.check_size(shape, node.span, "this expression")
        if node.op == "**":
            return self._power(node, left, right)
        self.fold(node, size(shape), (left, right), _sum_bits if node.op in "+-" else _product_bits)
        if node.op == "+":
            return tensor(left + right)
        if node.op == "-":
            return tensor(left - right)
        if node.op == "*":
            return tensor(left * right)
        return tensor(left / right)

    def _power(self, node: Binary | Call, base: np.ndarray, exponent: np.ndarray) -> np.ndarray:
        bits = power_bits_checked(base, exponent, node.span, self.limits)
        self._node_bits[id(node)] = max(bits, self.bits_of(_operand_nodes(node)[0]))
        return tensor(np.frompyfunc(_power_of, 2, 1)(base, exponent))

    def _call(self, node: Call) -> np.ndarray:
        name = node.function
        args = [self.expr(a) for a in node.args]
        if name in functions.BINARY_ELEMENTWISE:
            shape = broadcast(args[0], args[1], node.span, name)
            self.check_size(shape, node.span, "this expression")
            if name == "pow":
                return self._power(node, *args)
            self.fold(node, size(shape), tuple(args), max)  # maximum, minimum pick one
            return tensor(np.frompyfunc(functions.BINARY_ELEMENTWISE[name], 2, 1)(*args))
        if name == "square":  # the one element-wise function that multiplies exact numbers
            self.fold(node, args[0].size, (args[0],), lambda a: 2 * a)
        elif name in functions.ELEMENTWISE or name == "transpose":
            self._same_bits(node, node.args[0])
        if name in functions.ELEMENTWISE:
            return _map1(functions.ELEMENTWISE[name], args[0])
        if name in ("sum", "mean"):
            return self._reduction(node, args[0])
        if name == "matmul":
            return matmul(args[0], args[1], node.span, self._product_check(node, *args))
        if name == "dot":
            return dot(args[0], args[1], node.span, self._product_check(node, *args))
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
        count = x.size if axis is None else x.shape[axis]
        growth = count.bit_length() * (2 if node.function == "mean" else 1)  # the sum, then / count
        self.fold(node, x.size, (x,), lambda a: a + growth)
        total = sum_axis(x, axis)
        if node.function == "sum":
            return total
        if count == 0:
            raise GradcliError("mean of an empty array", node.span)
        return tensor(total / se.Integer(count))

    def _index(self, node: Index) -> np.ndarray:
        base = self.expr(node.base)
        self._same_bits(node, node.base)
        key = tuple(
            slice(item.start, item.stop, item.step) if isinstance(item, Slice) else item
            for item in node.items
        )
        if len(key) > base.ndim:
            raise GradcliError(
                f"too many indices: {len(key)} for an operand of shape {_shape_text(base.shape)}",
                node.span,
            )
        for axis, (item, length) in enumerate(zip(key, base.shape)):
            if isinstance(item, int) and not -length <= item < length:
                raise GradcliError(
                    f"index {item} is out of range for axis {axis} of size {length}", node.span
                )
            if isinstance(item, slice) and item.step == 0:
                raise GradcliError("slice step cannot be zero", node.span)
        return tensor(base[key])

    def _transpose(self, node: Transpose) -> np.ndarray:
        base = self.expr(node.base)
        self._same_bits(node, node.base)
        return tensor(np.transpose(base))


def _sum_bits(a: int, b: int) -> int:
    """Bound of the bits of a sum (or difference) of numbers of a and b bits."""
    return max(a, b) + 1


def _product_bits(a: int, b: int) -> int:
    """Bound of the bits of a product (or quotient) of numbers of a and b bits."""
    return a + b


def _operand_nodes(node: Expr) -> tuple[Expr, ...]:
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


_UNDEFINED = frozenset(type(x) for x in (se.zoo, se.oo, -se.oo, se.nan))  # SymEngine's, from 1/0
_MAYBE_COMPLEX = frozenset((se.Mul, se.Add))  # I*sqrt(3), log(2) + I*pi


def _folded_numbers(element) -> list:
    """The numbers at the places where folding an operation on constants puts them: the element
    itself, a product's coefficient, a sum's constant term and its terms' coefficients
    (sqrt(-3) is I*sqrt(3), 3**400 * x * 3**400 is 3**800*x, log(-2) is log(2) + I*pi)."""
    if isinstance(element, se.Number):
        return [element]
    kind = type(element)
    if kind is se.Mul:
        first = element.args[0]
        return [first] if isinstance(first, se.Number) else []
    if kind is not se.Add:
        return []
    numbers = []
    for term in element.args:
        if isinstance(term, se.Number):
            numbers.append(term)
        elif type(term) is se.Mul and isinstance(first := term.args[0], se.Number):
            numbers.append(first)
    return numbers


def _bits(number) -> int:
    """The size of an exact number: the larger of its numerator's and denominator's bits."""
    if not isinstance(number, se.Rational):
        return 0
    return max(abs(int(part)).bit_length() for part in number.get_num_den())


def max_bits(array: np.ndarray) -> int:
    """The size of the largest exact number that arithmetic on the array's elements would combine."""
    return max((_bits(n) for element in array.flat for n in _folded_numbers(element)), default=0)


def _real_or_nan(element, imaginary: list):
    """NaN for a complex constant; with symbols, the expression with its complex numbers NaN
    (so x * sqrt(-1) is x * nan, whose derivative is nan, as in NumPy)."""
    if not element.free_symbols:
        return functions.NAN
    return element.xreplace({part: functions.NAN for part in imaginary})


def power_bits(base, exponent) -> int:
    """About how many bits the exact numbers SymEngine computes for base**exponent would have
    (0 when it computes none): the bits of each exact number in the base times the exponent,
    through products ((2*x)**n is 2**n * x**n) and powers ((3**k)**n is 3**(k*n))."""
    if not isinstance(exponent, se.Rational):
        return 0
    if isinstance(base, se.Rational):
        if base == 0 or abs(base) == 1:
            return 0
        magnitude = max(math.log2(abs(int(part))) for part in base.get_num_den())
        return math.ceil(magnitude * abs(float(exponent)))
    if isinstance(base, se.Pow):
        inner_base, inner_exponent = base.args
        return power_bits(inner_base, inner_exponent * exponent)
    if isinstance(base, se.Mul):
        return max(power_bits(factor, exponent) for factor in base.args)
    return 0


def _power_of(base, exponent):
    """base**exponent; for an exact base of 1 or -1 the exponent is reduced first (SymEngine cannot
    raise to an exponent beyond 2**64; 1**e is 1 and (-1)**(p/q) is (-1)**((p mod 2q)/q))."""
    if isinstance(exponent, se.Rational) and isinstance(base, se.Integer) and abs(base) == 1:
        num, den = (int(part) for part in exponent.get_num_den())
        exponent = se.Rational(num % (2 * den), den) if base == -1 else functions.ZERO
    return base**exponent


def power_bits_checked(base: np.ndarray, exponent: np.ndarray, span: Span, limits: Limits) -> int:
    """The largest power_bits of base**exponent element-wise, each exact power checked against the
    limits (exponent, bits, and all of them together) before SymEngine computes it."""
    largest = total = 0
    for b, e in zip(*(x.flat for x in np.broadcast_arrays(base, exponent))):
        if (
            isinstance(e, se.Integer)
            and abs(int(e)) > limits.exponent
            and isinstance(b, se.Rational)
            and abs(b) != 1
            and b != 0
        ):
            raise LimitError(
                f"exact power with exponent {e} is too large (limit {limits.exponent}); write the "
                "base as a float (e.g. 2.0) for a floating-point result, or --limit exponent=N",
                span,
            )
        bits = power_bits(b, e)
        total += bits
        if bits > limits.bits or total > FOLDED_BITS_FACTOR * limits.bits:
            raise LimitError(
                f"this exact power would have about {bits} bits, more than the limit of {limits.bits}; "
                "write the base as a float (e.g. 2.0) for a floating-point result, or --limit bits=N",
                span,
            )
        largest = max(largest, bits)
    return largest


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
        if check is not None:
            check(np.broadcast_shapes(a.shape, b.shape), span, "this dot")
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
