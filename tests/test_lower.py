"""Lowering follows NumPy: shapes, broadcasting, matmul/dot, slicing, reductions, on numbers."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.errors import GradcliError
from gradcli.evaluate import Evaluator
from gradcli.lower import lower
from gradcli.parser import parse

A = np.arange(1, 7).reshape(2, 3)
B = np.arange(1, 13).reshape(3, 4) - 5
V = np.array([3, -1, 2])
T = np.arange(24).reshape(2, 3, 4) - 7
NAMES = {"A": A, "B": B, "V": V, "T": T}
DECLARATIONS = "".join(f"var {k} = {v.tolist()}\n" for k, v in NAMES.items())


def lowered_value(expr: str) -> np.ndarray:
    program = parse(DECLARATIONS + f"y = {expr}\n")
    lowered = lower(program)
    values = {s: int(x) for k, v in NAMES.items() for s, x in zip(lowered.symbols[k].flat, v.flat)}
    y = lowered.arrays["y"]
    return np.array(Evaluator(values).many(y.flat), dtype=object).reshape(y.shape)


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("A + V", A + V),
        ("A * V", A * V),
        ("A @ B", A @ B),
        ("V @ B", V @ B),
        ("A @ V", A @ V),
        ("V @ V", V @ V),
        ("T @ B.T", T @ B.T),
        ("dot(A, B)", np.dot(A, B)),
        ("dot(T, B.T)", np.dot(T, B.T)),
        ("dot(V, V)", np.dot(V, V)),
        ("dot(2, A)", np.dot(2, A)),
        ("matmul(A, B)", np.matmul(A, B)),
        ("A.T", A.T),
        ("T.T", T.T),
        ("transpose(T)", np.transpose(T)),
        ("A[1]", A[1]),
        ("A[-1, ::-1]", A[-1, ::-1]),
        ("A[:, 1:]", A[:, 1:]),
        ("T[1, :, ::2]", T[1, :, ::2]),
        ("V[::2]", V[::2]),
        ("V[-2:]", V[-2:]),
        ("sum(A)", np.sum(A)),
        ("sum(T, axis=1)", np.sum(T, axis=1)),
        ("sum(T, axis=-1)", np.sum(T, axis=-1)),
        ("[V, V * 2]", np.array([V, V * 2])),
        ("[[1, 2], [3, 4]] @ A", np.array([[1, 2], [3, 4]]) @ A),
        ("-V ** 2", -(V**2)),
        ("2 ** V", 2.0**V),  # exact 1/2 where NumPy refuses int ** -1
        ("maximum(A, 3)", np.maximum(A, 3)),
        ("minimum(V, [0, 0, 0])", np.minimum(V, 0)),
    ],
)
def test_lowering_matches_numpy(expr, expected):
    result = lowered_value(expr)
    assert result.shape == np.shape(expected)
    np.testing.assert_array_equal(result.astype(float), np.asarray(expected, dtype=float))


def test_mean_is_exact():
    result = lowered_value("mean(A, axis=0)")
    assert result.tolist() == [np.mean(A[:, j]) for j in range(3)]
    assert lowered_value("mean(V)")[()] == Fraction(4, 3)  # exact; serialised as a float later


@pytest.mark.parametrize(
    "expr, message",
    [
        ("A + B", "shapes [2, 3] and [3, 4] do not broadcast for '+'"),
        ("A @ A", "matmul: shapes [2, 3] and [2, 3] do not match"),
        ("2 @ A", "matmul needs operands with at least one axis"),
        ("dot(T, A)", "dot: shapes [2, 3, 4] and [2, 3] do not align"),
        ("A[2]", "index 2 is out of range for axis 0 of size 2"),
        ("A[0, 0, 0]", "too many indices"),
        ("V[::0]", "slice step cannot be zero"),
        ("sum(A, axis=2)", "axis 2 is out of range"),
        ("sum(A, axis=V)", "axis must be an integer"),
        ("[V, A]", "list elements differ in shape"),
        ("mean([])", "mean of an empty array"),
    ],
)
def test_shape_errors_are_located(expr, message):
    program = parse(DECLARATIONS + f"y = {expr}\n", "m.txt")
    with pytest.raises(GradcliError) as caught:
        lower(program)
    assert message in caught.value.message
    assert caught.value.span.line == len(NAMES) + 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.booleans(),
)
def test_broadcasting_follows_numpy(left, right, ones):
    left = [1 if ones and i == 0 else d for i, d in enumerate(left)]
    a = np.arange(int(np.prod(left))).reshape(left) + 1
    b = np.arange(int(np.prod(right))).reshape(right) + 2
    text = f"var a = {a.tolist()}\nvar b = {b.tolist()}\ny = a * b - a\n"
    try:
        expected = a * b - a
    except ValueError:
        with pytest.raises(GradcliError, match="do not broadcast"):
            lower(parse(text))
        return
    lowered = lower(parse(text))
    values = {s: int(x) for k, v in (("a", a), ("b", b)) for s, x in zip(lowered.symbols[k].flat, v.flat)}
    y = lowered.arrays["y"]
    got = np.array(Evaluator(values).many(y.flat), dtype=object).reshape(y.shape)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.astype(int), expected)
