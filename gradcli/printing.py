"""Symbolic text: SymPy str form of results, stop() removed, shortest floats, bounded in size."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import sympy as sp
from sympy.printing.str import StrPrinter

from gradcli import functions
from gradcli.differentiate import postorder
from gradcli.model import SymbolicMode

AUTO_MAX_OPERATIONS = 100  # --symbolic auto elides a result having an element larger than this


class _Printer(StrPrinter):
    def _print_Float(self, expr):
        value = float(expr)
        return repr(value) if np.isfinite(value) else super()._print_Float(expr)


_PRINTER = _Printer()


def operations(exprs: Iterable[sp.Basic]) -> list[int]:
    """The operation count of each expression written out as a tree (shared parts counted per use)."""
    exprs = list(exprs)
    size: dict[sp.Basic, int] = {}
    for node in postorder(exprs):
        size[node] = 0 if not node.args else max(len(node.args) - 1, 1) + sum(size[a] for a in node.args)
    return [size[e] for e in exprs]


def strip_stops(expr: sp.Basic) -> sp.Basic:
    """The expression with every stop(x) replaced by x (for display and nothing else)."""
    memo: dict[sp.Basic, sp.Basic] = {}
    for node in postorder([expr]):
        if isinstance(node, functions.stop):
            memo[node] = memo[node.args[0]]
        elif node.args:
            args = tuple(memo[a] for a in node.args)
            memo[node] = node if args == node.args else node.func(*args)
        else:
            memo[node] = node
    return memo[expr]


def text(expr: sp.Basic) -> str:
    return _PRINTER.doprint(strip_stops(expr))


def symbolic(array: np.ndarray, mode: SymbolicMode, max_operations: int) -> tuple[object | None, str | None]:
    """(nested lists of strings or one string, None) or (None, why it is elided)."""
    if mode is SymbolicMode.NONE:
        return None, "skipped (--symbolic none)"
    sizes = operations(array.flat)
    largest, total = max(sizes, default=0), sum(sizes)
    if mode is SymbolicMode.AUTO and largest > AUTO_MAX_OPERATIONS:
        return None, f"{largest} operations; --symbolic full prints it"
    if total > max_operations:
        return None, f"{total} operations, more than gradcli prints ({max_operations}; --limit operations=N)"
    strings = np.empty(array.shape, dtype=object)
    for index, expr in np.ndenumerate(array):
        strings[index] = text(expr)
    return strings.tolist() if strings.ndim else strings[()], None
