"""LaTeX: results as an align* fragment, from SymPy's LaTeX printer (element symbols as subscripts)."""

from __future__ import annotations

import math
import re

import numpy as np
import symengine as se

from gradcli.differentiate import postorder
from gradcli.model import GradResult, MatrixResult
from gradcli.printing import strip_stops

MAX_MATRIX_SIDE = 12  # larger matrices are elided with a note; JSON has every entry


def symbol_latex(label: str) -> str:
    """An element label as LaTeX: `w1` -> `w_{1}` (SymPy's style), `w[0,1]` -> `{w}_{0,1}`."""
    import sympy as sp

    match = re.fullmatch(r"(.+)\[([0-9,]+)\]", label)
    if match:
        return f"{{{sp.latex(sp.Symbol(match.group(1)))}}}_{{{match.group(2)}}}"
    return sp.latex(sp.Symbol(label))


SORTED_TERMS = 100  # a sum of more terms is printed in its stored order: SymPy's sort is quadratic


def _printer(names: dict):
    from sympy.printing.latex import LatexPrinter

    class Printer(LatexPrinter):
        def _as_ordered_terms(self, expr, order=None):
            if len(expr.args) > SORTED_TERMS:
                return list(expr.args)
            return super()._as_ordered_terms(expr, order)

    return Printer({"symbol_names": names})


# Infinite and NaN floats become these symbols before SymPy sees them (its assumptions and term
# ordering compare numbers, and NaN compares with nothing); no program name has brackets.
_NON_FINITE = {"[inf]": r"\infty", "[nan]": r"\mathrm{NaN}"}


def _without_non_finite(expr):
    replaced = {}
    for node in postorder([expr]):
        if isinstance(node, se.RealDouble) and not math.isfinite(float(node)):
            value = float(node)
            infinity = se.Symbol("[inf]")
            replaced[node] = se.Symbol("[nan]") if math.isnan(value) else infinity if value > 0 else -infinity
    return expr.xreplace(replaced) if replaced else expr


def expression(expr) -> str:
    """One SymEngine expression as LaTeX, element symbols as subscripts, stop() removed."""
    converted = _without_non_finite(strip_stops(expr))._sympy_()  # SymEngine's conversion, no text
    names = {s: _NON_FINITE.get(s.name) or symbol_latex(s.name) for s in converted.free_symbols}
    return _printer(names).doprint(converted)


def _array(array: np.ndarray) -> str:
    """A scalar, a row (1-D), a matrix (2-D), or matrices nested along the first axis (N-D)."""
    if array.ndim == 0:
        return expression(array[()])
    if array.ndim > 2:
        return r"\begin{bmatrix} " + r" \\ ".join(_array(part) for part in array) + r" \end{bmatrix}"
    rows = array.reshape(1, -1) if array.ndim == 1 else array
    body = r" \\ ".join(" & ".join(expression(e) for e in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def _text(message: str) -> str:
    """Plain words inside LaTeX, with its special characters escaped."""
    escaped = message.replace("\\", r"\textbackslash{}")
    escaped = re.sub(r"([#$%&_{}])", r"\\\1", escaped)
    escaped = escaped.replace("~", r"\textasciitilde{}").replace("^", r"\textasciicircum{}")
    return r"\text{" + escaped + "}"


def _quantity(of: tuple[str, ...], weighted: bool) -> str:
    return symbol_latex(of[0]) if len(of) == 1 and not weighted else "L"


def grad_latex(result: GradResult, weighted: bool = False) -> str:
    top = _quantity(result.of, weighted)
    power = "" if result.order == 1 else f"^{{{result.order}}}"
    lines = []
    for t in result.gradients:
        bottom = symbol_latex(t.name) + ("" if result.order == 1 else f"^{{{result.order}}}")
        left = rf"\frac{{\partial{power} {top}}}{{\partial {bottom}}}"
        if t.status == "disconnected" and t.expressions is None:
            lines.append(left + r" &: " + _text(f"disconnected: {t.reason}"))
        elif t.symbolic is None and t.symbolic_elided:  # an elided, skipped or never built result
            lines.append(left + r" &: " + _text(f"elided: {t.symbolic_elided}"))
        else:
            lines.append(left + " &= " + _array(t.expressions))
        if t.matrix_latex is not None:
            lines.append(r" &= " + t.matrix_latex + r" \quad " + _text("(matrix form)"))
    return _align(lines)


def matrix_latex(result: MatrixResult, weighted: bool = False) -> str:
    lines = []
    if result.command == "hessian":
        left = r"\nabla^{2} " + _quantity(result.of, weighted)
    else:
        left = r"\frac{\partial (" + ", ".join(map(symbol_latex, result.of)) + r")}{\partial ("
        left += ", ".join(map(symbol_latex, result.wrt)) + ")}"
    matrix = result.expressions
    if result.symbolic is None and result.symbolic_elided:
        lines.append(left + r" &: " + _text(f"elided: {result.symbolic_elided}"))
    elif matrix.size == 0:
        lines.append(left + r" &: " + _text("empty: no connected target"))
    elif max(matrix.shape) > MAX_MATRIX_SIDE:
        lines.append(
            left
            + r" &: "
            + _text(f"{matrix.shape[0]} x {matrix.shape[1]}, too large to show; see --format json")
        )
    else:
        rows = ", ".join(map(symbol_latex, result.rows))
        cols = ", ".join(map(symbol_latex, result.cols))
        lines.append(
            left
            + " &= "
            + _array(matrix)
            + r" \quad "
            + _text("rows: ")
            + f"{rows}"
            + r";\ "
            + _text("columns: ")
            + cols
        )
    for name, reason in result.disconnected.items():
        lines.append(symbol_latex(name) + r" &: " + _text(f"disconnected: {reason}"))
    return _align(lines)


def _align(lines: list[str]) -> str:
    return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"
