"""NumPy code pastes in, and refusals say what to write instead (through the CLI)."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli import model, syntax
from gradcli.errors import GradcliError
from gradcli.parser import parse


def grad_json(run, text, *args):
    code, out, err = run(text, "grad", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def eval_json(run, text, *args):
    code, out, err = run(text, "eval", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)["values"]


W = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]
X = [0.3, -0.2, 0.9]


@pytest.mark.parametrize(
    "header, prefix",
    [
        ("import numpy as np", "np."),
        ("import numpy", "numpy."),
        ("import jax.numpy as jnp", "jnp."),
        ("from jax import numpy as jnp", "jnp."),
        ("import jax", "jax.numpy."),
        ("", "np."),  # the prefixes work without the import line too
    ],
)
def test_module_prefixes_name_the_same_functions(run, header, prefix):
    pasted = f"{header}\nconst W = {W}\nvar x = {X}\ny = {prefix}sum({prefix}tanh({prefix}dot(W, x)) ** 2)\n"
    plain = f"const W = {W}\nvar x = {X}\ny = sum(tanh(dot(W, x)) ** 2)\n"
    assert grad_json(run, pasted)["gradients"] == grad_json(run, plain)["gradients"]
    # and the value is NumPy's
    expected = np.sum(np.tanh(np.dot(W, X)) ** 2)
    assert grad_json(run, pasted)["L"] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("prefix", ["np.linalg.", "jnp.linalg.", "numpy.linalg.", "jax.numpy.linalg."])
def test_linalg_functions_through_their_module(run, prefix):
    text = f"var X = [[2.0, 1.0], [0.5, 3.0]]\ny = {prefix}det(X)\n"
    if "det" not in model.FUNCTIONS:  # the catalogue's: until it is there, the error names det itself
        code, _, err = run(text, "grad")
        assert code == 1 and "unknown function 'det'" in err
        return
    matrix = np.array([[2.0, 1.0], [0.5, 3.0]])
    expected = np.linalg.det(matrix) * np.linalg.inv(matrix).T  # Jacobi's formula
    np.testing.assert_allclose(grad_json(run, text)["gradients"]["X"]["value"], expected, rtol=1e-14)


@pytest.mark.parametrize(
    "numpy_name, derivative",
    [
        ("np.arcsin(x)", 1 / math.sqrt(1 - 0.5**2)),
        ("np.arccos(x)", -1 / math.sqrt(1 - 0.5**2)),
        ("np.arctan(x)", 1 / (1 + 0.5**2)),
        ("np.power(x, 3)", 3 * 0.5**2),
        ("np.absolute(x)", 1.0),
        ("np.multiply(x, x)", 1.0),
        ("np.divide(1, x)", -1 / 0.5**2),
        ("np.subtract(x, np.add(x, x))", -1.0),
    ],
)
def test_numpy_names_that_gradcli_spells_otherwise(run, numpy_name, derivative):
    doc = grad_json(run, f"var x = 0.5\ny = {numpy_name}\n")
    assert doc["gradients"]["x"]["value"] == pytest.approx(derivative, rel=1e-14)


def test_np_array_is_the_list_itself(run):
    values = eval_json(run, "var x = 2\nw = np.array([1.5, 2.5])\ny = w * x\n")
    assert values["y"] == [3.0, 5.0]


@pytest.mark.parametrize(
    "method, numpy",
    [
        ("M.sum(axis=0)", lambda m: m.sum(axis=0)),
        ("M.mean()", lambda m: m.mean()),
        ("M.reshape(3, 2)", lambda m: m.reshape(3, 2)),
        ("M.reshape((3, 2))", lambda m: m.reshape((3, 2))),
        ("M.reshape(-1)", lambda m: m.reshape(-1)),
        ("M.transpose(1, 0)", lambda m: m.transpose(1, 0)),
        ("M.dot(v)", lambda m: m.dot(np.array([1.0, -2.0, 0.5]))),
        ("M.T", lambda m: m.T),
        ("M.max()", lambda m: m.max()),
        ("M.min()", lambda m: m.min()),
        ("M.prod()", lambda m: m.prod()),
    ],
)
def test_method_forms_as_in_numpy(run, method, numpy):
    function = method.split(".")[1].split("(")[0]
    if function not in ("T", *model.FUNCTIONS):
        pytest.skip(f"{function} is the function catalogue's")
    values = eval_json(run, f"const v = [1.0, -2.0, 0.5]\nvar M = {W}\ny = {method}\n")
    np.testing.assert_allclose(values["y"], numpy(np.array(W)), rtol=1e-15)


@pytest.mark.parametrize(
    "line, words",
    [
        ("import torch", "not 'torch'"),
        ("import numpy as xp", "write 'import numpy as np'"),
        ("from numpy import random", "write 'import numpy as np'"),
    ],
)
def test_imports_of_other_modules_are_refused(run, line, words):
    code, out, err = run(f"{line}\nvar x\ny = x\n", "grad")
    assert code == 1 and out == "" and words in err and ":1:1: error" in err


@pytest.mark.parametrize(
    "statement, column, words",
    [
        ("y = x ^ 2", 7, "write x ** 2"),
        ("y = x if x > 0 else 2", 7, "write where(cond, a, b)"),
        ("y = 3x", 6, "write '3 * x' for a product"),
        ("y = 2(x + 1)", 6, "write '2 * (' for a product"),
        ("def f(x):", 5, "gradcli has no 'def'"),
        ("y = x.shape", 7, "shapes are fixed where a variable is declared: var x: [2, 3]"),
        ("y = x.shape", 7, "the attribute .T (transpose)"),
        ("y = x.shape", 7, "x.sum(axis=0)"),
        ("y = sigmod(x)", 5, "did you mean sigmoid(x)?"),
        ("y = x.foo()", 7, "unknown function 'foo'"),
        ("y = np.linalg + x", 5, "'np.linalg' is a module"),
        ("y = np.tanh", 5, "call it: np.tanh(...)"),
        ("y = x.at + 1", 5, "write x.at[INDEX].add(VALUE)"),
        ("y = np.random.rand(3)", 8, "no random numbers; give values with --at"),
        ("y = [1 2] * x", 8, "separate list items with ','"),
        ("y = [x, x x]", 11, "separate list items with ','"),
        ("y = max(x, 2 * x)", 12, "for two values element-wise write maximum(a, b)"),  # Python's max
        ("y = np.amin(x, x)", 16, "for two values element-wise write minimum(a, b)"),
        ("y = max(x, 0)", 12, "axis 0 is out of range for an operand of shape []; max(x, axis) reduces x"),
    ],
)
def test_refusals_say_what_to_write_instead(run, statement, column, words):
    code, out, err = run(f"var x\n{statement}\n", "grad")
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert f":2:{column}: error:" in first and words in first, first


def test_unknown_functions_are_suggested_from_the_whole_table(run, monkeypatch):
    code, _, err = run("var x\ny = frobnicat(x)\n", "grad")
    assert code == 1 and "`gradcli --help` lists every function" in err
    monkeypatch.setitem(model.FUNCTIONS, "frobnicate", (1, 1, ()))  # a function added to the table
    code, _, err = run("var x\ny = frobnicat(x)\n", "grad")
    assert code == 1 and "did you mean frobnicate(x)?" in err


def test_max_points_at_the_reduction_and_the_element_wise_maximum(run, monkeypatch):
    monkeypatch.delitem(model.FUNCTIONS, "max", raising=False)
    code, _, err = run("var x\ny = max(x)\n", "grad")
    assert "unknown function 'max'; did you mean maximum(a, b)?" in err
    monkeypatch.setitem(model.FUNCTIONS, "max", (1, 2, ("axis", "keepdims")))
    code, _, err = run("var x\ny = maximum(x)\n", "grad")
    assert "maximum() takes 2 arguments, got 1; or did you mean max(x, axis=...) (a reduction)?" in err
    code, _, err = run("var x\ny = maxi(x)\n", "grad")
    assert "did you mean max(x, axis=...) (a reduction) or maximum(a, b)?" in err


def test_a_numpy_alias_follows_the_table(run, monkeypatch):
    monkeypatch.delitem(model.FUNCTIONS, "arcsin", raising=False)
    doc = grad_json(run, "var x = 0.5\ny = arcsin(x)\n")  # NumPy's name for asin
    assert doc["gradients"]["x"]["value"] == pytest.approx(1 / math.sqrt(0.75), rel=1e-15)
    monkeypatch.delitem(model.FUNCTIONS, "asin")
    code, _, err = run("var x = 0.5\ny = arcsin(x)\n", "grad")
    assert code == 1 and "unknown function 'arcsin'" in err


@pytest.mark.parametrize("option", ["--at", "--grad-ys"])
def test_several_assignments_in_one_option_say_to_repeat_it(run, option):
    code, out, err = run("var x = 1\nvar y = 2\nz = x * y\n", "grad", option, "x=1,y=2")
    assert code == 1 and out == ""
    assert f"one NAME=VALUE per {option}; repeat it: {option} x=1 {option} y=2" in err
    code, out, err = run("var x: [2]\nz = x\n", "grad", option, "x=[1, 2],z=3")
    assert f"repeat it: {option} 'x=[1, 2]' {option} z=3" in err


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="xyzfnp.;^()[]=*+-23 \nifelsedmportasjT", max_size=50),
    st.booleans(),
)
def test_any_text_parses_or_fails_cleanly_with_expr_and_numpy_spellings(text, expression):
    """Programs and -e programs with NumPy spellings, `;`, `^` and Python words: a Program or a
    located GradcliError, never another exception."""
    try:
        program = parse(text, "<expr>", expression=expression)
    except GradcliError as error:
        assert error.message and error.filename == "<expr>"
        return
    bound = {d.name for d in program.declarations} | {d.name for d in program.definitions}
    bound |= set(model.CONSTANTS)
    assert all(node.id in bound for d in program.definitions for node, _ in syntax.names_in(d.expr))


@pytest.mark.parametrize(
    "text, absent, column",
    [
        ("var x = [1 2]\ny = x\n", "';'", 12),  # the literal path and the grammar's agree
        ("var x\ny = f(x 2)\n", "';'", 9),
        ("var x\ny = sum(x, 0; 1)\n", "';'", 13),
    ],
)
def test_errors_inside_brackets_expect_no_end_of_statement(run, text, absent, column):
    """No statement ends inside brackets, so an error there lists no ';' among the expected."""
    code, out, err = run(text, "grad")
    first = err.splitlines()[0]
    hint = first.partition("; ")[2]
    assert code == 1 and out == "" and f":{column}: error: unexpected" in first and hint, first
    assert absent not in hint, first


def test_an_error_between_statements_still_expects_an_end_of_statement(run):
    code, _, err = run("var x\ny = 3 2\n", "grad")
    assert code == 1 and "';'" in err.splitlines()[0]
