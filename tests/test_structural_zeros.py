"""Whole arrays agree with the per-element numbers where an element is 0, inf or NaN.

Per element, SymEngine makes `0 * x` 0 before any value is known, so a gradient entry that does
not depend on an element is exactly 0 even where a local derivative is inf there (sqrt at 0). On
whole arrays that was 0 * inf = NaN (as in JAX) in every command that takes whole arrays: grad
beyond --limit elements and with --symbolic none, hessian (closed form, seeded rows, --vector),
jacobian, grad --order 2, check, and eval of the backward program. Each case below is run both
ways and compared; the expected values are derived by hand in the comments.
"""

import math

import numpy as np
import pytest

from gradcli import numbers, ops

pytestmark = pytest.mark.filterwarnings("error")  # a RuntimeWarning would reach the user's stderr

WHOLE = [("--limit", "elements=1"), ("--symbolic", "none")]  # the two ways into whole arrays

# program (values as float literals, or files written by the test), expected gradient per target
GRADIENTS = [
    # d sqrt(x)/dx = 1 / (2 sqrt(x)) is inf at x[0], which the slice leaves out
    ("var x = [0.0, 1.0, 4.0]\nf = sum(sqrt(x)[1:])\n", {"x": [0.0, 0.5, 0.25]}),
    ("var x = [0.0, 1.0, 4.0]\nf = sum((x ** 0.5)[1:])\n", {"x": [0.0, 0.5, 0.25]}),
    # an index list leaves x[0] out of log, whose derivative 1/x is inf there
    ("var x = [0.0, 1.0, 4.0]\nf = sum(log(x)[[1, 2]])\n", {"x": [0.0, 1.0, 0.25]}),
    # 1/x divides by the zero element, which the slice leaves out: -1/x^2 is -inf there
    ("var x = [0.0, 1.0, 2.0]\nf = sum((1 / x)[1:])\n", {"x": [0.0, -1.0, -0.25]}),
    # a literal condition picks the branch per element; a literal weight of 0 leaves log(0) out
    ("var x = [0.0, 1.0, 4.0]\nf = sum(where([False, True, True], sqrt(x), 0))\n", {"x": [0.0, 0.5, 0.25]}),
    ("var x = [0.0, 1.0, 4.0]\nf = sum(log(x) * [0, 1, 1])\n", {"x": [0.0, 1.0, 0.25]}),
    ("var x = [0.0, 1.0, 4.0]\nf = x[1] * sqrt(x[0]) * 0 + x[2]\n", {"x": [0.0, 0.0, 1.0]}),
    # products, cumsum and prod over the kept elements only
    ("var x = [0.0, 1.0, 4.0]\nf = sum(sqrt(x)[1:] * sqrt(x)[1:])\n", {"x": [0.0, 1.0, 1.0]}),
    ("var x = [0.0, 1.0, 4.0]\nf = prod(sqrt(x)[1:])\n", {"x": [0.0, 1.0, 0.25]}),
    ("var x = [0.0, 1.0, 4.0]\nf = sum(cumsum(sqrt(x)[1:]) * [1, 0])\n", {"x": [0.0, 0.5, 0.0]}),
    # joined and subtracted: x[0] takes its own 1 and nothing of sqrt'(0)
    ("var x = [0.0, 1.0, 4.0]\nf = sum(concatenate([sqrt(x)[1:], x[:1]]))\n", {"x": [1.0, 0.5, 0.25]}),
    ("var x = [0.0, 1.0, 4.0]\nf = sum((x - sqrt(x))[1:] * 2)\n", {"x": [0.0, 1.0, 1.5]}),
    # a zero that depends on values is a formula per element: where(x > 0, 1, 0) / (2 sqrt(x)), and
    # max's indicator of x[0] (not the maximum) times inf, are NaN both ways (and in JAX)
    ("var x = [0.0, 1.0, 4.0]\nf = sum(where(x > 0, sqrt(x), 0))\n", {"x": ["nan", 0.5, 0.25]}),
    ("var x = [0.0, 4.0, 4.0]\nf = max(sqrt(x))\n", {"x": ["nan", 0.125, 0.125]}),
]


def _same(a, b) -> bool:
    """Nested values equal, NaN ("nan") equal to NaN, numbers to 1e-12 relative."""
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if a.shape != b.shape:
        return False
    for x, y in zip(a.flat, b.flat):
        x, y = float(x), float(y)
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                return False
        elif x != pytest.approx(y, rel=1e-12, abs=1e-300):
            return False
    return True


def _values(doc, key: str = "gradients") -> dict:
    return {name: entry["value"] for name, entry in doc[key].items()}


@pytest.mark.parametrize("text, expected", GRADIENTS)
@pytest.mark.parametrize("way", WHOLE)
def test_whole_array_gradients_keep_structural_zeros(run_json, text, expected, way):
    code, doc, _ = run_json(text, "grad")
    assert code == 0 and _same(_values(doc)["x"], expected["x"]), doc  # the per-element contract
    code, doc, err = run_json(text, "grad", *way)
    assert code == 0 and err == "", err
    assert _same(_values(doc)["x"], expected["x"]), doc


# Numbers times numbers are arithmetic per element: where structural zeros make an entry that is a
# number whatever the values, and it is inf or NaN (1 / 0, log(0): zoo), 0 times it is NaN there,
# as IEEE's 0 * inf; only a formula (an entry that depends on values) is dropped by a 0.
KNOWN_NON_FINITE = [
    # log(x[0] * 0) is log(0) whatever x is; its gradient 1 / 0 meets the literal 0: NaN
    ("var x = [1.0, 2.0]\nf = sum(log(x * [0, 1]))\n", ["nan", 0.5]),
    # row 1 of the matrix is 0: log(0) times the weight 0 is NaN, so L and every entry are NaN
    ("var x = [2.0, 3.0, 4.0]\nf = sum(log([[1, 0, 0], [0, 0, 0], [1, 1, 0]] @ x) * [1, 0, 1])", ["nan"] * 3),
    # x[0] leaves the sum, but 1 / (x[0] * 0 + 0) is 1 / 0 (a number): its gradient 0 / 0 is NaN
    (
        "var x = [1.0, 0.0, 0.0]\ny = where([True, False, True], 1 / (x * [0, 1, 1] + [0, 0, 1]), 1)\n"
        "f = sum(y[1:])\n",
        ["nan", 0.0, -1.0],
    ),
    ("var x = [4.0, 4.0]\nf = sum(1 / (x * [1, 0]) * [1, 0])\n", [-0.0625, "nan"]),
]


@pytest.mark.parametrize("text, expected", KNOWN_NON_FINITE)
@pytest.mark.parametrize("way", WHOLE)
def test_a_structural_zero_times_a_known_inf_is_nan(run_json, text, expected, way):
    code, each, _ = run_json(text, "grad")
    assert code == 0 and _same(_values(each)["x"], expected), each  # the per-element contract
    code, whole, err = run_json(text, "grad", *way)
    assert code == 0 and err == "" and _same(_values(whole)["x"], expected), whole


@pytest.fixture
def hostile_files(tmp_path):
    """Values with NaN and inf in elements the programs below do not use."""
    files = {
        "x": [np.nan, np.inf, 1.0, 2.0],
        "W": [[np.nan, np.inf], [1.0, 2.0], [3.0, -1.0]],  # row 0 is left out by [1:]
        "m": [-np.inf, 1.0, 1.0],
    }
    paths = {}
    for name, value in files.items():
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], np.array(value))
    return paths


FILE_GRADIENTS = [
    ("var x: [4]\nf = sum(x[2:] ** 2)\n", "x", {"x": [0.0, 0.0, 2.0, 4.0]}),
    ("var x: [4]\nf = sum(x * [0, 0, 1, 1])\n", "x", {"x": [0.0, 0.0, 1.0, 1.0]}),
    ("var x: [4]\ny = x * [0, 0, 1, 1]\nf = sum(y * y)\n", "x", {"x": [0.0, 0.0, 2.0, 4.0]}),
    # min of the used elements, a tie: each gets half; the -inf element gets nothing
    ("var m: [3]\nf = min(m[1:]) + sum(m[1:])\n", "m", {"m": [0.0, 1.5, 1.5]}),
    # W.T @ (a slice's gradient): NaN and inf in W's left-out row meet only its zeros
    (
        "var W: [3, 2]\nvar v = [1.0, 2.0]\nf = sum((W @ v)[1:])\n",
        "W",
        {"W": [[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]], "v": [4.0, 1.0]},
    ),
    (
        'var W: [3, 2]\nvar v = [1.0, 2.0]\nf = sum(einsum("ij,j->i", W, v)[1:])\n',
        "W",
        {"W": [[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]], "v": [4.0, 1.0]},
    ),
]


@pytest.mark.parametrize("text, name, expected", FILE_GRADIENTS)
@pytest.mark.parametrize("way", WHOLE)
def test_nan_and_inf_from_files_stay_out_of_gradients(run_json, hostile_files, text, name, expected, way):
    at = ("--at", f"{name}=@{hostile_files[name]}")
    code, doc, _ = run_json(text, "grad", *at)
    assert code == 0 and all(_same(_values(doc)[t], v) for t, v in expected.items()), doc
    code, doc, err = run_json(text, "grad", *at, *way)
    assert code == 0 and err == "", err
    assert all(_same(_values(doc)[t], v) for t, v in expected.items()), doc


def test_l_leaves_out_an_output_weighted_zero(run_json):
    # L = 0 * log(0) + 2 * log(1) is 0 per element; was NaN (and a RuntimeWarning) on whole arrays
    text = "var x = [0.0, 1.0]\nf = log(x)\n"
    for way in [(), *WHOLE]:
        code, doc, err = run_json(text, "grad", "--grad-ys", "f=[0, 2]", *way)
        assert code == 0 and err == "" and doc["L"] == 0.0 and _same(_values(doc)["x"], [0.0, 2.0]), doc


def test_l_of_a_forward_product_with_a_literal_zero(run_json):
    # log(x - 1) * [0, 1, 1] at x[0] = 1: -inf * 0 is 0 per element, L = log(1) + log(2)
    text = "var x = [1.0, 2.0, 3.0]\nf = sum(log(x - 1) * [0, 1, 1])\n"
    for way in [(), *WHOLE]:
        code, doc, _ = run_json(text, "grad", *way)
        assert code == 0 and doc["L"] == pytest.approx(math.log(2), rel=1e-15), doc
    code, doc, _ = run_json(text, "eval")
    assert code == 0 and doc["values"]["f"] == pytest.approx(math.log(2), rel=1e-15)


# ---- second derivatives ----------------------------------------------------------------------------

SLICED = "var x = [0.0, 1.0, 4.0]\nf = sum(sqrt(x)[1:])\n"
SLICED_HESSIAN = [[0.0, 0.0, 0.0], [0.0, -0.25, 0.0], [0.0, 0.0, -1 / 32]]  # -1 / (4 x^1.5), x[0] unused
# two targets, so no closed form: the Hessian comes from one seeded row per element
SLICED_TWO = "var x = [0.0, 1.0, 4.0]\nvar y = 2.0\nf = sum(sqrt(x)[1:]) * y\n"
SLICED_TWO_HESSIAN = [
    [0.0, 0.0, 0.0, 0.0],
    [0.0, -0.5, 0.0, 0.5],
    [0.0, 0.0, -1 / 16, 0.25],
    [0.0, 0.5, 0.25, 0.0],
]


@pytest.mark.parametrize("text, expected", [(SLICED, SLICED_HESSIAN), (SLICED_TWO, SLICED_TWO_HESSIAN)])
@pytest.mark.parametrize("way", [(), *WHOLE])
def test_hessians_keep_structural_zeros(run_json, text, expected, way):
    code, doc, err = run_json(text, "hessian", *way)
    assert code == 0 and err == "" and _same(doc["value"], expected), doc


def test_a_matrix_hessian_with_nan_in_a_left_out_row(run_json, hostile_files):
    # f = sum((W @ v)[1:] ** 2): H_vv = 2 * W[1:].T @ W[1:]; row 0 of W (NaN, inf) is not used
    text = "var W: [3, 2]\nvar v = [1.0, 2.0]\nf = sum((W @ v)[1:] ** 2)\n"
    w = np.array([[1.0, 2.0], [3.0, -1.0]])
    expected = (2 * w.T @ w).tolist()
    at = ("--at", f"W=@{hostile_files['W']}", "--wrt", "v")
    for way in [(), *WHOLE]:
        code, doc, _ = run_json(text, "hessian", *at, *way)
        assert code == 0 and _same(doc["value"], expected), doc


@pytest.mark.parametrize("way", [(), ("--limit", "elements=1")])
def test_second_order_grad_keeps_structural_zeros(run_json, way):
    code, doc, _ = run_json(SLICED, "grad", "--order", "2", *way)
    assert code == 0 and _same(_values(doc)["x"], SLICED_HESSIAN), doc


def test_a_hessian_vector_product_keeps_structural_zeros(run_json):
    # H @ v for H above: the row of x[0] is 0 whatever v is; the rest is -0.25 * 1 and -1/32 * 2
    code, doc, err = run_json(SLICED, "hessian", "--vector", "x=[3.0, 1.0, 2.0]")
    assert code == 0 and err == "" and _same(_values(doc, "products")["x"], [0.0, -0.25, -1 / 16]), doc
    code, doc, _ = run_json(SLICED_TWO, "hessian", "--vector", "x=[3.0, 1.0, 2.0]", "--vector", "y=1.0")
    expected = np.array(SLICED_TWO_HESSIAN) @ [3.0, 1.0, 2.0, 1.0]
    products = _values(doc, "products")
    assert code == 0 and _same(products["x"], expected[:3]) and _same(products["y"], expected[3]), doc


INFINITE_AT_ZERO = "var x = [0.0, 1.0, 4.0]\nvar y = 1.0\nf = sum(sqrt(x)) * y\n"
INFINITE_AT_ZERO_HESSIAN = [  # d2f/dx_i2 = -y / (4 x_i^1.5), d2f/dx_i dy = 1 / (2 sqrt(x_i)), else 0
    [-math.inf, 0.0, 0.0, math.inf],
    [0.0, -0.25, 0.0, 0.5],
    [0.0, 0.0, -1 / 32, 0.25],
    [math.inf, 0.5, 0.25, 0.0],
]


@pytest.mark.parametrize("way", [(), *WHOLE])
def test_seeded_rows_take_a_one_hot_seeds_zeros_as_structural(run_json, way):
    """A row of the Hessian is the gradient contracted with a one-hot seed: its zeros met the
    inf of sqrt'(0) in another element's terms (0 * inf), so the y column was NaN."""
    code, doc, _ = run_json(INFINITE_AT_ZERO, "hessian", *way)
    assert code == 0 and _same(doc["value"], INFINITE_AT_ZERO_HESSIAN), doc
    code, doc, _ = run_json(INFINITE_AT_ZERO, "grad", "--order", "2", "--wrt", "x", *way)
    diagonal = [row[:3] for row in INFINITE_AT_ZERO_HESSIAN[:3]]
    assert code == 0 and _same(_values(doc)["x"], diagonal), doc


@pytest.mark.parametrize("way", [(), *WHOLE])
def test_jacobian_rows_take_a_one_hot_seeds_zeros_as_structural(run_json, way):
    code, doc, _ = run_json("var x = [0.0, 1.0, 4.0]\ny = sqrt(x)\n", "jacobian", *way)
    assert code == 0 and _same(doc["value"], [[math.inf, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.25]]), doc


def test_a_jacobian_keeps_structural_zeros(run_json):
    text = "var x = [0.0, 1.0, 4.0]\ny = sqrt(x)[1:]\n"
    expected = [[0.0, 0.5, 0.0], [0.0, 0.0, 0.25]]
    for way in [(), *WHOLE]:
        code, doc, _ = run_json(text, "jacobian", *way)
        assert code == 0 and _same(doc["value"], expected), doc


# ---- check and the backward program ------------------------------------------------------------------


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=1")])
def test_check_agrees_where_an_unused_derivative_is_infinite(run, limit):
    code, out, err = run(SLICED, "check", *limit)
    assert code == 0 and err == "", out + err


def test_whole_array_check_with_unused_nan_and_inf(run, tmp_path):
    """A sampled target: the random directions moved the NaN and inf elements by an infinite or
    NaN step, so every direction disagreed (and the gradient there was NaN)."""
    values = np.arange(50.0)
    values[3], values[7] = np.nan, np.inf  # elements the program does not use
    np.save(tmp_path / "x.npy", values)
    at = f"x=@{tmp_path / 'x.npy'}"
    code, out, err = run("var x: [50]\nf = sum(x[10:] ** 2)\n", "check", "--at", at, "--limit", "elements=10")
    assert code == 0 and "random directions" in out, out + err


def test_the_backward_program_evaluates_to_grads_values(run_json, tmp_path):
    code, doc, _ = run_json(SLICED, "backward")
    assert code == 0
    adjoint = doc["targets"]["x"]
    path = tmp_path / "backward.txt"
    path.write_text(doc["program"])
    code, doc, _ = run_json(None, "eval", str(path), "--of", adjoint)
    assert code == 0 and _same(doc["values"][adjoint], [0.0, 0.5, 0.25]), doc


# ---- the interpreter: sums of products without their structural zeros -----------------------------------


def _reference(a, b, keep_a, keep_b):
    """(a * keep_a) @ b term by term in Python floats, the terms with a dropped factor left out."""
    out = np.zeros((a.shape[0], b.shape[1]))
    for i in range(a.shape[0]):
        for k in range(b.shape[1]):
            total = 0.0
            for j in range(a.shape[1]):
                if keep_a[i, j] and keep_b[j, k]:
                    total += float(a[i, j]) * float(b[j, k])  # IEEE, no NumPy warning
            out[i, k] = total
    return out


@pytest.mark.parametrize("seed", range(20))
def test_matmul_and_einsum_drop_the_terms_of_structural_zeros(seed):
    draws = np.random.default_rng(seed)
    special = np.array([0.0, np.inf, -np.inf, np.nan, 1.5, -2.0])

    def hostile(shape):
        values = draws.normal(size=shape)
        chosen = draws.random(shape) < 0.3
        return np.where(chosen, draws.choice(special, size=shape), values)

    a, b = hostile((3, 4)), hostile((4, 2))
    keep_a, keep_b = draws.random((3, 4)) < 0.6, draws.random((4, 2)) < 0.6
    masked_a = ops.variable("a", (3, 4)) * ops.literal(keep_a.astype(int).tolist())
    masked_b = ops.variable("b", (4, 2)) * ops.literal(keep_b.astype(int).tolist())
    roots = [masked_a @ masked_b, ops.EINSUM(masked_a, masked_b, inputs=("ij", "jk"), output="ik")]
    expected = _reference(a, b, keep_a, keep_b)
    for computed in numbers.evaluate(roots, {"a": a, "b": b}):
        assert np.array_equal(np.isnan(computed), np.isnan(expected)), (computed, expected)
        np.testing.assert_allclose(computed, expected, rtol=1e-12, atol=1e-12)


def test_finite_results_are_numpys_own():
    """The first evaluation is NumPy's: where every result is finite nothing is evaluated again, so
    a structural zero times a finite number keeps NumPy's sign (-0.0)."""
    x = ops.variable("x", (2,))
    (value,) = numbers.evaluate([x * ops.literal((0, 1))], {"x": np.array([-1.0, 2.0])})
    assert value.tolist() == [-0.0, 2.0] and math.copysign(1.0, value[0]) == -1.0
    (value,) = numbers.evaluate([x * ops.literal((0, 1))], {"x": np.array([np.inf, np.nan])})
    assert np.isnan(value[1]) and value[0] == 0.0  # evaluated again: inf * 0 is 0, NaN * 1 NaN


def test_a_zero_from_values_is_not_structural():
    x = ops.variable("x", (2,))
    c = ops.variable("c", (2,))
    (value,) = numbers.evaluate([x * c], {"x": np.array([np.inf, 1.0]), "c": np.array([0.0, 1.0])})
    assert np.isnan(value[0]) and value[1] == 1.0  # as NumPy and the per-element formulas (c[0] * x[0])


LOG_WEIGHTED = "var x = [1.0, 2.0, 3.0]\nf = sum(log(x - 1) * [0, 1, 1])\n"  # x[0] meets only a literal 0


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=1")])
def test_check_differences_leave_out_a_term_weighted_zero(run, limit):
    # L moved along x[0] is log(+-h) * 0: 0 per element, was NaN on whole arrays (every estimate NaN)
    code, out, err = run(LOG_WEIGHTED, "check", *limit)
    assert code == 0 and err == "", out + err


@pytest.mark.parametrize("text, unused", [(LOG_WEIGHTED, 1.0), (SLICED, 0.0)])
def test_gradient_descent_on_whole_arrays_keeps_structural_zeros(run_json, text, unused):
    # x[0]'s gradient is 0, so it stays where it is; was NaN (and L NaN) on whole arrays
    code, each, _ = run_json(text, "step", "--lr", "0.1")
    assert code == 0
    code, whole, _ = run_json(text, "step", "--lr", "0.1", "--limit", "elements=1")
    assert code == 0 and whole["values"]["x"][0] == each["values"]["x"][0] == unused
    assert _same(whole["values"]["x"], each["values"]["x"]) and _same(whole["loss"], each["loss"]), whole
