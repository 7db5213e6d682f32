"""The operation table: every operation of the array program, each defined in one place.

A row gives an operation's shape rule, its float64 (NumPy) and element (SymEngine) forms, its VJP
written with the table's own operations, its simplifications and its spelling in the language.
Kinks follow TensorFlow: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum go to the first
argument, ties of the max/min reductions share the gradient equally (TF and JAX), and d(x ** y)/dy
is 0 where x <= 0 (TF's `where(x > 0, log(x), 0)`). The step and sign functions those rules use
have derivative 0, so every order exists. Functions that are compositions of rows (gelu, var,
norm, trace, ...) are in catalogue.py, which maps the language's names to constructors.

Public constructors (`add`, `sum_`, `getitem`, ...) normalise parameters and call the rows; the
rows themselves (`ADD`, `SUM`, ...) are what nodes point to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import symengine as se

from gradcli import functions, objects
from gradcli.arrays import Node, Op, ShapeError, as_node

# ---- spellings (how the printers write an operation) ------------------------------------------

ADDITIVE, MULTIPLICATIVE, UNARY, EXPONENT, POSTFIX, ATOM = range(1, 7)  # precedence, loosest first


@dataclass(frozen=True)
class Infix:
    symbol: str
    precedence: int
    latex: str


@dataclass(frozen=True)
class Prefix:
    symbol: str


@dataclass(frozen=True)
class Function:
    """`name(args, keyword=value)`; `keywords(node)` gives the parameters as keyword texts."""

    name: str
    latex: str
    keywords: object = None
    numpy: str | None = None  # its name in exported NumPy code, where not the row's own function


@dataclass(frozen=True)
class Special:
    """Written by the printer's rule of this name (leaves, indexing, broadcasts)."""

    rule: str


@dataclass(frozen=True)
class Source:
    """An element function in exported code: NumPy and C expressions over `params`. `fold`: a
    function of any number of arguments, computed as a left fold of its two-argument form."""

    params: tuple[str, ...]
    numpy: str
    c: str
    fold: bool = False


# ---- shape rules ------------------------------------------------------------------------------


def _text(shape) -> str:
    return str(list(shape))


def _same_shape(x, **params):
    return x


def _broadcast_shape(symbol: str):
    def rule(*shapes):
        try:
            return np.broadcast_shapes(*shapes)
        except ValueError:
            raise ShapeError(
                f"shapes {' and '.join(_text(s) for s in shapes)} do not broadcast for '{symbol}'"
            ) from None

    return rule


# ---- literals and leaves ----------------------------------------------------------------------


def _literal_shape(value=None):
    return np.shape(np.array(value, dtype=object)) if isinstance(value, tuple) else ()


def _literal_numpy(value=None):
    return float_array(value)


def float_array(value) -> np.ndarray:
    """A literal's value (a number or nested tuples) as a float64 array; an exact number beyond
    float64's range is +-inf there, as NumPy gives for a float."""
    if isinstance(value, np.ndarray) and value.dtype != object:  # read from a file (--at x=@PATH)
        return np.asarray(value, dtype=np.float64)
    return np.array(_floats(value), dtype=np.float64)


def _floats(value):
    if isinstance(value, np.ndarray):  # of Python numbers (dtype object): as nested lists
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [_floats(v) for v in value]
    return value if isinstance(value, float) else to_float(value)


def to_float(x) -> float:
    """A value as a Python float; an exact number beyond float64's range is +-inf, never an error
    (arithmetic on these is fast and, for + and *, never raises)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def element_number(value):
    """A Python number as a SymEngine number: exact for int and Fraction, float64 for float."""
    if isinstance(value, float):
        return se.RealDouble(value)
    if isinstance(value, int):
        return se.Integer(value)
    return se.Rational(value.numerator, value.denominator)


def _literal_element(value=None):
    if not isinstance(value, tuple):
        return objects.tensor(element_number(value))
    array = np.array(value, dtype=object)
    return objects.map1(element_number, array)


# pi and e: exact symbols in the element view, float64 numbers on whole arrays
MATH_CONSTANTS = {"pi": (se.pi, math.pi), "e": (se.E, math.e)}
SYMBOL = Op(
    "symbol",
    lambda name="": (),
    lambda name="": np.array(MATH_CONSTANTS[name][1]),
    lambda name="": objects.tensor(MATH_CONSTANTS[name][0]),
    None,
    spelling=Special("math_constant"),
    doc="a mathematical constant (pi, e)",
)


def math_constant(name: str) -> Node:
    return SYMBOL.make((), {"name": name})


LITERAL = Op("literal", _literal_shape, _literal_numpy, _literal_element, None, spelling=Special("literal"))
VARIABLE = Op("var", lambda name=None, shape=(): shape, None, None, None, spelling=Special("name"))
CONSTANT = Op("const", lambda name=None, shape=(): shape, None, None, None, spelling=Special("name"))


def literal(value) -> Node:
    """A number (int, Fraction or float) or nested tuples of them, as a node."""
    if isinstance(value, list):
        value = _tupled(value)
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, (bool, np.bool_)):
        value = int(value)
    if isinstance(value, np.generic):
        value = value.item()
    return LITERAL.make((), {"value": value})


def _tupled(value):
    return tuple(_tupled(v) for v in value) if isinstance(value, (list, tuple)) else value


def variable(name: str, shape) -> Node:
    return VARIABLE.make((), {"name": name, "shape": tuple(shape)})


def constant(name: str, shape) -> Node:
    return CONSTANT.make((), {"name": name, "shape": tuple(shape)})


def scalar_value(node: Node):
    """The number a scalar literal holds, else None."""
    if node.op is LITERAL and node.shape == ():
        return node.param("value")
    if node.op is BROADCAST:
        return scalar_value(node.args[0])
    return None


def _is_exactly(node: Node, number: int) -> bool:
    value = scalar_value(node)
    return value is not None and not isinstance(value, float) and value == number


def is_zero(node: Node) -> bool:
    return _is_exactly(node, 0)


def is_one(node: Node) -> bool:
    return _is_exactly(node, 1)


def zeros(shape) -> Node:
    return broadcast_to(literal(0), tuple(shape))


def full_like(node_or_shape, value) -> Node:
    shape = node_or_shape.shape if isinstance(node_or_shape, Node) else tuple(node_or_shape)
    return broadcast_to(literal(value), shape)


# ---- element-wise operations ------------------------------------------------------------------


def _folding(name: str, exact_function, arity: int):
    """A SymEngine scalar function for an operation SymEngine lacks: an undefined function named
    like the operation, folded to a number when its arguments are numbers."""
    undefined = se.Function(name)

    def scalar(*args):
        if all(functions.is_number(a) for a in args):
            return element_number(exact_function(*(_python(a) for a in args)))
        return undefined(*args)

    return scalar


def _python(number):
    if isinstance(number, se.Integer):
        return int(number)
    if isinstance(number, se.Rational):
        num, den = number.get_num_den()
        return Fraction(int(num), int(den))
    return float(number)


def _real(scalar_function):
    """The scalar function, except that a complex value of numbers is NaN, as NumPy's float64 gives
    (sqrt(-1), log(-2.0), (-1.0) ** 0.5), so no complex number reaches a result."""

    def real(*args):
        try:
            result = scalar_function(*args)
        except RuntimeError:  # SymEngine refuses sin(zoo), sinh(oo): NaN, as NumPy gives
            return functions.NAN
        numbers = all(functions.is_number(a) for a in args) and not result.free_symbols
        infinite = type(result).__name__ in ("ComplexInfinity", "Infinity", "NegativeInfinity", "NaN")
        if numbers and not infinite and (result.is_real is False or result.has(se.I)):
            return functions.NAN
        return result

    return real


def _unary(name, numpy_function, scalar_function, derivative, *, latex=None, doc="", differentiable=True):
    """An element-wise function of one argument; `derivative(x, out)` is its local derivative."""

    def vjp(g, out, x):
        if not differentiable:
            return (None,)
        return (g * derivative(x, out),)

    return Op(
        name,
        _same_shape,
        numpy_function,
        lambda x: objects.map1(_real(scalar_function), x),
        vjp,
        spelling=Function(name, latex or rf"\operatorname{{{name}}}"),
        differentiable=differentiable,
        doc=doc,
    )


def _sigmoid_numpy(x):
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _step_numpy(x):
    return np.where(np.isnan(x), np.nan, x > 0)  # NaN stays NaN


def _exact_sign(x):
    if isinstance(x, float) and math.isnan(x):
        return x
    return (x > 0) - (x < 0)


def _exact_step(x):
    if isinstance(x, float) and math.isnan(x):
        return x
    return int(x > 0)


SIN = _unary("sin", np.sin, se.sin, lambda x, out: cos(x), latex=r"\sin")
COS = _unary("cos", np.cos, se.cos, lambda x, out: -sin(x), latex=r"\cos")
TAN = _unary("tan", np.tan, se.tan, lambda x, out: 1 + out**2, latex=r"\tan")
ARCSIN = _unary("asin", np.arcsin, se.asin, lambda x, out: 1 / sqrt(1 - x**2), latex=r"\arcsin")
ARCCOS = _unary("acos", np.arccos, se.acos, lambda x, out: -1 / sqrt(1 - x**2), latex=r"\arccos")
ARCTAN = _unary("atan", np.arctan, se.atan, lambda x, out: 1 / (1 + x**2), latex=r"\arctan")
SINH = _unary("sinh", np.sinh, se.sinh, lambda x, out: cosh(x), latex=r"\sinh")
COSH = _unary("cosh", np.cosh, se.cosh, lambda x, out: sinh(x), latex=r"\cosh")
TANH = _unary("tanh", np.tanh, se.tanh, lambda x, out: 1 - out**2, latex=r"\tanh")
EXP = _unary("exp", np.exp, se.exp, lambda x, out: out, latex=r"\exp")
LOG = _unary("log", np.log, se.log, lambda x, out: 1 / x, latex=r"\log")
SQRT = _unary("sqrt", np.sqrt, se.sqrt, lambda x, out: 1 / (2 * out), latex=r"\sqrt")
ABS = _unary("abs", np.abs, se.Abs, lambda x, out: sign(x))
SIGMOID = _unary("sigmoid", _sigmoid_numpy, functions.sigmoid, lambda x, out: out * (1 - out))


def _relu_numpy(x):
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0.0))  # NaN stays NaN


RELU = _unary("relu", _relu_numpy, functions.relu, lambda x, out: step(x))


def _softplus_numpy(x):
    return np.logaddexp(0.0, x)


SOFTPLUS = _unary("softplus", _softplus_numpy, functions.softplus, lambda x, out: sigmoid(x))
STEP = _unary("step", _step_numpy, functions.step, None, differentiable=False, doc="1 where x > 0, else 0")
SIGN = _unary("sign", np.sign, functions.sgn, None, differentiable=False)
STOP = Op(
    "stop",
    _same_shape,
    lambda x: x,
    lambda x: objects.map1(functions.stop, x),
    lambda g, out, x: (None,),
    simplify=lambda x: x if x.op in (LITERAL, CONSTANT, STOP) else None,
    spelling=Function("stop", r"\operatorname{stop}"),
    differentiable=False,
)


def _intermediate_element(x, name="", perturbed=False):
    if not perturbed:
        return x
    return objects.tensor(x + objects.symbols(name, x.shape))


INTERMEDIATE = Op(
    "intermediate",
    _same_shape,
    lambda x, name="", perturbed=False: x,
    _intermediate_element,
    lambda g, out, x, name="", perturbed=False: (g,),
    spelling=Special("intermediate"),
    doc="a defined name that is a gradient target (--wrt h, grad(y, h)), as a node of its own so that "
    "only the uses of the name count; `perturbed`: its element form adds symbols (valued 0) named "
    "like the name's elements, which per-element derivatives take as the target",
)


def _negative_simplify(x):
    value = scalar_value(x)
    if value is not None and x.op is LITERAL:
        return literal(-value)
    if is_zero(x):
        return x
    if x.op is NEGATIVE:
        return x.args[0]
    return None


NEGATIVE = Op(
    "negative",
    _same_shape,
    np.negative,
    lambda x: objects.tensor(-x),
    lambda g, out, x: (-g,),
    simplify=_negative_simplify,
    spelling=Prefix("-"),
)


def unbroadcast(g: Node, shape) -> Node:
    """Undo NumPy broadcasting of a cotangent: sum over the axes a broadcast added or stretched."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead:
        g = sum_(g, tuple(range(lead)))
    stretched = tuple(i for i, d in enumerate(shape) if d == 1 and g.shape[i] != 1)
    if stretched:
        g = sum_(g, stretched, keepdims=True)
    return g


def broadcast_to(x: Node, shape) -> Node:
    """x broadcast to `shape` by NumPy's rules (axes aligned on the right)."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return BROADCAST(x, shape=shape, dims=tuple(range(len(shape) - x.ndim, len(shape))))


def _fold(function, a: Node, b: Node):
    """Two scalar literals (or full arrays of one) combined into one: exact stays exact. None if
    they are not both such literals or the result is undefined."""
    x, y = scalar_value(a), scalar_value(b)
    if x is None or y is None:
        return None
    try:
        value = function(_exact_or_float(x), _exact_or_float(y))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    if isinstance(value, complex):
        return None
    return broadcast_to(literal(value), np.broadcast_shapes(a.shape, b.shape))


def _exact_or_float(x):
    return x if isinstance(x, float) else Fraction(x)


def _add_simplify(a, b):
    shape = _joint_shape(a.shape, b.shape)
    if shape is None:
        return None
    if is_zero(a):
        return broadcast_to(b, shape)
    if is_zero(b):
        return broadcast_to(a, shape)
    if b.op is NEGATIVE:
        return subtract(a, b.args[0])
    if a.op is NEGATIVE:  # -a + b is b - a
        return subtract(b, a.args[0])
    if a is b:
        return multiply(literal(2), a)
    common = _common_factor(a, b)
    if common is not None:  # c * a + c * b is c * (a + b)
        return multiply(common, add(a.args[1], b.args[1]))
    return _fold(lambda x, y: x + y, a, b)


def _common_factor(a: Node, b: Node) -> Node | None:
    """The scalar literal c of c * x and c * y (the same number), else None."""
    if a.op is MULTIPLY and b.op is MULTIPLY and a.args[0] is b.args[0]:
        factor = a.args[0]
        if factor.op is LITERAL and factor.shape == ():
            return factor
    return None


def _subtract_simplify(a, b):
    shape = _joint_shape(a.shape, b.shape)
    if shape is None:
        return None
    if is_zero(b):
        return broadcast_to(a, shape)
    if is_zero(a):
        return broadcast_to(negative(b), shape)
    if b.op is NEGATIVE:
        return add(a, b.args[0])
    common = _common_factor(a, b)
    if common is not None:  # c * a - c * b is c * (a - b)
        return multiply(common, subtract(a.args[1], b.args[1]))
    return _fold(lambda x, y: x - y, a, b)


def _implicit(a: Node, b: Node) -> tuple[Node, Node]:
    """A scalar broadcast to the other operand's full shape is just the scalar: NumPy broadcasts it."""
    if a.op is BROADCAST and a.args[0].shape == () and b.shape == a.shape:
        a = a.args[0]
    if b.op is BROADCAST and b.args[0].shape == () and a.shape == b.shape:
        b = b.args[0]
    return a, b


def _multiply_simplify(a, b):
    shape = _joint_shape(a.shape, b.shape)
    if shape is None:
        return None
    if (a.op is BROADCAST or b.op is BROADCAST) and (_implicit(a, b) != (a, b)):
        return multiply(*_implicit(a, b))
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    if is_one(a):
        return broadcast_to(b, shape)
    if is_one(b):
        return broadcast_to(a, shape)
    if _is_exactly(a, -1):
        return broadcast_to(negative(b), shape)
    if _is_exactly(b, -1):
        return broadcast_to(negative(a), shape)
    if b.op is LITERAL and b.shape == () and a.op is not LITERAL:
        return multiply(b, a)  # numbers first: 2 * x
    negative_number = a.op is LITERAL and a.shape == () and scalar_value(a) < 0
    if negative_number and b.op is SUBTRACT:  # -c * (x - y) is c * (y - x)
        return multiply(negative(a), subtract(b.args[1], b.args[0]))
    if a.op is NEGATIVE:
        return negative(multiply(a.args[0], b))
    if b.op is NEGATIVE:
        return negative(multiply(a, b.args[0]))
    literal_first = b.op is MULTIPLY and b.args[0].op is LITERAL and b.args[0].shape == ()
    if literal_first and a.op is not LITERAL:  # x * (2 * y) is 2 * (x * y)
        return multiply(b.args[0], multiply(a, b.args[1]))
    if a.op is LITERAL and a.shape == () and b.op is MULTIPLY:
        scaled = _scaled_leftmost(a, b)  # 2 * (3 * y * x) is 6 * y * x
        if scaled is not None:
            return scaled
    return _fold(lambda x, y: x * y, a, b)


def _scaled_leftmost(number: Node, product: Node) -> Node | None:
    """number * product with the number folded into the product's leftmost factor, where that is
    a number too: a product is written left to right, ((3 * y) * x), so its number is innermost."""
    factors = []
    while product.op is MULTIPLY:
        factors.append(product.args[1])
        product = product.args[0]
    if product.op is not LITERAL or product.shape != ():
        return None
    if isinstance(scalar_value(number), float) or isinstance(scalar_value(product), float):
        return None  # floats keep their order: 1e200 * (1e200 * y) is not inf * y
    folded = _fold(lambda x, y: x * y, number, product)
    if folded is None:
        return None
    for factor in reversed(factors):
        folded = multiply(folded, factor)
    return folded


def _divide_simplify(a, b):
    shape = _joint_shape(a.shape, b.shape)
    if shape is None:
        return None
    if is_one(b):
        return broadcast_to(a, shape)
    if is_zero(a) and not is_zero(b):
        return zeros(shape)
    if a.op is NEGATIVE:
        return negative(divide(a.args[0], b))
    if is_zero(b):
        return None
    return _fold(lambda x, y: x / y, a, b)


def _power_simplify(a, b):
    shape = _joint_shape(a.shape, b.shape)
    if shape is None:
        return None
    if is_one(b):
        return broadcast_to(a, shape)
    exponent = scalar_value(b)
    base = scalar_value(a)
    if base is not None and exponent is not None and a.op is LITERAL and b.op is LITERAL:
        small = isinstance(exponent, float) or isinstance(base, float) or abs(exponent) <= 64
        if small and not (base == 0 and exponent < 0):
            return _fold(lambda x, y: x**y, a, b)
    return None


def _fits(a: Node, b: Node) -> bool:
    return _joint_shape(a.shape, b.shape) is not None


def _joint_shape(a: tuple, b: tuple) -> tuple | None:
    """NumPy's broadcast shape of two shapes, or None where they do not broadcast."""
    if a == b:
        return a
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            return None
        out.append(y if x == 1 else x)
    return tuple(out)


def _binary(name, symbol, precedence, numpy_function, element_function, vjp, simplify, latex):
    return Op(
        name,
        _broadcast_shape(symbol),
        numpy_function,
        element_function,
        vjp,
        simplify=simplify,
        spelling=Infix(symbol, precedence, latex),
    )


def _pair(a: Node, b: Node, da, db):
    return (
        unbroadcast(da, a.shape) if da is not None else None,
        unbroadcast(db, b.shape) if db is not None else None,
    )


ADD = _binary(
    "add", "+", ADDITIVE, np.add, lambda a, b: objects.tensor(a + b),
    lambda g, out, a, b: _pair(a, b, g, g), _add_simplify, "+",
)  # fmt: skip
SUBTRACT = _binary(
    "subtract", "-", ADDITIVE, np.subtract, lambda a, b: objects.tensor(a - b),
    lambda g, out, a, b: _pair(a, b, g, -g), _subtract_simplify, "-",
)  # fmt: skip
MULTIPLY = _binary(
    "multiply", "*", MULTIPLICATIVE, np.multiply, lambda a, b: objects.tensor(a * b),
    lambda g, out, a, b: _pair(a, b, g * b, g * a), _multiply_simplify, r"\odot",
)  # fmt: skip
DIVIDE = _binary(
    "divide", "/", MULTIPLICATIVE, np.true_divide, lambda a, b: objects.tensor(a / b),
    lambda g, out, a, b: _pair(a, b, g / b, -(g * out) / b), _divide_simplify, "/",
)  # fmt: skip


def _power_vjp(g, out, a, b):
    log_base = log(a) if _positive_literal(a) else where(greater(a, 0), log(a), 0)
    return _pair(a, b, g * (b * a ** (b - 1)), g * (out * log_base))


def _positive_literal(node: Node) -> bool:
    value = scalar_value(node)
    return node.op is LITERAL and value is not None and value > 0


_real_power = _real(functions.power)


def _power_element(a, b):
    return objects.map2(_real_power, a, b)


def power_numpy(a, b):
    """C's pow in float64: NumPy's power of 0-d arrays takes sqrt for an exponent of 0.5, which is
    nan at -inf where pow gives inf; of arrays with an axis it does not."""
    shape = np.broadcast_shapes(np.shape(a), np.shape(b))
    return np.power(np.atleast_1d(a), np.atleast_1d(b)).reshape(shape)


POWER = _binary("power", "**", EXPONENT, power_numpy, _power_element, _power_vjp, _power_simplify, "^")


def _maximum_vjp(g, out, a, b):
    second = step(b - a)  # 1 where b > a strictly: a tie goes to the first argument
    return _pair(a, b, g * (1 - second), g * second)


def _minimum_vjp(g, out, a, b):
    second = step(a - b)
    return _pair(a, b, g * (1 - second), g * second)


def _maximum_numpy(a, b):
    with np.errstate(invalid="ignore"):  # NaN in either argument gives NaN; a tie gives a
        return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a >= b, a, b))


def _minimum_numpy(a, b):
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a <= b, a, b))


MAXIMUM = Op(
    "maximum", _broadcast_shape("maximum"), _maximum_numpy,
    lambda a, b: objects.map2(functions.maximum, a, b), _maximum_vjp,
    spelling=Function("maximum", r"\max"),
)  # fmt: skip
MINIMUM = Op(
    "minimum", _broadcast_shape("minimum"), _minimum_numpy,
    lambda a, b: objects.map2(functions.minimum, a, b), _minimum_vjp,
    spelling=Function("minimum", r"\min"),
)  # fmt: skip


def _comparison(name, symbol, numpy_function, exact_function):
    scalar = _folding(name, lambda a, b: int(exact_function(a, b)), 2)
    source = Source(("a", "b"), f"numpy.where(a {symbol} b, 1.0, 0.0)", f"(a {symbol} b ? 1.0 : 0.0)")
    return Op(
        name,
        _broadcast_shape(symbol),
        lambda a, b: numpy_function(a, b).astype(np.float64),
        lambda a, b: objects.map2(scalar, a, b),
        lambda g, out, a, b: (None, None),
        simplify=lambda a, b: _fold(lambda x, y: int(exact_function(x, y)), a, b),
        spelling=Infix(symbol, 0, symbol.replace(">=", r"\geq").replace("<=", r"\leq")),
        differentiable=False,
        exact_scalar=lambda a, b: int(exact_function(a, b)),
        source=source,
    )


GREATER = _comparison("greater", ">", np.greater, lambda a, b: a > b)
GREATER_EQUAL = _comparison("greater_equal", ">=", np.greater_equal, lambda a, b: a >= b)
LESS = _comparison("less", "<", np.less, lambda a, b: a < b)
LESS_EQUAL = _comparison("less_equal", "<=", np.less_equal, lambda a, b: a <= b)
EQUAL = _comparison("equal", "==", np.equal, lambda a, b: a == b)
NOT_EQUAL = _comparison("not_equal", "!=", np.not_equal, lambda a, b: a != b)
COMPARISONS = {op.spelling.symbol: op for op in (GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, EQUAL, NOT_EQUAL)}


def _where_scalar_exact(c, a, b):
    return a if c else b


_where_undefined = se.Function("where")


def where_scalar(c, a, b):
    """a or b where the condition is a number (NaN counts as true, as NumPy's c != 0), else a formula."""
    if functions.is_number(c):
        return a if float(c) != 0 else b
    return _where_undefined(c, a, b)


def _where_element(c, a, b):
    return objects.map3(where_scalar, c, a, b)


def _where_vjp(g, out, c, a, b):
    return (None, unbroadcast(where(c, g, 0), a.shape), unbroadcast(where(c, 0, g), b.shape))


def _where_simplify(c, a, b):
    shape = np.broadcast_shapes(c.shape, a.shape, b.shape) if _fits(c, a) and _fits(a, b) else None
    if shape is None:
        return None
    value = scalar_value(c)
    if value is not None:
        return broadcast_to(a if value else b, shape)
    if is_zero(a) and is_zero(b):
        return zeros(shape)
    return None


def _where_numpy(c, a, b):
    return np.where(c != 0, a, b)


WHERE = Op(
    "where",
    _broadcast_shape("where"),
    _where_numpy,
    _where_element,
    _where_vjp,
    simplify=_where_simplify,
    spelling=Function("where", r"\operatorname{where}"),
    exact_scalar=_where_scalar_exact,
    source=Source(("c", "a", "b"), "numpy.where(c != 0, a, b)", "(c != 0 ? a : b)"),
)


# ---- element functions SymEngine lacks ------------------------------------------------------------
# Each has an undefined SymEngine function of its own name as its element form, folded to a number
# on numbers; the evaluators of element expressions and the exporters find it in ELEMENT_FUNCTIONS
# (its exact value on Python numbers, its float64 form, its NumPy and C text).


def _float_of(number) -> float:
    try:
        return float(number)
    except OverflowError:
        return math.inf if number > 0 else -math.inf


def _element_scalar(name: str, exact, numpy_function):
    """The element form: an undefined function named like the operation. On numbers it folds,
    exactly where `exact` gives a value (all arguments exact), in float64 where an argument is a
    float; an exact argument whose value is not exact stays a formula (log1p(1), as log(2) does)."""
    undefined = se.Function(name)

    def scalar(*args):
        if len(args) == 1 and name in _IDEMPOTENT_ON_ONE:
            return args[0]
        if all(functions.is_number(a) for a in args):
            if any(isinstance(a, se.RealDouble) for a in args):
                with np.errstate(all="ignore"):
                    return se.RealDouble(float(numpy_function(*(np.float64(_float_of(a)) for a in args))))
            value = exact(*(_python(a) for a in args))
            if value is not None:
                return element_number(value)
        return undefined(*args)

    return scalar


_IDEMPOTENT_ON_ONE = ("amax", "amin", "logaddexp")  # of one argument: that argument


def _element_function(name, numpy_function, exact, derivatives, source: Source, *, latex=None,
                      differentiable=True, doc=""):  # fmt: skip
    """An element-wise operation (NumPy broadcasting) whose element form is `_element_scalar`;
    `derivatives(out, *args)` gives each argument's local derivative as nodes."""
    scalar = _element_scalar(name, exact, numpy_function)

    def vjp(g, out, *args):
        if not differentiable:
            return (None,) * len(args)
        return tuple(unbroadcast(g * d, a.shape) for d, a in zip(derivatives(out, *args), args))

    return Op(
        name,
        _broadcast_shape(name),
        numpy_function,
        lambda *args: objects.map_n(scalar, *args),
        vjp,
        spelling=Function(name, latex or rf"\operatorname{{{name}}}"),
        differentiable=differentiable,
        exact_scalar=exact,
        source=source,
        doc=doc,
    )


def _unary_source(numpy_text: str, c_text: str) -> Source:
    return Source(("x",), numpy_text, c_text)


def _at(value, result):
    """An exact function's value at the one point where it is exact (else None)."""
    return lambda x: result if x == value else None


def _integer_root(n: int, k: int) -> int:
    """The integer k-th root of n >= 0, rounded down (Newton's method on integers)."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _exact_root(x, k: int):
    """The exact k-th root of a rational (k odd, or x >= 0), else None."""
    q = Fraction(x)
    if q < 0 and k % 2 == 0:
        return None
    top, bottom = _integer_root(abs(q.numerator), k), _integer_root(q.denominator, k)
    if top**k != abs(q.numerator) or bottom**k != q.denominator:
        return None
    root = Fraction(top, bottom)
    return _exact_value(-root if q < 0 else root)


def _exact_value(q: Fraction):
    return q.numerator if q.denominator == 1 else q


def _exact_log(base: int):
    """log_base(x) where x is an integer power of `base`, else None."""

    def log(x):
        q = Fraction(x)
        if q <= 0:
            return None
        inverted = q.numerator == 1 and q.denominator > 1
        n = q.denominator if inverted else q.numerator
        if (q.denominator != 1 and not inverted) or n < 1:
            return None
        k = 0
        while n % base == 0:
            n //= base
            k += 1
        return None if n != 1 else (-k if inverted else k)

    return log


def _exact_hypot(a, b):
    return _exact_root(Fraction(a) ** 2 + Fraction(b) ** 2, 2)


def _vectorized(function):
    """A scalar float function (math.erf) on arrays of float64, 0-d in, 0-d out."""
    return lambda x: np.asarray(
        np.frompyfunc(function, 1, 1)(np.asarray(x, dtype=np.float64)), dtype=np.float64
    )


def _two_over_sqrt_pi():
    return 2 / sqrt(math_constant("pi"))


def _cotangents_of_extremes(out, *args):
    """Ties of an extreme (amax, amin, max, min) split the gradient equally among the tied."""
    hits = [equal(a, out) for a in args]
    shape = np.broadcast_shapes(*(h.shape for h in hits))
    count = sum_(CONCATENATE(*(reshape(broadcast_to(h, shape), (1, *shape)) for h in hits), axis=0), 0)
    return [hit / count for hit in hits]


def _amax_numpy(*args):
    out = args[0]
    for a in args[1:]:
        out = np.maximum(out, a)  # NaN propagates
    return out


def _amin_numpy(*args):
    out = args[0]
    for a in args[1:]:
        out = np.minimum(out, a)
    return out


def _logaddexp_numpy(*args):
    out = args[0]
    for a in args[1:]:
        out = np.logaddexp(out, a)
    return out


def _exact_floor(x):
    return math.floor(x)


def _exact_ceil(x):
    return math.ceil(x)


def _exact_round(x):
    return round(Fraction(x))  # half to even, as NumPy


def _exact_atan2(y, x):
    return 0 if y == 0 and x > 0 else None


def _hypot_derivatives(out, a, b):
    safe = where(greater(out, 0), out, 1)  # at a = b = 0, a kink: 0, as abs'(0)
    return [a / safe, b / safe]


def _atan2_derivatives(out, y, x):
    denominator = x**2 + y**2
    return [x / denominator, -y / denominator]


_NAN_AWARE_C = "((isnan(a) || isnan(b)) ? NAN : (a {} b ? a : b))"

LOG1P = _element_function(
    "log1p", np.log1p, _at(0, 0), lambda out, x: [1 / (1 + x)], _unary_source("numpy.log1p(x)", "log1p(x)")
)
EXPM1 = _element_function(
    "expm1", np.expm1, _at(0, 0), lambda out, x: [exp(x)], _unary_source("numpy.expm1(x)", "expm1(x)")
)
LOG2 = _element_function(
    "log2", np.log2, _exact_log(2), lambda out, x: [1 / x / log(2)],
    _unary_source("numpy.log2(x)", "log2(x)"), latex=r"\log_{2}",
)  # fmt: skip
LOG10 = _element_function(
    "log10", np.log10, _exact_log(10), lambda out, x: [1 / x / log(10)],
    _unary_source("numpy.log10(x)", "log10(x)"), latex=r"\log_{10}",
)  # fmt: skip
CBRT = _element_function(
    "cbrt", np.cbrt, lambda x: _exact_root(x, 3), lambda out, x: [1 / (3 * out**2)],
    _unary_source("numpy.cbrt(x)", "cbrt(x)"), latex=r"\sqrt[3]",
)  # fmt: skip
FLOOR = _element_function(
    "floor", np.floor, _exact_floor, None, _unary_source("numpy.floor(x)", "floor(x)"), differentiable=False
)
CEIL = _element_function(
    "ceil", np.ceil, _exact_ceil, None, _unary_source("numpy.ceil(x)", "ceil(x)"), differentiable=False
)
ROUND = _element_function(
    "round", np.round, _exact_round, None, _unary_source("numpy.round(x)", "rint(x)"), differentiable=False,
    doc="to the nearest integer, halves to even",
)  # fmt: skip
ERF = _element_function(
    "erf", _vectorized(math.erf), _at(0, 0), lambda out, x: [_two_over_sqrt_pi() * exp(-(x**2))],
    _unary_source("numpy.vectorize(math.erf, otypes=[float])(x)", "erf(x)"),
)  # fmt: skip
ERFC = _element_function(
    "erfc", _vectorized(math.erfc), _at(0, 1), lambda out, x: [-(_two_over_sqrt_pi() * exp(-(x**2)))],
    _unary_source("numpy.vectorize(math.erfc, otypes=[float])(x)", "erfc(x)"),
)  # fmt: skip
ARCSINH = _element_function(
    "asinh", np.arcsinh, _at(0, 0), lambda out, x: [1 / sqrt(x**2 + 1)],
    _unary_source("numpy.arcsinh(x)", "asinh(x)"), latex=r"\operatorname{arsinh}",
)  # fmt: skip
ARCCOSH = _element_function(
    "acosh", np.arccosh, _at(1, 0), lambda out, x: [1 / sqrt(x**2 - 1)],
    _unary_source("numpy.arccosh(x)", "acosh(x)"), latex=r"\operatorname{arcosh}",
)  # fmt: skip
ARCTANH = _element_function(
    "atanh", np.arctanh, _at(0, 0), lambda out, x: [1 / (1 - x**2)],
    _unary_source("numpy.arctanh(x)", "atanh(x)"), latex=r"\operatorname{artanh}",
)  # fmt: skip


def _exact_mod(a, b):
    return None if b == 0 else a % b  # Python's, exact on fractions: the sign of b


def _exact_floor_divide(a, b):
    return None if b == 0 else a // b


# NumPy's divmod in C: fmod (exact), moved to the sign of b (no a - floor(a / b) * b, which loses the
# remainder where a / b rounds up to an integer: 1 % 0.1), and the quotient that goes with it
_MOVED_C = "(fmod(a, b) != 0.0 && ((fmod(a, b) < 0.0) != (b < 0.0)))"
_MOD_C = f"({_MOVED_C} ? fmod(a, b) + b : fmod(a, b))"
_FLOOR_DIVIDE_C = f"(b == 0.0 ? a / b : round((a - fmod(a, b)) / b - ({_MOVED_C} ? 1.0 : 0.0)))"
MOD = _element_function(
    "mod", np.mod, _exact_mod, lambda out, a, b: [literal(1), -FLOOR_DIVIDE(a, b)],
    Source(("a", "b"), "numpy.mod(a, b)", _MOD_C), latex=r"\operatorname{mod}",
    doc="the remainder of floor division (a % b): the sign of b; derivatives 1 and -(a // b), as JAX's",
)  # fmt: skip
FLOOR_DIVIDE = _element_function(
    "floor_divide", np.floor_divide, _exact_floor_divide, None,
    Source(("a", "b"), "numpy.floor_divide(a, b)", _FLOOR_DIVIDE_C),
    differentiable=False, doc="floor division (a // b), consistent with mod: a == (a // b) * b + a % b",
)  # fmt: skip


def _exact_fmod(a, b):
    return None if b == 0 else a - b * int(Fraction(a) / Fraction(b))  # int() rounds towards 0


FMOD = _element_function(
    "fmod", np.fmod, _exact_fmod, lambda out, a, b: [literal(1), -ROUND((a - out) / b)],
    Source(("a", "b"), "numpy.fmod(a, b)", "fmod(a, b)"),
    doc="C's fmod: the remainder of the quotient rounded towards 0, the sign of a; exact; derivatives "
    "1 and minus that quotient",
)  # fmt: skip


ARCTAN2 = _element_function(
    "atan2", np.arctan2, _exact_atan2, _atan2_derivatives,
    Source(("a", "b"), "numpy.arctan2(a, b)", "atan2(a, b)"), latex=r"\operatorname{atan2}",
)  # fmt: skip
HYPOT = _element_function(
    "hypot",
    np.hypot,
    _exact_hypot,
    _hypot_derivatives,
    Source(("a", "b"), "numpy.hypot(a, b)", "hypot(a, b)"),
)
LOGADDEXP = _element_function(
    "logaddexp", _logaddexp_numpy, lambda *args: None, lambda out, *args: [exp(a - out) for a in args],
    Source(("a", "b"), "numpy.logaddexp(a, b)",
           "((isinf(a) && a == b) ? a : fmax(a, b) + log1p(exp(-fabs(a - b))))", fold=True),
    doc="log(exp(a) + exp(b) + ...), stable",
)  # fmt: skip
AMAX = _element_function(
    "amax", _amax_numpy, lambda *args: max(args), _cotangents_of_extremes,
    Source(("a", "b"), "numpy.maximum(a, b)", _NAN_AWARE_C.format(">="), fold=True), latex=r"\max",
    doc="the largest argument; ties share the gradient equally (the element form of max)",
)  # fmt: skip
AMIN = _element_function(
    "amin", _amin_numpy, lambda *args: min(args), _cotangents_of_extremes,
    Source(("a", "b"), "numpy.minimum(a, b)", _NAN_AWARE_C.format("<="), fold=True), latex=r"\min",
    doc="the smallest argument; ties share the gradient equally (the element form of min)",
)  # fmt: skip


SINC_TERMS = 32  # terms of sinc_maclaurin's series: the rest is below 1e-29 for |y| <= pi / 2


def _exact_sinc_maclaurin(k, x):
    """At y = 0 the k-th derivative of sin(y)/y: 0 for odd k, (-1) ** (k/2) / (k + 1) for even k
    (None elsewhere, and where k is not a natural number: computed in float64)."""
    if not isinstance(k, int) or k < 0 or x != 0:
        return None
    return 0 if k % 2 else Fraction((-1) ** (k // 2), k + 1)


def _sinc_coefficient(k, j):
    """The (k + j)-th derivative of sin(y)/y at 0, for k a float64 array of natural numbers."""
    return np.where(np.mod(k + j, 2) == 1, 0.0, np.where(np.mod(k + j, 4) == 0, 1.0, -1.0) / (k + (j + 1.0)))


def _sinc_maclaurin_numpy(k, x):
    """The series of the k-th derivative of sin(y)/y at 0, sum over j < SINC_TERMS of its
    coefficients times x ** j / j!, by Horner's rule in the order of the exported texts below."""
    with np.errstate(all="ignore"):
        total = _sinc_coefficient(k, SINC_TERMS - 1)
        for j in reversed(range(SINC_TERMS - 1)):
            total = _sinc_coefficient(k, j) + x * total / (j + 1.0)
        return np.where(np.isfinite(k) & (k >= 0) & (k == np.floor(k)), total, np.nan)


def _sinc_maclaurin_text(coefficient: str, natural: str, otherwise: str) -> str:
    """_sinc_maclaurin_numpy as one expression, from the text of a coefficient (k + J, k + J + 1)."""
    total = coefficient.format(J=float(SINC_TERMS - 1), J1=float(SINC_TERMS))
    for j in reversed(range(SINC_TERMS - 1)):
        total = f"({coefficient.format(J=float(j), J1=float(j + 1))} + x * {total} / {float(j + 1)})"
    return natural.format(total=total, otherwise=otherwise)


SINC_MACLAURIN = _element_function(
    "sinc_maclaurin", _sinc_maclaurin_numpy, _exact_sinc_maclaurin,
    lambda out, k, x: [literal(0), SINC_MACLAURIN(k + 1, x)],
    Source(
        ("k", "x"),
        _sinc_maclaurin_text(
            "numpy.where(numpy.mod(k + {J}, 2) == 1, 0.0, numpy.where(numpy.mod(k + {J}, 4) == 0, 1.0, -1.0) "
            "/ (k + {J1}))",
            "numpy.where(numpy.isfinite(k) & (k >= 0) & (k == numpy.floor(k)), {total}, {otherwise})",
            "numpy.nan",
        ),
        _sinc_maclaurin_text(
            "(fmod(k + {J}, 2.0) != 0.0 ? 0.0 : (fmod(k + {J}, 4.0) == 0.0 ? 1.0 : -1.0) / (k + {J1}))",
            "(isfinite(k) && k >= 0.0 && k == floor(k) ? {total} : {otherwise})",
            "NAN",
        ),
    ),
    latex=r"\operatorname{sinc\_maclaurin}",
    doc="the k-th derivative of sin(y)/y near y = 0 (|y| <= pi / 2), from its Maclaurin series (k a "
    "natural number, else NaN); its derivative in y is the next one: how sinc's derivatives of "
    "every order are right at and near 0",
)  # fmt: skip


def _logit_numpy(p):
    with np.errstate(all="ignore"):
        return np.log(p / (1 - p))


LOGIT = _element_function(
    "logit", _logit_numpy, _at(Fraction(1, 2), 0), lambda out, p: [1 / (p * (1 - p))],
    _unary_source("numpy.log(x / (1.0 - x))", "log(x / (1.0 - x))"),
    doc="log(p / (1 - p)), as scipy.special.logit and JAX compute it; its own derivative 1 / (p (1 - p)), "
    "inf at 0 and 1 (the quotient's chain rule gives NaN there)",
)  # fmt: skip


def _exact_xlogy(x, y):
    return 0 if x == 0 or y == 1 else None


def _xlogy_numpy(x, y):
    with np.errstate(all="ignore"):
        return np.where(x != 0, x * np.log(y), 0.0)


XLOGY = _element_function(
    "xlogy", _xlogy_numpy, _exact_xlogy, lambda out, x, y: [log(y), x / y],
    Source(("a", "b"), "numpy.where(a != 0, a * numpy.log(b), 0.0)", "(a != 0.0 ? a * log(b) : 0.0)"),
    doc="x * log(y), 0 where x == 0 (whatever y is, NaN included), as jax.scipy.special.xlogy; its "
    "derivatives are JAX's too, log(y) and x / y, at x == 0 as well",
)  # fmt: skip

# Operations whose element form is a SymEngine function of their own name (folded on numbers):
# the evaluators and exporters of element expressions look them up here.
ELEMENT_FUNCTIONS = {
    op.name: op
    for op in (*COMPARISONS.values(), WHERE, LOG1P, EXPM1, LOG2, LOG10, CBRT, FLOOR, CEIL, ROUND, ERF, ERFC)
    + (ARCSINH, ARCCOSH, ARCTANH, ARCTAN2, HYPOT, LOGADDEXP, AMAX, AMIN, SINC_MACLAURIN)
    + (MOD, FLOOR_DIVIDE, FMOD, XLOGY, LOGIT)
}


# ---- reductions and shapes --------------------------------------------------------------------


def _sum_shape(x, axes=(), keepdims=False):
    return (
        tuple(1 if i in axes else d for i, d in enumerate(x))
        if keepdims
        else tuple(d for i, d in enumerate(x) if i not in axes)
    )


def _sum_vjp(g, out, x, axes=(), keepdims=False):
    return (restore(g, x.shape, axes, keepdims),)


def _sum_simplify(x, axes=(), keepdims=False):
    if not axes:
        return x
    if is_zero(x):
        return zeros(_sum_shape(x.shape, axes, keepdims))
    if x.op is NEGATIVE:
        return negative(SUM(x.args[0], axes=axes, keepdims=keepdims))
    if x.op is EYE:  # each row and column of the identity sums to 1
        return full_like(_sum_shape(x.shape, axes, keepdims), 1 if len(axes) == 1 else x.shape[0])
    if x.op is MULTIPLY and x.args[0].op is LITERAL and x.args[0].shape == ():  # sum(c * x) is c * sum(x)
        return multiply(x.args[0], SUM(x.args[1], axes=axes, keepdims=keepdims))
    if x.op is BROADCAST:
        dims = x.param("dims")
        if not set(axes) & set(dims):  # summing copies: count * the source, broadcast to the rest
            count = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
            shape = _sum_shape(x.shape, axes, keepdims)
            kept = [i for i in range(x.ndim) if keepdims or i not in axes]
            moved = tuple(kept.index(d) for d in dims)
            return multiply(literal(count), BROADCAST(x.args[0], shape=shape, dims=moved))
    return None


def _sum_keywords(node):
    axes, keepdims = node.param("axes"), node.param("keepdims")
    x = node.args[0]
    out = {}
    if axes != tuple(range(x.ndim)) or keepdims:
        out["axis"] = str(axes[0]) if len(axes) == 1 else "(" + ", ".join(map(str, axes)) + ")"
    if keepdims:
        out["keepdims"] = "True"
    return out


SUM = Op(
    "sum",
    _sum_shape,
    lambda x, axes=(), keepdims=False: np.sum(x, axis=axes, keepdims=keepdims),
    lambda x, axes=(), keepdims=False: objects.sum_axes(x, axes, keepdims),
    _sum_vjp,
    simplify=_sum_simplify,
    spelling=Function("sum", r"\sum", _sum_keywords, numpy="np.sum"),
)


def sum_(x, axis=None, keepdims: bool = False) -> Node:
    """NumPy's sum over `axis` (None: all; an int or a tuple, negative counting from the end)."""
    x = as_node(x)
    axes = normalize_axes(axis, x.ndim)
    return SUM(x, axes=axes, keepdims=keepdims)


def normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for item in items:
        if not -ndim <= item < ndim:
            raise ShapeError(f"axis {item} is out of range for an operand with {ndim} axes")
        out.append(item % ndim)
    if len(set(out)) != len(out):
        raise ShapeError("an axis is repeated")
    return tuple(sorted(out))


def _broadcast_check(x, shape=(), dims=()):
    fits = len(dims) == len(x) and all(0 <= d < len(shape) for d in dims)  # never to fewer axes
    if not fits or any(x[i] not in (1, shape[d]) for i, d in enumerate(dims)):
        raise ShapeError(f"cannot broadcast shape {_text(x)} to {_text(shape)}")
    return shape


def _broadcast_numpy(x, shape=(), dims=()):
    expanded = np.reshape(x, tuple(x.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape))))
    return np.broadcast_to(expanded, shape)


def _broadcast_vjp(g, out, x, shape=(), dims=()):
    added = tuple(i for i in range(len(shape)) if i not in dims)
    if added:
        g = sum_(g, added)
    stretched = tuple(i for i, d in enumerate(x.shape) if d == 1 and g.shape[i] != 1)
    if stretched:
        g = sum_(g, stretched, keepdims=True)
    return (g,)


def _broadcast_simplify(x, shape=(), dims=()):
    if x.shape == tuple(shape) and tuple(dims) == tuple(range(len(shape))):
        return x
    if x.op is BROADCAST:
        inner = x.param("dims")
        return BROADCAST(x.args[0], shape=shape, dims=tuple(dims[d] for d in inner))
    return None


BROADCAST = Op(
    "broadcast",
    _broadcast_check,
    _broadcast_numpy,
    lambda x, shape=(), dims=(): objects.tensor(_broadcast_numpy(x, shape, dims)),
    _broadcast_vjp,
    simplify=_broadcast_simplify,
    spelling=Special("broadcast"),
)


def _reshape_shape(x, shape=()):
    if int(np.prod(x, dtype=np.int64)) != int(np.prod(shape, dtype=np.int64)):
        raise ShapeError(f"cannot reshape an array of shape {_text(x)} into shape {_text(shape)}")
    return shape


RESHAPE = Op(
    "reshape",
    _reshape_shape,
    lambda x, shape=(): np.reshape(x, shape),
    lambda x, shape=(): objects.tensor(np.reshape(x, shape)),
    lambda g, out, x, shape=(): (reshape(g, x.shape),),
    simplify=lambda x, shape=(): (
        x
        if x.shape == tuple(shape)
        else (RESHAPE(x.args[0], shape=shape) if x.op is RESHAPE else (zeros(shape) if is_zero(x) else None))
    ),
    spelling=Function("reshape", r"\operatorname{reshape}", lambda node: {}, numpy="np.reshape"),
)


def reshape(x, shape) -> Node:
    return RESHAPE(as_node(x), shape=tuple(shape))


def _transpose_shape(x, perm=()):
    if sorted(perm) != list(range(len(x))):
        raise ShapeError(f"axes {list(perm)} are not a permutation of the {len(x)} axes of {_text(x)}")
    return tuple(x[p] for p in perm)


def _transpose_simplify(x, perm=()):
    if tuple(perm) == tuple(range(x.ndim)):
        return x
    if is_zero(x):
        return zeros(_transpose_shape(x.shape, perm))
    if x.op is TRANSPOSE:
        inner = x.param("perm")
        return TRANSPOSE(x.args[0], perm=tuple(inner[p] for p in perm))
    if x.op is MATMUL and x.ndim == 2 and all(a.ndim == 2 for a in x.args):
        left, right = x.args
        if left.op is TRANSPOSE or right.op is TRANSPOSE:  # (X.T @ A).T is A.T @ X: no more .T
            return matmul(transpose(right), transpose(left))
    return None


TRANSPOSE = Op(
    "transpose",
    _transpose_shape,
    lambda x, perm=(): np.transpose(x, perm),
    lambda x, perm=(): objects.tensor(np.transpose(x, perm)),
    lambda g, out, x, perm=(): (TRANSPOSE(g, perm=tuple(int(i) for i in np.argsort(perm))),),
    simplify=_transpose_simplify,
    spelling=Special("transpose"),
)


def transpose(x, axes=None) -> Node:
    x = as_node(x)
    perm = (
        tuple(reversed(range(x.ndim))) if axes is None else tuple(normalize_axes(a, x.ndim)[0] for a in axes)
    )
    return TRANSPOSE(x, perm=perm)


# ---- indexing ---------------------------------------------------------------------------------
# A key is a tuple of items: an int, ("slice", start, stop, step), None (a new axis) or
# ("list", (i, j, ...)) (integer-list indexing, NumPy's advanced indexing).


def numpy_key(key: tuple) -> tuple:
    out = []
    for item in key:
        if isinstance(item, tuple) and item[0] == "slice":
            out.append(slice(*item[1:]))
        elif isinstance(item, tuple) and item[0] == "list":
            out.append(np.array(item[1], dtype=np.intp))
        else:
            out.append(item)
    return tuple(out)


def index_shape(x, key=()):
    try:
        return np.broadcast_to(np.empty((), dtype=np.int8), x)[numpy_key(key)].shape
    except IndexError as error:
        raise ShapeError(str(error)) from None


def _getitem_simplify(x, key=()):
    if not key:  # x[()] is x
        return x
    if is_zero(x):
        return zeros(index_shape(x.shape, key))
    return None


GETITEM = Op(
    "getitem",
    index_shape,
    lambda x, key=(): x[numpy_key(key)],
    lambda x, key=(): objects.tensor(x[numpy_key(key)]),
    lambda g, out, x, key=(): (SCATTER(g, key=key, shape=x.shape),),
    simplify=_getitem_simplify,
    spelling=Special("getitem"),
)


def _scatter_shape(u, key=(), shape=()):
    if index_shape(shape, key) != tuple(u):
        raise ShapeError(f"values of shape {_text(u)} do not fit {_text(shape)} at this index")
    return shape


def _scatter_numpy(u, key=(), shape=()):
    out = np.zeros(shape, dtype=u.dtype if u.dtype == object else np.float64)
    if out.dtype == object:
        out.fill(objects.ZERO)
    if out.dtype == object or any(isinstance(item, tuple) and item[0] == "list" for item in key):
        np.add.at(out, numpy_key(key), u)  # a list may name an element twice: each adds
    else:
        out[numpy_key(key)] = u  # basic indexing names each element once (and is faster)
    return out


def _scatter_simplify(u, key=(), shape=()):
    if is_zero(u):
        return zeros(shape)
    return u if not key and u.shape == tuple(shape) else None  # u placed at () is u


SCATTER = Op(
    "scatter",
    _scatter_shape,
    _scatter_numpy,
    lambda u, key=(), shape=(): objects.tensor(_scatter_numpy(u, key, shape)),
    lambda g, out, u, key=(), shape=(): (GETITEM(g, key=key),),
    simplify=_scatter_simplify,
    spelling=Special("scatter"),
)


def getitem(x, key: tuple) -> Node:
    return GETITEM(as_node(x), key=tuple(key))


# ---- linear algebra ---------------------------------------------------------------------------


def _matmul_shape(a, b):
    if len(a) == 0 or len(b) == 0:
        raise ShapeError("matmul needs operands with at least one axis; use '*' to multiply by a scalar")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"matmul: shapes {_text(a)} and {_text(b)} do not match (inner sizes {a2[-1]} and {b2[-2]})"
        )
    try:
        batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch shapes of {_text(a)} and {_text(b)} do not broadcast") from None
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _outer(u: Node, v: Node) -> Node:
    """u[:, None] * v for vectors."""
    return BROADCAST(u, shape=(u.shape[0], v.shape[0]), dims=(0,)) * v


def _swap(x: Node) -> Node:
    if x.ndim == 2:
        return transpose(x)
    perm = tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2)
    return TRANSPOSE(x, perm=perm)


def _matmul_vjp(g, out, a, b):
    if a.ndim == 1 and b.ndim == 1:
        return (g * b, g * a)
    if a.ndim == 2 and b.ndim == 1:
        return (_outer(g, b), a.T @ g)
    if a.ndim == 1 and b.ndim == 2:
        return (b @ g, _outer(a, g))
    if a.ndim == 2 and b.ndim == 2:
        return (g @ b.T, a.T @ g)
    a2 = reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
    b2 = reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
    g2 = reshape(g, _matmul_shape(a2.shape, b2.shape))
    da = reshape(unbroadcast(g2 @ _swap(b2), a2.shape), a.shape)
    db = reshape(unbroadcast(_swap(a2) @ g2, b2.shape), b.shape)
    return (da, db)


def _matmul_simplify(a, b):
    try:
        shape = _matmul_shape(a.shape, b.shape)
    except ShapeError:
        return None
    if is_zero(a) or is_zero(b):
        return zeros(shape)
    if b.op is EYE and a.ndim >= 1:
        return a
    if a.op is EYE and b.ndim >= 1:
        return b
    return None


MATMUL = Op(
    "matmul",
    _matmul_shape,
    np.matmul,
    objects.matmul,
    _matmul_vjp,
    simplify=_matmul_simplify,
    spelling=Infix("@", MULTIPLICATIVE, ""),
)


# ---- more reductions: prod, max, min, logsumexp (same parameters as sum) --------------------------


def restore(u: Node, shape, axes, keepdims: bool) -> Node:
    """A reduced array broadcast back to the shape it was reduced from (the undoing of a reduction)."""
    if keepdims:
        return BROADCAST(u, shape=tuple(shape), dims=tuple(range(len(shape))))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return BROADCAST(u, shape=tuple(shape), dims=kept)


def _nonempty_reduction(name: str):
    def rule(x, axes=(), keepdims=False):
        if any(x[i] == 0 for i in axes):
            raise ShapeError(f"{name} of an empty array has no value (an axis of length 0 is reduced)")
        return _sum_shape(x, axes, keepdims)

    return rule


def _numpy_spelling(function) -> str:
    """How exported NumPy code calls a reduction's function (axis=..., keepdims=...)."""
    if getattr(function, "__module__", "") == "numpy":
        return f"np.{function.__name__}"
    return function.__name__  # a function of this module, copied into the exported code


def _reduction(name, shape_rule, numpy_function, combine, vjp, latex, doc=""):
    return Op(
        name,
        shape_rule,
        lambda x, axes=(), keepdims=False: numpy_function(x, axis=axes, keepdims=keepdims),
        lambda x, axes=(), keepdims=False: objects.reduce_axes(x, axes, keepdims, combine),
        vjp,
        simplify=lambda x, axes=(), keepdims=False: x if not axes else None,
        spelling=Function(name, latex, _sum_keywords, numpy=_numpy_spelling(numpy_function)),
        doc=doc,
    )


def _product(*items):
    return se.Mul(*items) if items else functions.ONE


PROD_EXACT_GROUP = 16  # products over at most this many elements differentiate exactly at zeros, to any order


def _prod_vjp(g, out, x, axes=(), keepdims=False):
    """g times the product of the other elements."""
    back = lambda u: restore(u, x.shape, axes, keepdims)  # noqa: E731
    group = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    others = _others_product(x, axes) if group <= PROD_EXACT_GROUP else _others_quotient(x, axes, back)
    return (back(g) * others,)


def _others_product(x: Node, axes) -> Node:
    """The product of the other elements of each group as a product itself (the group spread
    over a new axis with 1 on its diagonal): a polynomial, so exact at zeros to every order."""
    kept = [i for i in range(x.ndim) if i not in axes]
    batch = tuple(x.shape[i] for i in kept)
    n = int(np.prod([x.shape[i] for i in axes], dtype=np.int64))
    flat = reshape(TRANSPOSE(x, perm=tuple(kept) + tuple(axes)), batch + (n,))
    spread = BROADCAST(flat, shape=batch + (n, n), dims=tuple(range(len(batch))) + (len(batch) + 1,))
    others = PROD(where(EYE(n=n), 1, spread), axes=(len(batch) + 1,), keepdims=False)
    moved = reshape(others, batch + tuple(x.shape[i] for i in axes))
    return TRANSPOSE(moved, perm=tuple(int(i) for i in np.argsort(kept + list(axes))))


def _others_quotient(x: Node, axes, back) -> Node:
    """The product of the others as the product over x, exact where x has zeros (one zero: only it
    gets the product of the rest; two or more: nothing); higher derivatives at zeros are not."""
    zero = equal(x, 0)
    safe = where(zero, 1, x)
    rest = back(PROD(safe, axes=axes, keepdims=False))
    zeros_count = back(SUM(zero, axes=axes, keepdims=False))
    return where(zero, where(equal(zeros_count, 1), rest, 0), where(equal(zeros_count, 0), rest / safe, 0))


def _extreme_vjp(g, out, x, axes=(), keepdims=False):
    back = lambda u: restore(u, x.shape, axes, keepdims)  # noqa: E731
    hit = equal(x, back(out))
    count = back(SUM(hit, axes=axes, keepdims=keepdims))
    return (back(g) * hit / count,)


def _logsumexp_numpy(x, axis=None, keepdims=False):
    """log(sum(exp(x))) shifted by the maximum (kept finite), as JAX and SciPy compute it; axis
    None is every axis, as in NumPy."""
    axis = tuple(range(np.ndim(x))) if axis is None else axis
    with np.errstate(all="ignore"):
        top = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
        top = np.where(np.isfinite(top), top, 0.0)
        out = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return out if keepdims else np.squeeze(out, axis=axis)


def _logsumexp_vjp(g, out, x, axes=(), keepdims=False):
    back = lambda u: restore(u, x.shape, axes, keepdims)  # noqa: E731
    return (back(g) * exp(x - back(out)),)


def _scalar_of(row: Op):
    """A row's element form on scalars (for combining the elements a reduction meets)."""
    return lambda *items: row.element(*items)[()]


PROD = _reduction("prod", _sum_shape, np.prod, _product, _prod_vjp, r"\prod")
MAX = _reduction("max", _nonempty_reduction("max"), np.max, _scalar_of(AMAX), _extreme_vjp, r"\max",
                 doc="ties share the gradient equally")  # fmt: skip
MIN = _reduction("min", _nonempty_reduction("min"), np.min, _scalar_of(AMIN), _extreme_vjp, r"\min",
                 doc="ties share the gradient equally")  # fmt: skip
LOGSUMEXP = _reduction(
    "logsumexp", _nonempty_reduction("logsumexp"), _logsumexp_numpy, _scalar_of(LOGADDEXP), _logsumexp_vjp,
    r"\operatorname{logsumexp}",
)  # fmt: skip


def _axis_keywords(node):
    return {"axis": str(node.param("axis"))}


def _along(row: Op):
    """The row's element form along one axis: each slice reduced to a value kept as a length-1 axis."""
    return lambda x, axis: objects.reduce_axes(x, (axis,), True, _scalar_of(row))


def _softmax_element(x, axis=-1):
    return objects.map_n(lambda a, total: se.exp(a - total), x, _along(LOGADDEXP)(x, axis))


def _log_softmax_element(x, axis=-1):
    return objects.map_n(lambda a, total: a - total, x, _along(LOGADDEXP)(x, axis))


def log_softmax_numpy(x, axis=-1):
    """x - logsumexp(x) along the axis, shifted by the maximum (kept finite): stable."""
    with np.errstate(all="ignore"):
        top = np.max(x, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        return x - (np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top)


def softmax_numpy(x, axis=-1):
    """exp(log_softmax(x)): stable, and self-contained for exported code."""
    with np.errstate(all="ignore"):
        top = np.max(x, axis=axis, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        return np.exp(x - (np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top))


SOFTMAX = Op(
    "softmax",
    _same_shape,
    softmax_numpy,
    _softmax_element,
    lambda g, out, x, axis=-1: (out * (g - sum_(g * out, axis, keepdims=True)),),
    spelling=Function("softmax", r"\operatorname{softmax}", _axis_keywords),
    doc="exp(x - logsumexp(x, axis, keepdims=True)), stable",
)
LOG_SOFTMAX = Op(
    "log_softmax",
    _same_shape,
    log_softmax_numpy,
    _log_softmax_element,
    lambda g, out, x, axis=-1: (g - SOFTMAX(x, axis=axis) * sum_(g, axis, keepdims=True),),
    spelling=Function("log_softmax", r"\operatorname{log\_softmax}", _axis_keywords),
    doc="x - logsumexp(x, axis, keepdims=True), stable",
)


def reverse(x: Node, axes) -> Node:
    """x with the order of its elements along `axes` reversed (NumPy's flip)."""
    key = tuple(
        ("slice", None, None, -1) if i in axes else ("slice", None, None, None) for i in range(x.ndim)
    )
    return getitem(x, key)


def _running(combine):
    """An element form along `axis`: each element combines (se.Add, se.Mul) the elements up to it."""

    def element(x, axis=0):
        out = np.empty(x.shape, dtype=object)
        for index in np.ndindex(*(d for i, d in enumerate(x.shape) if i != axis)):
            running = []
            for k in range(x.shape[axis]):
                position = index[:axis] + (k,) + index[axis:]
                running.append(x[position])
                out[position] = combine(*running)
        return out

    return element


_cumsum_element = _running(se.Add)


CUMSUM = Op(
    "cumsum",
    _same_shape,
    lambda x, axis=0: np.cumsum(x, axis=axis),
    _cumsum_element,
    lambda g, out, x, axis=0: (reverse(CUMSUM(reverse(g, (axis,)), axis=axis), (axis,)),),
    spelling=Function(
        "cumsum", r"\operatorname{cumsum}", lambda node: {"axis": str(node.param("axis"))}, numpy="np.cumsum"
    ),
)


def prefix_products(x: Node, axis: int) -> Node:
    """cumprod as a prefix scan of products, as JAX computes it (Hillis and Steele: log2(n) steps,
    each multiplying by the elements a doubling distance back): a polynomial in x."""
    n, distance = x.shape[axis], 1
    whole = (("slice", None, None, None),) * axis
    while distance < n:
        head, tail, back = (getitem(x, whole + (("slice", *ends, None),)) for ends in
                            ((None, distance), (distance, None), (None, n - distance)))  # fmt: skip
        x = CONCATENATE(head, tail * back, axis=axis)
        distance *= 2
    return x


def _cumprod_vjp(g, out, x, axis=0):
    """The VJP of the prefix scan: exact where elements are 0, to every order (no division)."""
    from gradcli import ad

    return tuple(ad.vjp([(prefix_products(x, axis), g)], [x]))


CUMPROD = Op(
    "cumprod",
    _same_shape,
    lambda x, axis=0: np.cumprod(x, axis=axis),
    _running(se.Mul),
    _cumprod_vjp,
    spelling=Function(
        "cumprod",
        r"\operatorname{cumprod}",
        lambda node: {"axis": str(node.param("axis"))},
        numpy="np.cumprod",
    ),
    doc="running products along an axis; gradients exact where elements are 0",
)


# ---- matrix functions: det, logdet, inv, solve --------------------------------------------------
# The element forms are exact: Fraction elimination on exact numbers, a cofactor expansion (a shared
# graph, no division) on symbols. lower.py bounds the side of a symbolic matrix (MATRIX_ELEMENT_SIDE).

MATRIX_ELEMENT_SIDE = 6


def _square(name: str):
    def rule(x):
        if len(x) < 2 or x[-1] != x[-2]:
            raise ShapeError(f"{name} needs a square matrix (or a stack of them), got shape {_text(x)}")
        return x

    return rule


MATRIX_EXACT_SIDE = 64  # exact elimination (Fractions, O(n^3) with growing numbers) up to this side


def _numbers_of(matrix: np.ndarray):
    """'exact', 'float' (a float entry, or too large to eliminate exactly) or None (a formula)."""
    if not all(functions.is_number(v) for v in matrix.flat):
        return None
    floats = any(isinstance(v, se.RealDouble) for v in matrix.flat)
    return "float" if floats or matrix.shape[0] > MATRIX_EXACT_SIDE else "exact"


def _fractions(matrix: np.ndarray) -> list[list[Fraction]]:
    return [[Fraction(_python(v)) for v in row] for row in matrix]


def _exact_det(rows: list[list[Fraction]]) -> Fraction:
    m = [row[:] for row in rows]
    n, det = len(m), Fraction(1)
    for k in range(n):
        pivot = next((i for i in range(k, n) if m[i][k] != 0), None)
        if pivot is None:
            return Fraction(0)
        if pivot != k:
            m[k], m[pivot] = m[pivot], m[k]
            det = -det
        det *= m[k][k]
        for i in range(k + 1, n):
            factor = m[i][k] / m[k][k]
            if factor:
                m[i] = [a - factor * b for a, b in zip(m[i], m[k])]
    return det


def _exact_inverse(rows: list[list[Fraction]]) -> list[list[Fraction]] | None:
    n = len(rows)
    m = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(rows)]
    for k in range(n):
        pivot = next((i for i in range(k, n) if m[i][k] != 0), None)
        if pivot is None:
            return None
        m[k], m[pivot] = m[pivot], m[k]
        m[k] = [v / m[k][k] for v in m[k]]
        for i in range(n):
            if i != k and m[i][k]:
                factor = m[i][k]
                m[i] = [a - factor * b for a, b in zip(m[i], m[k])]
    return [row[n:] for row in m]


class _Minors:
    """Determinants of the square submatrices of a matrix of formulas, by cofactor expansion along
    their first row, each computed once (so the results share one graph)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self.memo: dict = {}

    def det(self, rows: tuple[int, ...], cols: tuple[int, ...]):
        if not rows:
            return functions.ONE
        key = (rows, cols)
        found = self.memo.get(key)
        if found is None:
            terms = []
            for k, col in enumerate(cols):
                entry = self.matrix[rows[0], col]
                if entry != 0:
                    minor = self.det(rows[1:], cols[:k] + cols[k + 1 :])
                    terms.append(entry * minor if k % 2 == 0 else -(entry * minor))
            found = self.memo[key] = se.Add(*terms) if terms else functions.ZERO
        return found


def _det_of(matrix: np.ndarray):
    kind = _numbers_of(matrix)
    if kind == "float":
        return se.RealDouble(float(np.linalg.det(np.array(matrix, dtype=np.float64))))
    if kind == "exact":
        return element_number(_exact_value(_exact_det(_fractions(matrix))))
    n = matrix.shape[0]
    return _Minors(matrix).det(tuple(range(n)), tuple(range(n)))


def _inverse_of(matrix: np.ndarray) -> np.ndarray:
    n = matrix.shape[0]
    kind = _numbers_of(matrix)
    if kind == "float":
        return objects.map1(se.RealDouble, _float_inverse(np.array(matrix, dtype=np.float64)))
    if kind == "exact":
        inverse = _exact_inverse(_fractions(matrix))
        if inverse is None:
            return objects.filled((n, n), se.nan)  # singular: undefined, as 1/0 is
        return objects.map1(
            element_number, np.array([[_exact_value(v) for v in row] for row in inverse], object)
        )
    minors = _Minors(matrix)
    everything = tuple(range(n))
    det = minors.det(everything, everything)
    out = np.empty((n, n), dtype=object)
    for i in range(n):
        for j in range(n):
            cofactor = minors.det(everything[:j] + everything[j + 1 :], everything[:i] + everything[i + 1 :])
            out[i, j] = (cofactor if (i + j) % 2 == 0 else -cofactor) / det
    return out


def _float_inverse(x: np.ndarray) -> np.ndarray:
    """NumPy's inverse; a singular matrix gives NaN (never an exception)."""
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError:
        return np.full(x.shape, np.nan)


def _float_inverses(x: np.ndarray) -> np.ndarray:
    if x.ndim == 2:
        return _float_inverse(x)
    out = np.empty(x.shape)
    for index in np.ndindex(*x.shape[:-2]):
        out[index] = _float_inverse(x[index])
    return out


def _per_matrix(function, x: np.ndarray, scalar: bool) -> np.ndarray:
    """`function` on each matrix of a stack of matrices (object arrays)."""
    out = np.empty(x.shape[:-2] if scalar else x.shape, dtype=object)
    for index in np.ndindex(*x.shape[:-2]):
        out[index] = function(x[index])
    return out


def _log_of_det(matrix: np.ndarray):
    det = _det_of(matrix)
    if functions.is_number(det) and float(det) <= 0:
        return -se.oo if float(det) == 0 else se.nan  # log(0) and the log of a negative number
    return se.log(det)


def _logdet_numpy(x):
    sign, log_abs = np.linalg.slogdet(x)
    return np.where(sign > 0, log_abs, np.where(sign == 0, -np.inf, np.nan))


def _matrices(g: Node, x: Node) -> Node:
    """A value per matrix of a stack, broadcast over each matrix's entries."""
    return BROADCAST(g, shape=x.shape, dims=tuple(range(x.ndim - 2)))


DET = Op(
    "det",
    lambda x: _square("det")(x)[:-2],
    lambda x: np.linalg.det(x),
    lambda x: _per_matrix(_det_of, x, scalar=True),
    lambda g, out, x: (_matrices(g * out, x) * _swap(INV(x)),),
    spelling=Function("det", r"\det", numpy="np.linalg.det"),
    doc="d det(X) / dX = det(X) inv(X).T",
)
LOGDET = Op(
    "logdet",
    lambda x: _square("logdet")(x)[:-2],
    _logdet_numpy,
    lambda x: _per_matrix(_log_of_det, x, scalar=True),
    lambda g, out, x: (_matrices(g, x) * _swap(INV(x)),),
    spelling=Function("logdet", r"\log\det"),
    doc="log(det(X)) for det(X) > 0 (NaN for det(X) < 0)",
)
INV = Op(
    "inv",
    _square("inv"),
    _float_inverses,
    lambda x: _per_matrix(_inverse_of, x, scalar=False),
    lambda g, out, x: (-(_swap(out) @ g @ _swap(out)),),
    spelling=Function("inv", r"\operatorname{inv}", numpy="np.linalg.inv"),
)


def _solve_shape(a, b):
    if len(a) != 2 or a[0] != a[1]:
        raise ShapeError(f"solve needs a square matrix as its first argument, got shape {_text(a)}")
    if len(b) not in (1, 2) or b[0] != a[0]:
        raise ShapeError(
            f"solve: a right-hand side of shape {_text(b)} does not fit a matrix of shape {_text(a)}"
        )
    return b


def _solve_numpy(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.full(b.shape, np.nan)


def _solve_vjp(g, out, a, b):
    db = SOLVE(transpose(a), g)
    return (-(_outer(db, out) if out.ndim == 1 else db @ transpose(out)), db)


SOLVE = Op(
    "solve",
    _solve_shape,
    _solve_numpy,
    lambda a, b: objects.matmul(objects.tensor(_inverse_of(a)), b),
    _solve_vjp,
    spelling=Function("solve", r"\operatorname{solve}"),
    doc="x with a @ x = b",
)


# ---- einsum ---------------------------------------------------------------------------------------


def einsum_text(inputs: tuple[str, ...], output: str) -> str:
    return ",".join(inputs) + "->" + output


def _einsum_shape(*shapes, inputs=(), output=""):
    sizes: dict[str, int] = {}
    if len(shapes) != len(inputs):
        raise ShapeError(f"einsum: {len(inputs)} subscripts for {len(shapes)} operands")
    for letters, shape in zip(inputs, shapes):
        if len(letters) != len(shape):
            raise ShapeError(f"einsum: subscripts '{letters}' for an operand of shape {_text(shape)}")
        for letter, size in zip(letters, shape):
            if sizes.setdefault(letter, size) != size:
                raise ShapeError(f"einsum: '{letter}' stands for sizes {sizes[letter]} and {size}")
    return tuple(sizes[letter] for letter in output)


def _einsum_element(*args, inputs=(), output=""):
    letters = sorted(set("".join(inputs)))
    sizes = {
        letter: size for subscripts, arg in zip(inputs, args) for letter, size in zip(subscripts, arg.shape)
    }
    product = None
    for subscripts, arg in zip(inputs, args):
        order = sorted(range(len(subscripts)), key=lambda k: letters.index(subscripts[k]))
        moved = np.transpose(arg, order)
        present = [subscripts[k] for k in order]
        spread = moved.reshape(tuple(sizes[letter] if letter in present else 1 for letter in letters))
        product = spread if product is None else product * spread
    product = np.broadcast_to(product, tuple(sizes[letter] for letter in letters))
    summed = tuple(i for i, letter in enumerate(letters) if letter not in output)
    reduced = objects.sum_axes(product, summed) if summed else product
    remaining = [letter for letter in letters if letter in output]
    return objects.tensor(np.transpose(reduced, [remaining.index(letter) for letter in output]))


def _einsum_vjp(g, out, *args, inputs=(), output=""):
    cotangents = []
    for i, (subscripts, x) in enumerate(zip(inputs, args)):
        others = [(inputs[j], args[j]) for j in range(len(args)) if j != i]
        available = set(output).union(*(set(s) for s, _ in others))
        kept = "".join(letter for letter in subscripts if letter in available)
        part = EINSUM(g, *(a for _, a in others), inputs=(output, *(s for s, _ in others)), output=kept)
        if len(kept) < len(subscripts):
            part = BROADCAST(part, shape=x.shape, dims=tuple(subscripts.index(letter) for letter in kept))
        cotangents.append(part)
    return tuple(cotangents)


def _einsum_simplify(*args, inputs=(), output=""):
    try:
        shape = _einsum_shape(*(a.shape for a in args), inputs=inputs, output=output)
    except ShapeError:
        return None
    if any(is_zero(a) for a in args):
        return zeros(shape)
    if len(args) == 1 and sorted(inputs[0]) == sorted(output):
        return TRANSPOSE(args[0], perm=tuple(inputs[0].index(letter) for letter in output))
    return None


EINSUM = Op(
    "einsum",
    _einsum_shape,
    lambda *args, inputs=(), output="": np.einsum(einsum_text(inputs, output), *args, optimize=len(args) > 2),
    _einsum_element,
    _einsum_vjp,
    simplify=_einsum_simplify,
    spelling=Special("einsum"),
)


# ---- the public constructors ------------------------------------------------------------------


def add(a, b):
    return ADD(a, b)


def subtract(a, b):
    return SUBTRACT(a, b)


def multiply(a, b):
    return MULTIPLY(a, b)


def divide(a, b):
    return DIVIDE(a, b)


def power(a, b):
    return POWER(a, b)


def negative(x):
    return NEGATIVE(x)


def matmul(a, b):
    return MATMUL(a, b)


def where(c, a, b):
    return WHERE(c, a, b)


def greater(a, b):
    return GREATER(a, b)


def equal(a, b):
    return EQUAL(a, b)


def exp(x):
    return EXP(x)


def sin(x):
    return SIN(x)


def cos(x):
    return COS(x)


def cosh(x):
    return COSH(x)


def sinh(x):
    return SINH(x)


def sqrt(x):
    return SQRT(x)


def log(x):
    return LOG(x)


def sign(x):
    return SIGN(x)


def step(x):
    return STEP(x)


def sigmoid(x):
    return SIGMOID(x)


# The language's element-wise functions of one argument, by the name a program calls them.
UNARY_FUNCTIONS = {
    op.name: op
    for op in (SIN, COS, TAN, ARCSIN, ARCCOS, ARCTAN, SINH, COSH, TANH, EXP, LOG, SQRT, ABS)
    + (SIGMOID, RELU, SOFTPLUS, STOP, STEP, SIGN)
}


# The element-wise operations: each result element depends on the same element of each argument
# (closed-form Jacobians use their local derivatives; softmax, cumsum and solve keep shapes too but
# are not element-wise).
ELEMENTWISE = frozenset(
    {*UNARY_FUNCTIONS.values(), NEGATIVE, ADD, SUBTRACT, MULTIPLY, DIVIDE, POWER, MAXIMUM, MINIMUM, WHERE}
    | set(ELEMENT_FUNCTIONS.values())
)


# ---- constructors -------------------------------------------------------------------------------


def _eye_element(n=0):
    out = objects.filled((n, n), objects.ZERO)
    for i in range(n):
        out[i, i] = se.Integer(1)
    return out


EYE = Op(
    "eye",
    lambda n=0: (n, n),
    lambda n=0: np.eye(n),
    _eye_element,
    lambda g, out: (),
    spelling=Special("eye"),
)


def is_eye(node: Node) -> bool:
    return node.op is EYE


# ---- joining ----------------------------------------------------------------------------------


def _concatenate_shape(*shapes, axis=0):
    first = shapes[0]
    if not first:
        raise ShapeError("zero-dimensional arrays cannot be concatenated")
    for shape in shapes[1:]:
        if len(shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
            raise ShapeError(f"shapes {_text(first)} and {_text(shape)} do not fit along axis {axis}")
    return tuple(sum(s[axis] for s in shapes) if i == axis else d for i, d in enumerate(first))


def _concatenate_vjp(g, out, *args, axis=0):
    cotangents, start = [], 0
    for arg in args:
        key = tuple(("slice", None, None, None) for _ in range(axis))
        cotangents.append(getitem(g, key + (("slice", start, start + arg.shape[axis], None),)))
        start += arg.shape[axis]
    return tuple(cotangents)


CONCATENATE = Op(
    "concatenate",
    _concatenate_shape,
    lambda *args, axis=0: np.concatenate(args, axis=axis),
    lambda *args, axis=0: objects.tensor(np.concatenate(args, axis=axis)),
    _concatenate_vjp,
    spelling=Special("concatenate"),
)


def stack(items) -> Node:
    """NumPy's stack along a new first axis."""
    items = [as_node(i) for i in items]
    return CONCATENATE(*(reshape(i, (1, *i.shape)) for i in items), axis=0)


def dot(a, b) -> Node:
    """NumPy's dot: scalars multiply, 1-D and 2-D as matmul, N-D sums a's last axis with b's
    second-to-last."""
    a, b = as_node(a), as_node(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    inner = b.shape[-2] if b.ndim >= 2 else b.shape[0]
    if a.shape[-1] != inner:
        raise ShapeError(f"dot: shapes {_text(a.shape)} and {_text(b.shape)} do not align")
    if b.ndim >= 2:
        b = transpose(b, (b.ndim - 2, *range(b.ndim - 2), b.ndim - 1))
    products = reshape(a, a.shape + (1,) * (b.ndim - 1)) * b
    return sum_(products, a.ndim - 1)
