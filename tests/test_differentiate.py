"""Gradients and higher derivatives against independent oracles: finite differences, mpmath, by hand."""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli import api
from gradcli.model import Request
from gradcli.parser import parse, parse_literal

from .oracle import central_gradient, mp_gradient_element
from .programs import VALUES, VARIABLES, program

CONSTANTS = {"c": np.array([0.5, -1.5, 2.0])}


def _literal(array: np.ndarray) -> str:
    return repr(array.tolist()).replace(" ", "")


@settings(
    max_examples=int(__import__("os").environ.get("GRADCLI_EXAMPLES", 60)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(program(), VALUES, st.data())
def test_gradients_of_random_programs_match_finite_differences(generated, values, data):
    text, outputs, shapes = generated
    weights = {}
    for name in outputs:
        if shapes[name] and data.draw(st.booleans()):
            weights[name] = np.array(
                data.draw(
                    st.lists(
                        st.sampled_from([-2.0, 0.5, 1.0, 3.0]),
                        min_size=shapes[name][-1],
                        max_size=shapes[name][-1],
                    )
                )
            )
    request = Request(
        of=tuple(outputs),
        at={k: parse_literal(_literal(v), "--at") for k, v in values.items()},
        grad_ys={k: parse_literal(_literal(w), "--grad-ys") for k, w in weights.items()},
    )
    prog = parse(text, "random.txt")
    result = api.gradient(prog, request)
    env = {**values, **CONSTANTS}
    for target in result.gradients:
        expected = central_gradient(prog, env, outputs, target.name, weights)
        if target.status == "disconnected":
            assert target.value is None
            np.testing.assert_allclose(expected, 0.0, atol=1e-9)
            continue
        computed = np.array(target.value, dtype=float)
        assert computed.shape == VARIABLES[target.name]
        scale = max(1.0, float(np.max(np.abs(expected))))
        close = np.isclose(computed, expected, rtol=1e-6, atol=1e-7 * scale)
        for index in np.ndindex(computed.shape):  # where differences are too coarse (sin(x ** 9)): mpmath
            if close[index]:
                continue
            exact = mp_gradient_element(prog, env, outputs, target.name, index, weights=weights)
            assert computed[index] == pytest.approx(exact, rel=1e-9, abs=1e-9), text


def gradient_of(text: str, **request) -> dict:
    result = api.gradient(parse(text), Request(**request))
    return {t.name: t for t in result.gradients}


@pytest.mark.parametrize(
    "expr, x, expected",
    [
        ("relu(x)", 0.0, 0.0),
        ("relu(x)", 2.0, 1.0),
        ("relu(x)", -2.0, 0.0),
        ("abs(x)", 0.0, 0.0),
        ("abs(x)", -3.0, -1.0),
        ("maximum(x, 1.0)", 1.0, 1.0),  # a tie passes the gradient to the first argument
        ("maximum(1.0, x)", 1.0, 0.0),
        ("minimum(x, 1.0)", 1.0, 1.0),
        ("minimum(1.0, x)", 1.0, 0.0),
        ("maximum(x, 1.0)", 0.5, 0.0),
        ("minimum(x, 1.0)", 0.5, 1.0),
        ("sigmoid(x)", 0.0, 0.25),
        ("softplus(x)", 0.0, 0.5),
        ("sqrt(x)", 4.0, 0.25),
        ("log(x)", 2.0, 0.5),
        ("pow(x, 3)", 2.0, 12.0),
        ("x ** x", 1.0, 1.0),
        ("square(x)", -3.0, -6.0),
        ("stop(x) * x", 3.0, 3.0),
    ],
)
def test_hand_derived_derivatives_at_kinks_and_special_points(expr, x, expected):
    (result,) = gradient_of(f"var x = {x!r}\ny = {expr}\n").values()
    assert result.status == "ok"
    assert result.value == pytest.approx(expected, abs=1e-15)


def test_exact_integer_and_rational_results():
    results = gradient_of("var p = [1, 2, 3]\nvar q = 2\ny = sum(p * p) * q / 3\n")
    assert results["p"].value == [pytest.approx(4 / 3), pytest.approx(8 / 3), 4.0]
    assert results["p"].symbolic == ["2*p[0]*q/3", "2*p[1]*q/3", "2*p[2]*q/3"]
    assert results["q"].value == pytest.approx(14 / 3)
    exact = gradient_of("var w = [[1, 2]]\ny = w @ [[2], [1]] * 3\n")["w"]
    assert exact.value == [[6, 3]] and all(type(v) is int for v in exact.value[0])


def test_needs_lists_missing_values():
    results = gradient_of("var x\nvar y = 2.0\nz = x * y * y\n")
    assert results["x"].value == 4.0 and results["x"].needs == ()
    assert results["y"].value is None and results["y"].needs == ("x",)
    assert results["y"].symbolic == "2*x*y"


@pytest.mark.parametrize(
    "text, expected",
    [
        # d(a**b)/db = a**b * log(a) where a > 0, else 0 (TensorFlow's _PowGrad; JAX at a = 0):
        ("var y = 0.415\nf = pow(0.0, y)\n", {"y": 0.0}),  # autograd's test_power_arg1_zero
        ("var y = 0.415\nf = 0 ** y\n", {"y": 0.0}),
        ("var x = 0.0\nvar y = 2.0\nf = x ** y\n", {"x": 0.0, "y": 0.0}),
        ("var x = -2.0\nvar y = 3.0\nf = x ** y\n", {"x": 12.0, "y": 0.0}),
        ("var y = 2.0\nf = (-2.0) ** y\n", {"y": 0.0}),
        ("var y = 3.0\nf = 2 ** y\n", {"y": 8 * math.log(2)}),
        # sqrt's derivative is 1/(2 sqrt(x)), so -inf at -0.0 as in NumPy, JAX and TensorFlow
        ("var x = -0.0\nf = sqrt(x)\n", {"x": -math.inf}),
        ("var x = 0.0\nf = sqrt(x)\n", {"x": math.inf}),
        ("var x = 0.0\nf = x ** (1/2)\n", {"x": math.inf}),
    ],
)
def test_zero_and_negative_bases_follow_tensorflow_and_jax(text, expected):
    for name, result in gradient_of(text).items():
        assert result.status == "ok" and result.value == expected[name]  # inf == inf checks its sign


@pytest.mark.parametrize("y", [0.415, 2.0, 3.5])
def test_the_exponent_derivative_at_a_zero_base_is_the_one_sided_limit(y):
    """d(0**y)/dy is 0 for y > 0: 0**(y + h) is 0 on both sides, so finite differences agree."""
    text = f"var x = 0.0\nvar y = {y!r}\nf = x ** y\n"
    prog = parse(text)
    (result,) = api.gradient(prog, Request(wrt=("y",))).gradients
    assert result.value == central_gradient(prog, {"x": 0.0, "y": y}, ["f"], "y") == 0.0


def test_the_exponent_derivative_has_every_order():
    """logpos and invpos are closed under differentiation: x**x to order 4 matches mpmath, and
    at x <= 0 every order of d/dy x**y is 0 (log never meets a zero or negative base)."""
    import mpmath

    for order in (1, 2, 3, 4):
        (result,) = api.gradient(parse("var x = 1.3\nf = x ** x\n"), Request(order=order)).gradients
        expected = float(mpmath.diff(lambda t: t**t, mpmath.mpf("1.3"), order))
        assert result.value == pytest.approx(expected, rel=1e-10)
        for x in ("0.0", "-1.5"):
            text = f"var x = {x}\nvar y = 2.0\nf = x ** y\n"
            (dy,) = api.gradient(parse(text), Request(wrt=("y",), order=order)).gradients
            assert dy.value == 0.0


@pytest.mark.parametrize("weight", ["-0.3", "2", "[2.0, -1.0]"])
def test_a_scalar_or_row_grad_ys_weights_every_element(weight):
    text = "var x = [1.5, -0.5]\nt = x * x\n"
    (result,) = api.gradient(
        parse(text), Request(grad_ys={"t": parse_literal(weight, "--grad-ys")})
    ).gradients
    w = np.broadcast_to(np.array(json.loads(weight), dtype=float), (2,))
    np.testing.assert_array_equal(result.value, w * 2 * np.array([1.5, -0.5]))
