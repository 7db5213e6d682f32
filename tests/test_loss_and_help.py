"""`grad` reports L; matrices read well in text; the help stands alone (through the CLI)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gradcli.cli import cli
from gradcli.model import FUNCTIONS, Limits

SAMPLES = Path(__file__).parent.parent / "samples"
SEED3 = (SAMPLES / "seed3_stop_blocks.txt").read_text()
MLP = (SAMPLES / "mlp.txt").read_text()


# ---- L ------------------------------------------------------------------------------------------


def test_loss_of_seed3_by_hand(run, run_json):
    code, doc, _ = run_json(SEED3, "grad")
    assert doc["L"] == 12.0  # b = stop(w1 * 3) * w2 = 6 * 2
    code, out, _ = run(SEED3, "grad")
    assert out.splitlines()[1] == "L = 12.0"


@pytest.mark.parametrize("order", ["1", "2", "3"])
def test_loss_is_the_weighted_sum_of_the_outputs_at_every_order(run_json, order):
    text = "var x = [1., 2.]\ny = x ** 2\nz = sum(x) * 3\n"
    code, doc, _ = run_json(text, "grad", "--of", "y,z", "--grad-ys", "y=[2., 3.]", "--order", order)
    x = np.array([1.0, 2.0])
    assert doc["L"] == np.sum(np.array([2.0, 3.0]) * x**2) + np.sum(x) * 3 == 23.0


def test_loss_is_exact_for_exact_inputs(run_json):
    code, doc, _ = run_json("var x = 3\ny = x ** 2 / 2\n", "grad")
    assert doc["L"] == 4.5 and doc["gradients"]["x"]["value"] == 3
    code, doc, _ = run_json("var x = 3\ny = x ** 2\n", "grad")
    assert doc["L"] == 9 and isinstance(doc["L"], int)


def test_loss_is_null_where_a_value_is_missing(run, run_json):
    code, doc, _ = run_json("var x = 1\nvar y\nz = x * y\n", "grad")
    assert doc["L"] is None and doc["gradients"]["y"]["value"] == 1
    code, out, _ = run("var x = 1\nvar y\nz = x * y\n", "grad")
    assert "L = unknown: give a value to y (--at)" in out


def test_loss_from_whole_arrays_agrees_with_the_element_view_and_eval(run_json):
    _, per_element, _ = run_json(MLP, "grad")
    _, whole, _ = run_json(MLP, "grad", "--limit", "elements=2")  # forces the whole-array path
    _, values, _ = run_json(MLP, "eval", "--of", "loss")
    assert "not built" in whole["gradients"]["W1"]["symbolic_elided"]
    assert whole["L"] == pytest.approx(per_element["L"], rel=1e-14)
    assert whole["L"] == pytest.approx(values["values"]["loss"], rel=1e-14)
    _, missing, _ = run_json(
        "var w: [3]\nconst X = [1., 2., 3.]\ny = sum(w * X)\n", "grad", "--limit", "elements=2"
    )
    assert missing["L"] is None


# ---- matrices in text ---------------------------------------------------------------------------


def test_symbolic_full_shows_the_symbolic_matrix_and_the_values(run):
    args = ["-e", "x**2 * y", "--at", "x=1", "--at", "y=2"]
    code, out, _ = run(None, "hessian", *args, "--symbolic", "full")
    assert out.splitlines() == [
        "Hessian of f with respect to x, y",
        "symbolic",
        "      x    y ",
        " x  2*y  2*x ",
        " y  2*x    0 ",
        "value",
        "    x  y ",
        " x  4  2 ",
        " y  2  0 ",
        "eigenvalues: indefinite (1 positive, 1 negative, 0 zero eigenvalues)",
    ]
    code, out, _ = run(None, "hessian", *args)  # auto: the numbers, and how to see the formulas
    assert "2*y" not in out and out.splitlines()[-1] == "(--symbolic full shows the symbolic entries too)"
    code, out, _ = run(
        None, "jacobian", "-e", "y = [x * z, x + z]", "--symbolic", "full", "--at", "x=2", "--at", "z=5"
    )
    assert " y[0]  z  x " in out and " y[0]  5  2 " in out


def test_long_formulas_are_listed_one_entry_a_line(run):
    code, out, _ = run((SAMPLES / "rosenbrock.txt").read_text(), "hessian", "--symbolic", "full")
    assert "x[1], x[1]  1200*x[1]**2 + 202 - 400*x[2]" in out  # collected by SymEngine's diff
    assert all(len(line) <= 80 for line in out.splitlines())


def _cells(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


@pytest.mark.parametrize("columns", ["80", "50"])
def test_wide_matrices_stay_readable(run_json, columns):
    args = ["jacobian", "-", "--of", "prediction", "--wrt", "W1"]
    result = CliRunner(env={"COLUMNS": columns}).invoke(cli, args, input=MLP)
    _, doc, _ = run_json(MLP, *args[:1], *args[2:])
    lines = result.stdout.splitlines()
    assert all(len(line) <= int(columns) for line in lines[1:5])  # the table; a terminal wraps prose
    assert "…" not in "".join(lines[1:4]) or columns == "50"  # every column fits at 80
    rows = [line.split() for line in lines[2:5]]
    assert [r[0] for r in rows] == ["prediction[0,0]", "prediction[1,0]", "prediction[2,0]"]
    header = lines[1].split()
    for row, values in zip(rows, doc["value"]):
        for label, cell in zip(header, row[1:]):
            if cell != "…":  # every shown number has at least four significant digits
                assert float(cell) == pytest.approx(values[doc["cols"].index(label)], rel=1e-3)


def test_a_large_matrix_elides_columns_not_digits(run):
    code, out, _ = run(
        "var x: [12]\nf = sum(sin(x))\n", "hessian", "--at", f"x={[0.1 * k for k in range(1, 13)]}"
    )
    table = [line.split() for line in out.splitlines()[1:13]]
    assert "…" in table[0] and "x[11]" in table[0]
    assert float(table[1][1]) == pytest.approx(-np.sin(0.1), rel=1e-5)


# ---- help -----------------------------------------------------------------------------------------


def _help(*args) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0
    return " ".join(result.stdout.split())


def test_limits_are_listed_with_their_defaults_in_every_help():
    for name in cli.commands:
        text = _help(name)
        for limit in Limits.names():
            assert f"{limit}={getattr(Limits, limit)}" in text, (name, limit)


def test_every_command_that_reads_a_program_takes_expr():
    for name in cli.commands:
        text = _help(name)
        assert "[FILE]" in text and "-e, --expr PROGRAM" in text, name


def test_the_top_level_help_stands_alone():
    text = _help()
    assert "'-' reads standard input" in text and "-e 'PROGRAM'" in text
    assert 'eval "$(_GRADCLI_COMPLETE=bash_source gradcli)"' in text
    listed = text[text.index("Functions:") :]
    assert all(re.search(rf"\b{name}\b", listed) for name in FUNCTIONS)


def test_short_version_option():
    long, short = (CliRunner().invoke(cli, [flag]) for flag in ("--version", "-V"))
    assert short.exit_code == 0 and short.stdout == long.stdout and "version" in short.stdout


def test_shell_completion_as_documented():
    env = {**os.environ, "_GRADCLI_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "gradcli"], env=env, capture_output=True, text=True)
    assert "_gradcli_completion" in script.stdout and "complete " in script.stdout
    env = {**os.environ, "_GRADCLI_COMPLETE": "bash_complete", "COMP_WORDS": "gradcli gra", "COMP_CWORD": "1"}
    words = subprocess.run([sys.executable, "-m", "gradcli"], env=env, capture_output=True, text=True)
    assert words.stdout.split() == ["plain,grad", "plain,graph"]


def test_json_of_grad_is_one_object(run):
    code, out, _ = run(SEED3, "grad", "--format", "json")
    assert json.loads(out)["L"] == 12.0 and out.count("\n") == 1
