"""Terminal output: Rich renderables of every command's result (no I/O here; the Console decides)."""

from __future__ import annotations

import math

import numpy as np
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


def _short_number(value) -> str:
    """Ten significant digits: enough to read in a table (JSON keeps every digit); a float that
    happens to be whole keeps its `.0`, so it reads apart from an exact integer."""
    if isinstance(value, float) and math.isfinite(value):
        text = format(value, ".10g")
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
    lines = [
        Text.assemble(
            ("gradient" if result.order == 1 else "derivative", "bold"),
            order,
            " of ",
            (", ".join(result.of), "bold"),
            " with respect to ",
            (", ".join(result.wrt), "bold"),
        ),
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


def matrix_text(result: MatrixResult) -> Group:
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
    body, kind = (result.value, "value") if result.value is not None else (result.symbolic, "symbolic")
    if body is None:
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
    rows = _elided_indices(len(result.rows), MAX_TABLE_ROWS)
    cols = _elided_indices(len(result.cols), MAX_TABLE_COLUMNS)
    table = Table(show_edge=False, header_style="bold", box=None, padding=(0, 1))
    table.add_column("")
    for j in cols:
        table.add_column("…" if j is None else result.cols[j], justify="right")
    leaf = _short_number if kind == "value" else str
    for i in rows:
        if i is None:
            table.add_row("⋮", *["⋮" for _ in cols])
            continue
        cells = ["…" if j is None else leaf(body[i][j]) for j in cols]
        table.add_row(Text(result.rows[i], style="bold"), *cells)
    parts.append(table)
    if len(rows) < len(result.rows) + 1 and (None in rows or None in cols):
        parts.append(
            Text(
                f"({len(result.rows)} x {len(result.cols)}; middle rows/columns elided; "
                "--format json gives all)",
                style="dim",
            )
        )
    if kind == "value" and result.command == "hessian":
        summary = definiteness(result.value)
        if summary:
            parts.append(Text.assemble(("eigenvalues: ", "dim"), (summary, "bold")))
    if kind == "symbolic":
        parts.append(
            Text(f"values unknown: give a value to {', '.join(result.needs)} (--at)", style="yellow")
        )
    return Group(*parts)


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
