"""Whole arrays: the backward program, matrix forms, eval, values from files and numbers at scale,
checked against NumPy, finite differences and gradcli's own per-element results."""

import dataclasses
import importlib.util
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli import api, whole
from gradcli.model import Request, SymbolicMode
from gradcli.parser import parse, parse_literal

from .oracle import central_gradient
from .programs import VALUES, program

CONSTANTS = {"c": np.array([0.5, -1.5, 2.0])}


def _literal(array) -> str:
    return repr(np.asarray(array).tolist()).replace(" ", "")


def _request(values, outputs=(), weights=None, stop=()):
    return Request(
        of=tuple(outputs),
        at={k: parse_literal(_literal(v), "--at") for k, v in values.items()},
        grad_ys={k: parse_literal(_literal(w), "--grad-ys") for k, w in (weights or {}).items()},
        stop=tuple(stop),
    )


def _eval_values(text: str, names: list[str]) -> dict:
    result = whole.evaluate(parse(text, "backward.txt"), Request(of=tuple(names)))
    return result.values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(), VALUES, st.data())
def test_backward_program_evaluates_to_the_gradient(generated, values, data):
    """Round trip: `gradcli backward` printed, parsed again and evaluated gives grad's values,
    with scalar or array weights and --stop drawn too."""
    text, outputs, shapes = generated
    weights = {}
    for name in outputs:
        if data.draw(st.booleans()):
            shape = shapes[name]
            weights[name] = data.draw(st.sampled_from([-0.3, 2.0])) * np.ones(shape[-1:] if shape else ())
    defined = sorted(shapes)
    stop = data.draw(st.lists(st.sampled_from(defined), max_size=1))
    stop = [s for s in stop if s not in outputs]
    request = _request(values, outputs, weights, stop)
    prog = parse(text, "random.txt")
    grad = api.gradient(prog, request)
    written = whole.backward_program(prog, request)
    names = [n for n in written.targets.values() if n is not None]
    evaluated = _eval_values(written.program, names) if names else {}
    for target in grad.gradients:
        adjoint = written.targets[target.name]
        if target.status == "disconnected":
            assert adjoint is None and f"# d_{target.name}: disconnected" in written.program
            continue
        np.testing.assert_allclose(
            np.array(evaluated[adjoint], dtype=float),
            np.array(target.value, dtype=float),
            rtol=1e-12,
            atol=1e-12,
            err_msg=written.program,
        )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(), VALUES)
def test_matrix_forms_and_whole_array_numbers_match_finite_differences(generated, values):
    """Each matrix form, evaluated as a definition appended to the program, and the whole-array
    float64 gradient both equal central differences of the program."""
    text, outputs, _ = generated
    prog = parse(text, "random.txt")
    request = _request(values, outputs)
    grad = api.gradient(prog, request)
    prepared = whole.prepare(prog, request)
    numbers = whole.float_gradients(prepared, request.limits)
    env = {**values, **CONSTANTS}
    for target in grad.gradients:
        if target.status != "ok":
            continue
        expected = central_gradient(prog, env, outputs, target.name)
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(numbers[target.name], expected, rtol=1e-6, atol=1e-7 * scale)
        if target.matrix is None:
            assert target.matrix_elided
            continue
        extended = text + f"matrix_form_ = {target.matrix}\n"
        result = whole.evaluate(parse(extended), _request(values, ("matrix_form_",)))
        value = np.broadcast_to(np.array(result.values["matrix_form_"], dtype=float), expected.shape)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7 * scale, err_msg=target.matrix)


@pytest.mark.parametrize(
    "text, target, matrix",
    [
        ("var A: [3, 2]\nvar x: [2]\nconst y: [3]\nr = A @ x - y\nf = sum(r ** 2)\n", "x", "2 * A.T @ r"),
        ("var x: [3]\nvar A: [3, 3]\nf = x @ A @ x\n", "x", "x @ A + A @ x"),
        ("var h: [4, 3]\nf = sum(tanh(h))\n", "h", "1 - tanh(h) ** 2"),
        ("var b: [3]\nconst X: [4, 3]\nf = sum(X + b)\n", "b", "full([3], 4)"),
        (
            "const X: [5, 3]\nconst y: [5]\nvar w: [3]\nm = X @ w\nL = sum(softplus(-y * m))\n",
            "w",
            "X.T @ (-sigmoid(-y * m) * y)",
        ),
    ],
)
def test_textbook_matrix_forms(run_json, text, target, matrix):
    code, doc, _ = run_json(text, "grad", "--symbolic", "none")
    assert code == 0 and doc["gradients"][target]["matrix"] == matrix


def test_backward_of_the_mlp_sample_reads_like_backpropagation(run):
    with open("samples/mlp.txt") as sample:
        code, out, err = run(sample.read(), "backward")
    assert code == 0, err
    for line in [
        "d_prediction = 2/3 * (prediction - Y)  # [3, 1]",
        "d_hidden = d_prediction @ W2.T  # [3, 3]",
        "d_W1 = X.T @ d_hidden_add  # [2, 3]",
        "d_b1 = sum(d_hidden_add, axis=0)  # [3]",
        "d_W2 = hidden.T @ d_prediction  # [3, 1]",
    ]:
        assert line in out.splitlines()


def test_backward_json_names_the_targets_and_disconnections(run_json):
    text = "var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0\nb = stop(a) * w2\n"
    code, doc, _ = run_json(text, "backward")
    assert code == 0 and doc["targets"] == {"w1": None, "w2": "d_w2"}
    assert "# d_w1: disconnected: only path passes stop(...) at line 4" in doc["program"]


def test_eval_gives_exact_values_for_exact_inputs(run_json):
    code, doc, _ = run_json("var x = [1, 2]\nvar A = [[1, 2], [3, 4]]\ny = A @ x / 3\nz = sum(y)\n", "eval")
    assert code == 0 and doc["values"] == {"y": [5 / 3, 11 / 3], "z": 16 / 3}
    code, doc, _ = run_json("var x = [1, 2]\ny = x * 3\n", "eval")
    assert doc["values"] == {"y": [3, 6]}


def test_eval_reports_missing_values(run_json):
    code, doc, _ = run_json("var x\nvar y = 2.0\na = y * 2\nb = x * y\n", "eval")
    assert code == 0 and doc["values"] == {"a": 4.0, "b": None} and doc["needs"] == {"b": ["x"]}


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".json"])
def test_values_from_files(run_json, tmp_path, suffix):
    w = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    path = tmp_path / f"W{suffix}"
    if suffix == ".npy":
        np.save(path, w)
    elif suffix == ".npz":
        np.savez(path, W=w)
    elif suffix == ".csv":
        np.savetxt(path, w, delimiter=",")
    else:
        path.write_text(json.dumps(w.tolist()))
    text = "var W: [2, 3]\nvar x = [1.0, 2.0, 3.0]\nf = sum(tanh(W @ x))\n"
    code, doc, err = run_json(text, "grad", "--at", f"W=@{path}")
    assert code == 0, err
    h = np.tanh(w @ [1.0, 2.0, 3.0])
    np.testing.assert_allclose(doc["gradients"]["W"]["value"], np.outer(1 - h**2, [1, 2, 3]), rtol=1e-12)


def test_pickled_and_malformed_files_are_refused(run, tmp_path):
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    ragged = tmp_path / "r.json"
    ragged.write_text("[[1, 2], [3]]")
    wrong = tmp_path / "w.json"
    wrong.write_text("[1, 2]")
    ragged_csv = tmp_path / "r.csv"
    ragged_csv.write_text("# W\n1, 2\n\n3 # the second row\n")
    deep = tmp_path / "d.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    dimensions = tmp_path / "n.json"  # more axes than NumPy's 64
    dimensions.write_text("[" * 65 + "1" + "]" * 65)
    for path, message in [
        (pickled, "cannot read"),
        (ragged, "ragged"),
        (wrong, "shape [2]"),
        (
            ragged_csv,
            f"W=@{ragged_csv}: cannot read the array: line 4 has 1 column where the first row has 2",
        ),
        (deep, f"W=@{deep}: cannot read the array: the lists are nested too deeply"),
        (dimensions, "nested more than 64 deep"),
    ]:
        code, out, err = run("var W: [3]\nf = sum(W)\n", "grad", "--at", f"W=@{path}")
        assert code == 1 and out == "" and message in err, err


def test_a_program_beyond_the_element_limit_gets_whole_array_numbers(run_json, tmp_path):
    rng = np.random.default_rng(1)
    x, w1, w2 = rng.normal(size=(64, 50)), rng.normal(size=(50, 40)) * 0.1, rng.normal(size=(40, 5)) * 0.1
    for name, array in {"X": x, "W1": w1, "W2": w2}.items():
        np.save(tmp_path / f"{name}.npy", array)
    text = "const X: [64, 50]\nvar W1: [50, 40]\nvar W2: [40, 5]\nh = tanh(X @ W1)\nL = mean((h @ W2) ** 2)\n"
    at = [a for n in ("X", "W1", "W2") for a in ("--at", f"{n}=@{tmp_path / n}.npy")]
    code, doc, err = run_json(text, "grad", *at, "--limit", "elements=1000")
    assert code == 0, err
    h = np.tanh(x @ w1)
    d_out = 2 * (h @ w2) / (64 * 5)
    d_pre = d_out @ w2.T * (1 - h**2)
    np.testing.assert_allclose(doc["gradients"]["W2"]["value"], h.T @ d_out, rtol=1e-12)
    np.testing.assert_allclose(doc["gradients"]["W1"]["value"], x.T @ d_pre, rtol=1e-12)
    w1_result = doc["gradients"]["W1"]
    assert w1_result["symbolic"] is None and "whole-array" in w1_result["symbolic_elided"]


def test_the_memory_limit_is_checked_from_the_shapes(run, tmp_path):
    np.save(tmp_path / "a.npy", np.ones(40000))
    np.save(tmp_path / "b.npy", np.ones((40000, 1)))
    text = "var a: [40000]\nvar b: [40000, 1]\ny = sum(a * b)\n"
    at = ["--at", f"a=@{tmp_path / 'a.npy'}", "--at", f"b=@{tmp_path / 'b.npy'}"]
    code, out, err = run(text, "grad", *at)  # 1.6e9 elements: refused before any is allocated
    assert code == 1 and out == "" and "--limit memory=MIB" in err


@pytest.mark.parametrize(
    "text, matrix",
    [
        ("var x: [3]\nvar A: [3, 3]\nf = x @ A @ x\n", "A.T + A"),
        ("var A: [4, 3]\nvar x: [3]\nconst y: [4]\nr = A @ x - y\nf = sum(r ** 2)\n", "2 * A.T @ A"),
        ("var x: [3]\nconst M: [3, 3]\nf = sum(sin(M @ x))\n", "M.T @ ((-sin(M @ x))[:, None] * M)"),
        ("var x\nvar y\nf = x ** 3 * y\n", "6 * y * x"),  # a scalar target: its second derivative
        ("var x\nconst v: [3]\nf = sum(exp(x * v))\n", "sum(v * exp(x * v) * v)"),
        ("var x\nvar y\nf = x * y + sin(y)\n", "0"),
    ],
)
def test_hessian_closed_forms(run_json, text, matrix):
    code, doc, _ = run_json(text, "hessian", "--wrt", "x", "--symbolic", "none")
    assert code == 0 and doc["matrix"] == matrix


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 3).flatmap(lambda n: program(max_definitions=n, depth=n)), VALUES, st.sampled_from("va")
)
def test_hessian_closed_forms_equal_the_per_element_hessian(generated, values, target):
    """Where a whole-array closed form exists for the vector target v or the scalar a, its float64
    values equal the Hessian computed per element (the symbolic path), which test_orders checks
    against finite differences; the form printed evaluates to them too."""
    text, outputs, _ = generated
    prog = parse(text, "random.txt")
    request = Request(
        of=tuple(outputs),
        wrt=(target,),
        at={k: parse_literal(_literal(a), "--at") for k, a in values.items()},
    )
    prepared = whole.prepare(prog, request)
    node, printed, why = whole.closed_hessian(prepared)
    if node is None:
        return
    per_element = np.array(api.hessian(prog, dataclasses.replace(request, symbolic=SymbolicMode.FULL)).value)
    closed = whole.numbers.evaluate([node], prepared.float_values())[0]
    np.testing.assert_allclose(np.reshape(closed, per_element.shape), per_element, rtol=1e-9, atol=1e-9)
    if printed is not None:  # the printed form, a definition of the program, gives them too
        form = parse(f"{text}hessian_form = {printed}\n", "form.txt")
        (value,) = whole.evaluate(form, dataclasses.replace(request, of=("hessian_form",))).values.values()
        np.testing.assert_allclose(np.reshape(value, per_element.shape), per_element, rtol=1e-9, atol=1e-9)


def test_a_large_logistic_hessian_comes_from_its_closed_form(run_json, tmp_path):
    rng = np.random.default_rng(2)
    x, y, w = rng.normal(size=(400, 300)) / 10, np.sign(rng.normal(size=400)), rng.normal(size=300) * 0.1
    for name, array in {"X": x, "y": y, "w": w}.items():
        np.save(tmp_path / f"{name}.npy", array)
    text = (
        "const X: [400, 300]\nconst y: [400]\nvar w: [300]\nm = X @ w\n"
        "L = sum(softplus(-y * m)) + sum(w ** 2) / 2\n"
    )
    at = [a for n in ("X", "y", "w") for a in ("--at", f"{n}=@{tmp_path / n}.npy")]
    code, doc, err = run_json(text, "hessian", *at)
    assert code == 0, err
    s = 1 / (1 + np.exp(y * (x @ w)))
    expected = x.T @ ((s * (1 - s))[:, None] * x) + np.eye(300)
    np.testing.assert_allclose(doc["value"], expected, rtol=1e-10, atol=1e-12)
    assert (
        doc["matrix"]
        == "eye(300) + X.T @ (y[:, None] * ((sigmoid(-y * m) * (1 - sigmoid(-y * m)))[:, None] * "
        "(y[:, None] * X)))"
    )


def test_step_beyond_the_element_limit_follows_the_per_element_steps(run_json, tmp_path):
    rng = np.random.default_rng(4)
    np.save(tmp_path / "X.npy", rng.normal(size=(40, 30)))
    np.save(tmp_path / "y.npy", np.sign(rng.normal(size=40)))
    text = "const X: [40, 30]\nconst y: [40]\nvar w: [30]\nm = X @ w\nL = sum(softplus(-y * m)) / 40\n"
    at = ["--at", f"X=@{tmp_path / 'X.npy'}", "--at", f"y=@{tmp_path / 'y.npy'}", "--at", f"w={[0.0] * 30}"]
    args = ["step", "--lr", "0.5", "--steps", "5", *at]
    code, small, err = run_json(text, *args)
    assert code == 0, err
    code, large, err = run_json(text, *args, "--limit", "elements=100")
    assert code == 0, err
    np.testing.assert_allclose(large["loss"], small["loss"], rtol=1e-12)
    np.testing.assert_allclose(large["values"]["w"], small["values"]["w"], rtol=1e-10, atol=1e-14)


def test_closed_form_hessian_through_a_matrix_intermediate():
    """A vector target broadcast into a matrix, then an element-wise function of the matrix: the
    closed form scales each Jacobian row by u[..., None] (this raised a shape error before)."""
    text = "var v: [3]\nvar M: [2, 3]\nd0 = v[1] + M\nd2 = mean(log(1 + square(d0)))\n"
    request = Request(
        of=("d2",),
        wrt=("v",),
        at={
            "v": parse_literal("[0.1, 0.2, 0.3]", "--at"),
            "M": parse_literal("[[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]", "--at"),
        },
    )
    prepared = whole.prepare(parse(text), request)
    node, _, _ = whole.closed_hessian(prepared)  # none here (a sum over a matrix), but no error
    per_element = api.hessian(parse(text), dataclasses.replace(request, symbolic=SymbolicMode.FULL))
    x = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]) + 0.2  # v[1] + M: only v[1] enters
    expected = np.sum((2 - 2 * x**2) / (1 + x**2) ** 2) / 6
    assert np.array(per_element.value)[1, 1] == pytest.approx(expected)
    if node is not None:
        closed = whole.numbers.evaluate([node], prepared.float_values())[0]
        np.testing.assert_allclose(closed, np.array(per_element.value, dtype=float), rtol=1e-12)


def test_the_float64_interpreter_drops_arrays_only_after_their_last_use():
    """numbers.py frees each intermediate after the last node that reads it: a root that later
    nodes read too, a node read twice by one node, and repeated and moved evaluations all keep
    their values (NumPy computes the expected ones directly)."""
    from gradcli import numbers, ops

    x = ops.variable("x", (3,))
    square = x * x
    shifted = square + 1.0
    both = shifted * shifted + square  # `shifted` read twice by one node, `square` a root too
    value = np.array([0.5, -2.0, 3.0])
    expected_square = value * value
    expected_both = (expected_square + 1) ** 2 + expected_square
    got_square, got_both, again = numbers.evaluate([square, both, square], {"x": value})
    np.testing.assert_array_equal(got_square, expected_square)
    np.testing.assert_array_equal(got_both, expected_both)
    np.testing.assert_array_equal(again, expected_square)

    seed = ops.variable("<seed 1>", (3,))
    rows = numbers.Repeated([both * seed, square], {"x": value}, {"<seed 1>"})
    for k in range(3):  # each row from the same fixed part, which no row may have dropped
        one_hot = np.eye(3)[k]
        row, fixed = rows({"<seed 1>": one_hot})
        np.testing.assert_array_equal(row, expected_both * one_hot)
        np.testing.assert_array_equal(fixed, expected_square)

    moved = numbers.Moved([both, shifted], {"x": value}, square)
    for delta in (0.0, 0.25, -1.0):
        out, middle = moved(expected_square + delta)
        np.testing.assert_allclose(out, (expected_square + delta + 1) ** 2 + expected_square + delta)
        np.testing.assert_allclose(middle, expected_square + delta + 1)


X_AT = np.array([0.5, -1.25, 2.0])


@pytest.mark.parametrize(
    ("program", "form", "hessian"),
    [
        ("f = sum(x ** 4)", "4 * diag(3 * x ** 2)", np.diag(12 * X_AT**2)),
        ("f = sum(exp(x)) + sum(x ** 2)", "2 * eye(3) + diag(exp(x))", np.diag(np.exp(X_AT)) + 2 * np.eye(3)),
        (  # sum(eye(3), axis=0) is ones: no eye left
            "f = sum(x) ** 3 + sum(x ** 4)",
            "4 * diag(3 * x ** 2) + 3 * broadcast_to(2 * sum(x), [3])",
            np.diag(12 * X_AT**2) + 6 * X_AT.sum(),
        ),
        (
            "f = sum(x * exp(x))",
            "diag(exp(x)) + (diag(exp(x)) + x[:, None] * diag(exp(x)))",
            np.diag((2 + X_AT) * np.exp(X_AT)),
        ),
    ],
)
def test_diagonal_matrices_in_closed_forms_are_written_diag(run_json, program, form, hessian):
    """v[:, None] * eye(n) is NumPy's diag(v), and is written so; read back, it is the Hessian."""
    program, at = f"var x: [3]\n{program}\n", f"x={X_AT.tolist()}"
    code, doc, err = run_json(program, "hessian", "--at", at)
    assert code == 0, err
    assert doc["matrix"] == form
    np.testing.assert_allclose(doc["value"], hessian, rtol=1e-13)
    code, back, err = run_json(program + f"H = {doc['matrix']}\n", "eval", "--of", "H", "--at", at)
    assert code == 0, err
    np.testing.assert_allclose(back["values"]["H"], hessian, rtol=1e-13)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("axis", ["", ", axis=0", ", axis=1", ", axis=1, keepdims=True", ", axis=(0, 1)"])
def test_sums_of_the_identity_are_numpys(run_json, n, axis):
    code, doc, err = run_json(f"var x\ns = sum(eye({n}){axis}) * x\n", "eval", "--at", "x=2")
    assert code == 0, err
    keywords = {"": {}, ", axis=0": {"axis": 0}, ", axis=1": {"axis": 1}, ", axis=(0, 1)": {"axis": (0, 1)}}
    expected = np.sum(np.eye(n), **keywords.get(axis, {"axis": 1, "keepdims": True})) * 2
    np.testing.assert_array_equal(doc["values"]["s"], expected)


def test_a_one_element_vector_spread_over_the_rows_of_an_eye_is_not_its_diag(run, tmp_path):
    """broadcast_to(v, (3,)) * eye(3) with v of one element is v[0] * eye(3) (3 x 3); diag(v) is
    1 x 1: the forward definition of the backward program and the NumPy export keep the shape
    (both wrote diag(v), and the exported module failed in its matmul)."""
    program = (
        "var v: [1] = [2.0]\nvar x: [3] = [1.0, 2.0, 3.0]\n"
        "A = broadcast_to(v, (3,)) * eye(3)\ny = sum(A @ x)\n"
    )
    code, out, err = run(program, "backward")
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("A = ")]
    assert "diag" not in line
    path = tmp_path / "exported.py"
    code, _, err = run(program, "export", "--lang", "numpy", "--output", str(path))
    assert code == 0, err
    spec = importlib.util.spec_from_file_location("exported_eye", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loss, gradients = module.evaluate()
    assert loss == 2.0 * (1.0 + 2.0 + 3.0)  # A @ x = 2 x
    np.testing.assert_array_equal(gradients["v"], [6.0])  # d/dv of v * sum(x)
    np.testing.assert_array_equal(gradients["x"], [2.0, 2.0, 2.0])


@pytest.mark.parametrize(
    "definition",
    ["y = where((x > 1) != 0, x * x, x)", "y = where((x > 1) == (x < 3), x * x, -x)", "y = (x >= 1) * x"],
)
def test_comparisons_of_comparisons_print_with_parentheses(definition):
    """`a != 0` of a comparison a is written `(x > 1) != 0`: `x > 1 != 0` is a chained comparison
    in Python, and gradcli's grammar (`sum COMPARE sum`) refuses it. The backward program reads
    back and evaluates to grad's values (x * x where 1 < x < 3, else x: 2x there, else 1)."""
    text = f"var x = [0.5, 2.0, 4.0]\n{definition}\nf = sum(y)\n"
    prog = parse(text, "c.txt")
    request = Request()
    written = whole.backward_program(prog, request)
    evaluated = _eval_values(written.program, [written.targets["x"]])[written.targets["x"]]
    expected = np.array(api.gradient(prog, request).gradients[0].value, dtype=float)
    np.testing.assert_array_equal(np.array(evaluated, dtype=float), expected)
    hand = {"y = where((x > 1) != 0, x * x, x)": [1.0, 4.0, 8.0], "y = (x >= 1) * x": [0.0, 1.0, 1.0]}
    if definition in hand:
        np.testing.assert_array_equal(expected, hand[definition])
