"""Gaps a NumPy user met, closed: arange's keywords (NumPy 2's arange(stop=5)), casts
(x.astype(float), np.float64(x), np.asarray(x, dtype=float), float(s), the integer casts), repeat of
a 0-d array along an axis, rint without decimals, and the empty tuple `()` (np.zeros(()),
x.sum(axis=()), np.tile(x, ()), np.reshape(x, ()), tensordot(a, b, ((), ())), transpose(s, ())).
Values against NumPy itself on the exact per-element path and on whole arrays in float64,
derivatives against hand-derived ones on both, and what NumPy refuses refused at its place."""

from __future__ import annotations

import numpy as np
import pytest

from gradcli.parser import parse
from gradcli.syntax import TupleExpr

X = np.array([[0.5, -1.25, 2.0, 0.5], [3.0, 0.25, -0.75, 1.0], [1.7, -2.5, -1.0, 0.0]])
PATHS = pytest.mark.parametrize("limit", [(), ("--limit", "elements=8")], ids=["elements", "whole"])


@pytest.fixture
def x_file(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X)
    return f"X=@{path}"


NUMPY_CASES = [
    # arange's parameters by keyword (was "arange() takes 1 to 3 arguments, got 0")
    ("X * arange(stop=4)", lambda x: x * np.arange(stop=4)),
    ("X * arange(start=1, stop=5)", lambda x: x * np.arange(start=1, stop=5)),
    ("X + arange(stop=8, step=2)", lambda x: x + np.arange(stop=8, step=2)),
    ("X - arange(2, stop=6)", lambda x: x - np.arange(2, stop=6)),
    ("X * arange(stop=2, step=0.5)", lambda x: x * np.arange(stop=2, step=0.5)),
    # casts (were "unknown function 'astype'", "'float64'", "asarray() takes no keywords")
    ("X.astype(float)", lambda x: x.astype(float)),
    ("np.float64(X) + X.astype(np.float64) + X.astype('float64')", lambda x: 3 * x),
    ("np.asarray(X, dtype=float) * np.array(X, float)", lambda x: x * x),
    ("X.astype(int)", lambda x: x.astype(int)),  # truncated towards 0: -1.25 is -1, 1.7 is 1
    ("np.int64(X * 1.7) + np.astype(X, np.int_)", lambda x: np.int64(x * 1.7) + x.astype(np.int_)),
    ("X * float(X[2, 0]) + int(X[0, 1] * 3)", lambda x: x * float(x[2, 0]) + int(x[0, 1] * 3)),
    ("X * float('-inf')", lambda x: x * float("-inf")),
    (
        "X + np.array(((1.5, 2, 0, 0), (3, 4, 0, 1), (0, 0, 0, 0)))",
        lambda x: x + np.array(((1.5, 2, 0, 0), (3, 4, 0, 1), (0, 0, 0, 0))),
    ),
    # NumPy's dtype= of the constructors (was "zeros() takes no keywords; got 'dtype='")
    ("X * zeros(4, dtype=float) + ones((3, 4), dtype=np.float64)", lambda x: x * 0 + 1),
    ("X + full(4, 2.7, dtype=int) + full_like(X, -2.5, dtype=int)", lambda x: x + 2 - 2),
    (
        "X * arange(-3, 5, 2, dtype=int) + arange(4, dtype=float)",
        lambda x: x * np.arange(-3, 5, 2) + np.arange(4.0),
    ),
    ("X * linspace(-1, 1, 4, dtype=int)", lambda x: x * np.linspace(-1, 1, 4, dtype=int)),  # floor, NumPy 2's
    (
        "eye(4, dtype=int)[1:] * X + identity(4, dtype=float)[:3]",
        lambda x: np.eye(4)[1:] * x + np.eye(4)[:3],
    ),
    # repeat of a 0-d array along axis 0 or -1 (was "axis 0 is out of range for an operand of shape []")
    ("X * repeat(X[0, 2], 4, axis=0)", lambda x: x * np.repeat(x[0, 2], 4, axis=0)),
    ("X * repeat(X[1, 0], [4], axis=-1)", lambda x: x * np.repeat(x[1, 0], [4], axis=-1)),
    ("X + X[2, 1].repeat(4, 0)", lambda x: x + x[2, 1].repeat(4, 0)),
    # the empty tuple (was "unexpected ')'")
    ("tile(X, ())", lambda x: np.tile(x, ())),
    ("reshape(X[1:2, :1], ()) * X", lambda x: np.reshape(x[1:2, :1], ()) * x),
    ("X[1:2, 1:2].reshape(()) + zeros(()) + ones(())", lambda x: x[1:2, 1:2].reshape(()) + 1.0),
    ("X.sum(axis=()) + X.max(axis=()) * X.mean(axis=(), keepdims=True)", lambda x: x + x * x),
    ("X.var(axis=()) + median(X, axis=()) + ptp(X, axis=())", lambda x: x),
    ("tensordot(X, X[0], ((), ()))", lambda x: np.tensordot(x, x[0], ((), ()))),
    ("transpose(X[0, 0], ()) * X", lambda x: np.transpose(x[0, 0], ()) * x),
    ("X[()] * X[1, 2][()]", lambda x: x[()] * x[1, 2][()]),
    ("X.at[()].add(X[0])", lambda x: x + x[0]),  # JAX's x.at[()].add(v): v added to all of x
    ("X * full((), 2.5) + np.array(()).sum()", lambda x: x * np.full((), 2.5) + np.array(()).sum()),
]


@PATHS
@pytest.mark.parametrize("definition, numpy_form", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_values_are_numpys(run_json, x_file, definition, numpy_form, limit):
    code, doc, err = run_json(f"var X: [3, 4]\nF = {definition}\n", "eval", "--at", x_file, *limit)
    assert code == 0, err
    with np.errstate(invalid="ignore"):  # 0 * -inf is NaN
        expected = numpy_form(X)
    got = np.array(doc["values"]["F"], dtype=float)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_a_float_cast_makes_exact_numbers_floats_and_an_int_cast_keeps_them_exact(run_json):
    text = (
        "var w = [1, -2]\na = w.astype(float)\nb = np.float64(w[0])\nc = float(w[1])\n"
        "d = w.astype(int)\ne = np.int64(w * 7 / 2)\nf = np.asarray(w)\n"
    )
    code, doc, err = run_json(text, "eval")
    assert code == 0, err
    values = doc["values"]
    assert values == {"a": [1.0, -2.0], "b": 1.0, "c": -2.0, "d": [1, -2], "e": [3, -7], "f": [1, -2]}
    assert [type(v) for v in values["a"]] == [float, float] and type(values["b"]) is type(
        values["c"]
    ) is float
    assert [type(v) for v in values["d"] + values["e"] + values["f"]] == [int] * 6


# ---- derivatives, hand-derived, on both paths ---------------------------------------------------------

DERIVATIVES = [
    # a float cast is the identity for derivatives
    ("sum(X.astype(float) ** 2)", lambda x: 2 * x),
    ("sum(np.float64(X) * np.asarray(X, dtype=float))", lambda x: 2 * x),
    # an integer cast has derivative 0 (JAX's), so only the other factor's survives
    ("sum(X.astype(int) * X)", lambda x: np.trunc(x)),
    ("sum(np.int64(X) ** 2)", lambda x: np.zeros_like(x)),
    ("float(X[0, 2]) ** 3 + int(X[1, 1]) * X[1, 1]", lambda x: _at((0, 2), 3 * x[0, 2] ** 2)),
    ("sum(X * arange(stop=4)) + sum(X * arange(start=1, stop=5))", lambda x: x * 0 + 2 * np.arange(4) + 1),
    ("sum(repeat(X[1, 2], 3, axis=0) * [1.0, 2.0, 3.0])", lambda x: _at((1, 2), 6.0)),
    ("sum(full(4, X[0, 0], dtype=float) * X[1]) - X[1, 0] * X[0, 0]", lambda x: _filled(x)),
    ("sum(full_like(X, X[0, 0], dtype=int) * X)", lambda x: np.trunc(x[0, 0]) + x * 0),
    ("sum(tile(X, ()) ** 2 * X.sum(axis=()))", lambda x: 3 * x**2),
    ("sum(X[()] ** 2) + sum(X.at[()].add(X) ** 2)", lambda x: 10 * x),
    ("sum(tensordot(X, X[0], ((), ())))", lambda x: np.sum(x[0]) + _at_row(0, np.sum(x))),
    ("reshape(X[1:2, :1], ()) ** 3 + transpose(X[0, 0], ()) ** 2 + zeros(()) + ones(()) * X[0, 0]",
     lambda x: _at((1, 0), 3 * x[1, 0] ** 2) + _at((0, 0), 2 * x[0, 0] + 1)),
]  # fmt: skip


def _filled(x) -> np.ndarray:
    """The gradient of sum(full(4, x[0, 0]) * x[1]) - x[1, 0] * x[0, 0]."""
    return _at((0, 0), x[1, 1:].sum()) + _at_row(1, x[0, 0]) - _at((1, 0), x[0, 0])


def _at(index, value) -> np.ndarray:
    out = np.zeros(X.shape)
    out[index] = value
    return out


def _at_row(row, value) -> np.ndarray:
    out = np.zeros(X.shape)
    out[row] = value
    return out


@PATHS
@pytest.mark.parametrize("definition, gradient", DERIVATIVES, ids=[c[0] for c in DERIVATIVES])
def test_gradients_are_hand_derived(run_json, x_file, definition, gradient, limit):
    code, doc, err = run_json(f"var X: [3, 4]\nL = {definition}\n", "grad", "--at", x_file, *limit)
    assert code == 0, err
    target = doc["gradients"]["X"]
    assert target["status"] == "ok"
    np.testing.assert_allclose(np.array(target["value"], dtype=float), gradient(X), rtol=1e-13, atol=1e-14)
    # the matrix form is the language again (no `x[]` or `.at[]` of an empty index): the same values
    code, doc, err = run_json(f"var X: [3, 4]\nM = {target['matrix']}\n", "eval", "--at", x_file, *limit)
    assert code == 0, err
    form = np.broadcast_to(np.array(doc["values"]["M"], dtype=float), X.shape)
    np.testing.assert_allclose(form, gradient(X), rtol=1e-13, atol=1e-14)


@PATHS
def test_a_float_cast_is_the_identity_for_second_derivatives(run_json, limit):
    code, doc, err = run_json(
        "var s = 3\nL = float(s) ** 3 + s.astype(int) * s\n", "grad", "--order", "2", *limit
    )
    assert code == 0, err
    assert doc["gradients"]["s"]["value"] == 18.0  # 6 s; trunc(s) * s gives 0 here (its derivative is 0)


# ---- the grammar -----------------------------------------------------------------------------------


def test_the_empty_tuple_parses_as_a_tuple_of_nothing():
    (definition,) = parse("var x = [1.0]\ny = reshape(x, ())\n").definitions
    shape = definition.expr.args[1]
    assert isinstance(shape, TupleExpr) and shape.items == ()
    assert (shape.span.line, shape.span.column) == (2, 16)


def test_an_index_of_the_empty_tuple_is_the_whole_array():
    (definition,) = parse("var x = [1.0]\ny = x[()]\n").definitions
    assert definition.expr.items == () and definition.expr.base.id == "x"


# ---- refusals at their place -------------------------------------------------------------------------

REFUSALS = [
    ("arange(start=5)", "arange(start=5)", "arange() requires stop, e.g. arange(5) or arange(stop=5)"),
    ("arange(step=2)", "arange(step=2)", "arange() requires stop"),
    ("arange(1, start=2)", "start=", "arange: start is given twice"),
    ("arange(stop=X)", "stop=X", "stop is a number, e.g. stop=5"),
    ("rint(X, decimals=1)", "decimals", "rint() takes only the array (it rounds to integers); for decimals"),
    ("np.rint(X, 1)", "1)", "rint() takes only the array"),
    ("X.astype(np.float32)", "float32", "'float32' is not a dtype gradcli casts to"),
    ("X.astype('complex128')", "'complex128'", "'complex128' is not a dtype gradcli casts to"),
    ("X.astype(float, copy=False)", "copy", "astype() takes only dtype= here; got 'copy='"),
    ("X.astype(float, dtype=int)", "dtype=int", "'dtype=' is given as argument 2 already"),
    ("X.astype()", "X.astype()", "astype() takes an array and a dtype: x.astype(float)"),
    ("float(X)", "float(X)", "float() takes one number, got an array of shape [3, 4]; for an array"),
    ("int(X[0])", "int(X[0])", "int() takes one number, got an array of shape [4]"),
    ("float('nan')", "'nan'", "float() of a string takes a number or inf"),
    ("arange(0, 2.5, 0.5, dtype=int)", "dtype", "arange() takes an integer dtype only with integer start"),
    ("zeros(3, dtype=float, dtype=int)", "dtype=int", "'dtype=' given twice"),
    ("zeros(3, dtype=np.float16)", "float16", "'float16' is not a dtype gradcli casts to"),
    ("repeat(X[0, 0], 3, axis=1)", "axis=1", "axis 1 is out of range"),
    ("reshape(X, ())", "reshape(X, ())", "cannot reshape an array of shape [3, 4] into shape []"),
    ("transpose(X, ())", "transpose(X, ())", "axes [] are not a permutation of the 2 axes of [3, 4]"),
    ("sin(())", "())", "a tuple goes only where a function takes one"),
    ("() + X", "() + X", "a tuple goes only where a function takes one"),
    ("cumsum(X, axis=())", "cumsum(X, axis=())", "cumsum works along one axis, an integer (axis=0)"),
    ("tensordot(X, X, ())", "()", "axes is an integer or a pair of axis lists"),
    ("zeros(((),))", "(),)", "a shape is a list of integers"),
]  # fmt: skip


@pytest.mark.parametrize("definition, place, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refused_at_their_place(run, definition, place, words):
    line = f"F = sum({definition}) * y"
    code, out, err = run(f"var X: [3, 4]\nvar y = 1.5\n{line}\n", "grad")
    assert code == 1 and out == "", err
    column = line.index(place, line.index(definition)) + 1
    assert f":3:{column}: error: {words}" in err, err
    assert "Traceback" not in err and "^" in err


@pytest.mark.parametrize(
    ("program", "column"),
    [
        ("var s = 1.0\nvar v = [5.0, 1.0]\nf = s.at[()].add(v)\n", 5),  # was an internal error
        (
            "var x = [1.0, 2.0]\nvar v = [[5.0, 1.0]]\nf = sum(x.at[:].add(v) ** 2)\n",
            9,
        ),  # was a wrong gradient
    ],
)
def test_a_value_with_more_axes_than_its_place_is_refused(run, program, column):
    code, out, err = run(program, "grad")
    assert code == 1 and out == ""
    assert f":3:{column}: error: cannot broadcast shape" in err.splitlines()[0]


def test_dtype_none_is_numpys_default(run_json):
    code, doc, err = run_json(
        "var x = [1, 2]\nf = sum(np.asarray(x, dtype=None) * x) + sum(zeros(2, dtype=None))\n", "grad"
    )
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == [2, 4] and doc["L"] == 5  # exact, as without dtype=
    code, doc, err = run_json("var x = [1, 2]\nf = sum(x.astype(None) * x)\n", "grad")  # NumPy: float64
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == [2.0, 4.0] and isinstance(doc["L"], float)


@pytest.mark.parametrize(
    ("expression", "column", "words"),
    [
        (
            'int("3")',
            9,
            "int() of a string: write the number itself",
        ),  # was "a string goes only first in einsum"
        ('np.int64("7")', 14, "int64() of a string"),
        ("np.float32(x)", 8, "'float32' is not a dtype gradcli casts to"),  # was "unknown function"
        ("np.int32(x)", 8, "'int32' is not a dtype gradcli casts to"),
    ],
)
def test_casts_gradcli_lacks_are_refused_at_their_place(run, expression, column, words):
    code, out, err = run(f"var x = [1.5]\nf = {expression}\n", "eval")
    assert code == 1 and out == ""
    assert f":2:{column}: error: {words}" in err.splitlines()[0]


def test_np_float64_of_a_string_is_its_number(run_json):
    code, doc, err = run_json('var x = 2.0\nf = np.float64("1.5") * x\n', "grad")
    assert code == 0, err
    assert doc["L"] == 3.0 and doc["gradients"]["x"]["value"] == 1.5
