"""Element scalars: the SymEngine forms of operations SymEngine lacks (relu, step, maximum, ...).

Each is an undefined function printed by its gradcli name and folded to a number when its
arguments are numbers. The operation table (ops.py) uses them as the element forms of its rows;
`kind` names the operation an element expression applies, for the walks over element expressions.
Constants fold as NumPy computes them: a NaN constant stays NaN through relu, step, sgn, maximum
and minimum.
"""

from __future__ import annotations

from fractions import Fraction

import symengine as se

ZERO = se.Integer(0)
ONE = se.Integer(1)
HALF = se.Rational(1, 2)
NAN = se.RealDouble(float("nan"))

# Functions SymEngine lacks, as undefined functions printed by their gradcli names.
CUSTOM = ("stop", "step", "sgn", "relu", "sigmoid", "softplus", "maximum", "minimum")
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


def power(a, b):
    """a ** b; a power of exact 0, 1 or -1 is reduced first (SymEngine cannot raise to an exponent
    beyond 2**64)."""
    if isinstance(a, se.Integer) and isinstance(b, se.Integer) and abs(int(a)) <= 1:
        if int(a) == 1 or (int(a) == -1 and int(b) % 2 == 0):
            return ONE
        if int(a) == -1:
            return -ONE
        if int(b) > 0:
            return ZERO
    return a**b


def is_zero(x) -> bool:
    """x == 0 for an element expression (exact zero; a float 0.0 is not), without SymEngine's
    slow comparison: SymEngine gives every exact zero the type of ZERO."""
    return type(x) is _ZERO_TYPE


def kind(node) -> str:
    """The operation a node applies: 'add', 'mul', 'pow', a function name, or 'leaf'."""
    found = _KIND_OF_TYPE.get(type(node))
    if found is None:
        found = _KIND_OF_TYPE[type(node)] = _kind_of_type(type(node))
    return node.get_name() if found is _NAMED else found


def _kind_of_type(node_type: type):
    if issubclass(node_type, se.FunctionSymbol):
        return _NAMED
    name = node_type.__name__
    if name in ("Add", "Mul", "Pow", "Abs"):
        return name.lower()
    return name if name in _FUNCTION_NAMES else "leaf"


_ZERO_TYPE = type(ZERO)
_NAMED = object()  # the kind of an undefined function's type: its name, from the node
_KIND_OF_TYPE: dict[type, object] = {}
# SymEngine's own function classes that stand for gradcli operations (the rest are undefined functions)
_FUNCTION_NAMES = {"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "log", "abs"}
