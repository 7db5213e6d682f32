"""`-e/--expr`: a program on the command line, through the CLI of every command that takes FILE."""

import json
import math

import pytest

from gradcli import model


def expr_json(run, *args):
    code, out, err = run(None, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def test_the_issue_example(run):
    doc = expr_json(run, "grad", "-e", "sin(x) * y", "--at", "x=1", "--at", "y=2")
    assert doc["file"] == "<expr>" and doc["of"] == ["f"] and doc["wrt"] == ["x", "y"]
    assert doc["gradients"]["x"]["value"] == pytest.approx(2 * math.cos(1), rel=1e-15)
    assert doc["gradients"]["y"]["value"] == pytest.approx(math.sin(1), rel=1e-15)
    assert doc["gradients"]["x"]["symbolic"] == "y*cos(x)"
    assert doc["L"] == pytest.approx(2 * math.sin(1), rel=1e-15)


def test_a_symbolic_hessian_without_values(run):
    doc = expr_json(run, "hessian", "-e", "x**2 * y")
    assert doc["rows"] == doc["cols"] == ["x", "y"]
    assert doc["symbolic"] == [["2*y", "2*x"], ["2*x", "0"]]
    assert doc["value"] is None and doc["needs"] == ["x", "y"]


def test_undeclared_names_are_scalar_variables_in_order_of_first_use(run):
    assert expr_json(run, "grad", "-e", "b * a + c")["wrt"] == ["b", "a", "c"]
    # declared and undeclared names together, in the order the text meets them
    doc = expr_json(run, "grad", "-e", "var w = 3; y = w * x", "--at", "x=5")
    assert doc["wrt"] == ["w", "x"] and doc["of"] == ["y"]
    assert doc["gradients"]["w"]["value"] == 5 and doc["gradients"]["x"]["value"] == 3


def test_statements_are_separated_by_semicolons_and_the_last_definition_is_the_output(run):
    doc = expr_json(run, "grad", "-e", "y = x ** 2; z = 3 * y", "--at", "x=2")
    assert doc["of"] == ["z"] and doc["gradients"]["x"]["value"] == 12 and doc["L"] == 12


def test_the_bare_output_is_named_f_unless_the_program_uses_f(run):
    doc = expr_json(run, "grad", "-e", "f = x; f * 2", "--at", "x=1")
    assert doc["of"] == ["f_1"] and doc["gradients"]["x"]["value"] == 2


def test_a_bare_expression_ends_only_an_expr_program(run):
    code, out, err = run(None, "grad", "-e", "x; y = 2 * x")
    assert code == 1 and out == "" and "only the last statement" in err
    code, out, err = run("var x\nx * 2\n", "grad")
    assert code == 1 and out == "" and "write NAME = EXPR" in err and ":2:1: error" in err


def test_errors_point_into_the_expression(run):
    code, out, err = run(None, "grad", "-e", "sin(x) + * y")
    assert code == 1 and out == ""
    first, source, caret = err.splitlines()
    assert first.startswith("<expr>:1:10: error: unexpected '*'; expected '(', '+', '-', '[', a name")
    assert source == "sin(x) + * y" and caret == "         ^"


def test_file_and_expr_are_mutually_exclusive(run, tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("var x\ny = x\n")
    code, out, err = run(None, "grad", str(path), "-e", "x")
    assert code == 2 and out == "" and "not both" in err
    code, out, err = run(None, "grad")
    assert code == 2 and out == "" and "FILE or as -e" in err
    code, out, err = run(None, "grad", "-e", "  ")
    assert code == 1 and "empty" in err


@pytest.mark.parametrize(
    "args, check",
    [
        (["grad", "--at", "x=3"], lambda out: '"L": 27' in out),
        (["hessian", "--at", "x=3"], lambda out: json.loads(out)["value"] == [[18]]),
        (["jacobian", "--at", "x=3"], lambda out: json.loads(out)["value"] == [[27]]),
        (["step", "--lr", "0.01", "--at", "x=3"], lambda out: json.loads(out)["values"] == {"x": 2.73}),
        (["check", "--at", "x=3.0"], lambda out: json.loads(out)["ok"] is True),
        (["eval", "--at", "x=3"], lambda out: json.loads(out)["values"] == {"f": 27}),
        (["backward"], lambda out: "d_x = 3 * x ** 2" in json.loads(out)["program"]),
    ],
)
def test_every_command_that_takes_file_takes_expr(run, args, check):
    code, out, err = run(None, args[0], "-e", "x ** 3", *args[1:], "--format", "json")
    assert code == 0, err
    assert check(out), out


def test_graph_export_and_plot_take_expr(run, tmp_path):
    code, out, _ = run(None, "graph", "-e", "y = stop(x) * z; y", "--format", "mermaid")
    assert code == 0 and "flowchart" in out
    code, out, _ = run(None, "export", "-e", "x ** 3", "--lang", "numpy")
    namespace = {}
    exec(compile(out, "exported", "exec"), namespace)  # our own generated code, not user text
    value, gradients = namespace["evaluate"](x=2.0)
    assert value == 8.0 and gradients["x"] == 12.0
    image = tmp_path / "p.svg"
    code, _, err = run(None, "plot", "-e", "x ** 3", "--wrt", "x", "--at", "x=1", "--output", str(image))
    assert code == 0 and image.read_bytes().startswith(b"<?xml")


def test_step_write_needs_a_file(run):
    code, out, err = run(None, "step", "-e", "x ** 2", "--at", "x=1", "--lr", "0.1", "--write")
    assert code == 1 and out == "" and "--write needs a file, not -e" in err


def test_named_constants_are_not_variables(run):
    constants = getattr(model, "CONSTANTS", None)
    if constants is None:
        pytest.skip("no named constants yet (the function catalogue adds pi, e, inf)")
    for name in (c for c in constants if c in ("pi", "e", "inf")):
        doc = expr_json(run, "grad", "-e", f"{name} * x", "--at", "x=1")
        assert doc["wrt"] == ["x"], name
