"""The operation table: how each operation is built on SymEngine scalars and its local derivatives.

One entry per operation, as autograd's numpy_vjps.py: `partial(node, i)` is the derivative of a node
with respect to its argument i. Kinks follow TensorFlow: relu'(0) = 0, abs'(0) = 0, and at a tie
maximum/minimum pass the whole gradient to their first argument. The step and sign functions those
derivatives use have derivative 0 (almost everywhere), so every order exists.

The derivative of a**b with respect to b is a**b * log(a) where a > 0 and 0 elsewhere (TensorFlow's
_PowGrad; JAX agrees at a = 0), written with `logpos`, so 0**b never gives 0 * -inf. Constants fold
as NumPy computes them: a NaN constant stays NaN through relu, step, sgn, maximum and minimum.
"""

from __future__ import annotations

from fractions import Fraction

import symengine as se

ZERO = se.Integer(0)
ONE = se.Integer(1)
HALF = se.Rational(1, 2)
NAN = se.RealDouble(float("nan"))

# Functions SymEngine lacks, as undefined functions printed by their gradcli names.
CUSTOM = ("stop", "step", "sgn", "relu", "sigmoid", "softplus", "maximum", "minimum", "logpos", "invpos")
_UNDEFINED = {name: se.Function(name) for name in CUSTOM}


def is_number(x) -> bool:
    """An exact rational or a float (not an infinity or NaN of SymEngine's)."""
    return isinstance(x, (se.Rational, se.RealDouble))


def _is_nan(x) -> bool:
    return isinstance(x, se.RealDouble) and float(x) != float(x)


def _value(x):
    """A number as a Python Fraction or float: compared exactly, however large."""
    if isinstance(x, se.Rational):
        return Fraction(*(int(part) for part in x.get_num_den()))
    return float(x)


def _sign_of(x) -> int:
    value = _value(x)
    return (value > 0) - (value < 0)


def stop(x):
    """The value of x, through which no gradient flows (tf.stop_gradient)."""
    return x if is_number(x) else _UNDEFINED["stop"](x)


def step(x):
    """1 where x > 0, else 0 (the derivative of relu); NaN at NaN."""
    if not is_number(x):
        return _UNDEFINED["step"](x)
    return NAN if _is_nan(x) else se.Integer(int(_sign_of(x) > 0))


def sgn(x):
    """The sign of x with sgn(0) = 0 (the derivative of abs); NaN at NaN."""
    if not is_number(x):
        return _UNDEFINED["sgn"](x)
    return NAN if _is_nan(x) else se.Integer(_sign_of(x))


def relu(x):
    if is_number(x):
        return x if _is_nan(x) or _sign_of(x) > 0 else ZERO
    return _UNDEFINED["relu"](x)


def logpos(x):
    """log(x) where x > 0, else 0 (NaN at NaN): the logarithm in the derivative of a power by its
    exponent (TensorFlow's where(x > 0, log(x), 0))."""
    if not is_number(x):
        return _UNDEFINED["logpos"](x)
    return x if _is_nan(x) else (se.log(x) if _sign_of(x) > 0 else ZERO)


def invpos(x):
    """1/x where x > 0, else 0 (NaN at NaN): the derivative of logpos."""
    if not is_number(x):
        return _UNDEFINED["invpos"](x)
    return x if _is_nan(x) else (1 / x if _sign_of(x) > 0 else ZERO)


def sigmoid(x):
    return HALF if x == 0 else _UNDEFINED["sigmoid"](x)


def softplus(x):
    """log(1 + exp(x))."""
    return _UNDEFINED["softplus"](x)


def maximum(a, b):
    if a == b:
        return a
    if is_number(a) and is_number(b):
        return NAN if _is_nan(a) or _is_nan(b) else (a if _value(a) >= _value(b) else b)
    return _UNDEFINED["maximum"](a, b)


def minimum(a, b):
    if a == b:
        return a
    if is_number(a) and is_number(b):
        return NAN if _is_nan(a) or _is_nan(b) else (a if _value(a) <= _value(b) else b)
    return _UNDEFINED["minimum"](a, b)


def square(x):
    return x**2


def power(a, b):
    return a**b


# The language's element-wise functions, by name.
ELEMENTWISE = {
    "sin": se.sin, "cos": se.cos, "tan": se.tan, "asin": se.asin, "acos": se.acos,
    "atan": se.atan, "sinh": se.sinh, "cosh": se.cosh, "tanh": se.tanh, "exp": se.exp,
    "log": se.log, "sqrt": se.sqrt, "abs": se.Abs, "square": square, "sigmoid": sigmoid,
    "relu": relu, "softplus": softplus, "stop": stop,
}  # fmt: skip
BINARY_ELEMENTWISE = {"pow": power, "maximum": maximum, "minimum": minimum}


def kind(node) -> str:
    """The operation a node applies: 'add', 'mul', 'pow', a function name, or 'leaf'."""
    node_type = type(node)
    if node_type is se.FunctionSymbol:
        return node.get_name()
    found = _KIND_OF_TYPE.get(node_type)
    if found is None:
        name = node_type.__name__
        found = _KIND_OF_TYPE[node_type] = (
            name.lower()
            if name in ("Add", "Mul", "Pow", "Abs")
            else name
            if name in _FUNCTION_PARTIALS
            else "leaf"
        )
    return found


_KIND_OF_TYPE: dict[type, str] = {}


def _pow_partial(node, index):
    base, exponent = node.args
    if index == 0:
        return exponent * base ** (exponent - 1)
    return node if base == se.E else node * logpos(base)


def _mul_partial(node, index):
    args = node.args
    return se.Mul(*(args[:index] + args[index + 1 :]))


def _tie_to_first(a, b):  # d max(a, b) / da: 1 unless b > a strictly
    return 1 - step(b - a)


# d f(u) / du for each function of one argument u.
_FUNCTION_PARTIALS = {
    "sin": lambda u, node: se.cos(u),
    "cos": lambda u, node: -se.sin(u),
    "tan": lambda u, node: 1 + node**2,
    "asin": lambda u, node: 1 / se.sqrt(1 - u**2),
    "acos": lambda u, node: -1 / se.sqrt(1 - u**2),
    "atan": lambda u, node: 1 / (1 + u**2),
    "sinh": lambda u, node: se.cosh(u),
    "cosh": lambda u, node: se.sinh(u),
    "tanh": lambda u, node: 1 - node**2,
    "log": lambda u, node: 1 / u,
    "logpos": lambda u, node: invpos(u),
    "invpos": lambda u, node: -(node**2),
    "abs": lambda u, node: sgn(u),
    "relu": lambda u, node: step(u),
    "sigmoid": lambda u, node: node * (1 - node),
    "softplus": lambda u, node: sigmoid(u),
    "stop": lambda u, node: ZERO,
    "step": lambda u, node: ZERO,
    "sgn": lambda u, node: ZERO,
}


def partial(node, index: int):
    """The derivative of `node` with respect to its argument number `index` (0-based)."""
    operation = kind(node)
    if operation == "add":
        return ONE
    if operation == "mul":
        return _mul_partial(node, index)
    if operation == "pow":
        return _pow_partial(node, index)
    a, *rest = node.args
    if operation == "maximum":
        return _tie_to_first(a, rest[0]) if index == 0 else step(rest[0] - a)
    if operation == "minimum":
        return _tie_to_first(rest[0], a) if index == 0 else step(a - rest[0])
    return _FUNCTION_PARTIALS[operation](a, node)
