"""Seeing results: LaTeX, the dataflow graph (text, DOT, Mermaid) and plots."""

import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement

from gradcli import api
from gradcli import plot as plotting
from gradcli.model import Request
from gradcli.parser import parse
from gradcli.terminal import _Matrix

SAMPLES = Path(__file__).parent.parent / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


# ---- LaTeX -------------------------------------------------------------------------------------


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_latex_of_seed_case_3(run):
    code, out, _ = run(sample("seed3_stop_blocks.txt"), "grad", "--format", "latex")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == r"\begin{align*}" and lines[-1] == r"\end{align*}"
    assert r"\frac{\partial b}{\partial w_{2}} &= 3.0 w_{1}" in out
    assert (
        r"\frac{\partial b}{\partial w_{1}} &: \text{disconnected: only path passes stop(...) at line 4}"
        in out
    )
    assert _balanced(out)


def test_latex_orders_matrices_and_subscripts(run):
    code, out, _ = run(sample("seed6_square.txt"), "grad", "--order", "2", "--format", "latex")
    assert r"\frac{\partial^{2} b}{\partial a^{2}} &= 2" in out
    code, out, _ = run("var w = [[1.0, 2.0]]\ny = sum(w * w)\n", "grad", "--format", "latex")
    assert r"\begin{bmatrix} 2 {w}_{0,0} & 2 {w}_{0,1} \end{bmatrix}" in out
    code, out, _ = run(sample("rosenbrock.txt"), "hessian", "--format", "latex")
    assert out.count(r"\\") == 3 and r"\nabla^{2} f" in out and _balanced(out)
    code, out, _ = run("var x: [2, 1, 2]\ny = sum(x * x)\n", "grad", "--format", "latex")
    assert out.count(r"\begin{bmatrix}") == 3 and _balanced(out)  # 3-D: matrices nested in a column
    code, out, _ = run(sample("mlp.txt"), "grad", "--format", "latex", "--wrt", "b1")
    assert r"\text{elided: " in out  # bounded like the other symbolic forms


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX engine (CI installs texlive-latex-base)")
@pytest.mark.parametrize(
    "name, args",
    [
        ("seed3_stop_blocks.txt", ()),
        ("seed6_square.txt", ("--order", "2")),
        ("rosenbrock.txt", ("--wrt", "x")),
    ],
)
def test_latex_compiles(run, tmp_path, name, args):
    code, out, _ = run(sample(name), "grad", *args, "--format", "latex")
    document = tmp_path / "doc.tex"
    document.write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + out + "\\end{document}\n"
    )
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "doc.pdf").exists()


# ---- graph -------------------------------------------------------------------------------------


def test_graph_text_shows_why_seed3_gets_no_gradient(run):
    code, out, _ = run(sample("seed3_stop_blocks.txt"), "graph")
    assert code == 0
    assert "a  line 3  ⊘ no gradient: stop(...) at line 4" in out
    assert "w1  DISCONNECTED: only path passes stop(...) at line 4" in out
    assert "w2  a gradient reaches b" in out


@pytest.mark.parametrize(
    "name, args, blocked, disconnected",
    [
        ("seed1_no_path.txt", (), [], {"w2": "no path from w2 to res"}),
        (
            "seed3_stop_blocks.txt",
            (),
            [("a", "b", "stop(...) at line 4")],
            {"w1": "only path passes stop(...) at line 4"},
        ),
        ("seed4_stop_one_path.txt", (), [("c", "e", "stop(...) at line 5")], {}),
        ("seed7_partial.txt", (), [], {}),
        ("seed7_partial.txt", ("--stop", "b"), [("a", "b", "--stop b")], {}),
    ],
)
def test_graph_in_every_format(run, name, args, blocked, disconnected):
    code, dot, _ = run(sample(name), "graph", *args, "--format", "dot")
    code2, mermaid, _ = run(sample(name), "graph", *args, "--format", "mermaid")
    code3, text, _ = run(sample(name), "graph", *args)
    assert code == code2 == code3 == 0
    dashed = re.findall(r'"(\w+)" -> "(\w+)" \[style="dashed".*label="no gradient: ([^"]+)"\]', dot)
    assert sorted(dashed) == sorted(blocked)
    ids = dict(re.findall(r"^  (n\d+_(\w+))[\[(]", mermaid, re.M))
    ids = {name: ident for ident, name in ids.items()}
    assert mermaid.startswith("flowchart LR\n")
    dotted = re.findall(r"^  (\S+) -\.->\|\"no gradient: ([^\"]+)\"\| (\S+)$", mermaid, re.M)
    assert sorted((s, t, why) for s, why, t in dotted) == sorted(
        (ids[s], ids[t], why) for s, t, why in blocked
    )
    for target, reason in disconnected.items():
        assert f"DISCONNECTED: {reason}" in dot and f"DISCONNECTED: {reason}" in mermaid
        assert f"{target}  DISCONNECTED: {reason}" in text
    for _source, _target, why in blocked:
        assert f"no gradient: {why}" in text
    if not disconnected:
        assert "DISCONNECTED" not in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed (CI installs it)")
@pytest.mark.parametrize(
    "name",
    [
        "seed1_no_path.txt",
        "seed3_stop_blocks.txt",
        "seed4_stop_one_path.txt",
        "seed7_partial.txt",
        "mlp.txt",
        "functions.txt",
    ],
)
def test_dot_renders_without_warnings(run, name):
    code, out, _ = run(sample(name), "graph", "--format", "dot")
    result = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.lstrip().startswith("<?xml") and "<svg" in result.stdout


def test_graph_names_that_need_quoting(run):
    text = "var end = 1.0\nvar graph = 2.0\nsubgraph = end * graph\n"
    code, out, _ = run(text, "graph", "--format", "mermaid")
    assert code == 0 and " end " not in out.replace('"', " ")[: out.index("-->")]


# ---- plot --------------------------------------------------------------------------------------


def test_plot_curves_are_the_derivatives():
    curves = plotting.sample(parse(sample("seed6_square.txt")), Request(wrt=("a",), order=2), None, None)
    x = curves.x
    assert x[0] == -1.0 and x[-1] == 3.0 and curves.at == 1.0
    np.testing.assert_allclose(curves.curves["L"], x**2)
    np.testing.assert_allclose(curves.curves["dL/da"], 2 * x)
    np.testing.assert_allclose(curves.curves["d2L/da2"], 2.0)


def test_plot_matches_evaluation_at_points():
    program = parse(
        "var x = 0.3\nconst c = 2.0\ny = sigmoid(c * x) * relu(x) + softplus(-x) + maximum(x, 0.1)\n"
    )
    curves = plotting.sample(program, Request(wrt=("x",), order=1), -1.0, 1.0)
    for i in (0, 57, 200, 333, 400):
        at = float(curves.x[i])
        (g,) = api.gradient(program, Request(at={"x": _literal(at)})).gradients
        assert curves.curves["dL/dx"][i] == pytest.approx(g.value, rel=1e-12, abs=1e-15)


def _literal(value: float):
    from gradcli.parser import parse_literal

    return parse_literal(repr(value), "--at")


def test_plot_png_and_svg_files(run, tmp_path):
    png = tmp_path / "plot.png"
    code, out, err = run(
        sample("seed6_square.txt"),
        "plot",
        "--wrt",
        "a",
        "--order",
        "2",
        "--output",
        str(png),
        "--size",
        "640x400",
    )
    assert code == 0 and f"wrote {png}" in err
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (640, 400)
    svg = tmp_path / "plot.svg"
    code, out, err = run(sample("seed6_square.txt"), "plot", "--wrt", "a", "--output", str(svg))
    assert code == 0 and "<svg" in svg.read_text()


def test_plot_in_the_terminal(run):
    code, out, err = run(sample("seed6_square.txt"), "plot", "--wrt", "a", "--order", "2", "--range", "-3:3")
    assert code == 0 and "dL/da" in out and "d2L/da2" in out and "\x1b[" not in out


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("var v = [1.0, 2.0]\ny = sum(v)\n", ("--wrt", "v"), "needs a scalar variable"),
        ("var x\ny = x * x\n", ("--wrt", "x"), "has no value"),
        ("var x = 1.0\ny = x\n", ("--wrt", "x", "--range", "3:1"), "start must be below"),
        ("var x = 1.0\ny = x\n", ("--wrt", "x", "--range", "a:b"), "expected A:B"),
        ("var x = 1.0\ny = x\n", ("--wrt", "x", "--output", "p.pdf"), ".png or .svg"),
        ("var x = 1.0\ny = x\n", ("--wrt", "x", "--size", "big"), "WIDTHxHEIGHT"),
    ],
)
def test_plot_errors(run, text, args, message):
    code, out, err = run(text, "plot", *args)
    assert code == 1 and message in err and out == ""


def test_plot_names_the_extra_when_missing(run, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_plotext(name, *args, **kwargs):
        if name == "plotext":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_plotext)
    monkeypatch.setattr("importlib.import_module", lambda name: no_plotext(name))
    code, out, err = run(sample("seed6_square.txt"), "plot", "--wrt", "a")
    assert code == 1 and "pip install -e '.[plot]'" in err  # works from a checkout: gradcli is not on PyPI
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert 'plot = ["plotext' in pyproject


# ---- terminal tables ---------------------------------------------------------------------------

_CELL = st.text(alphabet="0123456789.-e[]x/ab漢⋮…", max_size=12)


@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda k: st.lists(st.lists(_CELL, min_size=k, max_size=k), min_size=1, max_size=5)
    )
)
@settings(max_examples=200, deadline=None)
def test_matrix_width_is_richs_own_measure(lines):
    """The width a matrix table is chosen by, computed from its cells without building tables, is
    the width Rich measures and renders (wide characters and markup-like text included)."""
    console = Console(width=10_000, file=io.StringIO(), color_system=None, record=True)
    table = _Matrix._table(lines)
    assert _Matrix._width(lines) == Measurement.get(console, console.options, table).maximum
    console.print(table)
    rendered = console.export_text().splitlines()
    assert max(cell_len(line.rstrip()) for line in rendered) <= _Matrix._width(lines)
    assert len(rendered) == len(lines)
