"""The operation table walked row by row: values against mpmath, derivatives of orders 1 to 3
against mpmath's numerical differentiation, and the float64 and element views agreeing on
ordinary, edge and kink inputs."""

import math

import mpmath
import numpy as np
import pytest

from gradcli import api, elements, model, numbers
from gradcli.evaluate import Evaluator
from gradcli.model import Request
from gradcli.parser import parse, parse_literal

mpmath.mp.dps = 30


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


# name in the language -> (mpmath reference, points away from kinks and domain edges)
UNARY = {
    "sin": (mpmath.sin, [0.3, -1.2, 2.5]),
    "cos": (mpmath.cos, [0.3, -1.2, 2.5]),
    "tan": (mpmath.tan, [0.3, -1.2, 0.9]),
    "asin": (mpmath.asin, [0.3, -0.6]),
    "acos": (mpmath.acos, [0.3, -0.6]),
    "atan": (mpmath.atan, [0.3, -2.0]),
    "sinh": (mpmath.sinh, [0.3, -1.5]),
    "cosh": (mpmath.cosh, [0.3, -1.5]),
    "tanh": (mpmath.tanh, [0.3, -1.5]),
    "exp": (mpmath.exp, [0.3, -1.5]),
    "log": (mpmath.log, [0.3, 2.5]),
    "sqrt": (mpmath.sqrt, [0.3, 2.5]),
    "abs": (abs, [0.3, -1.5]),
    "square": (lambda x: x**2, [0.3, -1.5]),
    "sigmoid": (_sigmoid, [0.3, -1.5, 4.0]),
    "relu": (lambda x: max(x, 0), [0.3, -1.5]),
    "softplus": (lambda x: mpmath.log(1 + mpmath.exp(x)), [0.3, -1.5]),
    "step": (lambda x: mpmath.mpf(x > 0), [0.3, -1.5]),
    "sign": (lambda x: mpmath.mpf((x > 0) - (x < 0)), [0.3, -1.5]),
    "log1p": (mpmath.log1p, [0.3, -0.7, 1e-9]),
    "expm1": (mpmath.expm1, [0.3, -1.5, 1e-9]),
    "log2": (lambda x: mpmath.log(x, 2), [0.3, 5.0]),
    "log10": (mpmath.log10, [0.3, 5.0]),
    "exp2": (lambda x: mpmath.mpf(2) ** x, [0.3, -1.5]),
    "cbrt": (lambda x: mpmath.sign(x) * abs(x) ** (mpmath.mpf(1) / 3), [0.3, -1.5, 8.0]),
    "reciprocal": (lambda x: 1 / x, [0.3, -1.5]),
    "floor": (mpmath.floor, [0.3, -1.5]),
    "ceil": (mpmath.ceil, [0.3, -1.5]),
    "round": (mpmath.nint, [0.3, -1.7]),
    "erf": (mpmath.erf, [0.3, -1.5]),
    "erfc": (mpmath.erfc, [0.3, -1.5, 4.0]),
    "asinh": (mpmath.asinh, [0.3, -1.5]),
    "acosh": (mpmath.acosh, [1.3, 4.5]),
    "atanh": (mpmath.atanh, [0.3, -0.8]),
    "arcsin": (mpmath.asin, [0.3]),
    "arccos": (mpmath.acos, [0.3]),
    "arctan": (mpmath.atan, [-2.0]),
    "arcsinh": (mpmath.asinh, [0.3]),
    "arccosh": (mpmath.acosh, [1.3]),
    "arctanh": (mpmath.atanh, [0.3]),
    "gelu": (lambda x: x * (1 + mpmath.erf(x / mpmath.sqrt(2))) / 2, [0.3, -1.5]),
    "silu": (lambda x: x * _sigmoid(x), [0.3, -1.5]),
    "elu": (lambda x: x if x > 0 else mpmath.expm1(x), [0.3, -1.5]),
    "leaky_relu": (lambda x: x if x > 0 else x / 100, [0.3, -1.5]),
    "log_sigmoid": (lambda x: mpmath.log(_sigmoid(x)), [0.3, -1.5, 40.0]),
    "softsign": (lambda x: x / (1 + abs(x)), [0.3, -1.5]),
    "sinc": (mpmath.sincpi, [0.3, -1.2, 0.0, 2.0]),  # at 0 too: JAX's Taylor rule
    "logit": (lambda p: mpmath.log(p / (1 - p)), [0.3, 0.9, 1e-6]),
}
BINARY = {
    "pow": (lambda a, b: a**b, [(1.3, 0.7), (2.0, -1.5)]),
    "maximum": (max, [(1.3, 0.7), (-2.0, 1.5)]),
    "minimum": (min, [(1.3, 0.7), (-2.0, 1.5)]),
    "where_gt": (lambda a, b: a if a > b else b, [(1.3, 0.7), (-2.0, 1.5)]),
    "power": (lambda a, b: a**b, [(1.3, 0.7)]),
    "atan2": (mpmath.atan2, [(1.3, 0.7), (-2.0, -1.5), (0.5, -2.0)]),
    "arctan2": (mpmath.atan2, [(-2.0, 1.5)]),
    "hypot": (mpmath.hypot, [(1.3, 0.7), (-2.0, 1.5)]),
    "logaddexp": (
        lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)),
        [(1.3, 0.7), (-2.0, 30.0), (0.5, 0.5)],
    ),
    "elu_alpha": (lambda a, b: a if a > 0 else b * mpmath.expm1(a), [(1.3, 0.7), (-2.0, 1.5)]),
    "leaky_slope": (lambda a, b: a if a > 0 else b * a, [(1.3, 0.7), (-2.0, 0.2)]),
    "clip_low": (lambda a, b: min(max(a, b), 2), [(1.3, 0.7), (-2.0, 1.5), (3.0, 1.0)]),
    "xlogy": (lambda a, b: a * mpmath.log(b), [(1.3, 0.7), (-2.0, 3.5)]),
}
BINARY_TEXT = {
    "pow": "pow(a, b)",
    "maximum": "maximum(a, b)",
    "minimum": "minimum(a, b)",
    "where_gt": "where(a > b, a, b)",
    "power": "power(a, b)",
    "atan2": "atan2(a, b)",
    "arctan2": "arctan2(a, b)",
    "hypot": "hypot(a, b)",
    "logaddexp": "logaddexp(a, b)",
    "elu_alpha": "elu(a, alpha=b)",
    "leaky_slope": "leaky_relu(a, negative_slope=b)",
    "clip_low": "clip(a, b, 2)",
    "xlogy": "xlogy(a, b)",
}


# Functions with rows in the array table (tests/test_catalogue.py) or tested as constructors there.
ARRAY_FUNCTIONS = {
    *("sum", "mean", "prod", "max", "min", "var", "std", "logsumexp", "norm", "cumsum", "softmax"),
    *("log_softmax", "matmul", "dot", "transpose", "reshape", "broadcast_to", "concatenate", "stack"),
    *("expand_dims", "squeeze", "flip", "outer", "inner", "trace", "diag", "det", "logdet", "inv"),
    *("solve", "einsum", "grad", "zeros", "ones", "eye", "full", "zeros_like", "ones_like", "where"),
    *("clip", "stop", "round", "trunc", "mod", "fmod", "floor_divide", "deg2rad", "rad2deg", "logaddexp2"),
    *("heaviside", "positive", "negative", "copy", "diagonal", "ravel", "vdot", "kron", "triu", "tril"),
    *("swapaxes", "moveaxis", "matrix_power", "hstack", "vstack", "roll", "tile", "repeat", "fliplr"),
    *("flipud", "cross", "tensordot", "cumprod", "sort", "median", "sinc_maclaurin", "arange", "linspace"),
    *("full_like", "ptp", "average", "diff", "trapezoid", "take", "atleast_1d", "atleast_2d", "atleast_3d"),
    *("column_stack", "dstack", "pad", "logical_and", "logical_or", "logical_xor", "logical_not"),
}


def test_every_language_function_has_a_row():
    """Each function of the language is checked by a row here or in the array table."""
    binary = {BINARY_TEXT[name].split("(")[0] for name in BINARY}
    assert set(model.FUNCTIONS) == set(UNARY) | binary | set(ARRAY_FUNCTIONS)


def _derivatives(text: str, names: list[str], point: dict, order: int) -> list:
    at = {n: parse_literal(repr(float(point[n])), "--at") for n in names}
    result = api.gradient(parse(text), Request(at=at, order=order))
    return [t.value for t in result.gradients]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("order", [1, 2, 3])
def test_unary_derivatives_match_mpmath(name, order):
    reference, points = UNARY[name]
    for x in points:
        (value,) = _derivatives(f"var x = 1.0\ny = {name}(x)\n", ["x"], {"x": x}, order)
        expected = mpmath.diff(lambda t: reference(t), mpmath.mpf(x), order)
        assert math.isclose(float(value), float(expected), rel_tol=1e-9, abs_tol=1e-9), (name, x, order)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("order", [1, 2])
def test_binary_derivatives_match_mpmath(name, order):
    reference, points = BINARY[name]
    text = f"var a = 1.0\nvar b = 1.0\ny = {BINARY_TEXT[name]}\n"
    for a, b in points:
        values = _derivatives(text, ["a", "b"], {"a": a, "b": b}, order)
        for index, value in enumerate(values):
            orders = (order, 0) if index == 0 else (0, order)
            expected = mpmath.diff(reference, (mpmath.mpf(a), mpmath.mpf(b)), orders)
            assert math.isclose(float(value), float(expected), rel_tol=1e-9, abs_tol=1e-9), (name, a, b)


EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan, 1e308, -1e-310]


def _same(a: float, b: float) -> bool:
    """Equal, both NaN, or within 1e-12 relative, or both below 1e-300: the derivative of
    softsign at 1e308 is 1e-616, 0.0 from -(g * out) / b and 1e-308 from SymEngine's
    -x / b**2 (b**2 is inf)."""
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_float64_and_element_views_agree_on_edges(name):
    """The same node evaluated by NumPy (numbers.py) and per element (SymEngine, then the
    Evaluator), value and first derivative, at ordinary, edge and kink inputs."""
    program = parse(f"var x = 1.0\ny = {name}(x)\n")
    request = Request()
    prepared = api.prepare(program, request)
    gradient = api.first_derivatives(prepared)["x"]
    nodes = [prepared.lowered.ir.node("y"), gradient]
    symbols = prepared.lowered.symbols
    element_arrays = elements.evaluate(nodes, symbols)
    (x_symbol,) = symbols["x"].flat
    for x in EDGES:
        with np.errstate(all="ignore"):
            floats = [float(v) for v in numbers.evaluate(nodes, {"x": np.array(x)})]
        evaluator = Evaluator({x_symbol: np.float64(x)})
        per_element = [float(evaluator(a[()])) for a in element_arrays]
        for f, e in zip(floats, per_element):
            assert _same(f, e), (name, x, floats, per_element)


@pytest.mark.parametrize("x, expected", [(0.0, 0.0), (-1.0, 0.0), (2.0, 8 * math.log(2))])
def test_power_exponent_derivative_is_zero_where_the_base_is_not_positive(x, expected):
    """TensorFlow's convention: d(x ** y)/dy uses where(x > 0, log(x), 0)."""
    text = "var x = 1.0\nvar y = 3.0\nf = x ** y\n"
    values = _derivatives(text, ["x", "y"], {"x": x, "y": 3.0}, 1)
    assert math.isclose(values[1], expected, abs_tol=1e-12)
