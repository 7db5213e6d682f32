"""Terminal output: Rich renderables of every command's result (no I/O here; the Console decides)."""

from __future__ import annotations

import math

import numpy as np
from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradcli.model import GradResult, MatrixResult

MAX_TABLE_COLUMNS = 10
MAX_TABLE_ROWS = 30
MAX_TEXT_ELEMENTS = 60


# ---- text --------------------------------------------------------------------------------


def _format_number(value) -> str:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _short_number(value, digits: int = 10) -> str:
    """Ten (or `digits`) significant digits: enough to read in a table (JSON keeps every digit); a
    float that happens to be whole keeps its `.0`, so it reads apart from an exact integer."""
    if isinstance(value, float) and math.isfinite(value):
        text = format(value, f".{digits}g")
        return text + ".0" if text.lstrip("-").isdigit() else text
    return _format_number(value)


def _nested(value, leaf, budget: list[int]) -> str:
    """NumPy-like nested lists, eliding elements beyond a budget."""
    if isinstance(value, list):
        parts = []
        for item in value:
            if budget[0] <= 0:
                parts.append("...")
                break
            parts.append(_nested(item, leaf, budget))
        return "[" + ", ".join(parts) + "]"
    budget[0] -= 1
    return leaf(value)


def _field(label: str, body: str, style: str = "") -> Text:
    line = Text("  ")
    line.append(f"{label:<9}", style="dim")
    line.append(body, style=style)
    return line


def _disconnected_banner(name: str, reason: str) -> Text:
    banner = Text()
    banner.append(" DISCONNECTED ", style="bold white on red")
    banner.append(f" no gradient reaches {name}: {reason}", style="bold red")
    return banner


def grad_text(result: GradResult) -> Group:
    order = "" if result.order == 1 else f" (order {result.order})"
    what = "gradient" if result.order == 1 else "derivative"
    given = ""
    if result.vector:  # hessian --vector
        what, order, given = "Hessian-vector product", "", f" (vector given for {', '.join(result.vector)})"
    lines = [
        Text.assemble(
            (what, "bold"),
            order,
            " of ",
            (", ".join(result.of), "bold"),
            " with respect to ",
            (", ".join(result.wrt), "bold"),
            given,
        ),
        _loss_line(result),
        Text(""),
    ]
    for t in result.gradients:
        head = Text.assemble((t.name, "bold cyan"), f"  shape {list(t.shape)}")
        if t.status == "ok":
            head.append("  ok", style="green")
        lines.append(head)
        if t.status == "disconnected":
            lines.append(Text("  ").append_text(_disconnected_banner(t.name, t.reason or "")))
            if t.value is None and t.symbolic is None:
                lines.append(_field("value", "null (--unconnected zero gives zeros)", "dim"))
        if t.symbolic is not None:
            lines.append(_field("symbolic", _nested(t.symbolic, str, [MAX_TEXT_ELEMENTS])))
        elif t.symbolic_elided:
            lines.append(_field("symbolic", f"(elided: {t.symbolic_elided})", "dim"))
        if t.matrix is not None:
            lines.append(_field("matrix", t.matrix))
        if t.value is not None:
            lines.append(_field("value", _nested(t.value, _format_number, [MAX_TEXT_ELEMENTS]), "bold"))
        elif t.needs:
            lines.append(_field("value", f"unknown: give a value to {', '.join(t.needs)} (--at)", "yellow"))
        lines.append(Text(""))
    return Group(*lines)


def _loss_line(result: GradResult) -> Text:
    """`L = VALUE`: the differentiated quantity itself at the values."""
    if result.loss is not None:
        return Text.assemble("L = ", (_format_number(result.loss), "bold"))
    return Text(f"L = unknown: give a value to {', '.join(result.loss_needs)} (--at)", style="yellow")


def _elided_indices(count: int, limit: int) -> list[int | None]:
    if count <= limit:
        return list(range(count))
    half = limit // 2
    return list(range(half)) + [None] + list(range(count - (limit - half), count))


def definiteness(matrix) -> str | None:
    """A one-line summary of the eigenvalue signs of a symmetric numeric matrix."""
    try:
        array = np.array(matrix, dtype=float)
    except (TypeError, ValueError):
        return None
    if array.size == 0 or not np.all(np.isfinite(array)):
        return None
    eigenvalues = np.linalg.eigvalsh(array)
    scale = max(np.max(np.abs(eigenvalues)), 1e-300)
    tolerance = scale * array.shape[0] * 1e-12
    positive = int(np.sum(eigenvalues > tolerance))
    negative = int(np.sum(eigenvalues < -tolerance))
    zero = len(eigenvalues) - positive - negative
    counts = f"({positive} positive, {negative} negative, {zero} zero eigenvalues)"
    if negative == 0 and zero == 0:
        kind = "positive definite"
    elif positive == 0 and zero == 0:
        kind = "negative definite"
    elif negative == 0 and positive:
        kind = "positive semidefinite"
    elif positive == 0 and negative:
        kind = "negative semidefinite"
    elif positive == 0 and negative == 0:
        kind = "zero"
    else:
        kind = "indefinite"
    return f"{kind} {counts}"


def matrix_text(result: MatrixResult, symbolic: str = "auto") -> Group:
    """The matrix of values (and of symbolic entries with --symbolic full, or where the values are
    unknown), labelled, as wide as the console allows; `symbolic` is the --symbolic mode."""
    show_symbolic = symbolic == "full"
    title = "Hessian" if result.command == "hessian" else "Jacobian"
    parts: list = [
        Text.assemble(
            (title, "bold"),
            " of ",
            (", ".join(result.of), "bold"),
            " with respect to ",
            (", ".join(result.wrt), "bold"),
        )
    ]
    for name, reason in result.disconnected.items():
        parts.append(_disconnected_banner(name, reason))
    if result.value is None and result.symbolic is None:
        if result.symbolic_elided:
            parts.append(Text(f"symbolic elided: {result.symbolic_elided}", style="dim"))
        if result.needs:
            parts.append(
                Text(
                    f"values unknown: give a value to {', '.join(result.needs)} (--at)",
                    style="yellow",
                )
            )
        return Group(*parts)
    if not result.rows or not result.cols:
        parts.append(Text("(empty: no connected target)", style="dim"))
        return Group(*parts)
    shown = [
        (kind, body)
        for kind, body in (("symbolic", result.symbolic), ("value", result.value))
        if body is not None and (kind == "value" or show_symbolic or result.value is None)
    ]
    for kind, body in shown:
        if len(shown) > 1:
            parts.append(Text(kind, style="dim"))
        parts.append(_Matrix(result.rows, result.cols, body, numeric=kind == "value"))
    if result.value is not None and result.command == "hessian":
        summary = definiteness(result.value)
        if summary:
            parts.append(Text.assemble(("eigenvalues: ", "dim"), (summary, "bold")))
    if result.value is None:
        parts.append(
            Text(f"values unknown: give a value to {', '.join(result.needs)} (--at)", style="yellow")
        )
    elif symbolic == "auto":
        parts.append(Text("(--symbolic full shows the symbolic entries too)", style="dim"))
    return Group(*parts)


class _Matrix:
    """A labelled matrix that fits the console's width: with fewer significant digits, then fewer
    columns (the middle ones elided), and as one entry a line when no table fits."""

    DIGITS = (10, 8, 6, 4)
    COLUMNS = (MAX_TABLE_COLUMNS, 8, 6, 4, 2)

    def __init__(self, rows, cols, body, numeric: bool):
        self.rows, self.cols, self.body, self.numeric = rows, cols, body, numeric

    def _cells(self, rows, cols, leaf) -> list[list[str]]:
        """The table's text, header first, each row led by its label ("⋮" and "…" where elided)."""
        lines = [[""] + ["…" if j is None else self.cols[j] for j in cols]]
        for i in rows:
            if i is None:
                lines.append(["⋮"] * (len(cols) + 1))
            else:
                lines.append([self.rows[i]] + ["…" if j is None else leaf(self.body[i][j]) for j in cols])
        return lines

    @staticmethod
    def _width(lines: list[list[str]]) -> int:
        """The natural width of _table(lines): each column as wide as its widest cell, plus one
        space of padding on each side (tests/test_seeing.py checks it against Rich's measure)."""
        return sum(max(cell_len(line[k]) for line in lines) + 2 for k in range(len(lines[0])))

    @staticmethod
    def _table(lines: list[list[str]]) -> Table:
        table = Table(show_edge=False, header_style="bold", box=None, padding=(0, 1))
        table.add_column(Text(lines[0][0]), no_wrap=True)
        for label in lines[0][1:]:
            table.add_column(Text(label), justify="right", no_wrap=True)
        for label, *cells in lines[1:]:
            table.add_row(Text(label, style="" if label == "⋮" else "bold"), *map(Text, cells))
        return table

    def __rich_console__(self, console, options):
        rows = _elided_indices(len(self.rows), MAX_TABLE_ROWS)
        digits = self.DIGITS if self.numeric else (None,)
        for limit in self.COLUMNS if self.numeric else self.COLUMNS[:1]:  # long formulas are listed
            cols = _elided_indices(len(self.cols), limit)
            for d in digits:
                leaf = (lambda v, d=d: _short_number(v, d)) if self.numeric else str
                lines = self._cells(rows, cols, leaf)
                if self._width(lines) <= options.max_width:
                    yield self._table(lines)
                    yield from self._note(rows, cols)
                    return
        cols = _elided_indices(len(self.cols), MAX_TABLE_COLUMNS)
        leaf = _short_number if self.numeric else str
        entries = [
            (f"{self.rows[i]}, {self.cols[j]}", i, j) for i in rows for j in cols if None not in (i, j)
        ]
        width = max(len(label) for label, _, _ in entries)
        for label, i, j in entries:
            yield Text.assemble((label.ljust(width), "bold"), "  ", leaf(self.body[i][j]))
        yield from self._note(rows, cols)

    def _note(self, rows, cols):
        if None in rows or None in cols:
            yield Text(
                f"({len(self.rows)} x {len(self.cols)}; middle rows/columns elided; --format json gives all)",
                style="dim",
            )


def step_text(result) -> Group:
    lines = [
        Text.assemble(
            ("gradient descent", "bold"),
            f": {result.steps} step{'s' * (result.steps != 1)} with learning rate {result.lr}",
        )
    ]
    if result.loss:
        first, last = result.loss[0], result.loss[-1]
        lines.append(_field("loss", f"{_format_number(first)} -> {_format_number(last)}", "bold"))
    for name, value in result.values.items():
        line = _field(name, _nested(value, _format_number, [MAX_TEXT_ELEMENTS]))
        lines.append(line)
        if name in result.unchanged:
            lines.append(Text("  ").append_text(_disconnected_banner(name, result.unchanged[name])))
            lines.append(Text("    left unchanged", style="dim"))
    return Group(*lines)


def check_text(result) -> Group:
    against = "central finite differences" if result.mode == "finite-differences" else "expected values"
    lines = [Text.assemble(("check", "bold"), f" against {against} (rtol {result.rtol}, atol {result.atol})")]
    table = Table(box=None, header_style="bold", padding=(0, 1))
    for column in ("target", "max abs error", "max rel error", ""):
        table.add_column(column)
    for t in result.targets:
        verdict = Text("agrees", style="green") if t.agrees else Text("DISAGREES", style="bold red")
        if t.note:
            verdict.append(f"  ({t.note})", style="dim")
        table.add_row(t.name, _short_number(t.max_abs_error), _short_number(t.max_rel_error), verdict)
    lines.append(table)
    for m in result.mismatches:
        lines.append(
            Text.assemble(
                ("  ✗ ", "red"),
                (m.element, "bold"),
                f": expected {_format_number(m.expected)}, computed {_format_number(m.computed)}",
            )
        )
    if result.ok:
        lines.append(Text("OK: every gradient agrees", style="bold green"))
    else:
        lines.append(Text(f"MISMATCH: {len(result.mismatches)} element(s) disagree", style="bold red"))
    return Group(*lines)


def eval_text(result) -> Group:
    """`name = value` for each definition, or what a missing value needs."""
    lines = []
    for name, value in result.values.items():
        if value is None:
            missing = ", ".join(result.needs[name])
            lines.append(Text(f"{name} = (needs a value for {missing})", style="yellow"))
        else:
            lines.append(Text(f"{name} = {_nested(value, _format_number, [MAX_TEXT_ELEMENTS])}"))
    return Group(*lines)
