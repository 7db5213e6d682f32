"""Hostile and broken input: never code execution, never a hang, never a traceback; limits hold."""

import json
import re

import pytest
from click.testing import CliRunner

from gradcli.cli import cli

PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "exec(\"open('{marker}', 'w')\")",
    "eval(\"open('{marker}', 'w')\")",
    "open('{marker}', 'w')",
    "lambda: open('{marker}', 'w')",
    "().__class__.__bases__[0].__subclasses__()",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_in_a_file_never_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    text = f"var x = 1\ny = {payload.format(marker=marker)}\n"
    path = tmp_path / "model.txt"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["grad", str(path)])
    assert result.exit_code == 1 and "error:" in result.stderr and result.stdout == ""
    assert not marker.exists()


@pytest.mark.parametrize("option", ["--at", "--grad-ys"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_in_an_option_never_runs(tmp_path, option, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.txt"
    path.write_text("var x = 1\ny = x * 2\n")
    name = "x" if option == "--at" else "y"
    result = CliRunner().invoke(cli, ["grad", str(path), option, f"{name}={payload.format(marker=marker)}"])
    assert result.exit_code == 1 and result.stdout == ""
    assert not marker.exists()


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("var x: [1000, 1000]\ny = sum(x)\n", ("hessian",), "more than the limit of 100000"),
        ("var x: [2000]\ny = sum(x * x)\n", ("hessian",), "result would have 4000000 elements"),
        ("var x = 1.0\ny = x ** 2\n", ("grad", "--order", "11"), "--limit order=N"),
        ("var x = 1\ny = 7 ** 123456 * x\n", (), "--limit exponent=N"),
        ("var x = 3\ny = x ** 99999\n", (), "--limit bits=N"),
        ("var x = 1.0\ny = " + "(" * 300 + "x" + ")" * 300 + "\n", (), "--limit nesting=N"),
        ("var x = 1.0\ny = " + " + ".join(["x"] * 3000) + "\n", (), "--limit depth=N"),
    ],
)
def test_limits_give_clean_errors(run, text, args, message):
    command = args[0] if args else "grad"
    code, out, err = run(text, command, *args[1:])
    assert code == 1 and out == "" and message in err


def test_limits_can_be_raised(run):
    text = "var x = 1.0\ny = " + " + ".join(["x"] * 3000) + "\n"
    code, out, err = run(text, "grad", "--limit", "depth=4000", "--format", "json")
    assert code == 0 and '"value": 3000.0' in out
    code, out, err = run(
        "var x: [3, 3]\ny = sum(x ** 3)\n", "hessian", "--limit", "elements=2", "--format", "json"
    )
    doc = json.loads(out)  # beyond the element limit: whole arrays, which need the values
    assert (
        code == 0
        and doc["value"] is None
        and doc["needs"] == ["x"]
        and "elements=2" in doc["symbolic_elided"]
    )


def test_bad_limit_options(run):
    for bad in ("nope=3", "time=-1", "order=many", "order"):
        code, out, err = run("var x = 1.0\ny = x\n", "grad", "--limit", bad)
        assert code == 1 and "--limit" in err


@pytest.mark.parametrize(
    "expr, value",
    [
        ("1 / x", "-inf"),  # d/dx 1/x = -1/x^2 at 0
        ("log(x)", "inf"),
        ("sqrt(x)", "inf"),
        ("x * log(x)", "-inf"),
    ],
)
def test_numerical_edge_cases_are_strings_not_crashes(run_json, expr, value):
    code, doc, err = run_json(f"var x = 0.0\ny = {expr}\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == value


def test_exact_division_by_zero_and_overflow(run_json):
    code, doc, _ = run_json("var x = 0\ny = 1 / x\n", "grad")
    assert doc["gradients"]["x"]["value"] == "-inf"
    code, doc, _ = run_json("var x = 800.0\ny = exp(x)\n", "grad")
    assert doc["gradients"]["x"]["value"] == "inf"
    code, doc, _ = run_json("var x = -1.0\ny = log(x)\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == -1.0


def test_random_bytes_never_crash(tmp_path):
    import random

    generator = random.Random(1234)
    for i in range(200):
        data = bytes(generator.randrange(256) for _ in range(generator.randrange(1, 80)))
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(data)
        result = CliRunner().invoke(cli, ["grad", str(path)])
        assert result.exit_code in (0, 1), (data, result.stderr)
        assert "Traceback" not in result.stderr


def test_exact_values_cannot_grow_without_bound(run):
    steps = "".join(f"y{i + 1} = y{i} * (y{i} + 1)\n" for i in range(40))
    code, out, err = run("var y0 = 3\n" + steps, "grad")
    assert code == 1 and "--limit bits=N" in err and out == ""
    code, out, err = run("var y0 = 3.0\n" + steps, "grad", "--format", "json")
    assert code == 0 and '"value": "inf"' in out  # floats overflow to inf instead


def test_matmul_work_is_bounded(run):
    """Per element (C export) a large matmul is refused by its products; a Hessian, which goes to
    whole arrays at this size, by the size of its result (90000 x 90000)."""
    code, out, err = run("var x: [300, 300]\ny = sum(x @ x)\n", "export", "--lang", "c")
    assert code == 1 and "this matmul needs 27000000 products" in err and out == ""
    code, out, err = run("var x: [300, 300]\ny = sum(x @ x)\n", "hessian")
    assert code == 1 and "the result would have 8100000000 elements" in err and out == ""


@pytest.mark.parametrize("expr", ["x / 0", "1 / 0 * x", "x / 0.0", "log(0) * x", "x * 0 ** -1"])
def test_constant_division_by_zero_is_a_located_error(run, expr):
    code, out, err = run(f"var x = 1.0\ny = {expr}\n", "grad")
    assert code == 1 and out == "" and "division by zero or log(0)" in err
    assert re.search(r"model\.txt:2:(5|9): error:", err.splitlines()[0])
