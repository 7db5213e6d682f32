"""Higher orders, Hessians and Jacobians against mpmath differentiation at 40 digits."""

import itertools
import re
from dataclasses import replace
from pathlib import Path

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from gradcli import api
from gradcli.model import Request, Unconnected
from gradcli.parser import parse

from .oracle import mp_evaluate
from .programs import VALUES, program

mpmath.mp.dps = 40


def mp_loss(program, values, outputs):
    env = mp_evaluate(program, values)
    return sum((mpmath.fsum(np.asarray(env[o]).reshape(-1)) for o in outputs), mpmath.mpf(0))


def mp_partial(program, values, outputs, wrt):
    """d^k L / d(elements in `wrt`), each (name, index) once per occurrence, by mpmath.diff."""
    points = [values[name][index] for name, index in wrt]
    distinct = list(dict.fromkeys(wrt))
    orders = [wrt.count(key) for key in distinct]

    def f(*xs):
        moved = {k: np.array(v, dtype=object) for k, v in values.items()}
        for (name, index), x in zip(distinct, xs):
            moved[name][index] = x
        return mp_loss(program, moved, outputs)

    start = [points[wrt.index(key)] for key in distinct]
    return float(mpmath.diff(f, start, tuple(orders)))


SCALAR_PROGRAMS = [
    "var x = 0.7\ny = sin(x) * exp(-x) + x ** 3\n",
    "var x = 0.3\ny = tanh(sigmoid(x) * 2) / (1 + square(x))\n",
    "var x = 1.3\ny = log(softplus(x)) + sqrt(x) * atan(x) - pow(x, 2.5)\n",
    "var x = 0.4\na = x * x\nb = sinh(a) + cosh(x)\ny = b * a + acos(b / 4) * x\n",
]


@pytest.mark.parametrize("text", SCALAR_PROGRAMS)
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_scalar_orders_match_mpmath(text, order):
    program = parse(text)
    (result,) = api.gradient(program, Request(order=order)).gradients
    x = program.declaration("x").literal.value
    expected = mp_partial(program, {"x": np.array(x, dtype=object)}, ("y",), [("x", ())] * order)
    assert result.value == pytest.approx(expected, rel=1e-9, abs=1e-9)


TENSOR_PROGRAM = """\
var a = 0.6
var v = [0.3, -0.8, 1.1]
var M = [[0.2, -0.4, 0.9], [1.2, 0.5, -0.7]]
const c = [0.5, -1.5, 2.0]
h = tanh(M @ (v * c) + a)
y = sum(h ** 2) * a + dot(v, M[1]) * sigmoid(mean(M, axis=0))[0] + sum(M.T[1:] ** 3)
"""


def _values(program):
    return {d.name: np.array(d.literal.value, dtype=object) for d in program.declarations}


def test_hessian_matches_mpmath_with_cross_blocks():
    program = parse(TENSOR_PROGRAM)
    result = api.hessian(program, Request())
    element = [
        (name, idx) for name in ("a", "v", "M") for idx in np.ndindex(np.shape(_values(program)[name]))
    ]
    assert list(result.rows) == ["a", "v[0]", "v[1]", "v[2]"] + [
        f"M[{i},{j}]" for i in range(2) for j in range(3)
    ]
    assert result.rows == result.cols
    values = _values(program)
    hessian = np.array(result.value, dtype=float)
    assert np.array_equal(hessian, hessian.T)
    for i, j in [(0, 0), (0, 1), (1, 2), (2, 5), (4, 9), (9, 9), (3, 7), (0, 8)]:
        expected = mp_partial(program, values, ("y",), [element[i], element[j]])
        assert hessian[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-10), (result.rows[i], result.cols[j])


def test_order_three_tensor_of_a_vector_matches_mpmath_and_is_symmetric():
    program = parse(TENSOR_PROGRAM)
    (v,) = api.gradient(program, Request(wrt=("v",), order=3)).gradients
    tensor = np.array(v.value, dtype=float)
    assert tensor.shape == (3, 3, 3) and v.shape == (3, 3, 3)
    for perm in itertools.permutations(range(3)):
        assert np.array_equal(tensor, tensor.transpose(perm))
    values = _values(program)
    for index in [(0, 0, 0), (0, 1, 2), (2, 2, 1)]:
        expected = mp_partial(program, values, ("y",), [("v", (i,)) for i in index])
        assert tensor[index] == pytest.approx(expected, rel=1e-8, abs=1e-9)


def test_order_two_blocks_equal_the_hessian_diagonal_blocks():
    program = parse(TENSOR_PROGRAM)
    hessian = np.array(api.hessian(program, Request()).value, dtype=float)
    (m,) = api.gradient(program, Request(wrt=("M",), order=2)).gradients
    block = np.array(m.value, dtype=float).reshape(6, 6)
    np.testing.assert_array_equal(block, hessian[4:, 4:])


def test_jacobian_matches_mpmath():
    program = parse(TENSOR_PROGRAM)
    result = api.jacobian(program, Request(of=("h",), wrt=("v", "a")))
    assert result.rows == ("h[0]", "h[1]") and result.cols == ("v[0]", "v[1]", "v[2]", "a")
    values = _values(program)
    for row in range(2):
        for col, key in enumerate([("v", (0,)), ("v", (1,)), ("v", (2,)), ("a", ())]):

            def h_element(x, row=row, key=key):
                moved = {k: np.array(v, dtype=object) for k, v in values.items()}
                moved[key[0]][key[1]] = x
                return mp_evaluate(program, moved)["h"][row]

            expected = float(mpmath.diff(h_element, values[key[0]][key[1]]))
            assert result.value[row][col] == pytest.approx(expected, rel=1e-10)


def test_hessian_disconnected_rows_in_both_modes():
    text = "var x = 2.0\nvar z = 1.0\nvar w = [1.0, 2.0]\ny = x ** 3 * sum(w) + stop(z) * x\n"
    none = api.hessian(parse(text), Request())
    assert none.rows == ("x", "w[0]", "w[1]") and "z" in none.disconnected
    assert none.value == [[12.0 * 3, 12.0, 12.0], [12.0, 0.0, 0.0], [12.0, 0.0, 0.0]]
    zero = api.hessian(parse(text), Request(unconnected=Unconnected.ZERO))
    assert zero.rows == ("x", "z", "w[0]", "w[1]")
    assert zero.value[1] == [0.0] * 4 and [row[1] for row in zero.value] == [0.0] * 4
    assert "stop(...) at line 4" in zero.disconnected["z"]


@pytest.mark.parametrize("order, expected", [(1, 2 * 0.4**3), (2, 2 * 0.4**2), (3, 0.0)])
def test_stop_holds_at_every_order(order, expected):
    # y = stop(x^2) * x^2: with c = x^2 held fixed, d/dx = 2cx, d2/dx2 = 2c, d3/dx3 = 0
    text = "var x = 0.4\ny = stop(x ** 2) * x ** 2\n"
    (x,) = api.gradient(parse(text), Request(order=order)).gradients
    assert x.value == pytest.approx(expected, rel=1e-15)


def test_seed_case_six_second_order_of_a_sum_with_a_constant_is_zero():
    (a,) = api.gradient(parse("var a = 1.0\nconst c = 2.0\nb = a + c\n"), Request(order=2)).gradients
    assert (a.status, a.symbolic, a.value) == ("ok", "0", 0.0)


def test_hessian_is_the_jacobian_of_the_gradient_and_exactly_symmetric():
    """Each Hessian row equals central differences of the gradient's values (computed by grad at
    nearby points), and the symbolic Hessian is exactly symmetric."""
    program = parse(TENSOR_PROGRAM)
    result = api.hessian(program, Request())
    hessian = np.array(result.value, dtype=float)
    values = _values(program)
    names = [d.name for d in program.variables]
    flat = np.concatenate([np.ravel(values[n]) for n in names])
    sizes = [np.size(values[n]) for n in names]

    def gradient_at(point):
        at, start = {}, 0
        for name, size in zip(names, sizes):
            at[name] = _literal(point[start : start + size].reshape(np.shape(values[name])))
            start += size
        grads = api.gradient(program, Request(at=at)).gradients
        return np.concatenate([np.ravel(np.array(g.value, dtype=float)) for g in grads])

    step = 1e-5
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += step
        down[i] -= step
        row = (gradient_at(up) - gradient_at(down)) / (2 * step)
        np.testing.assert_allclose(hessian[i], row, rtol=1e-6, atol=1e-7)
    symbolic = result.expressions
    n = symbolic.shape[0]
    assert all(symbolic[i, k] == symbolic[k, i] for i in range(n) for k in range(n))


def _literal(array) -> object:
    from gradcli.parser import parse_literal

    return parse_literal(repr(np.asarray(array).tolist()), "--at")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(max_definitions=3, depth=3), VALUES)
def test_numeric_hessian_equals_the_symbolic_one(generated, values):
    from gradcli.model import SymbolicMode

    text, outputs, _ = generated
    at = {name: _literal(array) for name, array in values.items()}
    symbolic = api.hessian(parse(text), Request(of=tuple(outputs), at=at, symbolic=SymbolicMode.FULL))
    numeric = api.hessian(parse(text), Request(of=tuple(outputs), at=at, symbolic=SymbolicMode.NONE))
    assert numeric.symbolic is None and numeric.symbolic_elided == "skipped (--symbolic none)"
    assert numeric.rows == symbolic.rows and numeric.disconnected == symbolic.disconnected
    exact, fast = np.array(symbolic.value, dtype=float), np.array(numeric.value, dtype=float)
    assert np.array_equal(fast, fast.T)
    scale = max(1.0, float(np.max(np.abs(exact)))) if exact.size else 1.0
    np.testing.assert_allclose(fast, exact, rtol=1e-9, atol=1e-11 * scale, err_msg=text)
    # text output with --symbolic auto shows no formula beside values: every value here is a
    # float, so none is built and the values are the whole-array ones
    shown = api.hessian(parse(text), Request(of=tuple(outputs), at=at), formulas_with_values=False)
    assert shown.symbolic is None and shown.symbolic_elided == "not built: only the values are shown"
    assert shown.rows == symbolic.rows and shown.disconnected == symbolic.disconnected
    np.testing.assert_array_equal(np.array(shown.value, dtype=float), fast)


def test_large_gradients_take_the_numeric_path_and_exact_inputs_do_not(run_json):
    mlp = (Path(__file__).parent.parent / "samples" / "mlp.txt").read_text()
    code, doc, _ = run_json(mlp, "hessian")
    assert doc["symbolic"] is None and doc["symbolic_elided"].startswith(
        "not built: an entry of the derivative"
    )
    code, full, _ = run_json(mlp, "hessian", "--symbolic", "full")
    np.testing.assert_allclose(doc["value"], full["value"], rtol=1e-10, atol=1e-13)
    exact = "var x = [1, 2, 3]\ny = sum(x ** 4) * sum(x)\n"
    code, doc, _ = run_json(exact, "hessian", "--symbolic", "none")
    assert all(type(v) is int for row in doc["value"] for v in row)  # exact inputs stay exact


def test_text_hessians_keep_exact_entries_where_a_value_is_exact(run):
    """Text shows no formulas beside values, so with every value a float none are built; an
    entry that only exact values reach stays exact (12, not 12.0), as in JSON."""
    mixed = "var x = 1.5\nvar y = 2\nf = x**2 + y**3\n"
    code, out, _ = run(mixed, "hessian")
    assert code == 0 and re.search(r"y +0\.0 +12 *$", out, re.M), out
    assert "(--symbolic full shows the symbolic entries too)" in out
    floats = "var x = 1.5\nvar y = 2.0\nf = x**2 + y**3\n"
    code, out, _ = run(floats, "hessian")
    assert code == 0 and re.search(r"y +0\.0 +12\.0 *$", out, re.M), out
    assert "(--symbolic full shows the symbolic entries too)" in out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program(max_definitions=2, depth=3), VALUES)
def test_numeric_higher_orders_equal_the_symbolic_ones(generated, values):
    from gradcli.model import SymbolicMode

    text, outputs, _ = generated
    at = {name: _literal(array) for name, array in values.items()}
    for order in (2, 3):
        request = Request(of=tuple(outputs), wrt=("v",), at=at, order=order)
        full = api.gradient(parse(text), replace(request, symbolic=SymbolicMode.FULL)).gradients[0]
        fast = api.gradient(parse(text), replace(request, symbolic=SymbolicMode.NONE)).gradients[0]
        if full.status == "disconnected":
            assert fast.status == "disconnected"
            continue
        exact, numbers = np.array(full.value, dtype=float), np.array(fast.value, dtype=float)
        assert numbers.shape == (3,) * order
        for perm in itertools.permutations(range(order)):
            assert np.array_equal(numbers, numbers.transpose(perm))
        scale = max(1.0, float(np.max(np.abs(exact))))
        np.testing.assert_allclose(numbers, exact, rtol=1e-9, atol=1e-11 * scale, err_msg=text)
