"""The element-wise functions: SymPy classes for those SymPy lacks, and one table of local derivatives.

Kinks follow TensorFlow: relu'(0) = 0, abs'(0) = 0, and at a tie maximum/minimum pass the whole
gradient to their first argument. Functions whose derivative is zero almost everywhere (the step
and sign that those derivatives use) get the derivative 0, so every order exists.
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import Function


def _is_number(value) -> bool:
    return isinstance(value, sp.Number)


class stop(Function):  # noqa: N801 - printed as the language spells it
    """The value of its argument, through which no gradient flows (tf.stop_gradient)."""

    @classmethod
    def eval(cls, x):
        if _is_number(x):
            return x
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero


class step(Function):  # noqa: N801
    """1 where x > 0, else 0 (the derivative of relu, with relu'(0) = 0)."""

    @classmethod
    def eval(cls, x):
        if _is_number(x) and x.is_finite:
            return sp.S.One if x > 0 else sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero


class sgn(Function):  # noqa: N801
    """The sign of x, with sgn(0) = 0 (the derivative of abs)."""

    @classmethod
    def eval(cls, x):
        if _is_number(x) and x.is_finite:
            return sp.Integer((x > 0) - (x < 0))
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero


class relu(Function):  # noqa: N801
    @classmethod
    def eval(cls, x):
        if _is_number(x) and x.is_finite:
            return x if x > 0 else sp.S.Zero
        return None

    def fdiff(self, argindex=1):
        return step(self.args[0])


class sigmoid(Function):  # noqa: N801
    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sp.S.Half
        return None

    def fdiff(self, argindex=1):
        return self * (1 - self)


class softplus(Function):  # noqa: N801
    """log(1 + exp(x))."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


class maximum(Function):  # noqa: N801
    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if _is_number(a) and _is_number(b) and a.is_finite and b.is_finite:
            return a if a >= b else b
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        to_b = step(b - a)  # 1 only where b > a strictly: a tie goes to a
        return 1 - to_b if argindex == 1 else to_b


class minimum(Function):  # noqa: N801
    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if _is_number(a) and _is_number(b) and a.is_finite and b.is_finite:
            return a if a <= b else b
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        to_b = step(a - b)  # 1 only where b < a strictly
        return 1 - to_b if argindex == 1 else to_b


def _square(x):
    return x**2


# The language's element-wise functions, by name: how to build each on SymPy scalars.
ELEMENTWISE = {
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "asin": sp.asin,
    "acos": sp.acos,
    "atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "square": _square,
    "sigmoid": sigmoid,
    "relu": relu,
    "softplus": softplus,
    "stop": stop,
}
BINARY_ELEMENTWISE = {"pow": sp.Pow, "maximum": maximum, "minimum": minimum}


def partial(node: sp.Expr, index: int) -> sp.Expr:
    """The derivative of `node` with respect to its argument number `index` (0-based)."""
    args = node.args
    if isinstance(node, sp.Add):
        return sp.S.One
    if isinstance(node, sp.Mul):
        return sp.Mul(*(args[:index] + args[index + 1 :]))
    if isinstance(node, sp.Pow):
        base, exponent = args
        if index == 0:
            return exponent * base ** (exponent - 1)
        return node * sp.log(base)
    if isinstance(node, sp.Abs):
        return sgn(args[0])
    if isinstance(node, sp.Function):
        return node.fdiff(index + 1)
    raise TypeError(f"no derivative rule for {type(node).__name__}")
