"""Numbers: evaluate expression graphs at values, exactly where the inputs are exact.

Integers and fractions stay exact through + - * / and integer powers; a function whose exact
result is rational (exp(0), sqrt(4)) stays exact; anything else becomes a float64 with NumPy's
rules for inf and nan (1/0 is inf, log(0) is -inf, never an exception).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
import sympy as sp

from gradcli import functions
from gradcli.differentiate import postorder
from gradcli.errors import LimitError


class _Missing:
    """The value of anything that depends on a variable without a value."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
Value = int | Fraction | np.float64


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


def _add(args):
    if all(_exact(a) for a in args):
        return _tidy(sum(args, Fraction(0)))
    return (
        np.sum([_float(a) for a in args], dtype=np.float64)
        if len(args) > 2
        else (_float(args[0]) + _float(args[1]) if len(args) == 2 else _float(args[0]))
    )


def _mul(args):
    if all(_exact(a) for a in args):
        out = Fraction(1)
        for a in args:
            out *= a
        return _tidy(out)
    out = np.float64(1.0)
    for a in args:
        out = out * _float(a)
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
    return np.power(_float(base), _float(exponent))


def _exact_sqrt(q: Fraction) -> Fraction | None:
    n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(n, d) if n * n == q.numerator and d * d == q.denominator else None


def _compare_or_nan(x):
    return isinstance(x, np.float64) and np.isnan(x)


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


# Functions evaluated in float64 (after an exact attempt through SymPy for exact arguments).
_FLOAT_FUNCTIONS = {
    sp.sin: np.sin,
    sp.cos: np.cos,
    sp.tan: np.tan,
    sp.asin: np.arcsin,
    sp.acos: np.arccos,
    sp.atan: np.arctan,
    sp.sinh: np.sinh,
    sp.cosh: np.cosh,
    sp.tanh: np.tanh,
    sp.exp: np.exp,
    sp.log: np.log,
    functions.sigmoid: _sigmoid,
    functions.softplus: _softplus,
}
# Functions that are exact on exact arguments.
_DIRECT_FUNCTIONS = {
    functions.stop: lambda x: x,
    functions.relu: _relu,
    functions.step: _step,
    functions.sgn: _sgn,
    sp.Abs: abs,
    functions.maximum: _maximum,
    functions.minimum: _minimum,
}


def _function(cls, args):
    if cls in _DIRECT_FUNCTIONS:
        return _DIRECT_FUNCTIONS[cls](*args)
    (x,) = args
    if _exact(x):
        exact = cls(sp.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x)
        if exact.is_Rational:
            return _tidy(Fraction(int(exact.p), int(exact.q)))
    return _FLOAT_FUNCTIONS[cls](_float(x))


def _leaf(node: sp.Basic):
    if isinstance(node, sp.Integer):
        return int(node)
    if isinstance(node, sp.Rational):
        return Fraction(int(node.p), int(node.q))
    if node is sp.zoo:
        return np.float64("nan")
    return _float(float(node))


class Evaluator:
    """Evaluates expressions at one assignment of values, sharing work across all of them."""

    def __init__(self, values: dict[sp.Symbol, Value], max_bits: int = 100_000):
        self.values = values
        self.max_bits = max_bits
        self.memo: dict[sp.Basic, object] = {}

    def __call__(self, expr: sp.Basic):
        if expr not in self.memo:
            self._evaluate_graph([expr])
        return self.memo[expr]

    def many(self, exprs: Iterable[sp.Basic]) -> list:
        exprs = list(exprs)
        self._evaluate_graph([e for e in exprs if e not in self.memo])
        return [self.memo[e] for e in exprs]

    def _evaluate_graph(self, roots: list[sp.Basic]) -> None:
        memo = self.memo
        with np.errstate(all="ignore"):
            for node in postorder(roots):
                if node in memo:
                    continue
                if isinstance(node, sp.Symbol):
                    memo[node] = self.values.get(node, MISSING)
                    continue
                if not node.args:
                    memo[node] = _leaf(node)
                    continue
                args = [memo[a] for a in node.args]
                if any(a is MISSING for a in args):
                    memo[node] = MISSING
                elif isinstance(node, sp.Add):
                    memo[node] = _add(args)
                elif isinstance(node, sp.Mul):
                    memo[node] = _mul(args)
                elif isinstance(node, sp.Pow):
                    memo[node] = _pow(*args, self.max_bits)
                else:
                    memo[node] = _function(node.func, args)


def missing_symbols(exprs: Iterable[sp.Basic], values: dict[sp.Symbol, Value]) -> set[sp.Symbol]:
    """The symbols without a value that any of `exprs` depends on."""
    return {node for node in postorder(exprs) if isinstance(node, sp.Symbol) and node not in values}
