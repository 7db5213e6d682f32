"""The parser: the whole language, located errors, and properties over generated text."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError
from gradcli.parser import parse, parse_literal
from gradcli.syntax import Binary, Call, Index, Slice, Transpose, Unary


def test_declarations_of_every_form():
    program = parse(
        "var a\nvar b = 2\nvar c: [2, 3]\nvar d: [2] = [1.5, -2]\nconst e = [[1, 2]]\nconst f: [3]\ny = a\n"
    )
    shapes = {d.name: (d.kind, d.shape) for d in program.declarations}
    assert shapes == {
        "a": ("var", ()),
        "b": ("var", ()),
        "c": ("var", (2, 3)),
        "d": ("var", (2,)),
        "e": ("const", (1, 2)),
        "f": ("const", (3,)),
    }
    assert program.declaration("d").literal.value == (1.5, -2)
    assert program.declaration("a").literal is None


def test_precedence_follows_python():
    (d,) = parse("var x\ny = -x ** 2 * 3 + 1\n").definitions
    assert isinstance(d.expr, Binary) and d.expr.op == "+"
    product = d.expr.left
    assert product.op == "*" and isinstance(product.left, Unary)
    assert product.left.operand.op == "**"
    (d,) = parse("var x\ny = x ** -2 ** 3\n").definitions  # right-associative, unary in exponent
    assert d.expr.op == "**" and isinstance(d.expr.right, Unary) and d.expr.right.operand.op == "**"


def test_postfix_indexing_slicing_transpose_and_calls():
    (d,) = parse("var x: [3, 3]\ny = sum(x[1:, ::2].T[-1], axis=0)\n").definitions
    assert isinstance(d.expr, Call) and d.expr.keywords[0][0] == "axis"
    index = d.expr.args[0]
    assert isinstance(index, Index) and index.items == (-1,)
    assert isinstance(index.base, Transpose)
    inner = index.base.base
    assert inner.items[0] == Slice(1, None, None, inner.items[0].span)
    assert inner.items[1].step == 2


def test_continuation_inside_brackets_and_comments():
    program = parse("var x: [2]  # a vector\ny = (x +\n     x)  # comment\nz = [1,\n 2] * y\n")
    assert [d.name for d in program.definitions] == ["y", "z"]
    assert program.definitions[1].span.line == 4


def test_numbers_as_in_python():
    assert parse_literal("[2, 2., .5, 1e-3, 1_000, -3]", "--at").value == (2, 2.0, 0.5, 1e-3, 1000, -3)
    assert isinstance(parse_literal("2", "x").value, int)
    assert isinstance(parse_literal("2.", "x").value, float)


@pytest.mark.parametrize(
    "text, line, column, words",
    [
        ("var x\ny = x +\n", 2, 8, "unexpected end of line"),
        ("var x\ny = z\n", 2, 5, "unknown name 'z'"),
        ("var x\ny = x1\n", 2, 5, "did you mean 'x'"),
        ("var x\ny = sine(x)\n", 2, 5, "did you mean sin(x)"),
        ("var x\ny = sin(x, x)\n", 2, 5, "takes 1 argument"),
        ("var x\ny = maximum(x)\n", 2, 5, "takes 2 arguments"),
        ("var x\ny = sum(x, ax=1)\n", 2, 12, "takes only axis="),
        ("var x: [2] = [1, 2, 3]\ny = x\n", 1, 14, "shape [3] but 'x' is declared with shape [2]"),
        ("var x = [[1, 2], [3]]\ny = x\n", 1, 18, "ragged"),
        ("var x\nx = 1\n", 2, 1, "already defined at line 1"),
        ("var x\ny = x\ny = 2\n", 3, 1, "already defined at line 2"),
        ("var x\ny = x $ 2\n", 2, 7, "unexpected character '$'"),
        ("var x\ny = x.U\n", 2, 7, "the attribute .T (transpose)"),
        ("var x\ny = y + x\n", 2, 5, "used in its own definition"),
        ("var x\nsin = x\n", 2, 1, "name of a function"),
        ("var x\ny = sin + x\n", 2, 5, "is a function"),
        ("var var = 1\ny = 2\n", 1, 5, "'var' is a keyword"),
    ],
)
def test_errors_are_located(text, line, column, words):
    with pytest.raises(GradcliError) as caught:
        parse(text, "m.txt")
    error = caught.value
    assert words in error.message
    assert (error.span.line, error.span.column) == (line, column)
    assert error.filename == "m.txt" and error.source.startswith(text.rstrip("\n"))


def test_a_program_needs_a_definition():
    with pytest.raises(GradcliError, match="no definition"):
        parse("var x\n")


def test_deep_nesting_is_refused_without_recursion_error():
    with pytest.raises(GradcliError, match="nested deeper"):
        parse("var x\ny = " + "(" * 5000 + "x" + ")" * 5000 + "\n")


nested_numbers = st.recursive(
    st.one_of(st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.integers(1, 3).flatmap(lambda n: st.lists(inner, min_size=n, max_size=n)),
    max_leaves=20,
)


def _rectangular(value) -> bool:
    try:
        np.array(value, dtype=float)
        return True
    except ValueError:
        return False


@settings(max_examples=200, deadline=None)
@given(nested_numbers)
def test_literals_round_trip(value):
    text = repr(value).replace("inf", "1e999")
    if not _rectangular(value):
        with pytest.raises(GradcliError, match="ragged"):
            parse_literal(text, "--at")
        return
    literal = parse_literal(text, "--at")
    assert literal.shape == (np.shape(np.array(value, dtype=object)) if isinstance(value, list) else ())

    def as_lists(v):
        return [as_lists(x) for x in v] if isinstance(v, tuple) else v

    assert as_lists(literal.value) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="varconstxyz=+-*/@()[]:,.T0123456789 \n#e", max_size=60))
def test_any_text_parses_or_fails_cleanly(text):
    try:
        parse(text, "fuzz.txt")
    except GradcliError as error:
        assert error.message and error.filename == "fuzz.txt"


PYTHON_ARITHMETIC = [
    "-7 % 3",
    "7 % -3",
    "-7 // 2",
    "7 // -2",
    "7.5 % -2",
    "-7.5 // 2",
    "2 + 7 % 3 * 2",
    "8 % 3 ** 2",
    "2 ** 3 % 5",
    "-2 ** 2 % 3",
    "17 // 5 // 2",
    "17 % 5 % 3",
    "1 / 3 % 1",
    "10 - 7 // 2 * 3",
    "3 % 2 == 1",
    "1 // 0.1",
    "1 % 0.1",
    "1e17 % 3.0",
    "-1e17 // 3.0",
    "5.5 % 1e-300",
    "10**30 % 7",
    "-(10**30) // 7",
]  # fmt: skip  (a quotient that rounds up to an integer: a - floor(a / b) * b loses the remainder)


@pytest.mark.parametrize("text", PYTHON_ARITHMETIC)
def test_floor_division_and_remainder_are_pythons(run_json, text):
    """`//` and `%` bind as `*` and `/`, floor, and take the divisor's sign, as Python (the oracle:
    the test's own constant text, evaluated by Python) and NumPy."""
    code, doc, err = run_json(f"y = {text}\n", "eval")
    assert code == 0, err
    expected = eval(text)  # noqa: S307 - the test's own literal, not input
    assert doc["values"]["y"] == pytest.approx(float(expected), rel=1e-15, abs=0)
    if "." not in text and " / " not in text:  # integers stay exact integers
        assert isinstance(doc["values"]["y"], int) and doc["values"]["y"] == expected


@pytest.mark.parametrize("limit", [[], ["--limit", "elements=1"]])  # per element and whole arrays
def test_remainder_operators_on_arrays_and_their_derivatives(run_json, limit):
    x, y = (
        np.array([-7.5, -1.25, 0.5, 3.0, 7.25, 1.0, 1e17]),
        np.array([2.0, -3.0, 0.75, 2.5, -1.5, 0.1, 3.0]),
    )
    text = "var x: [7]\nvar y: [7]\nr = x % y\nq = x // y\nf = sum(r * x) + sum(q * y)\n"
    at = ["--at", f"x={x.tolist()}", "--at", f"y={y.tolist()}"]
    code, doc, err = run_json(text, "eval", "--of", "r,q", *at, *limit)
    assert code == 0, err
    np.testing.assert_array_equal(doc["values"]["r"], np.mod(x, y))
    np.testing.assert_array_equal(doc["values"]["q"], np.floor_divide(x, y))
    code, doc, err = run_json(text, "grad", *at, *limit)
    assert code == 0, err
    r, q = np.mod(x, y), np.floor_divide(x, y)  # d(x % y)/dx = 1, d/dy = -floor(x / y); x // y is flat
    np.testing.assert_allclose(doc["gradients"]["x"]["value"], r + x, rtol=1e-14)
    np.testing.assert_allclose(doc["gradients"]["y"]["value"], -q * x + q, rtol=1e-14)


@pytest.mark.parametrize(("a", "b"), [(1, 0.1), (-7, 3), (7.5, -2), (1e17, 3.0), (-1e17, 7.0), (5.5, 1e-300)])
def test_fmod_is_cs(run_json, a, b):
    """C's fmod (math.fmod the oracle): exact, where a - trunc(a / b) * b loses the remainder."""
    code, doc, err = run_json(f"y = fmod({a}, {b})\n", "eval")
    assert code == 0, err
    assert doc["values"]["y"] == math.fmod(a, b)
