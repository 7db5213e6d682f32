"""Symbolic text: results written in SymPy's str syntax, stop() removed, floats in shortest form, bounded.

The printer follows SymPy's StrPrinter conventions (`2*a/3`, `1/x`, `sqrt(x)`, `a - 1`, `exp(x)`,
Python's `**`), so the text reads as SymPy's and parses back with `sympy.sympify`. It walks
SymEngine trees directly: converting to SymPy to print would cost more than all the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import symengine as se

from gradcli import functions
from gradcli.differentiate import postorder
from gradcli.lower import distinct
from gradcli.model import SymbolicMode

AUTO_MAX_OPERATIONS = 100  # --symbolic auto elides a result having an element larger than this

_ADD, _MUL, _POW, _ATOM = 1, 2, 3, 4  # precedence, loosest first


def operations(exprs: Iterable[se.Basic]) -> tuple[list[int], bool]:
    """The operation count of each expression written out as a tree (shared parts counted per use),
    and whether any of them holds a stop(...)."""
    exprs = list(exprs)
    size: dict[se.Basic, int] = {}
    stops = False
    for node in postorder(exprs):
        operation = functions.kind(node)
        stops = stops or operation == "stop"
        args = node.args if operation != "leaf" else ()
        size[node] = max(len(args) - 1, 1) + sum(size[a] for a in args) if args else 0
    return [size[e] for e in exprs], stops


def strip_stops(expr: se.Basic, memo: dict | None = None) -> se.Basic:
    """The expression with every stop(x) replaced by x (for display and nothing else)."""
    memo = {} if memo is None else memo
    for node in postorder([expr], memo):
        operation = functions.kind(node)
        if operation == "stop":
            memo[node] = memo[node.args[0]]
        elif operation != "leaf":
            args = tuple(memo[a] for a in node.args)
            memo[node] = node if args == tuple(node.args) else node.func(*args)
        else:
            memo[node] = node
    return memo[expr]


def _number(node) -> str:
    if isinstance(node, se.RealDouble):
        value = float(node)
        return repr(value) if np.isfinite(value) else {"inf": "oo", "-inf": "-oo"}.get(str(value), "nan")
    return str(node)


def _negative(node) -> bool:
    """Whether the node prints with a leading minus (a negative number or coefficient)."""
    if functions.is_number(node):
        return float(node) < 0
    if functions.kind(node) == "mul":
        first = node.args[0]
        return functions.is_number(first) and float(first) < 0
    return False


class _Printer:
    def __init__(self):
        self.memo: dict[se.Basic, tuple[str, int]] = {}

    def text(self, node) -> str:
        known = self.memo.get(node)
        if known is not None:
            return known[0]
        for item in postorder([node], self.memo):
            self.memo[item] = self._print(item)
        return self.memo[node][0]

    def _wrap(self, node, precedence: int) -> str:
        text, own = self.memo[node] if node in self.memo else self._print(node)
        return f"({text})" if own < precedence else text

    def _print(self, node) -> tuple[str, int]:
        operation = functions.kind(node)
        if operation == "add":
            return self._add(node), _ADD
        if operation == "mul":
            return self._mul(node)
        if operation == "pow":
            return self._pow(node)
        if operation != "leaf":
            return f"{operation}({', '.join(self._wrap(a, _ADD) for a in node.args)})", _ATOM
        if isinstance(node, se.Rational) and not isinstance(node, se.Integer):
            return str(node), _MUL
        if functions.is_number(node) and float(node) < 0:
            return _number(node), _ADD
        return (_number(node) if functions.is_number(node) else str(node)), _ATOM

    def _add(self, node) -> str:
        """Positive terms first, constants last, otherwise alphabetical: `a - 1`, `1 - a`, `a - 2*b`."""
        parts = []
        for term in node.args:
            negative = _negative(term)
            body = self._wrap_new(-term, _ADD + 1) if negative else self._wrap(term, _ADD + 1)
            parts.append((negative, functions.is_number(term), body))
        parts.sort()
        out = ""
        for i, (negative, _, body) in enumerate(parts):
            if negative:
                out += ("-" if i == 0 else " - ") + body
            else:
                out += ("" if i == 0 else " + ") + body
        return out

    def _mul(self, node) -> tuple[str, int]:
        args = list(node.args)
        sign = ""
        numerator: list[str] = []
        denominator: list[str] = []
        if functions.is_number(args[0]):
            coefficient = args.pop(0)
            if float(coefficient) < 0:
                sign, coefficient = "-", -coefficient
            if isinstance(coefficient, se.Rational):
                top, bottom = (int(part) for part in coefficient.get_num_den())
                if top != 1:
                    numerator.append(str(top))
                if bottom != 1:
                    denominator.append(str(bottom))
            elif coefficient != 1 or not args:
                numerator.append(_number(coefficient))
        for factor in sorted(args, key=self._factor_order):
            if functions.kind(factor) == "pow" and factor.args[0] != se.E and _negative(factor.args[1]):
                inverse = factor.args[0] ** (-factor.args[1])
                denominator.append(self._wrap_new(inverse, _POW))
            else:
                numerator.append(self._wrap(factor, _MUL))
        text = "*".join(numerator) or "1"
        if denominator:
            bottom = denominator[0] if len(denominator) == 1 else f"({'*'.join(denominator)})"
            text = f"{text}/{bottom}"
        return sign + text, (_ADD if sign else _MUL)

    def _factor_order(self, factor) -> tuple[int, str]:
        """Symbols and their powers first, then everything else; alphabetical within each."""
        base = factor.args[0] if functions.kind(factor) == "pow" else factor
        return (0 if isinstance(base, se.Symbol) else 1, self.text(factor))

    def _wrap_new(self, node, precedence: int) -> str:
        """Print a node built for printing (not in the graph), parenthesised below `precedence`."""
        text = self.text(node)
        own = self.memo[node][1]
        return f"({text})" if own < precedence else text

    def _pow(self, node) -> tuple[str, int]:
        base, exponent = node.args
        if base == se.E:
            return f"exp({self._wrap(exponent, _ADD)})", _ATOM
        if exponent == functions.HALF:
            return f"sqrt({self._wrap(base, _ADD)})", _ATOM
        if _negative(exponent):
            inverse = base ** (-exponent)
            return f"1/{self._wrap_new(inverse, _POW)}", _MUL
        exponent_text = self._wrap(exponent, _ATOM)
        return f"{self._wrap(base, _POW + 1)}**{exponent_text}", _POW


def text(expr: se.Basic) -> str:
    return _Printer().text(strip_stops(expr))


def nested(array):
    """An array as nested lists (the element itself for a 0-d array or a scalar)."""
    if not isinstance(array, np.ndarray):
        return array
    return array.tolist() if array.ndim else array[()]


def symbolic(
    array: np.ndarray, mode: SymbolicMode, max_operations: int, factored: tuple | None = None
) -> tuple[object | None, str | None]:
    """(nested lists of strings or one string, None) or (None, why it is elided).

    Each distinct expression is measured and printed once (a Hessian is mostly the same zero);
    `factored` is `distinct(array)` when the caller has it already."""
    if mode is SymbolicMode.NONE:
        return None, "skipped (--symbolic none)"
    unique, codes = factored or distinct(array)
    sizes, stops = operations(unique)  # Python ints: a deep chain written out has astronomically many
    largest = max(sizes, default=0)
    if mode is SymbolicMode.AUTO and largest > AUTO_MAX_OPERATIONS:
        return None, f"{largest} operations; --symbolic full prints it"
    uses = np.bincount(codes.reshape(-1), minlength=len(unique))
    total = sum(size * int(count) for size, count in zip(sizes, uses))
    if total > max_operations:
        return None, f"{total} operations, more than gradcli prints ({max_operations}; --limit operations=N)"
    printer, stripped = _Printer(), {}
    strings = np.empty(len(unique), dtype=object)
    strings[:] = [printer.text(strip_stops(e, stripped) if stops else e) for e in unique]
    return nested(strings[codes.reshape(-1)].reshape(array.shape)), None
