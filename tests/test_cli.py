"""The command line: JSON documents, text output, errors and exit codes, step and check."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gradcli.cli import cli

SEED3 = "var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0\nb = stop(a) * w2\n"


def test_grad_json_document_shape(run_json):
    code, doc, err = run_json(SEED3, "grad", "--wrt", "w2,w1")
    assert code == 0 and err == ""
    assert list(doc) == ["command", "file", "of", "wrt", "order", "unconnected", "L", "gradients"]
    assert list(doc["gradients"]) == ["w2", "w1"]
    assert doc["gradients"]["w1"] == {
        "status": "disconnected",
        "reason": "only path passes stop(...) at line 4",
        "shape": [],
        "symbolic": None,
        "value": None,
    }


def test_matrix_json_document_shape(run_json):
    code, doc, _ = run_json("var x = 1.0\nvar w = [1.0, 2.0]\ny = x * sum(w ** 2)\n", "hessian")
    assert doc["rows"] == doc["cols"] == ["x", "w[0]", "w[1]"]
    assert doc["value"] == [[0.0, 2.0, 4.0], [2.0, 2.0, 0.0], [4.0, 0.0, 2.0]]
    assert doc["symbolic"] == [["0", "2*w[0]", "2*w[1]"], ["2*w[0]", "2*x", "0"], ["2*w[1]", "0", "2*x"]]
    assert doc["disconnected"] == {}
    code, doc, _ = run_json("var x = [1, 2]\ny = x * x\n", "jacobian")
    assert doc["rows"] == ["y[0]", "y[1]"] and doc["cols"] == ["x[0]", "x[1]"]
    assert doc["value"] == [[2, 0], [0, 4]]


def test_needs_and_symbolic_modes(run_json):
    code, doc, _ = run_json("var x\nvar y = 3\nz = x * y ** 2\n", "grad", "--symbolic", "none")
    assert doc["gradients"]["y"] == {
        "status": "ok",
        "shape": [],
        "symbolic": None,
        "value": None,
        "symbolic_elided": "skipped (--symbolic none)",
        "needs": ["x"],
        "matrix": "2 * (x * y)",
    }
    code, doc, _ = run_json("var x\nvar y = 3\nz = x * y ** 2\n", "grad", "--at", "x=2")
    assert doc["gradients"]["y"]["value"] == 12


def test_large_results_are_elided_in_auto_and_printed_in_full(run_json):
    text = "var x = 0.5\n" + "".join(f"x{i + 1} = sin(x{i or ''}) * x{i or ''}\n" for i in range(6))
    text = text.replace("x0", "x")
    code, doc, _ = run_json(text, "grad")
    assert doc["gradients"]["x"]["symbolic"] is None
    assert "operations; --symbolic full prints it" in doc["gradients"]["x"]["symbolic_elided"]
    code, full, _ = run_json(text, "grad", "--symbolic", "full")
    assert isinstance(full["gradients"]["x"]["symbolic"], str)
    assert full["gradients"]["x"]["value"] == doc["gradients"]["x"]["value"]


def test_a_deep_chain_is_elided_with_its_size(run_json):
    text = "var x0 = 0.3\n" + "".join(f"x{i + 1} = sin(x{i}) * x{i} + 0.5\n" for i in range(200))
    code, doc, _ = run_json(text, "grad", "--symbolic", "full")
    elided = doc["gradients"]["x0"]["symbolic_elided"]
    assert code == 0 and int(elided.split()[0]) > 2**200 and "more than gradcli prints" in elided
    assert isinstance(doc["gradients"]["x0"]["value"], float)


def test_non_finite_values_are_strings(run_json):
    code, doc, _ = run_json("var x = 0.0\ny = log(x) + sqrt(x)\n", "grad")
    assert doc["gradients"]["x"]["value"] == "inf"
    code, doc, _ = run_json("var x = [0.0, -1.0]\ny = sum(log(x))\n", "grad", "--of", "y")
    assert doc["gradients"]["x"]["value"] == ["inf", -1.0]


def test_text_output_flags_disconnected_targets(run):
    code, out, _ = run(SEED3, "grad")
    assert "DISCONNECTED" in out and "only path passes stop(...) at line 4" in out
    assert "\x1b[" not in out  # no colour when not a terminal
    assert "3.0*w1" in out and "6.0" in out


@pytest.mark.parametrize(
    "text, args, message",
    [
        (SEED3, ("--wrt", "w3"), "--wrt w3: unknown name 'w3'"),
        (SEED3, ("--wrt", "a,a"), "a name is given twice in --wrt"),
        ("const c = 1\nvar x\ny = c * x\n", ("--wrt", "c"), "'c' is a const"),
        (SEED3, ("--of", "q"), "--of q: unknown name"),
        (SEED3, ("--stop", "w1"), "--stop w1: 'w1' is a var"),
        (SEED3, ("--at", "w1=[1, 2]"), "--at w1: a value of shape [2]"),
        (SEED3, ("--at", "w9=1"), "--at w9: unknown name"),
        (SEED3, ("--at", "w1"), "expected NAME=LITERAL"),
        (SEED3, ("--grad-ys", "a=1"), "'a' is not an output"),
        ("var x: [3]\ny = x\n", ("--grad-ys", "y=[1, 2]"), "do not broadcast to the shape of y"),
        (SEED3, ("--order", "0"), "--order must be between 1 and"),
        ("var x: [2]\nvar y: [3]\nz = x + y\n", (), "shapes [2] and [3] do not broadcast for '+'"),
        ("var x: [2, 3]\nz = x @ x\n", (), "matmul: shapes [2, 3] and [2, 3] do not match"),
        ("var x: [2]\nz = x[2]\n", (), "index 2 is out of range"),
        ("var x: [2]\nz = sum(x, axis=1)\n", (), "axis 1 is out of range"),
        ("var x = 2\nz = x ** 100000\n", (), "more than 100000 bits; give a float value"),
        ("var x\nz = 3 ** 100000 * x\n", (), "exponent 100000 is too large"),
    ],
)
def test_input_errors_exit_1_with_nothing_on_stdout(run, text, args, message):
    code, out, err = run(text, "grad", *args)
    assert code == 1 and out == ""
    assert message in err and "Traceback" not in err


def test_error_format_has_place_source_line_and_caret(run, tmp_path):
    code, out, err = run("var x: [2]\nvar y: [3]\nz = x + y\n", "grad")
    lines = err.splitlines()
    assert lines[0].endswith("model.txt:3:5: error: shapes [2] and [3] do not broadcast for '+'")
    assert lines[1] == "z = x + y"
    assert lines[2] == "    ^~~~~"


def test_option_literal_errors_point_into_the_option(run):
    code, out, err = run(SEED3, "grad", "--at", "w1=[1,,2]")
    assert code == 1
    assert err.splitlines()[0].startswith("--at w1=:1:4: error: unexpected ','")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"   \n# only a comment\n", "no definition"),
        (b"var x\x00\ny = x\n", "binary file"),
        (b"var x = 1\ny = x \xff\n", "not valid UTF-8"),
        (b"var x\n", "no definition"),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["grad", str(path)])
    assert result.exit_code == 1 and result.stdout == "" and message in result.stderr


def test_missing_file_and_usage_errors():
    result = CliRunner().invoke(cli, ["grad", "no/such/file.txt"])
    assert result.exit_code == 1 and "cannot read no/such/file.txt" in result.stderr
    result = CliRunner().invoke(cli, ["grad"])
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["grad", "x.txt", "--unconnected", "maybe"])
    assert result.exit_code == 2


def test_standard_input():
    result = CliRunner().invoke(cli, ["grad", "-", "--format", "json"], input=SEED3)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["file"] == "<stdin>"
    result = CliRunner().invoke(cli, ["grad", "-"], input="var x\ny = q\n")
    assert result.exit_code == 1 and result.stderr.startswith("<stdin>:2:5: error")


def test_internal_errors_exit_4_with_one_line(monkeypatch, tmp_path):
    from gradcli import api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "gradient", broken)
    path = tmp_path / "m.txt"
    path.write_text(SEED3)
    result = CliRunner().invoke(cli, ["grad", str(path)])
    assert result.exit_code == 4 and "internal error" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    result = CliRunner().invoke(cli, ["--debug", "grad", str(path)])
    assert result.exit_code == 4 and "Traceback" in result.stderr and "boom" in result.stderr


def test_strict_exit_code(run_json):
    code, doc, _ = run_json(SEED3, "grad", "--strict")
    assert code == 3 and doc["gradients"]["w2"]["value"] == 6.0
    code, doc, _ = run_json(SEED3, "grad", "--strict", "--wrt", "w2")
    assert code == 0


# ---- step ----------------------------------------------------------------------------------


def test_step_write_changes_only_the_numbers_that_changed(tmp_path):
    original = (
        "# a model\r\nvar w1 = 2.0   # stays: no gradient reaches it\r\n"
        "var w2 =   2.0\r\nvar v: [2] = [1, 0.5]\r\n\r\na = w1 * 3.0\r\nb = stop(a) * w2 + sum(v * v)\r\n"
    )
    path = tmp_path / "model.txt"
    path.write_bytes(original.encode())
    result = CliRunner().invoke(cli, ["step", str(path), "--lr", "0.1", "--write", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["values"] == {"w1": 2.0, "w2": 1.4, "v": [0.8, 0.4]}
    expected = original.replace("w2 =   2.0", "w2 =   1.4").replace("[1, 0.5]", "[0.8, 0.4]")
    assert path.read_bytes() == expected.encode()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_step_write_adds_a_value_to_a_shape_only_declaration(tmp_path):
    path = tmp_path / "model.txt"
    path.write_text("var w: [2]\ny = sum(w * w)\n")
    result = CliRunner().invoke(cli, ["step", str(path), "--lr", "0.25", "--at", "w=[1.0, -2.0]", "--write"])
    assert result.exit_code == 0, result.stderr
    assert path.read_text() == "var w: [2] = [0.5, -1.0]\ny = sum(w * w)\n"


def test_step_needs_values(run):
    code, out, err = run("var w\ny = w * w\n", "step", "--lr", "0.1")
    assert code == 1 and "needs a value for w" in err and out == ""


def test_step_converges_on_a_quadratic(run_json):
    code, doc, _ = run_json("var x = [3.0, -4.0]\ny = sum(x ** 2)\n", "step", "--lr", "0.25", "--steps", "30")
    assert doc["loss"][0] == 25.0 and doc["loss"][-1] < 1e-15 and len(doc["loss"]) == 31
    assert all(abs(v) < 1e-8 for v in doc["values"]["x"])


# ---- check ---------------------------------------------------------------------------------


def test_check_against_finite_differences(run_json):
    text = "var w = [0.3, -0.7]\nvar b = 0.1\ny = sum(tanh(w * 2 + b) ** 2) * stop(b + 1)\n"
    code, doc, _ = run_json(text, "check")
    assert code == 0 and doc["ok"] is True and doc["mode"] == "finite-differences"
    assert doc["targets"]["w"]["max_rel_error"] < 1e-8


def test_check_expect_both_forms(run, run_json, tmp_path):
    code, out, _ = run(SEED3, "grad", "--format", "json")
    grad_file = tmp_path / "grad.json"
    grad_file.write_text(out)
    code, doc, _ = run_json(SEED3, "check", "--expect", str(grad_file))
    assert code == 0 and doc["ok"] and doc["mismatches"] == []
    plain = tmp_path / "plain.json"
    plain.write_text('{"w1": null, "w2": 6.0000000001}')
    code, doc, _ = run_json(SEED3, "check", "--expect", str(plain))
    assert code == 0
    plain.write_text('{"w1": 0.0, "w2": 6.0}')
    code, doc, _ = run_json(SEED3, "check", "--expect", str(plain), "--unconnected", "zero")
    assert code == 0


def test_check_expect_lists_every_wrong_element(run, tmp_path):
    text = "var w = [[1, 2]]\nres = w @ [[2], [1]]\n"
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"w": [[2, 1.5]]}')
    code, out, err = run(text, "check", "--expect", str(wrong))
    assert code == 3 and "w[0,1]" in out and "expected 1.5, computed 1" in out
    code, out, err = run(text, "check", "--expect", str(wrong), "--format", "json")
    doc = json.loads(out)
    assert doc["mismatches"] == [{"element": "w[0,1]", "expected": 1.5, "computed": 1.0}]
    code, out, err = run(text, "check", "--expect", str(wrong), "--atol", "0.6")
    assert code == 0


def test_check_bad_expect_files(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, out, err = run(SEED3, "check", "--expect", str(bad))
    assert code == 1 and "not valid JSON" in err
    bad.write_text('{"w2": [1, 2]}')
    code, out, err = run(SEED3, "check", "--expect", str(bad))
    assert code == 1 and "shape" in err


def test_check_expect_honours_the_order_of_a_grad_document(run, run_json, tmp_path):
    text = "var v = [0.5, -1.0]\ny = sum(v ** 3) * v[0]\n"
    code, out, _ = run(text, "grad", "--order", "2", "--format", "json")
    (tmp_path / "hessian.json").write_text(out)
    code, doc, _ = run_json(text, "check", "--expect", str(tmp_path / "hessian.json"))
    assert code == 0 and doc["ok"]
    wrong = json.loads(out)
    wrong["gradients"]["v"]["value"][1][1] += 1.0
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    code, doc, _ = run_json(text, "check", "--expect", str(tmp_path / "wrong.json"))
    assert code == 3 and [m["element"] for m in doc["mismatches"]] == ["v[1,1]"]


@pytest.mark.parametrize(
    ("args", "environment", "threads"),
    [
        (["grad", "m.txt"], {}, "1"),  # small arrays: one BLAS thread
        (["grad", "-e", "A @ x", "--at", "x=[1, 2]"], {}, "1"),
        (["grad", "m.txt", "--at", "X=@X.npy"], {}, None),  # a value from a file: OpenBLAS's default
        (["hessian", "m.txt", "--vector", "w=@v.npy"], {}, None),
        (["hessian", "m.txt"], {}, None),  # the eigenvalue summary of an n x n Hessian
        (["--debug", "hessian", "m.txt", "--format", "text"], {}, None),
        (["hessian", "m.txt", "--format", "json"], {}, "1"),
        (["hessian", "m.txt", "--format=latex"], {}, "1"),
        (["grad", "m.txt"], {"OPENBLAS_NUM_THREADS": "4"}, "4"),  # the user's choice is kept
        (["grad", "m.txt"], {"OMP_NUM_THREADS": "3"}, None),
    ],
)
def test_blas_threads_are_chosen_before_numpy_starts(args, environment, threads):
    from gradcli.cli import _choose_blas_threads

    environment = dict(environment)
    _choose_blas_threads(args, environment)
    assert environment.get("OPENBLAS_NUM_THREADS") == threads


def test_the_command_line_module_leaves_numpy_to_the_command():
    """_choose_blas_threads works only if NumPy (and OpenBLAS) start after it: importing the
    command line must not import NumPy."""
    code = "import sys, gradcli.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("expected", ['"nan"', '"inf"', '"-inf"'])
def test_check_errors_of_a_non_finite_mismatch_are_infinite(run_json, tmp_path, expected):
    """A target that disagrees only where one side is NaN or infinite has no finite error: its
    max_abs_error was 0.0 beside "agrees": false."""
    plain = tmp_path / "plain.json"
    plain.write_text(f'{{"w1": null, "w2": {expected}}}')
    code, doc, _ = run_json(SEED3, "check", "--expect", str(plain))
    assert code == 3 and doc["targets"]["w2"]["agrees"] is False
    assert doc["targets"]["w2"]["max_abs_error"] == doc["targets"]["w2"]["max_rel_error"] == "inf"
