"""NumPy's names for operators and logic (np.add, np.greater, np.logical_and, float_power, rint,
fix), the reductions amax, amin, ptp and average (with weights), the array functions diff,
trapezoid (trapz), take, atleast_1d/2d/3d, column_stack, dstack and pad, and scipy.special's
expit, logit and xlogy: values against NumPy itself, per element (exact where the inputs are) and
on whole arrays in float64; derivatives where a rule is chosen (xlogy at x == 0 as JAX, ptp at
ties, average's weights, pad's fill value) against hand-derived values; hostile arguments refused
at their place. Derivatives at ordinary points are rows of tests/test_catalogue.py and
tests/test_ops.py (against mpmath)."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pytest

X = np.array([[0.5, -1.25, 2.0, 0.25], [3.0, 0.0, -0.75, 1.0], [1.0, 1.0, -1.5, 0.0]])
V = np.array([1.5, -2.0, 0.5])
WHOLE = ("--limit", "elements=8")  # X (12 elements) beyond the element view: whole arrays in float64


def _values(run_json, tmp_path, definition: str, *limit: str):
    np.save(tmp_path / "X.npy", X)
    text = f"var X: [3, 4]\nvar V: [3]\nF = {definition}\n"
    at = ("--at", f"X=@{tmp_path / 'X.npy'}", "--at", "V=[1.5,-2.0,0.5]")
    code, doc, err = run_json(text, "eval", "--of", "F", *at, *limit)
    assert code == 0, err
    return np.array(doc["values"]["F"], dtype=float)


def _logit(p):
    return np.log(p / (1 - p))


def _xlogy(x, y):  # jax.scipy.special.xlogy: 0 where x == 0, whatever y is
    with np.errstate(all="ignore"):
        return np.where(x != 0, x * np.log(y), 0.0)


def _padded(x, widths, value=0.0):
    return np.pad(x, widths, mode="constant", constant_values=value)


NUMPY_CASES = [
    # the operators' ufunc names
    ("np.add(X, V[:, None]) * np.subtract(X, 1)", lambda x, v: np.add(x, v[:, None]) * np.subtract(x, 1)),
    ("np.multiply(X, 2) + np.divide(X, 4) - np.true_divide(1, V)[0]", lambda x, v: x * 2 + x / 4 - 1 / v[0]),
    ("np.greater(X, 0.5) + np.greater_equal(X, 0.5) * 2", lambda x, v: (x > 0.5) + (x >= 0.5) * 2),
    ("np.less(X, 0) + np.less_equal(X, 0) * 2", lambda x, v: (x < 0) + (x <= 0) * 2),
    ("np.equal(X, 1.0) + np.not_equal(X, 1.0) * 2", lambda x, v: (x == 1.0) + (x != 1.0) * 2),
    ("np.absolute(X) + np.fabs(V)[:, None]", lambda x, v: np.absolute(x) + np.fabs(v)[:, None]),
    ("np.float_power(np.abs(X), 1.5)", lambda x, v: np.float_power(np.abs(x), 1.5)),
    ("np.float_power(2, X)", lambda x, v: np.float_power(2, x)),
    ("np.rint(X * 2)", lambda x, v: np.rint(x * 2)),  # halves to even: 2.5 -> 2, -1.5 -> -2
    ("np.fix(X * 1.5)", lambda x, v: np.fix(x * 1.5)),
    # logic, as 1 and 0 (as comparisons give)
    ("np.logical_and(X, X > 0.5)", lambda x, v: np.logical_and(x, x > 0.5)),
    (
        "np.logical_or(X, 0) + np.logical_or(X > 1, X < 0)",
        lambda x, v: 1.0 * np.logical_or(x, 0) + ((x > 1) | (x < 0)),
    ),
    ("np.logical_xor(X, X - 1)", lambda x, v: np.logical_xor(x, x - 1)),
    ("np.logical_not(X) + logical_not(X > 0)", lambda x, v: 1.0 * np.logical_not(x) + np.logical_not(x > 0)),
    # reductions
    ("np.amax(X, axis=0, keepdims=True)", lambda x, v: np.amax(x, axis=0, keepdims=True)),
    ("np.amin(X, 1)", lambda x, v: np.amin(x, 1)),
    ("np.ptp(X)", lambda x, v: np.ptp(x)),
    ("np.ptp(X, axis=1)", lambda x, v: np.ptp(x, axis=1)),
    ("ptp(X, (0, 1), keepdims=True)", lambda x, v: np.ptp(x, (0, 1), keepdims=True)),
    ("np.average(X)", lambda x, v: np.average(x)),
    ("np.average(X, 1)", lambda x, v: np.average(x, 1)),
    ("np.average(X, axis=1, weights=[1, 2, 3, 4])", lambda x, v: np.average(x, 1, [1, 2, 3, 4])),
    ("np.average(X, axis=0, weights=V + 3)", lambda x, v: np.average(x, 0, v + 3)),
    ("np.average(X, weights=X ** 2)", lambda x, v: np.average(x, weights=x**2)),
    (
        "average(X, weights=X + 3, axis=-1, keepdims=True)",
        lambda x, v: np.average(x, -1, x + 3, keepdims=True),
    ),
    (
        "average(X, (1, 0), exp(X.T))",
        lambda x, v: np.average(x, (1, 0), np.exp(x.T)),
    ),  # weights in axis order
    ("average(X, axis=None, weights=None)", lambda x, v: np.average(x)),
    # along an axis
    ("np.diff(X)", lambda x, v: np.diff(x)),
    ("np.diff(X, 2, axis=0)", lambda x, v: np.diff(x, 2, axis=0)),
    ("np.diff(X, n=3)", lambda x, v: np.diff(x, n=3)),
    ("np.diff(X, 0)", lambda x, v: np.diff(x, 0)),
    ("np.diff(X, 7)", lambda x, v: np.diff(x, 7)),  # beyond the length: empty
    ("np.diff(V, prepend=0, append=V[:2])", lambda x, v: np.diff(v, prepend=0, append=v[:2])),
    ("np.diff(X, axis=0, prepend=X[:1] * 2)", lambda x, v: np.diff(x, axis=0, prepend=x[:1] * 2)),
    ("np.trapezoid(X)", lambda x, v: np.trapezoid(x)),
    ("np.trapezoid(X, dx=0.5, axis=0)", lambda x, v: np.trapezoid(x, dx=0.5, axis=0)),
    ("np.trapz(X, [0, 1, 3, 7])", lambda x, v: np.trapezoid(x, [0, 1, 3, 7])),
    ("trapezoid(X, V, axis=0)", lambda x, v: np.trapezoid(x, v, axis=0)),
    ("trapezoid(X, X ** 2)", lambda x, v: np.trapezoid(x, x**2)),
    ("trapezoid(V, dx=V[1])", lambda x, v: np.trapezoid(v, dx=v[1])),
    ("trapezoid(X[:, :1])", lambda x, v: np.trapezoid(x[:, :1])),
    ("np.take(X, 5)", lambda x, v: np.take(x, 5)),
    ("np.take(X, [[0, -1], [3, 3]])", lambda x, v: np.take(x, [[0, -1], [3, 3]])),
    ("np.take(X, [2, 0, -4], axis=1)", lambda x, v: np.take(x, [2, 0, -4], axis=1)),
    ("np.take(X, -1, axis=0)", lambda x, v: np.take(x, -1, axis=0)),
    ("np.take(X, [[1], [0]], 0)", lambda x, v: np.take(x, [[1], [0]], 0)),
    ("sum(take(X, [], axis=1), axis=1)", lambda x, v: np.sum(np.take(x, [], axis=1), axis=1)),
    # shapes
    ("np.atleast_1d(X[0, 1]) * np.atleast_1d(V)", lambda x, v: np.atleast_1d(x[0, 1]) * v),
    ("np.atleast_2d(V) + np.atleast_2d(X)[:1, :3]", lambda x, v: np.atleast_2d(v) + x[:1, :3]),
    ("np.atleast_2d(X[0, 0])", lambda x, v: np.atleast_2d(x[0, 0])),
    ("np.atleast_3d(X)", lambda x, v: np.atleast_3d(x)),
    ("np.atleast_3d(V)", lambda x, v: np.atleast_3d(v)),
    ("np.atleast_3d(V[0]) + atleast_3d(X[None])", lambda x, v: np.atleast_3d(v[0]) + x[None]),
    ("np.column_stack([V, X[:, :2], V ** 2])", lambda x, v: np.column_stack([v, x[:, :2], v**2])),
    ("np.column_stack((V[0], 2.0))", lambda x, v: np.column_stack((v[0], 2.0))),
    ("np.dstack([X, X ** 2])", lambda x, v: np.dstack([x, x**2])),
    ("np.dstack([V, V * 2])", lambda x, v: np.dstack([v, v * 2])),
    ("np.pad(X, 1)", lambda x, v: _padded(x, 1)),
    ("np.pad(X, (1, 2))", lambda x, v: _padded(x, (1, 2))),
    ("np.pad(X, ((0, 1), (2, 0)))", lambda x, v: _padded(x, ((0, 1), (2, 0)))),
    ("np.pad(X, ((1,), (2,)))", lambda x, v: _padded(x, ((1,), (2,)))),
    ("np.pad(X, (2,), 'constant')", lambda x, v: _padded(x, (2,))),
    ('np.pad(V, 2, mode="constant", constant_values=-1.5)', lambda x, v: _padded(v, 2, -1.5)),
    ("np.pad(X, [[1, 0], [0, 0]], constant_values=V[1])", lambda x, v: _padded(x, ((1, 0), (0, 0)), v[1])),
    ("np.pad(X, 0)", lambda x, v: _padded(x, 0)),
    # scipy.special's names
    ("expit(X)", lambda x, v: 1 / (1 + np.exp(-x))),
    ("logit(X / 8 + 0.5)", lambda x, v: _logit(x / 8 + 0.5)),
    ("xlogy(X, np.abs(X) + 0.5)", lambda x, v: _xlogy(x, np.abs(x) + 0.5)),
]


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
@pytest.mark.parametrize("definition, numpy_form", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_values_are_numpys(run_json, tmp_path, definition, numpy_form, limit):
    expected = np.asarray(numpy_form(X, V), dtype=float)
    got = _values(run_json, tmp_path, definition, *limit)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


SPECIAL = np.array([np.nan, 0.0, -0.0, np.inf, -np.inf, 1.0, 0.5, -2.0])


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=4")], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "definition, numpy_form",
    [
        ("logical_and(x, 1) + logical_or(x, 0) * 2 + logical_xor(x, 0) * 4", None),  # NaN is true
        ("logical_not(x)", lambda x: np.logical_not(x)),
        ("np.greater(x, 0) + np.equal(x, x) * 2", lambda x: (x > 0) + (x == x) * 2),  # NaN == NaN is false
        (
            "xlogy(x, 2.0) + xlogy(0, x) + xlogy(x, x)",
            lambda x: _xlogy(x, 2.0) + _xlogy(0.0, x) + _xlogy(x, x),
        ),
        ("logit(x)", lambda x: _logit(x)),
        ("ptp(x[:3]) + ptp(x[4:])", lambda x: np.ptp(x[:3]) + np.ptp(x[4:])),
        ("diff(x)", lambda x: np.diff(x)),
        ("rint(x) + fix(x)", lambda x: np.rint(x) + np.fix(x)),
    ],
    ids=range(8),
)
def test_values_at_nan_zero_and_infinities_are_numpys(run_json, tmp_path, definition, numpy_form, limit):
    if numpy_form is None:
        numpy_form = lambda x: (  # noqa: E731
            np.logical_and(x, 1) + np.logical_or(x, 0) * 2 + np.logical_xor(x, 0) * 4
        )
    np.save(tmp_path / "x.npy", SPECIAL)
    text = f"var x: [{len(SPECIAL)}]\nF = {definition}\n"
    code, doc, err = run_json(text, "eval", "--of", "F", "--at", f"x=@{tmp_path / 'x.npy'}", *limit)
    assert code == 0, err
    with np.errstate(all="ignore"):
        expected = np.asarray(numpy_form(SPECIAL), dtype=float)
    np.testing.assert_allclose(
        np.array(doc["values"]["F"], dtype=float), expected, rtol=1e-14, equal_nan=True
    )


def test_exact_inputs_give_exact_values(run_json):
    """Per element, exact inputs give exact numbers (NumPy's values: its floats are these)."""
    text = (
        "var v = [1, 4, 9, 16]\n"
        "d = diff(v)\nd2 = diff(v, 2, prepend=0)\nt = trapezoid(v)\nu = trapz(v, dx=1/3)\n"
        "a = average(v, weights=[1, 1, 2, 0])\np = ptp(v)\nk = take(v, [-1, 0])\n"
        "q = pad(v[:2], (1, 2))\nr = [rint(5/2), fix(-7/2), float_power(2, 10), float_power(2, -1)]\n"
        "s = [logit(1/2), xlogy(0, 5), xlogy(3, 1), expit(0)]\n"
        "c = [np.greater(3, 2), np.less(3, 2), logical_and(2, 0), logical_or(2, 0), logical_xor(2, 0)]\n"
        "m = [amax(v), amin(v), np.add(1, 2), np.true_divide(1, 4)]\n"
    )
    code, doc, err = run_json(text, "eval")
    assert code == 0, err
    values = doc["values"]
    v = np.array([1, 4, 9, 16])
    expected = {
        "d": np.diff(v),
        "d2": np.diff(v, 2, prepend=0),
        "t": np.trapezoid(v),
        "u": np.trapezoid(v, dx=1 / 3),
        "a": np.average(v, weights=[1, 1, 2, 0]),
        "p": np.ptp(v),
        "k": np.take(v, [-1, 0]),
        "q": np.pad(v[:2], (1, 2)),
        "r": [np.rint(5 / 2), np.fix(-7 / 2), np.float_power(2, 10), np.float_power(2, -1)],
        "s": [_logit(0.5), _xlogy(0, 5), _xlogy(3, 1), 1 / (1 + np.exp(0))],
        "c": [
            np.greater(3, 2),
            np.less(3, 2),
            *(f(2, 0) for f in (np.logical_and, np.logical_or, np.logical_xor)),
        ],
        "m": [np.amax(v), np.amin(v), np.add(1, 2), np.true_divide(1, 4)],
    }
    for name, value in expected.items():
        # the exact rational 43/6 rounds once; NumPy's float64 arithmetic may be an ulp away
        np.testing.assert_allclose(
            np.array(values[name], dtype=float), np.array(value, dtype=float), rtol=2e-16
        )
    for name in ("d", "d2", "p", "k", "q", "c"):  # exact integers, not floats
        assert all(type(item) is int for item in np.ravel(np.array(values[name], dtype=object))), name


# ---- derivatives where a rule is chosen -------------------------------------------------------------


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "x, y, expected",
    [
        (0.0, 2.0, [math.log(2.0), 0.0]),  # JAX's rule: d/dx is log(y) at x == 0 too (not 0)
        (0.0, 0.5, [math.log(0.5), 0.0]),
        (1.5, 2.0, [math.log(2.0), 0.75]),
        (-2.0, 4.0, [math.log(4.0), -0.5]),
    ],
)
def test_xlogy_gradient_is_jaxs(run_json, x, y, expected, limit):
    text = f"var x = {x}\nvar y = {y}\nf = xlogy(x, y)\n"
    code, doc, err = run_json(text, "grad", *limit)
    assert code == 0, err
    got = [doc["gradients"][n]["value"] for n in ("x", "y")]
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    code, doc, err = run_json(text, "hessian", *limit)
    assert code == 0, err  # of x log(y): [[0, 1/y], [1/y, -x/y**2]]
    np.testing.assert_allclose(doc["value"], [[0, 1 / y], [1 / y, -x / y**2]], rtol=1e-15, atol=0)


def test_xlogy_at_zero_zero_is_zero_with_jaxs_gradient(run_json):
    """xlogy(0, 0) is 0; JAX's derivatives there are log(0) = -inf and 0 / 0 = NaN."""
    for limit in ((), ("--symbolic", "none")):
        code, doc, err = run_json("var x = 0.0\nvar y = 0.0\nf = xlogy(x, y)\n", "grad", *limit)
        assert code == 0 and doc["L"] == 0, err
        assert doc["gradients"]["x"]["value"] == "-inf" and doc["gradients"]["y"]["value"] == "nan"


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
@pytest.mark.parametrize("p", [0.5, 0.25, 1e-6, 0.999])
def test_logit_derivative_is_its_own(run_json, p, limit):
    """1 / (p (1 - p)), and its derivative (2p - 1) / (p (1 - p)) ** 2."""
    code, doc, err = run_json(f"var p = {p}\nf = logit(p)\n", "grad", "--order", "2", *limit)
    assert code == 0, err
    assert doc["gradients"]["p"]["value"] == pytest.approx((2 * p - 1) / (p * (1 - p)) ** 2, rel=1e-12)
    code, doc, err = run_json(f"var p = {p}\nf = logit(p)\n", "grad", *limit)
    assert doc["gradients"]["p"]["value"] == pytest.approx(1 / (p * (1 - p)), rel=1e-14)


def test_logit_derivative_at_the_ends_is_infinite(run_json):
    """The quotient's chain rule gives NaN at 0 (inf * 0); logit's own derivative is inf there."""
    for limit in ((), ("--symbolic", "none")):
        code, doc, err = run_json("var p = [0.0, 1.0]\nf = sum(logit(p))\n", "grad", *limit)
        assert code == 0, err
        assert doc["L"] == "nan" and doc["gradients"]["p"]["value"] == ["inf", "inf"]


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "x, expected",
    [
        ([2.0, 2.0, 1.0], [0.5, 0.5, -1.0]),  # ties of max share its gradient (as max's)
        ([1.0, 3.0, 1.0, 1.0], [-1 / 3, 1.0, -1 / 3, -1 / 3]),
        ([4.0, 4.0], [0.0, 0.0]),  # all tied: max's and min's shares cancel
    ],
)
def test_ptp_gradient_is_max_minus_min(run_json, x, expected, limit):
    code, doc, err = run_json(f"var x = {x}\nf = ptp(x)\n", "grad", *limit)
    assert code == 0, err
    np.testing.assert_allclose(doc["gradients"]["x"]["value"], expected, rtol=1e-15)


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
def test_average_gradients_in_values_and_weights(run_json, limit):
    """d/dx_i = w_i / sum(w); d/dw_i = (x_i - average) / sum(w): at x = [1, 2, 4], w = [1, 1, 2]
    the average is 11/4, so d/dw = [-7, -3, 5] / 16."""
    text = "var x = [1, 2, 4]\nvar w = [1, 1, 2]\nf = average(x, weights=w)\n"
    code, doc, err = run_json(text, "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == [0.25, 0.25, 0.5]
    assert doc["gradients"]["w"]["value"] == [-7 / 16, -3 / 16, 5 / 16]


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
def test_gradients_of_the_array_functions(run_json, limit):
    """Hand-derived: diff's weights differenced back, take's repeated indices adding, pad's fill
    value getting the sum over the padding, trapezoid's end points half-weighted."""
    text = (
        "var v = [1.0, 4.0, 9.0, 16.0]\nvar c = 2.0\n"
        "f = sum(diff(v) * [1.0, 10.0, 100.0]) + sum(take(v, [0, 0, -1])) + sum(pad(v[:1], (1, 2), "
        "constant_values=c) * [1.0, 2.0, 3.0, 4.0]) + trapezoid(v, dx=0.5)\n"
    )
    code, doc, err = run_json(text, "grad", *limit)
    assert code == 0, err
    diff_part = np.array([-1.0, 1.0 - 10.0, 10.0 - 100.0, 100.0])
    take_part = np.array([2.0, 0.0, 0.0, 1.0])
    pad_part = np.array([2.0, 0.0, 0.0, 0.0])
    trapezoid_part = np.array([0.25, 0.5, 0.5, 0.25])
    np.testing.assert_allclose(
        doc["gradients"]["v"]["value"], diff_part + take_part + pad_part + trapezoid_part, rtol=1e-15
    )
    assert doc["gradients"]["c"]["value"] == 1.0 + 3.0 + 4.0


@pytest.mark.parametrize("limit", [(), ("--symbolic", "none")], ids=["elements", "whole"])
def test_no_gradient_flows_through_comparisons_and_logic(run_json, limit):
    text = (
        "var x = [0.5, 2.0, -1.0]\n"
        "f = sum(np.logical_and(x > 0, x < 1) * x ** 2 + np.greater(x, 0) * x + logical_not(x - 2) * 3 * x)\n"
    )
    code, doc, err = run_json(text, "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == [1.0 + 1.0, 1.0 + 3.0, 0.0]


# ---- hostile arguments ----------------------------------------------------------------------------------

HUGE = "100000000000000000000"


@pytest.mark.parametrize(
    "definition, words",
    [
        ("diff(A, -1)", "the order n=-1 must not be negative"),
        ("diff(x)", "diff needs an array with at least one axis"),
        ("diff(A, 1.5)", "n is an integer"),
        ("diff(A, n=x)", "n is an integer"),
        ("diff(A, axis=2)", "axis 2 is out of range"),
        ("diff(A, axis=(0, 1))", "diff works along one axis"),
        ("diff(A, prepend=[1.0, 2.0])", "does not join one of shape [2, 4]"),
        ("trapezoid(x)", "trapezoid needs an array with at least one axis"),
        ("trapezoid(A, [1.0, 2.0])", "x has 2 sample points, y has 4 along axis 1"),
        ("trapz(A, axis=(0, 1))", "trapezoid works along one axis"),
        ("trapezoid(A, A[:, :3])", "do not broadcast"),
        ("take(A, 8)", "take: index 8 is out of range for axis 0 of size 8"),
        ("take(A, [0, -9])", "index -9 is out of range"),
        ("take(A, [1, 4], axis=1)", "index 4 is out of range for axis 1 of size 4"),
        ("take(A, x)", "indices are an integer or a list of integers"),
        ("take(A, 1.5)", "indices are an integer or a list of integers"),
        ("take(A, [[0, 1], [2]])", "the lists of indices are not all of one length"),
        ("take(A, 0, axis=2)", "axis 2 is out of range"),
        ("pad(A, -1)", "widths must not be negative"),
        ("pad(A, (1, 2, 3))", "pad_width of shape [3] does not fit an array of 2 axes"),
        ("pad(A, ((1, 2), (3, 4), (5, 6)))", "does not fit an array of 2 axes"),
        (
            'pad(A, 1, mode="edge")',
            'only mode="constant" is available (constant_values around the array), not',
        ),
        ("pad(A, 1, 'wrap')", 'only mode="constant" is available'),
        ("pad(A, 1, mode=x)", 'only mode="constant" is available'),
        ("pad(A, x)", "pad_width is an integer, (before, after) or one (before, after) per axis"),
        ("pad(A, 1.5)", "pad_width is an integer"),
        (f"pad(A, {HUGE})", "more than --limit memory=2048 MiB"),
        ("pad(A, 1, constant_values=[1.0, 2.0])", "constant_values is one number here"),
        ("average(A, weights=[1.0, 2.0])", "give axis= to weight along it"),
        ("average(A, axis=1, weights=[1.0, 2.0])", "fit neither the array's shape [2, 4] nor its shape [4]"),
        ("average(A, weights=zeros([2, 4]))", "undefined for its constant inputs"),  # NumPy raises too
        ("average(A, axis=3)", "axis 3 is out of range"),
        ("ptp(A[:, :0], axis=1)", "of an empty array"),
        ("ptp(A, axis=5)", "axis 5 is out of range"),
        ("column_stack(A)", "column_stack() takes a list of arrays"),
        ("column_stack([A, x])", "do not fit along axis 1"),
        ("dstack([A, A[0]])", "do not fit along axis 2"),
        ("atleast_2d(A, A)", "atleast_2d() takes 1 argument, got 2"),
        ("logical_and(A, [1.0, 2.0, 3.0])", "do not broadcast"),
        ("xlogy(A, [1.0, 2.0, 3.0])", "do not broadcast"),
        ("np.greater(A)", "greater() takes 2 arguments, got 1"),
        ("np.logical_or(A, A, A)", "logical_or() takes 2 arguments, got 3"),
        ("average(A, returned=True)", "average() takes only axis=, weights=, keepdims=; got 'returned='"),
        ("take(A, [0], mode=1)", "take() takes only axis=; got 'mode='"),
    ],
)
def test_hostile_arguments_are_refused_at_their_place(run, definition, words):
    """Per element and on whole arrays alike (grad builds the same program for both)."""
    code, out, err = run(f"var x = 1.5\nvar A = {X[:2, :4].tolist()}\nf = sum({definition}) * x\n", "grad")
    assert code == 1 and out == "" and words in err, err
    assert ":3:" in err and "error:" in err and "Traceback" not in err and "^" in err


# ---- export --------------------------------------------------------------------------------------------

EXPORTED = """var x = [0.5, -1.25, 2.0, 0.75]
var w = [1.0, 2.0, 0.5, 3.0]
a = sum(diff(x, prepend=0.5) * w) + trapezoid(x ** 2, w) + average(x, weights=w ** 2) + ptp(x * w)
b = sum(take(x, [3, 0, 0]) * [1.0, 2.0, 3.0]) + sum(pad(x, (1, 2), constant_values=w[0]) * arange(7))
c = sum(column_stack([x, w]) @ [1.0, -1.0]) + sum(dstack([x, w])) * x[0] + sum(atleast_3d(x) * atleast_2d(w))
d = sum(logical_and(x > 0, w > 1) * x + np.greater_equal(x, w) * w)
f = sum(xlogy(w, x ** 2 + 1) + logit(x / 8 + 0.5))
y = a + b + c + d + f
"""


def test_exported_numpy_and_c_give_gradclis_gradients(tmp_path):
    from gradcli import export, numpy_export
    from gradcli.model import Request
    from gradcli.parser import parse
    from tests.test_export import HARNESS, _close, _expected, _load_module

    program = parse(EXPORTED)
    expected = _expected(program, {}, ["y"])
    path = tmp_path / "m.py"
    path.write_text(numpy_export.numpy_module(program, Request()))
    _, gradients = _load_module(path).evaluate()
    for name in ("x", "w"):
        assert np.isfinite(expected[name]).all()
        _close(gradients[name], expected[name])
    if shutil.which("cc") is None:
        return
    (tmp_path / "model.c").write_text(export.c_source(program, Request()))
    (tmp_path / "main.c").write_text(HARNESS)
    subprocess.run(["cc", "-c", "model.c"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        ["cc", "-o", "run", "model.o", "main.c", "-lm"], cwd=tmp_path, check=True, capture_output=True
    )
    inputs = [0.5, -1.25, 2.0, 0.75, 1.0, 2.0, 0.5, 3.0]
    result = subprocess.run(
        ["./run", "8", "9", *map(repr, inputs)], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    numbers = [float(line) for line in result.stdout.split()]
    _close(np.array(numbers[1:5]), expected["x"])
    _close(np.array(numbers[5:]), expected["w"])


@pytest.mark.parametrize(
    "program",
    [
        "from scipy.special import expit; y = expit(x) + logit(x / 4)",
        "import scipy.special; y = scipy.special.expit(x) + scipy.special.logit(x / 4)",
        "import jax.scipy.special; y = jax.scipy.special.expit(x) + jax.scipy.special.logit(x / 4)",
        "from jax.scipy.special import logit; y = np.exp(-np.logaddexp(0, -x)) + logit(x / 4)",
    ],
)
def test_scipy_special_names_paste_in(run_json, program):
    code, doc, err = run_json(None, "eval", "-e", program, "--at", "x=1.5")
    assert code == 0, err
    assert doc["values"]["y"] == pytest.approx(1 / (1 + math.exp(-1.5)) + math.log(1.5 / 4 / (1 - 1.5 / 4)))
