"""NumPy's further names (roll, tile, repeat, fliplr, flipud, cross, tensordot, cumprod, sort,
median, sinc, arange, linspace, identity, full_like): values against NumPy itself, on the exact
per-element path and on whole arrays in float64; derivatives where the plain formula breaks (sinc
at 0, cumprod at zeros, sort at ties) against mpmath or exact oracles; hostile arguments refused
at their place. Derivatives at ordinary points are rows of tests/test_catalogue.py."""

from __future__ import annotations

import itertools
import json

import mpmath
import numpy as np
import pytest

from gradcli import api
from gradcli.model import Request, SymbolicMode
from gradcli.parser import parse, parse_literal

X = np.array([[0.5, -1.25, 2.0, 0.5], [3.0, 0.25, -0.75, 1.0], [1.0, 1.0, 1.0, 0.0]])
V = np.array([1.5, -2.0, 0.5])
WHOLE = ("--limit", "elements=1")  # every array beyond the element view: whole arrays in float64
WHOLE_X = ("--limit", "elements=8")  # X (12 elements) beyond it, a repeat's index of 6 within it


def _values(run_json, definition: str, *limit: str, at: np.ndarray = X):
    text = f"var X: {list(at.shape)}\nvar V: [3]\nF = {definition}\n"
    np.save(_values.path, at)
    code, doc, err = run_json(
        text, "eval", "--of", "F", "--at", f"X=@{_values.path}", "--at", "V=[1.5,-2.0,0.5]", *limit
    )
    assert code == 0, err
    return np.array(doc["values"]["F"], dtype=float)


@pytest.fixture(autouse=True)
def _array_file(tmp_path):
    _values.path = tmp_path / "X.npy"


NUMPY_CASES = [
    ("roll(X, 1)", lambda x, v: np.roll(x, 1)),
    ("roll(X, -5, axis=1)", lambda x, v: np.roll(x, -5, axis=1)),
    ("roll(X, (1, 2), axis=(0, 1))", lambda x, v: np.roll(x, (1, 2), axis=(0, 1))),
    ("roll(X, 1, (0, 1, 1))", lambda x, v: np.roll(x, 1, (0, 1, 1))),
    ("roll(X, [], axis=0)", lambda x, v: np.roll(x, [], axis=0)),
    ("roll(X, [2, 3], 1)", lambda x, v: np.roll(x, [2, 3], 1)),
    ("roll(X, 1000000000000000000000000000001, 1)", lambda x, v: np.roll(x, 10**30 % 4 + 1, 1)),
    # a shift written as integer arithmetic, huge either way (was refused: "shift is an integer")
    ("roll(X, 10**9)", lambda x, v: np.roll(x, 10**9)),
    ("roll(X, -10**21 + 1, axis=1)", lambda x, v: np.roll(x, -(10**21) + 1, axis=1)),
    ("roll(X, (2**300, -3 * 7), axis=(0, -1))", lambda x, v: np.roll(x, (2**300, -21), axis=(0, -1))),
    ("roll(X, -10**20, axis=None)", lambda x, v: np.roll(x, -(10**20), axis=None)),
    # empty results, summed along an empty axis so that their shapes show
    ("sum(roll(X[:, :0], 5, axis=1), axis=1)", lambda x, v: np.sum(np.roll(x[:, :0], 5, axis=1), axis=1)),
    ("sum(roll(X[:0], -7), axis=0)", lambda x, v: np.sum(np.roll(x[:0], -7), axis=0)),
    ("sum(tile(X, (2, 0, 3)), axis=1)", lambda x, v: np.sum(np.tile(x, (2, 0, 3)), axis=1)),
    ("sum(tile(X[:0], (5, 10**12, 1)), axis=1)", lambda x, v: np.sum(np.tile(x[:0], (5, 10**12, 1)), axis=1)),
    ("sum(repeat(X[:, :0], 10**12, axis=1), 1)", lambda x, v: np.sum(np.repeat(x[:, :0], 10**12, axis=1), 1)),
    ("tile(X, 2)", lambda x, v: np.tile(x, 2)),
    ("tile(X, (2, 1, 3))", lambda x, v: np.tile(x, (2, 1, 3))),
    ("tile(V, (2, 2))", lambda x, v: np.tile(v, (2, 2))),
    ("tile(X, 0)", lambda x, v: np.tile(x, 0)),
    ("repeat(X, 2)", lambda x, v: np.repeat(x, 2)),
    ("repeat(X, 3, axis=0)", lambda x, v: np.repeat(x, 3, axis=0)),
    ("repeat(X, [1, 0, 3, 2], axis=-1)", lambda x, v: np.repeat(x, [1, 0, 3, 2], axis=-1)),
    ("X.repeat(2)", lambda x, v: x.repeat(2)),
    ("fliplr(X) + flipud(X)", lambda x, v: np.fliplr(x) + np.flipud(x)),
    ("cross(X[:, :3], X[::-1, 1:] ** 2)", lambda x, v: np.cross(x[:, :3], x[::-1, 1:] ** 2)),
    ("cross(V, X[:, 1:])", lambda x, v: np.cross(v, x[:, 1:])),
    ("tensordot(X, X)", lambda x, v: np.tensordot(x, x)),
    ("tensordot(X, X, 0)", lambda x, v: np.tensordot(x, x, 0)),
    ("tensordot(X, X.T, 1)", lambda x, v: np.tensordot(x, x.T, 1)),
    ("tensordot(X, X, axes=([1, 0], [1, 0]))", lambda x, v: np.tensordot(x, x, axes=([1, 0], [1, 0]))),
    ("tensordot(X, X, axes=(0, 0))", lambda x, v: np.tensordot(x, x, axes=(0, 0))),
    (
        "tensordot(X[None], X[:, :, None], ([2, 1], [1, 0]))",
        lambda x, v: np.tensordot(x[None], x[:, :, None], ([2, 1], [1, 0])),
    ),
    ("cumprod(X)", lambda x, v: np.cumprod(x)),
    ("cumprod(X, axis=0)", lambda x, v: np.cumprod(x, axis=0)),
    ("sort(X)", lambda x, v: np.sort(x)),
    ("sort(X, axis=0)", lambda x, v: np.sort(x, axis=0)),
    ("sort(X, axis=None)", lambda x, v: np.sort(x, axis=None)),
    ("median(X)", lambda x, v: np.median(x)),
    ("median(X, axis=1)", lambda x, v: np.median(x, axis=1)),
    ("median(X, axis=0, keepdims=True)", lambda x, v: np.median(x, axis=0, keepdims=True)),
    ("median(X[:, :3], axis=(0, 1))", lambda x, v: np.median(x[:, :3], axis=(0, 1))),
    ("median(X, axis=[1, 0])", lambda x, v: np.median(x, axis=[1, 0])),  # a list, as NumPy takes
    ("roll(X, [1, 2], [0, -1])", lambda x, v: np.roll(x, [1, 2], [0, -1])),
    ("sinc(X * 1.5)", lambda x, v: np.sinc(x * 1.5)),
    ("full_like(X, 2.5) + identity(4)[1:]", lambda x, v: np.full_like(x, 2.5) + np.identity(4)[1:]),
    # NumPy's parameter names as keywords, as NumPy code passes them
    ("full(shape=(3, 4), fill_value=0.5) * X", lambda x, v: np.full(shape=(3, 4), fill_value=0.5) * x),
    (
        "full((3, 4), fill_value=2) + zeros(shape=4)",
        lambda x, v: np.full((3, 4), fill_value=2) + np.zeros(shape=4),
    ),
    ("X @ eye(N=4) + ones(shape=(3, 1))", lambda x, v: x @ np.eye(N=4) + np.ones(shape=(3, 1))),
    ("clip(X, a_max=1.0, a_min=-0.5)", lambda x, v: np.clip(x, a_max=1.0, a_min=-0.5)),
    (
        "reshape(X, shape=(4, 3)) + linspace(start=0, stop=1, num=3)",
        lambda x, v: np.reshape(x, shape=(4, 3)) + np.linspace(start=0, stop=1, num=3),
    ),
    (
        "full_like(X, fill_value=3) * identity(n=4)[:3]",
        lambda x, v: np.full_like(x, fill_value=3) * np.identity(n=4)[:3],
    ),
]
SPECIAL = np.array([[0.5, np.nan, 2.0, -np.inf], [np.inf, 0.0, -0.0, 1.0], [1.0, 1.0, np.nan, 1.0]])


@pytest.mark.parametrize("limit", [(), WHOLE_X], ids=["elements", "whole"])
@pytest.mark.parametrize("definition, numpy_form", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_values_are_numpys(run_json, definition, numpy_form, limit):
    expected = numpy_form(X, V)
    got = _values(run_json, definition, *limit)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("limit", [(), WHOLE_X], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "definition, numpy_form",
    [
        ("sort(X)", lambda x: np.sort(x)),  # NaN last, -inf first, as NumPy
        ("sort(X, axis=0)", lambda x: np.sort(x, axis=0)),
        ("median(X, axis=1)", lambda x: np.median(x, axis=1)),  # NaN where a NaN is in the row
        ("median(X[:2, :2], axis=0)", lambda x: np.median(x[:2, :2], axis=0)),
        ("cumprod(X, axis=1)", lambda x: np.cumprod(x, axis=1)),
        ("sinc(X)", lambda x: np.sinc(x)),
        ("roll(X, 2) * tile(X, 1)", lambda x: np.roll(x, 2) * x),
    ],
)
def test_values_at_nan_and_infinities_are_numpys(run_json, definition, numpy_form, limit):
    with np.errstate(all="ignore"):
        expected = numpy_form(SPECIAL)
    got = _values(run_json, definition, *limit, at=SPECIAL)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0, equal_nan=True)


def test_tensordot_points_at_a_bad_integer_axes(run):
    code, out, err = run(f"var A = {X[:2].tolist()}\nf = sum(tensordot(A, A, axes=-1))\n", "grad")
    assert code == 1 and "model.txt:2:25: error: tensordot: axes=-1 is negative" in err, err


@pytest.mark.parametrize(
    "definition", ["softmax(A[:0], axis=0)", "log_softmax(A[:, :0])", "softmax(A[:0], axis=None)"]
)
def test_softmax_of_an_empty_array_is_empty(run_json, definition):
    """jax.nn.softmax of no elements is no elements: on whole arrays it was an internal error (the
    maximum of none)."""
    text = f"var A = {X[:2].tolist()}\nf = sum({definition}) + sum(A)\n"
    code, doc, err = run_json(text, "eval")
    assert code == 0 and doc["values"]["f"] == float(np.sum(X[:2])), err
    for limit in ((), WHOLE):
        code, doc, err = run_json(text, "grad", *limit)
        assert code == 0, err
        assert doc["L"] == float(np.sum(X[:2])) and doc["gradients"]["A"]["value"] == np.ones((2, 4)).tolist()


@pytest.mark.parametrize("command", ["eval", "grad", "check"])
@pytest.mark.parametrize("definition", ["tile(A, (1000000, 0))", "repeat(A[:, :0], 1000000, axis=0)"])
def test_an_empty_tile_with_large_other_sizes_is_refused_at_its_call(run, definition, command):
    """Within --limit memory but beyond --limit elements (an empty array's other sizes): the step
    inside tile that exceeds it is reported at the call (it had no place: 'FILE: error:')."""
    code, out, err = run(f"var A = {X[:2].tolist()}\nf = sum({definition})\n", command)
    if command == "eval":
        assert code == 0 and err == ""  # NumPy's values: an empty array, and its sum 0
        return
    assert code == 1 and out == "" and "model.txt:2:9: error:" in err and "^~~" in err, err
    assert "its other sizes multiply to" in err and "Traceback" not in err


# ---- sinc: every derivative right at 0 ------------------------------------------------------------------


@pytest.mark.parametrize("symbolic", [SymbolicMode.AUTO, SymbolicMode.NONE])
@pytest.mark.parametrize("x", [0.0, -0.0, 5e-324, 1e-300, 1e-10, 1e-6, -1e-3, 0.25, -0.49, 0.5, 0.51, -1.75])
def test_sinc_derivatives_of_every_order_match_mpmath_at_and_near_zero(x, symbolic):
    """sin(pi x) / (pi x) differentiated as written is NaN at 0 and loses every digit near it (JAX's
    rule, exact at 0 only, gives 67 for the third derivative at 1e-6, which is 2e-5); sinc's
    derivatives of orders 1 to 6 come from the series of sin(y)/y about 0 for |x| < 1/2 (mpmath
    differentiates sincpi)."""
    text = "var x = 1.0\ny = sinc(x)\n"
    for order in range(1, 7):
        request = Request(at={"x": parse_literal(repr(x), "--at")}, order=order, symbolic=symbolic)
        (result,) = api.gradient(parse(text), request).gradients
        with mpmath.workdps(40):  # whatever precision other modules left
            expected = float(mpmath.diff(mpmath.sincpi, mpmath.mpf(x), order))
        assert np.isclose(float(result.value), expected, rtol=1e-9, atol=1e-12), (x, order)


def test_sinc_of_exact_zero_is_exact_and_its_hessian_is_minus_pi_squared_over_three(run_json):
    code, doc, _ = run_json("var x = 0\ny = sinc(x)\n", "grad", "--order", "2")
    assert code == 0 and doc["L"] == 1
    assert doc["gradients"]["x"]["value"] == pytest.approx(-(np.pi**2) / 3, rel=1e-15)
    code, doc, _ = run_json("var x = 0\ny = sinc(x)\n", "hessian")
    assert doc["value"] == [[pytest.approx(-(np.pi**2) / 3, rel=1e-15)]]


# ---- cumprod: exact where elements are 0 --------------------------------------------------------------


def _multilinear_derivatives(function, x):
    """Gradient and Hessian of a function that is linear in each element (a sum of products of
    distinct elements): unit differences are exact for it."""
    n = len(x)
    unit = np.eye(n)
    base = function(x)
    gradient = np.array([function(x + unit[i]) - base for i in range(n)])
    hessian = np.zeros((n, n))
    for i, j in itertools.permutations(range(n), 2):
        hessian[i, j] = function(x + unit[i] + unit[j]) - function(x + unit[i]) - function(x + unit[j]) + base
    return gradient, hessian


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "x", [[2.0, 0.0, 3.0, 0.0, 5.0], [0.0, 1.5, -2.0, 4.0, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]]
)
def test_cumprod_gradient_and_hessian_are_exact_at_zeros(run_json, x, limit):
    """exp(cumsum(log(x))) would be NaN there; the gradient and Hessian of sum(w * cumprod(x)) are
    those of a multilinear polynomial (unit differences of NumPy's cumprod are exact)."""
    weights = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    text = f"var x = {x}\nf = sum(cumprod(x) * {weights.tolist()})\n"
    gradient, hessian = _multilinear_derivatives(
        lambda v: float(np.sum(np.cumprod(v) * weights)), np.array(x)
    )
    code, doc, err = run_json(text, "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == gradient.tolist()
    code, doc, err = run_json(text, "hessian", *limit)
    assert code == 0, err
    assert doc["value"] == hessian.tolist()
    code, doc, err = run_json(text, "grad", "--order", "3", *limit)
    assert code == 0, err
    third = np.array(doc["gradients"]["x"]["value"])
    assert third[0, 0, 1] == 0  # linear in each element
    for i, j, k in itertools.combinations(range(len(x)), 3):  # the mixed third difference
        corners = [np.sum([np.eye(len(x))[m] for m in subset], axis=0) for r in range(4)
                   for subset in itertools.combinations((i, j, k), r)]  # fmt: skip
        signs = [(-1) ** (3 - r) for r in range(4) for _ in itertools.combinations((i, j, k), r)]
        total = sum(sign * np.sum(np.cumprod(np.array(x) + c) * weights) for sign, c in zip(signs, corners))
        assert third[i, j, k] == total, (i, j, k)


def test_a_long_cumprod_goes_to_whole_arrays_without_expanding_its_products(run_json):
    values = [1.0] * 2999 + [0.0]
    code, doc, err = run_json(f"var x = {values}\ny = sum(cumprod(x))\n", "grad")
    assert code == 0, err
    assert "this cumprod has 4501500 terms" in doc["gradients"]["x"]["symbolic_elided"]
    assert doc["gradients"]["x"]["value"][-1] == 1.0 and doc["gradients"]["x"]["value"][0] == 2999.0


# ---- sort and median: the permutation's gradient, ties as JAX -----------------------------------------


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
@pytest.mark.parametrize(
    "x, expected",
    [
        ([3.0, 1.0, 2.0], [30.0, 10.0, 20.0]),  # element i gets the weight of the place it is sorted to
        ([1.0, 1.0, 0.0], [20.0, 30.0, 10.0]),  # ties keep their order (a stable sort, as JAX's)
        ([2.0, 2.0, 2.0], [10.0, 20.0, 30.0]),
        ([-0.0, 0.0, -1.0], [20.0, 30.0, 10.0]),  # -0.0 and 0.0 tie, as in NumPy's sort
    ],
)
def test_sort_gradient_is_the_stable_permutation(run_json, x, expected, limit):
    code, doc, err = run_json(f"var x = {x}\ny = sum(sort(x) * [10.0, 20.0, 30.0])\n", "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == expected


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
def test_median_gradient_goes_to_the_middle_elements(run_json, limit):
    code, doc, err = run_json("var x = [3.0, 1.0, 2.0, 0.5]\ny = median(x)\n", "grad", *limit)
    assert code == 0, err
    assert doc["gradients"]["x"]["value"] == [0.0, 0.5, 0.5, 0.0]
    code, doc, err = run_json("var x = [3.0, 1.0, 2.0, 0.5]\nz = median(x[:3])\n", "grad", *limit)
    assert doc["gradients"]["x"]["value"] == [0.0, 0.0, 1.0, 0.0]
    code, doc, err = run_json("var x = [1.0, 1.0, 1.0]\nz = median(x)\n", "grad", *limit)
    assert doc["gradients"]["x"]["value"] == [0.0, 1.0, 0.0]  # the middle of the stable order, as JAX


SORT_INPUTS = [
    np.array([2.0, np.nan, 1.0, 2.0, -0.0, 0.0, np.nan, -np.inf, 2.0, np.inf, 1.0]),
    np.array([np.nan, np.nan, 3.0, np.nan]),
    np.array([5.0, 5.0, 5.0, 5.0, 5.0, 4.0]),
    np.random.default_rng(7).integers(0, 4, 13).astype(float),  # many ties
    np.random.default_rng(8).standard_normal(9),
]


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
@pytest.mark.parametrize("x", SORT_INPUTS, ids=range(len(SORT_INPUTS)))
def test_sort_values_and_gradient_are_numpys_stable_order(run_json, tmp_path, x, limit):
    """sort(x) is np.sort(x) (NaN last), and the gradient of sum(sort(x) * w) gives element i the
    weight of the place NumPy's stable argsort puts it (JAX's rule at ties), NaNs and infinities
    included: the ranks' one comparison per pair must give each element its stable place."""
    n = len(x)
    weights = np.arange(1.0, n + 1) ** 2
    np.save(tmp_path / "x.npy", x)
    text = f"var x: [{n}]\ns = sort(x)\ny = sum(sort(x) * {weights.tolist()})\n"
    at = ("--at", f"x=@{tmp_path / 'x.npy'}")
    code, doc, err = run_json(text, "eval", "--of", "s", *at, *limit)
    assert code == 0, err
    np.testing.assert_array_equal(np.array(doc["values"]["s"], dtype=float), np.sort(x))
    code, doc, err = run_json(text, "grad", "--of", "y", *at, *limit)
    assert code == 0, err
    place = np.empty(n, dtype=int)
    place[np.argsort(x, kind="stable")] = np.arange(n)
    assert doc["gradients"]["x"]["value"] == weights[place].tolist()


@pytest.mark.parametrize("limit", [(), WHOLE], ids=["elements", "whole"])
@pytest.mark.parametrize("x", SORT_INPUTS, ids=range(len(SORT_INPUTS)))
def test_median_value_and_gradient_are_the_middle_places(run_json, tmp_path, x, limit):
    """median(x) is np.median(x) (NaN if any element is); its gradient is 1 (or 1/2 each for an
    even count) at the elements NumPy's stable argsort puts in the middle, where there is no NaN."""
    n = len(x)
    np.save(tmp_path / "x.npy", x)
    code, doc, err = run_json(
        f"var x: [{n}]\ny = median(x)\n", "grad", "--at", f"x=@{tmp_path / 'x.npy'}", *limit
    )
    assert code == 0, err
    np.testing.assert_array_equal(np.float64(doc["L"]), np.median(x))
    if np.isnan(x).any():
        return
    order = np.argsort(x, kind="stable")
    expected = np.zeros(n)
    middle = order[[n // 2]] if n % 2 else order[[n // 2 - 1, n // 2]]
    expected[middle] = 1.0 / len(middle)
    assert doc["gradients"]["x"]["value"] == expected.tolist()


def test_median_selects_its_middle_places_only(run_json):
    """median needs two or three places of the order, not a whole sort: its gradient's formula for
    40 elements has about 19 n ** 2 operations (the pairs' comparisons and the ranks' sums); it had
    80 n ** 2 when median selected every place of a sort (n ** 2 selections) and then the middle."""
    n = 40
    values = np.random.default_rng(3).standard_normal(n).round(3).tolist()
    code, doc, err = run_json(f"var x = {values}\ny = median(x)\n", "grad")
    assert code == 0, err
    operations = int(doc["gradients"]["x"]["symbolic_elided"].split()[0])
    assert operations < 25 * n**2


# ---- constructors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition, expected",
    [
        ("arange(5)", np.arange(5)),
        ("arange(2, 9, 3)", np.arange(2, 9, 3)),
        ("arange(5, 0, -2)", np.arange(5, 0, -2)),
        ("arange(3, 1)", np.arange(3, 1)),
        ("arange(0, 1, 0.1)", np.arange(0, 1, 0.1)),
        ("arange(3, step=0.5)", np.arange(0, 3, 0.5)),
        ("arange(-1.5, 2)", np.arange(-1.5, 2)),
        ("linspace(0, 1, 5)", np.linspace(0, 1, 5)),
        ("linspace(-2, 3.5)", np.linspace(-2, 3.5)),
        ("linspace(0, 1, num=4, endpoint=False)", np.linspace(0, 1, 4, endpoint=False)),
        ("linspace(1, 2, 1)", np.linspace(1, 2, 1)),
        (f"linspace(-{10**20}, 0, 3)", np.linspace(-1e20, 0, 3)),
        ("identity(3)", np.identity(3)),
        ("eye(2, 4)", np.eye(2, 4)),
        ("eye(3, k=1)", np.eye(3, k=1)),
        ("eye(3, 2, -1)", np.eye(3, 2, -1)),
        ("eye(3, None, 2)", np.eye(3, None, 2)),
        ("eye(2, M=3, k=-5)", np.eye(2, 3, -5)),
        (f"eye(2, 2, {10**22})", np.eye(2, 2, 3)),
        # constant expressions (were "arange takes numbers written in the program")
        ("arange(0, 2 * pi, pi / 4)", np.arange(0, 2 * np.pi, np.pi / 4)),
        ("arange(1/3, 2)", np.arange(1 / 3, 2)),
        ("arange(2 ** 0.5)", np.arange(2**0.5)),
        ("arange(0, 1, step=1/10)", np.arange(0, 1, 1 / 10)),
        ("arange(10 ** 2, 10 ** 2 + 6, 2 * 2)", np.arange(100, 106, 4)),
        ("linspace(0, 2 * pi, 5)", np.linspace(0, 2 * np.pi, 5)),
        ("linspace(1/3, 2/3, 3)", np.linspace(1 / 3, 2 / 3, 3)),
        ("linspace(-e, sin(1), num=2 + 2, endpoint=False)", np.linspace(-np.e, np.sin(1), 4, endpoint=False)),
    ],
)
def test_constructors_give_numpys_values(run_json, definition, expected):
    code, doc, err = run_json(f"f = {definition}\n", "eval")
    assert code == 0, err
    got = doc["values"]["f"]
    assert np.shape(got) == expected.shape and np.array_equal(np.array(got, dtype=float), expected)
    if expected.dtype.kind == "i":  # integers stay exact integers
        assert all(type(v) is int for v in np.ravel(np.array(got, dtype=object)))


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would reach the user's stderr
def test_linspace_across_float64s_range_warns_nothing(run):
    """stop - start beyond float64 (1.7e308 - -1.7e308) is inf: NumPy's values are NaN and inf,
    and gradcli gives them; NumPy's RuntimeWarnings about it went to stderr (twice)."""
    code, out, err = run("f = linspace(-1.7e308, 1.7e308, 5)\n", "eval", "--format", "json")
    assert code == 0 and err == ""
    with np.errstate(all="ignore"):
        expected = np.linspace(-1.7e308, 1.7e308, 5)
    got = np.array(json.loads(out)["values"]["f"], dtype=float)  # "nan", "inf": README's strings
    np.testing.assert_array_equal(got, expected)


def test_arange_of_integers_beyond_float64_precision_is_exact(run_json):
    code, doc, err = run_json(f"f = arange(-{10**20}, -{10**20 - 3})\n", "eval")
    assert code == 0 and doc["values"]["f"] == [-(10**20), -(10**20) + 1, -(10**20) + 2], err


# ---- hostile arguments ------------------------------------------------------------------------------------

HUGE = "100000000000000000000"


@pytest.mark.parametrize(
    "definition, words",
    [
        (f"tile(A, {HUGE})", "more than --limit memory=2048 MiB"),
        ("tile(A, -1)", "reps must not be negative"),
        ("tile(A, 1.5)", "reps is an integer"),
        ("tile(A, x)", "reps is an integer"),
        (f"repeat(A, {HUGE})", "more than --limit memory=2048 MiB"),
        (f"repeat(A, [{HUGE}, 1], axis=1)", "more than --limit memory=2048 MiB"),
        ("repeat(A, [100000, 100000], axis=1)", "more than the limit of 100000"),
        ("repeat(A, -1)", "counts must not be negative"),
        ("repeat(A, [1, 2, 3])", "3 counts for an axis of length 8"),
        ("repeat(A, 2, axis=2)", "axis 2 is out of range"),
        ("repeat(A, 2.0)", "repeats is an integer"),
        ("roll(A)", "roll() needs shift"),
        ("roll(A, 0.5)", "shift is an integer"),
        ("roll(A, 1, axis=-3)", "axis -3 is out of range"),
        ("roll(A, (1, 2, 3), axis=(0, 1))", "3 shifts for 2 axes"),
        ("cross(A, A)", "3 components along the last axis"),
        ("cross(x, x)", "3 components along the last axis"),
        ("tensordot(A, A, 3)", "it is at most 2"),
        ("tensordot(A, A, -1)", "axes=-1 is negative; an integer N (0 <= N <= 2 here)"),
        ("tensordot(A, A, ([0], [0, 1]))", "the axes of a [0] and of b [0, 1] differ in number"),
        ("tensordot(A, A, ([0], [5]))", "axis 5 is out of range for b, of shape [2, 4]"),
        ("tensordot(A, A, ([0, 0], [0, 1]))", "an axis of a is given twice in [0, 0]"),
        ("tensordot(A, A, (1, 1, 1))", "a pair of axis lists"),
        ("fliplr(A[0])", "at least 2 axes"),
        ("flipud(x)", "at least one axis"),
        ("sort(A, axis=2)", "axis 2 is out of range"),
        ("median(A[0, :0])", "median of an empty array"),
        ("cumprod(x, axis=0)", "axis 0 is out of range"),
        (f"arange({HUGE})", "more than the limit of 100000"),
        ("arange(0, 1, 1e-300)", "more than the limit of 100000"),
        ("arange(0, 1e308, 1e-308)", "more than the limit of 100000"),
        ("arange(1, 2, 0)", "step must not be 0"),
        ("arange(1, 5, 2, step=3)", "step is given twice"),
        (f"tile(x, {(1,) * 40})", "would have 40 axes; at most 32"),
        (f"tile(A, {(2,) * 17})", "spreads them over 34 axes"),
        ("arange(x)", "numbers written in the program"),
        ("arange(inf)", "numbers written in the program"),
        (f"linspace(0, 1, {HUGE})", "more than the limit of 100000"),
        ("linspace(0, 1, -1)", "num must not be negative"),
        ("linspace(0, 1, 2.5)", "num is a count"),
        ("eye(-2)", "must not be negative"),
        (f"eye({HUGE})", "more than --limit memory=2048 MiB"),
        ("eye(2.5)", "eye takes a size"),
        ("eye(2, -3)", "must not be negative"),
        ("eye(2, k=0.5)", "k is an integer"),
        ("eye(100000, 100000, 1)", "more than the limit of 100000"),
        ("zeros([-2])", "no negative sizes"),
        (f"ones([3, {HUGE}])", "more than --limit memory=2048 MiB"),
        (f"full([{HUGE}, {HUGE}], 1.0)", "more than --limit memory=2048 MiB"),
        # empty, but NumPy refuses sizes that multiply beyond its index range (was an internal error)
        (f"zeros([{HUGE}, {HUGE}, 0])", "this empty array's other sizes would have"),
        # the same refusal for tile and repeat (eval was "out of memory", grad an unplaced error)
        (f"tile(A, ({HUGE}, 0))", "this empty tile's other sizes would have 200000000000000000000 elements"),
        ("tile(A, (10**11, 0))", "this empty tile's other sizes would have 200000000000 elements"),
        (f"repeat(A[:, :0], {HUGE}, axis=0)", "this empty repeat's other sizes would have"),
        ("tile(A, 2**5000)", "reps is an integer"),  # arithmetic beyond STATIC_INTEGER_BITS
        ("roll(A, 3 // 0)", "shift is an integer"),
        # one axis, not a tuple (sort and cumprod silently used the first; repeat: internal error)
        ("repeat(A, 2, axis=(0,))", "repeat works along one axis, an integer (axis=0), not axis=(0,)"),
        ("sort(A, axis=(0, 1))", "sort works along one axis"),
        ("cumprod(A, axis=(1,))", "cumprod works along one axis"),
        ("cumsum(A, axis=(0, 1))", "cumsum works along one axis"),
        (f"eye(0, {HUGE})", "this empty eye's other sizes would have"),  # was an internal error
        (f"eye({HUGE}, 0, 1)", "this empty eye's other sizes would have"),
        ("linspace(0, x, 3)", "linspace takes numbers written in the program"),
        ("arange(A[0, 0])", "arange takes numbers written in the program"),
        ("arange(0, 1, [0.5])", "arange takes numbers written in the program"),
        ("arange(1 / 0)", "undefined for its constant inputs"),
        ("arange(10.0 ** 400)", "within float64's range"),
        ("linspace(0, 2 ** 10 ** 10)", "exponent 10000000000 is too large"),
        (f"ones([0, {HUGE}])", "this empty array's other sizes would have"),
        ("full_like(A, [1.0, 2.0, 3.0])", "does not broadcast to shape [2, 4]"),
        ("full_like(x, [0.0, 1.0])", "does not broadcast to shape []"),
        ("full([2], [[1.0], [2.0]])", "does not broadcast to shape [2]"),  # was an internal error
        ("roll(A, [1, 2, 3], axis=(0, 0))", "3 shifts for 2 axes"),
        (f"arange(0, 1{'0' * 400}, 0.5)", "within float64's range"),
        (f"linspace(0, 1{'0' * 400})", "within float64's range"),
    ],
)
def test_hostile_arguments_are_refused_at_their_place(run, definition, words):
    """Every command builds the same way; grad (per element, then whole arrays) stands for them."""
    code, out, err = run(f"var x = 1.5\nvar A = {X[:2].tolist()}\nf = sum({definition}) * x\n", "grad")
    assert code == 1 and out == "" and words in err, err
    assert ":3:" in err and "error:" in err and "Traceback" not in err and "^" in err


@pytest.mark.parametrize(
    "definition, column, words",
    [
        ("full(3, shape=3)", 13, "'shape=' is given as argument 1 already"),
        ("full(3, fill_value=1, fill_value=2)", 27, "'fill_value=' given twice"),
        ("array(X, copy=False)", 14, "array() takes only dtype= here; got 'copy='"),  # dtype=float: a cast
        ("clip(X, 0, a_max=1, high=2)", 25, "clip() takes no keywords; got 'high='"),
    ],
)
def test_parameter_names_given_wrongly_are_refused_at_their_place(run, definition, column, words):
    code, out, err = run(f"var X: [3]\nF = {definition}\n", "eval")
    assert code == 1 and out == ""
    assert f":2:{column}: error: " in err and words in err, err
