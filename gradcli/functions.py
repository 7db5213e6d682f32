"""Element scalars: the SymEngine forms of operations SymEngine lacks (relu, step, maximum, ...).

Each is an undefined function printed by its gradcli name and folded to a number when its
arguments are numbers. The operation table (ops.py) uses them as the element forms of its rows;
`kind` names the operation an element expression applies, for the walks over element expressions.
"""

from __future__ import annotations

import symengine as se

ZERO = se.Integer(0)
ONE = se.Integer(1)
HALF = se.Rational(1, 2)

# Functions SymEngine lacks, as undefined functions printed by their gradcli names.
CUSTOM = ("stop", "step", "sgn", "relu", "sigmoid", "softplus", "maximum", "minimum")
_UNDEFINED = {name: se.Function(name) for name in CUSTOM}


def is_number(x) -> bool:
    """An exact rational or a float (not an infinity or NaN of SymEngine's)."""
    return isinstance(x, (se.Rational, se.RealDouble))


def _sign_of(x) -> int:
    value = float(x)
    return (value > 0) - (value < 0)


def stop(x):
    """The value of x, through which no gradient flows (tf.stop_gradient)."""
    return x if is_number(x) else _UNDEFINED["stop"](x)


def step(x):
    """1 where x > 0, else 0 (the derivative of relu)."""
    return se.Integer(int(_sign_of(x) > 0)) if is_number(x) else _UNDEFINED["step"](x)


def sgn(x):
    """The sign of x with sgn(0) = 0 (the derivative of abs)."""
    return se.Integer(_sign_of(x)) if is_number(x) else _UNDEFINED["sgn"](x)


def relu(x):
    if is_number(x):
        return x if _sign_of(x) > 0 else ZERO
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
        return a if float(a) >= float(b) else b
    return _UNDEFINED["maximum"](a, b)


def minimum(a, b):
    if a == b:
        return a
    if is_number(a) and is_number(b):
        return a if float(a) <= float(b) else b
    return _UNDEFINED["minimum"](a, b)


def power(a, b):
    return a**b


def kind(node) -> str:
    """The operation a node applies: 'add', 'mul', 'pow', a function name, or 'leaf'."""
    node_type = type(node)
    if node_type is se.FunctionSymbol or isinstance(node, se.FunctionSymbol):
        return node.get_name()
    found = _KIND_OF_TYPE.get(node_type)
    if found is None:
        name = node_type.__name__
        found = _KIND_OF_TYPE[node_type] = (
            name.lower()
            if name in ("Add", "Mul", "Pow", "Abs")
            else name
            if name in _FUNCTION_NAMES
            else "leaf"
        )
    return found


_KIND_OF_TYPE: dict[type, str] = {}
# SymEngine's own function classes that stand for gradcli operations (the rest are undefined functions)
_FUNCTION_NAMES = {"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "log", "abs"}
