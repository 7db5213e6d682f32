"""Numbers: evaluate expression graphs at values, exactly where the inputs are exact.

Integers and fractions stay exact through + - * / and integer powers; a function whose exact
result is rational (exp(0), sqrt(4)) stays exact; anything else becomes a float64 with NumPy's
rules for inf and nan (1/0 is inf, log(0) is -inf, never an exception).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
import symengine as se

from gradcli import functions, ops
from gradcli.differentiate import walk
from gradcli.errors import LimitError
from gradcli.lower import scalar
from gradcli.ops import to_float  # noqa: F401 - defined with the literals' float64 form


class _Missing:
    """The value of anything that depends on a variable without a value."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
Value = int | Fraction | float


def _exact(x) -> bool:
    return isinstance(x, (int, Fraction))


def _float(x) -> np.float64:
    try:
        return np.float64(x)
    except OverflowError:
        return np.float64(math.inf if x > 0 else -math.inf)


def _tidy(x):
    """Fractions with denominator 1 become ints."""
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    return x


def _bounded(value, max_bits: int):
    """An exact value, refused when its numerator or denominator outgrows `max_bits`."""
    if isinstance(value, Fraction):
        bits = max(value.numerator.bit_length(), value.denominator.bit_length())
    else:
        bits = value.bit_length()
    if bits > max_bits:
        raise LimitError(
            f"an exact value would have more than {max_bits} bits; give a float value (e.g. 2.0) "
            "for floating-point arithmetic, or --limit bits=N"
        )
    return value


def _add(args, max_bits: int):
    if all(_exact(a) for a in args):
        return _bounded(_tidy(sum(args, Fraction(0))), max_bits)
    total = 0.0
    for a in args:
        total += to_float(a)
    return total


def _mul(args, max_bits: int):
    if all(_exact(a) for a in args):
        out = Fraction(1)
        for a in args:
            out *= a
        return _bounded(_tidy(out), max_bits)
    out = 1.0
    for a in args:
        out *= to_float(a)
    return out


def _pow(base, exponent, max_bits: int):
    if _exact(base) and isinstance(exponent, int):
        if base == 0 and exponent < 0:
            return np.float64(math.inf)
        magnitude = abs(Fraction(base))
        bits = max(magnitude.numerator.bit_length(), magnitude.denominator.bit_length())
        if bits * abs(exponent) > max_bits and magnitude != 1:
            raise LimitError(
                f"an exact power {base}**{exponent} would have more than {max_bits} bits; "
                "give a float value (e.g. 2.0) for a floating-point result, or --limit bits=N"
            )
        return _tidy(Fraction(base) ** exponent)
    if _exact(base) and isinstance(exponent, Fraction) and exponent.denominator == 2 and base >= 0:
        root = _exact_sqrt(Fraction(base))
        if root is not None:
            return _pow(root, exponent.numerator, max_bits)
    if isinstance(exponent, Fraction) and abs(exponent) == Fraction(1, 2):  # sqrt and its reciprocal
        root = np.sqrt(_float(base))  # sqrt(-0.0) is -0.0 and 1/sqrt(-0.0) is -inf, as in NumPy
        return root if exponent > 0 else 1.0 / root
    return float_power(_float(base), _float(exponent))


def float_power(base, exponent) -> np.float64:
    """C99's pow in float64, as the Tape and the exported code compute it (NumPy's power of scalars
    takes sqrt for an exponent of 0.5, which is nan at -inf where pow gives inf; of one-element
    arrays it does not)."""
    return np.power(np.array([base], dtype=np.float64), np.array([exponent], dtype=np.float64))[0]


def _exact_sqrt(q: Fraction) -> Fraction | None:
    n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(n, d) if n * n == q.numerator and d * d == q.denominator else None


def _compare_or_nan(x):
    return isinstance(x, float) and math.isnan(x)


def _relu(x):
    return x if _compare_or_nan(x) or x > 0 else (0 if _exact(x) else np.float64(0.0))


def _step(x):
    return np.float64("nan") if _compare_or_nan(x) else (1 if x > 0 else 0)


def _sgn(x):
    return np.float64("nan") if _compare_or_nan(x) else int(x > 0) - int(x < 0)


def _maximum(a, b):
    if _compare_or_nan(a) or _compare_or_nan(b):
        return np.float64("nan")
    return a if a >= b else b


def _minimum(a, b):
    if _compare_or_nan(a) or _compare_or_nan(b):
        return np.float64("nan")
    return a if a <= b else b


def _sigmoid(x):
    x = _float(x)
    if x >= 0:
        return 1.0 / (1.0 + np.exp(-x))
    z = np.exp(x)
    return z / (1.0 + z)


def _softplus(x):
    return np.logaddexp(np.float64(0.0), _float(x))


# Functions evaluated in float64 (after an exact attempt through SymEngine for exact arguments).
_FLOAT_FUNCTIONS = {
    "sin": (np.sin, se.sin), "cos": (np.cos, se.cos), "tan": (np.tan, se.tan),
    "asin": (np.arcsin, se.asin), "acos": (np.arccos, se.acos), "atan": (np.arctan, se.atan),
    "sinh": (np.sinh, se.sinh), "cosh": (np.cosh, se.cosh), "tanh": (np.tanh, se.tanh),
    "log": (np.log, se.log), "sigmoid": (_sigmoid, functions.sigmoid),
    "softplus": (_softplus, functions.softplus),
}  # fmt: skip
# Functions that are exact on exact arguments.
_DIRECT_FUNCTIONS = {
    "stop": lambda x: x, "relu": _relu, "step": _step, "sgn": _sgn, "abs": abs,
    "maximum": _maximum, "minimum": _minimum,
}  # fmt: skip


def _function(name: str, args):
    if name in ops.ELEMENT_FUNCTIONS:
        operation = ops.ELEMENT_FUNCTIONS[name]
        if operation is ops.WHERE:  # the chosen branch, exact or not: the other may be NaN, as
            return operation.exact_scalar(*args)  # log(x) at x <= 0 is in d(x ** p)/dp
        if all(_exact(a) for a in args):
            exact = operation.exact_scalar(*args)
            if exact is not None:
                return exact
        return np.asarray(operation.numpy(*(_float(a) for a in args)))[()]
    if name in _DIRECT_FUNCTIONS:
        return _DIRECT_FUNCTIONS[name](*args)
    (x,) = args
    numeric, symbolic = _FLOAT_FUNCTIONS[name]
    if _exact(x):
        exact = symbolic(scalar(x))
        if isinstance(exact, se.Rational):
            return _tidy(Fraction(*(int(part) for part in exact.get_num_den())))
    return numeric(_float(x))


def _exp_or_pow(base, args, max_bits):
    if base == se.E:
        exponent = args[1]
        if _exact(exponent) and exponent == 0:
            return 1
        return np.exp(_float(exponent))
    return _pow(*args, max_bits)


def _leaf(node):
    if isinstance(node, se.Integer):
        return int(node)
    if isinstance(node, se.Rational):
        return Fraction(*(int(part) for part in node.get_num_den()))
    if isinstance(node, se.RealDouble):
        return float(node)
    name = type(node).__name__
    if name == "Infinity":
        return np.float64(math.inf)
    if name == "NegativeInfinity":
        return np.float64(-math.inf)
    if name in ("NaN", "ComplexInfinity"):
        return np.float64(math.nan)
    return _float(float(node))


class Evaluator:
    """Evaluates expressions at one assignment of values, sharing work across all of them."""

    def __init__(
        self, values: dict[se.Symbol, Value], max_bits: int = 100_000, arguments: dict | None = None
    ):
        """`arguments`: from walks of the graphs to evaluate, if the caller has them (see
        differentiate.walk)."""
        self.values = values
        self.max_bits = max_bits
        self.memo: dict[se.Basic, object] = {}
        self.arguments = {} if arguments is None else arguments

    def __call__(self, expr: se.Basic):
        if expr not in self.memo:
            self._evaluate_graph([expr])
        return self.memo[expr]

    def many(self, exprs: Iterable[se.Basic]) -> list:
        exprs = list(exprs)
        self._evaluate_graph([e for e in exprs if e not in self.memo])
        return [self.memo[e] for e in exprs]

    def _evaluate_graph(self, roots: list[se.Basic]) -> None:
        memo = self.memo
        with np.errstate(all="ignore"):
            order, arguments = walk(roots, memo, self.arguments)
            for node in order:
                if isinstance(node, se.Symbol):
                    memo[node] = self.values.get(node, MISSING)
                    continue
                operation = functions.kind(node)
                if operation == "leaf":
                    memo[node] = _leaf(node)
                    continue
                args = [memo[a] for a in arguments[node]]
                if any(a is MISSING for a in args):
                    memo[node] = MISSING
                elif operation == "add":
                    memo[node] = _add(args, self.max_bits)
                elif operation == "mul":
                    memo[node] = _mul(args, self.max_bits)
                elif operation == "pow":
                    memo[node] = _exp_or_pow(arguments[node][0], args, self.max_bits)
                else:
                    memo[node] = _function(operation, args)


# ---- many points at once ----------------------------------------------------------------------


def _positive(x, value):
    """`value` where x > 0, NaN where x is NaN, else 0: relu and step."""
    return np.where(x > 0, value, np.where(np.isnan(x), x, 0.0))


def _vector_sigmoid(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _vector_maximum(a, b):
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a >= b, a, b))


def _vector_minimum(a, b):
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a <= b, a, b))


_VECTOR_FUNCTIONS = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "log": np.log,
    "abs": np.abs, "sigmoid": _vector_sigmoid, "softplus": lambda x: np.logaddexp(0.0, x),
    "relu": lambda x: _positive(x, x), "step": lambda x: _positive(x, 1.0),
    "sgn": lambda x: np.sign(x), "stop": lambda x: x, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x),
    "maximum": _vector_maximum, "minimum": _vector_minimum,
}  # fmt: skip


class Tape:
    """Expression graphs compiled once into a straight-line float64 program (one instruction a node),
    then run at many points: vectorised over arrays of points, or again and again as values change."""

    def __init__(self, roots: list):
        order, arguments = walk(roots)
        slot = {node: index for index, node in enumerate(order)}
        self.size = len(order)
        self.slot = slot
        self.roots = [slot[root] for root in roots]
        self.symbols: list[tuple[int, se.Symbol]] = []
        self.constants: list[tuple[int, float]] = []
        self.instructions: list[tuple[int, object, tuple[int, ...]]] = []
        self.scalar_instructions: list[tuple[int, object, tuple[int, ...]]] = []
        with np.errstate(all="ignore"):
            for index, node in enumerate(order):
                if isinstance(node, se.Symbol):
                    self.symbols.append((index, node))
                    continue
                operation = functions.kind(node)
                if operation == "leaf":
                    self.constants.append((index, float(_float(_leaf(node)))))
                    continue
                args = tuple(slot[a] for a in arguments[node])
                if operation == "pow":
                    operation, args = _power_instruction(arguments[node], args)
                self.instructions.append((index, _VECTOR_OPERATIONS[operation], args))
                self.scalar_instructions.append((index, _scalar_operation(operation), args))

    def run(self, values: dict, size: int = 1, fixed: dict | None = None) -> list[np.ndarray]:
        """The roots' values at `size` points: `values` maps each symbol to an array of `size` values
        or one number (a missing symbol raises KeyError); `fixed` holds nodes at given values."""
        memory: list = [None] * self.size
        for index, symbol in self.symbols:
            memory[index] = np.broadcast_to(_float_array(values[symbol]), (size,))
        for index, value in self.constants:
            memory[index] = np.full(size, value)
        held = {self.slot[node]: value for node, value in (fixed or {}).items() if node in self.slot}
        with np.errstate(all="ignore"):
            for index, operation, args in self.instructions:
                if index in held:
                    memory[index] = np.broadcast_to(np.asarray(held[index], dtype=np.float64), (size,))
                else:
                    memory[index] = operation(*(memory[a] for a in args))
        return [memory[root] for root in self.roots]

    def run_scalar(self, values: dict) -> list[float]:
        """The roots' values at one point, in Python floats (much faster than 1-element arrays)."""
        memory: list = [0.0] * self.size
        for index, symbol in self.symbols:
            memory[index] = to_float(values[symbol])
        for index, value in self.constants:
            memory[index] = value
        for index, operation, args in self.scalar_instructions:
            memory[index] = operation(*(memory[a] for a in args))
        return [memory[root] for root in self.roots]


def _float_array(value) -> np.ndarray:
    """Numbers (exact ones beyond float64 become +-inf) or an array of them, as float64."""
    if isinstance(value, np.ndarray):
        return np.asarray(value, dtype=np.float64)
    return np.asarray(to_float(value), dtype=np.float64)


def _power_instruction(operands: tuple, args: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """exp for E**x; sqrt and rsqrt for an exact exponent of 1/2 and -1/2 (as the Evaluator);
    else pow. `operands` are the power's base and exponent, `args` their slots."""
    base, exponent = operands
    if base == se.E:
        return "exp", args[1:]
    if isinstance(exponent, se.Rational) and exponent in (functions.HALF, -functions.HALF):
        return ("sqrt" if exponent == functions.HALF else "rsqrt"), args[:1]
    return "pow", args


def _scalar_operation(operation: str):
    """One float64 operation on Python floats; where Python would raise (log(0), overflow), the
    same operation on NumPy scalars gives NumPy's inf or nan."""
    fast = _SCALAR_FAST.get(operation)
    vector = _VECTOR_OPERATIONS[operation]

    def numpy_rules(*args):  # on one-element arrays, as the vectorised run (see float_power)
        with np.errstate(all="ignore"):
            return float(vector(*(np.array([a], dtype=np.float64) for a in args))[0])

    if fast is None:
        return numpy_rules

    def run(*args):
        try:
            result = fast(*args)
        except (ArithmeticError, ValueError):
            return numpy_rules(*args)
        return result if type(result) is float else numpy_rules(*args)

    return run


def _scalar_sum(*args):
    total = 0.0
    for a in args:
        total += a
    return total


def _scalar_product(*args):
    total = 1.0
    for a in args:
        total *= a
    return total


_SCALAR_FAST = {
    "add": _scalar_sum, "mul": _scalar_product, "pow": lambda a, b: a**b, "exp": math.exp,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "atan": math.atan, "sinh": math.sinh,
    "cosh": math.cosh, "tanh": math.tanh, "log": math.log, "abs": abs, "stop": lambda x: x,
    "sqrt": math.sqrt, "rsqrt": lambda x: 1.0 / math.sqrt(x),
}  # fmt: skip


def _sum(*args):
    return functools.reduce(np.add, args)


def _product(*args):
    return functools.reduce(np.multiply, args)


_VECTOR_OPERATIONS = {
    **_VECTOR_FUNCTIONS, "add": _sum, "mul": _product, "pow": np.power, "exp": np.exp,
    **{name: operation.numpy for name, operation in ops.ELEMENT_FUNCTIONS.items()},
}  # fmt: skip


def vectorized(exprs: list, values: dict, size: int) -> list[np.ndarray]:
    """Evaluate expressions in float64 at `size` points at once (see Tape.run)."""
    return Tape(exprs).run(values, size)
