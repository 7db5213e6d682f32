"""Symbolic text: results written in SymPy's str syntax, stop() removed, floats in shortest form, bounded.

The printer follows SymPy's StrPrinter conventions (`2*a/3`, `1/x`, `sqrt(x)`, `a - 1`, `exp(x)`,
Python's `**`), so the text reads as SymPy's and parses back with `sympy.sympify`. It walks
SymEngine trees directly: converting to SymPy to print would cost more than all the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import symengine as se

from gradcli import functions
from gradcli.differentiate import walk
from gradcli.factored import nested_factored
from gradcli.lower import distinct
from gradcli.model import SymbolicMode

AUTO_MAX_OPERATIONS = 100  # --symbolic auto elides a result having an element larger than this

_ADD, _MUL, _POW, _ATOM = 1, 2, 3, 4  # precedence, loosest first
_COEFFICIENT = re.compile(r"^[0-9.e+-]+\*")  # a leading number factor, ignored when ordering terms


def operations(exprs: Iterable[se.Basic], arguments: dict | None = None) -> tuple[list[int], bool]:
    """The operation count of each expression written out as a tree (shared parts counted per use),
    and whether any of them holds a stop(...). `arguments`: see differentiate.walk."""
    exprs = list(exprs)
    size: dict[se.Basic, int] = {}
    stops = False
    order, arguments = walk(exprs, arguments=arguments)
    for node in order:
        operation = functions.kind(node)
        stops = stops or operation == "stop"
        args = arguments[node] if operation != "leaf" else ()
        size[node] = max(len(args) - 1, 1) + sum(size[a] for a in args) if args else 0
    return [size[e] for e in exprs], stops


def strip_stops(expr: se.Basic, memo: dict | None = None) -> se.Basic:
    """The expression with every stop(x) replaced by x (for display and nothing else)."""
    memo = {} if memo is None else memo
    order, arguments = walk([expr], memo)
    for node in order:
        operation = functions.kind(node)
        if operation == "stop":
            memo[node] = memo[arguments[node][0]]
        elif operation != "leaf":
            args = tuple(memo[a] for a in arguments[node])
            memo[node] = node if args == arguments[node] else node.func(*args)
        else:
            memo[node] = node
    return memo[expr]


def _number(node) -> str:
    if isinstance(node, se.RealDouble):
        value = float(node)
        return repr(value) if np.isfinite(value) else {"inf": "oo", "-inf": "-oo"}.get(str(value), "nan")
    return str(node)


class _Printer:
    """Prints each node once; the memo holds (text, precedence, magnitude), where magnitude is the
    text without its leading minus for a negative number or product (so `a - 2*b` needs no new node)."""

    def __init__(self, arguments: dict | None = None):
        self.memo: dict[se.Basic, tuple[str, int, str | None]] = {}
        self.arguments = {} if arguments is None else arguments  # each node's arguments (see walk)
        self._rationals: dict = {}  # see _rational

    def texts(self, nodes: list) -> list[str]:
        """The text of each node, all printed in one walk of their shared graph."""
        order, _ = walk(nodes, self.memo, self.arguments)
        for item in order:
            self.memo[item] = self._print(item)
        return [self.memo[node][0] for node in nodes]

    def _wrap(self, node, precedence: int) -> str:
        text, own, _ = self.memo[node]
        return f"({text})" if own < precedence else text

    def _print(self, node) -> tuple[str, int, str | None]:
        operation = functions.kind(node)
        if operation == "add":
            return self._add(node), _ADD, None
        if operation == "mul":
            return self._mul(node)
        if operation == "pow":
            return self._pow(node)
        if operation != "leaf":
            return f"{operation}({', '.join(self._wrap(a, _ADD) for a in self.arguments[node])})", _ATOM, None
        if not functions.is_number(node):
            return str(node), _ATOM, None
        text = _number(node)
        own = _MUL if isinstance(node, se.Rational) and not isinstance(node, se.Integer) else _ATOM
        if text.startswith("-"):
            return text, _ADD, text[1:]
        return text, own, None

    def _add(self, node) -> str:
        """Positive terms first, constants last, otherwise alphabetical by what follows a number
        coefficient, as SymPy sorts: `a - 1`, `1 - a`, `a - 2*b`, `v[0] + 2*v[1] + v[2]`."""
        parts = []
        for term in self.arguments[node]:
            text, own, magnitude = self.memo[term]
            negative = magnitude is not None
            body = magnitude if negative else (f"({text})" if own <= _ADD else text)
            parts.append((negative, functions.is_number(term), _COEFFICIENT.sub("", body), body))
        parts.sort()
        out = ""
        for i, (negative, _, _, body) in enumerate(parts):
            if negative:
                out += ("-" if i == 0 else " - ") + body
            else:
                out += ("" if i == 0 else " + ") + body
        return out

    def _mul(self, node) -> tuple[str, int, str | None]:
        args = self.arguments[node]
        negative = False
        numerator: list[str] = []
        denominator: list[str] = []
        if functions.is_number(args[0]):
            coefficient, args = args[0], args[1:]
            if isinstance(coefficient, se.Rational):
                negative, top, bottom = self._rational(coefficient)
                numerator += top
                denominator += bottom
            else:
                if float(coefficient) < 0:
                    negative, coefficient = True, -coefficient
                if coefficient != 1 or not args:
                    numerator.append(_number(coefficient))
        for factor in sorted(args, key=self._factor_order):
            inverse = self._inverse(factor)
            if inverse is not None:
                denominator.append(inverse)
            else:
                numerator.append(self._wrap(factor, _MUL))
        text = "*".join(numerator) or "1"
        if denominator:
            bottom = denominator[0] if len(denominator) == 1 else f"({'*'.join(denominator)})"
            text = f"{text}/{bottom}"
        return ("-" + text, _ADD, text) if negative else (text, _MUL, None)

    def _rational(self, number) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
        """Whether an exact coefficient is negative, and the texts of its magnitude's numerator and
        denominator other than 1; each distinct coefficient is worked out once (SymEngine is slow)."""
        found = self._rationals.get(number)
        if found is None:
            negative = float(number) < 0
            top, bottom = (int(part) for part in (-number if negative else number).get_num_den())
            found = (negative, (str(top),) if top != 1 else (), (str(bottom),) if bottom != 1 else ())
            self._rationals[number] = found
        return found

    def _factor_order(self, factor) -> tuple[int, str]:
        """Symbols and their powers first, then everything else; alphabetical within each."""
        base = self.arguments[factor][0] if functions.kind(factor) == "pow" else factor
        return (0 if isinstance(base, se.Symbol) else 1, self.memo[factor][0])

    def _inverse(self, factor) -> str | None:
        """For x**-k with an exact k (SymPy writes these as divisions), the text of x**k; else None."""
        if functions.kind(factor) != "pow":
            return None
        base, exponent = self.arguments[factor]
        if base == se.E or not isinstance(exponent, se.Rational) or float(exponent) >= 0:
            return None
        magnitude = -exponent
        if magnitude == 1:
            return self._wrap(base, _POW)
        if magnitude == functions.HALF:
            return f"sqrt({self._wrap(base, _ADD)})"
        shown = str(magnitude) if isinstance(magnitude, se.Integer) else f"({magnitude})"
        return f"{self._wrap(base, _POW + 1)}**{shown}"

    def _pow(self, node) -> tuple[str, int, str | None]:
        base, exponent = self.arguments[node]
        if base == se.E:
            return f"exp({self._wrap(exponent, _ADD)})", _ATOM, None
        if exponent == functions.HALF:
            return f"sqrt({self._wrap(base, _ADD)})", _ATOM, None
        inverse = self._inverse(node)
        if inverse is not None:
            return f"1/{inverse}", _MUL, None
        return f"{self._wrap(base, _POW + 1)}**{self._wrap(exponent, _ATOM)}", _POW, None


def text(expr: se.Basic) -> str:
    """One expression's text, stop() removed."""
    return _Printer().texts([strip_stops(expr)])[0]


def nested(array):
    """An array as nested lists (the element itself for a 0-d array or a scalar)."""
    if not isinstance(array, np.ndarray):
        return array
    return array.tolist() if array.ndim else array[()]


def symbolic(
    array: np.ndarray,
    mode: SymbolicMode,
    max_operations: int,
    factored: tuple | None = None,
    arguments: dict | None = None,
) -> tuple[object | None, str | None]:
    """(nested lists of strings or one string, None) or (None, why it is elided).

    Each distinct expression is measured and printed once (a Hessian is mostly the same zero);
    `factored` is `distinct(array)` when the caller has it already; `arguments` (see
    differentiate.walk) is filled for the nodes walked, for the caller's next walk of them."""
    if mode is SymbolicMode.NONE:
        return None, "skipped (--symbolic none)"
    unique, codes = factored or distinct(array)
    arguments = {} if arguments is None else arguments
    # Python ints: a deep chain written out has astronomically many operations
    sizes, stops = operations(unique, arguments)
    largest = max(sizes, default=0)
    if mode is SymbolicMode.AUTO and largest > AUTO_MAX_OPERATIONS:
        return None, f"{largest} operations; --symbolic full prints it"
    uses = np.bincount(codes.reshape(-1), minlength=len(unique))
    total = sum(size * int(count) for size, count in zip(sizes, uses))
    if total > max_operations:
        return None, f"{total} operations, more than gradcli prints ({max_operations}; --limit operations=N)"
    if stops:
        stripped: dict = {}
        unique = [strip_stops(e, stripped) for e in unique]
    return nested_factored(_Printer(arguments).texts(unique), codes.reshape(array.shape)), None
