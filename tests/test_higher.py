"""Higher orders on whole arrays: Hessians, order-N tensors and Jacobians beyond the element limit
(seeded rows of the array program) and Hessian-vector products (hessian --vector), against
hand-derived values, NumPy closed forms and the exact per-element results."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli import whole

SMALL = ("--limit", "elements=2")  # below every array here: whole arrays serve the request


def _third(x):
    """d^3/dx^3 of x**2 * sin(x), by hand."""
    return 6 * np.cos(x) - 6 * x * np.sin(x) - x**2 * np.cos(x)


def test_order_three_beyond_the_element_limit_is_the_hand_derived_tensor(run_json):
    x = np.array([0.3, -1.2, 2.0, 0.7, -0.1])
    text = f"var x = {x.tolist()}\nf = sum(x ** 2 * sin(x))\n"
    code, doc, err = run_json(text, "grad", "--order", "3", *SMALL)
    assert code == 0, err
    entry = doc["gradients"]["x"]
    assert entry["shape"] == [5, 5, 5] and "seeded rows" in entry["symbolic_elided"]
    expected = np.zeros((5, 5, 5))
    expected[np.arange(5), np.arange(5), np.arange(5)] = _third(x)
    np.testing.assert_allclose(entry["value"], expected, rtol=1e-12, atol=1e-12)


def test_a_declared_name_like_a_seed_is_not_confused_with_it(run_json):
    """The seeds of the rows are named so no program can declare them (this gave 12, not 6)."""
    code, doc, err = run_json("var _seed1 = [1.0, 2.0]\nf = sum(_seed1 ** 3)\n", "grad", "--order", "3")
    assert code == 0, err
    assert doc["gradients"]["_seed1"]["value"] == [[[6.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 6.0]]]
    code, doc, err = run_json(
        "var x = [1.0, 2.0]\nvar _vector_x = [3.0, 4.0]\nf = sum(x ** 3) + sum(_vector_x)\n",
        "hessian", "--vector", "x=[1.0, 1.0]", "--wrt", "x",
    )  # fmt: skip
    assert code == 0, err
    assert doc["products"]["x"]["value"] == [6.0, 12.0]


def test_hessian_with_cross_blocks_beyond_the_limit_matches_the_exact_path(run_json):
    """x: [3] and a matrix A: no closed form for two targets, so one seeded row per element;
    against the symbolic per-element Hessian (a different route) at the same values."""
    text = (
        "var x = [0.5, -0.25, 1.0]\nvar A = [[1.0, 0.5, 0.0], [0.25, -1.0, 2.0]]\n"
        "f = sum(tanh(A @ x) ** 2) + sum(x * exp(-x))\n"
    )
    code, big, err = run_json(text, "hessian", *SMALL)
    assert code == 0, err
    code, exact, err = run_json(text, "hessian", "--symbolic", "full")
    assert code == 0, err
    assert big["rows"] == exact["rows"] and "seeded row" in big["symbolic_elided"]
    matrix = np.array(big["value"])
    np.testing.assert_allclose(matrix, np.array(exact["value"], dtype=float), rtol=1e-12, atol=1e-14)
    assert (matrix == matrix.T).all()


def test_jacobian_beyond_the_limit_is_numpys(run_json, tmp_path):
    rng = np.random.default_rng(7)
    x, a = rng.normal(size=40), rng.normal(size=(30, 40)) / 6
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "A.npy", a)
    text = "var x: [40]\nconst A: [30, 40]\ny = tanh(A @ x)\nz = sum(y * y)\n"
    at = ["--at", f"x=@{tmp_path / 'x.npy'}", "--at", f"A=@{tmp_path / 'A.npy'}"]
    code, doc, err = run_json(text, "jacobian", "--of", "y,z", *at, "--limit", "elements=100")
    assert code == 0, err
    y = np.tanh(a @ x)
    dy = (1 - y**2)[:, None] * a
    expected = np.vstack([dy, 2 * y @ dy])
    assert doc["rows"][-1] == "z" and len(doc["cols"]) == 40
    np.testing.assert_allclose(doc["value"], expected, rtol=1e-12, atol=1e-14)


def test_hessian_vector_product_at_scale_is_numpys_closed_form(run_json, tmp_path):
    """Logistic regression with 2,000 parameters: H @ v without forming H, against NumPy's
    X.T @ (s (1 - s) * (X @ v)) + v."""
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=(500, 2000)) / 20, np.sign(rng.normal(size=500))
    w, v = rng.normal(size=2000) * 0.1, rng.normal(size=2000)
    for name, array in {"X": x, "y": y, "w": w, "v": v}.items():
        np.save(tmp_path / f"{name}.npy", array)
    text = (
        "const X: [500, 2000]\nconst y: [500]\nvar w: [2000]\n"
        "L = sum(softplus(-y * (X @ w))) + sum(w ** 2) / 2\n"
    )
    at = [a for n in "Xyw" for a in ("--at", f"{n}=@{tmp_path / n}.npy")]
    code, doc, err = run_json(text, "hessian", *at, "--vector", f"w=@{tmp_path / 'v.npy'}")
    assert code == 0, err
    s = 1 / (1 + np.exp(y * (x @ w)))
    expected = x.T @ (s * (1 - s) * (x @ v)) + v
    assert doc["vector"] == ["w"] and doc["products"]["w"]["shape"] == [2000]
    np.testing.assert_allclose(doc["products"]["w"]["value"], expected, rtol=1e-10, atol=1e-12)


def test_hessian_vector_product_includes_cross_blocks_and_flags_disconnection(run_json):
    """f = x**2 * y: H = [[2y, 2x], [2x, 0]]; b is disconnected."""
    text = "var x = 1.5\nvar y = -2.0\nvar b = 1.0\nf = x ** 2 * y\n"
    code, doc, err = run_json(text, "hessian", "--vector", "x=1", "--vector", "y=3")
    assert code == 0, err
    products = doc["products"]
    assert products["x"]["value"] == pytest.approx(2 * -2.0 * 1 + 2 * 1.5 * 3)
    assert products["y"]["value"] == pytest.approx(2 * 1.5 * 1)
    assert products["b"]["status"] == "disconnected" and products["b"]["value"] is None
    code, doc, err = run_json(text, "hessian", "--vector", "y=3", "--unconnected", "zero")
    assert code == 0, err
    assert (
        doc["products"]["x"]["value"] == pytest.approx(2 * 1.5 * 3) and doc["products"]["b"]["value"] == 0.0
    )


def test_hessian_vector_product_names_missing_values(run_json):
    code, doc, err = run_json("var x: [2]\nvar y\nf = sum(x ** 2) * y\n", "hessian", "--vector", "x=[1, 0]")
    assert code == 0, err
    assert doc["L"] is None and doc["products"]["x"]["value"] is None
    assert doc["products"]["x"]["needs"] == ["x", "y"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("--vector", "z=1"), "--vector z: 'z' is not a target; targets: x"),
        (("--vector", "x=[1, 2]"), "--vector x: a vector of shape [2] for 'x', of shape [3]"),
        (("--vector", "x=@missing.npy"), "--vector x=@missing.npy: no such regular file"),
        (("--vector", "x=[1,2,3]", "--vector", "x=[1,2,3]"), "--vector x is given twice"),
        (("--vector", "x=[1,2,3]", "--format", "latex"), "--vector gives numbers, not formulas"),
        (("--vector", "x"), "expected NAME=LITERAL"),
    ],
)
def test_hessian_vector_product_refusals(run, args, message):
    code, out, err = run("var x = [1.0, 2.0, 3.0]\nf = sum(x ** 3)\n", "hessian", *args)
    assert code == 1 and out == "" and message in err and "Traceback" not in err


@settings(max_examples=30, deadline=None, derandomize=True)
@given(size=st.integers(1, 5), order=st.integers(2, 4), data=st.data())
def test_symmetric_tensor_copies_each_entry_from_its_sorted_twin(size, order, data):
    keys = list(itertools.combinations_with_replacement(range(size), order - 1))
    rows = {k: np.array(data.draw(st.lists(st.integers(-9, 9), min_size=size, max_size=size))) for k in keys}
    tensor = whole.symmetric_tensor(rows, size, order)
    for index in itertools.product(range(size), repeat=order):
        ordered = tuple(sorted(index))
        assert tensor[index] == rows[ordered[:-1]][ordered[-1]]


def test_hessian_vector_product_in_text_names_what_it_is(run):
    code, out, err = run("var x = 1.5\nvar y = -2.0\nf = x ** 2 * y\n", "hessian", "--vector", "x=1")
    assert code == 0, err
    assert out.startswith("Hessian-vector product of f with respect to x, y (vector given for x)")
    assert "value    -4.0" in out and "value    3.0" in out


def test_seeded_rows_are_bounded_by_the_memory_limit(run):
    """The Hessian's seeded program is checked against --limit memory from its shapes before any
    row is evaluated (here a 1000 x 1000 intermediate: 8 MiB, over a 4 MiB limit)."""
    text = "var x: [1000]\nf = sum(sin(x[:, None] * x[None, :]))\n"
    args = ("--at", f"x={[0.001 * i for i in range(1000)]}", "--limit", "elements=10", "--limit", "memory=4")
    code, out, err = run(text, "hessian", *args)
    assert code == 1 and out == "" and "--limit memory=MIB" in err
    code, out, err = run(text, "grad", "--order", "2", *args)
    assert code == 1 and out == "" and "--limit memory=MIB" in err


def test_the_result_limit_bounds_higher_orders_not_gradients(run_json, run, tmp_path):
    """A gradient is the size of its target (the memory limit bounds it); a derivative tensor of
    order 2 over the same target is bounded by --limit result."""
    np.save(tmp_path / "x.npy", np.linspace(-1, 1, 1200))
    text = "var x: [1200]\nf = sum(sin(x) * x)\n"
    at = ("--at", f"x=@{tmp_path / 'x.npy'}", "--limit", "result=1000")
    code, doc, err = run_json(text, "grad", *at)
    x = np.linspace(-1, 1, 1200)
    assert code == 0, err
    np.testing.assert_allclose(doc["gradients"]["x"]["value"], np.cos(x) * x + np.sin(x), rtol=1e-13)
    code, out, err = run(text, "grad", "--order", "2", *at)
    assert code == 1 and out == "" and "the result would have 1440000 elements" in err


@pytest.mark.parametrize("order", ["0", "-1", "11"])
@pytest.mark.parametrize("path", [("--symbolic", "none"), ("--limit", "elements=1"), ()])
def test_orders_out_of_range_are_refused_on_every_path(run, order, path):
    """Whole arrays (beyond the limit, or --symbolic none with floats) and per element alike
    (order 0 was an internal error on whole arrays, and 11 was not refused)."""
    code, out, err = run("var x = [1.0, 2.0]\nf = sum(x ** 3)\n", "grad", "--order", order, *path)
    assert code == 1 and out == "" and f"--order must be between 1 and 10, got {order}" in err


@pytest.mark.parametrize("path", [("--symbolic", "none"), ("--limit", "elements=1")])
def test_a_zero_size_target_of_a_higher_order_is_an_empty_tensor(run_json, path):
    """Seeded rows over no element (this was an internal error: nothing to stack)."""
    text = "var e: [0]\nvar x = 1.5\ny = sum(e) + x ** 3\n"
    code, doc, err = run_json(text, "grad", "--at", "e=[]", "--order", "3", *path)
    assert code == 0, err
    assert doc["gradients"]["e"]["shape"] == [0, 0, 0] and doc["gradients"]["e"]["value"] == []
    assert doc["gradients"]["x"]["value"] == pytest.approx(6.0)


@pytest.mark.parametrize("order", [1, 4, 8, 10])
@pytest.mark.parametrize("mode", ["none", "auto"])
def test_high_orders_of_a_quotient_do_not_overflow(run_json, order, mode):
    """d^n/dx^n 1/(3x) = (-1)^n n! / (3 x^(n+1)). The divisor's rule -(g * out) / b keeps one
    power of b per order; -(g * a) / b**2 squared it each time (b**256 at order 8: inf, and
    --symbolic none gave 1.19 for -1.79e-4; found by helper 12)."""
    x = -7.5
    code, doc, err = run_json(
        "var x\nf = 1 / (3.0 * x)\n", "grad", "--order", str(order), "--at", f"x={x}", "--symbolic", mode
    )
    assert code == 0, err
    expected = (-1) ** order * math.factorial(order) / (3 * x ** (order + 1))
    assert doc["gradients"]["x"]["value"] == pytest.approx(expected, rel=1e-12)


def test_a_deep_chain_hessian_is_not_written_out_in_closed_form(run_json):
    """t = 0.5 t**2 + 0.1 t, 14 times: the closed-form Hessian written out as one expression has
    ~10**10 operations (it took 83 s and 15 GB at 11 steps before it was counted first); it is
    elided by its size, and the values are second-order forward-mode sums done here by hand."""
    steps = 14
    lines = ["var x = [0.5, 0.2]"] + [
        f"t{i} = {'x' if i == 0 else f't{i - 1}'} ** 2 * 0.5 + {'x' if i == 0 else f't{i - 1}'} * 0.1"
        for i in range(steps)
    ]
    code, out, err = run_json("\n".join([*lines, f"f = sum(t{steps - 1})"]) + "\n", "hessian")
    assert code == 0, err
    assert out["matrix"] is None and out["matrix_elided"].endswith('operations; the values are in "value"')
    assert int(out["matrix_elided"].split()[0]) > 10**6
    for i, x in enumerate([0.5, 0.2]):
        value, first, second = x, 1.0, 0.0
        for _ in range(steps):
            value, first, second = (
                0.5 * value**2 + 0.1 * value,
                (value + 0.1) * first,
                (value + 0.1) * second + first**2,
            )
        assert out["value"][i][i] == pytest.approx(second, rel=1e-12)
        assert out["value"][i][1 - i] == 0.0
