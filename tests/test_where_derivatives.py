"""Derivatives through `where`, per element and on whole arrays, at points where a branch's
derivative is infinite or NaN. Expected values are hand-derived; JAX's (jax.jacrev for first
derivatives, jax.hessian = forward-over-reverse for second) are the same numbers, as noted."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.cli import cli

PATHS = [(), ("--symbolic", "none")]

# d/dx sqrt(where(x > 1, 0.0, x)): 0 at x = 2 (the constant branch is taken, although the adjoint
# reaching `where` is 1 / (2 sqrt(0)) = inf); x ** -0.5 / 2 and its derivatives at x = 0.5.
INFINITE_ADJOINT = "var x = [2.0, 0.5]\nz = sum(sqrt(where(x > 1, 0.0, x)))\n"


def _values(out):
    return np.array(out["value"], dtype=float)


@pytest.mark.parametrize("path", PATHS)
def test_an_infinite_adjoint_gives_the_untaken_branch_zero(run_json, path):
    first = 0.5 * 0.5**-0.5
    code, out, _ = run_json(INFINITE_ADJOINT, "jacobian", "--of", "z", *path)
    assert code == 0
    assert _values(out).tolist() == [[0.0, pytest.approx(first, rel=1e-15)]]  # jax.jacrev: [0, 0.7071...]
    code, out, _ = run_json(INFINITE_ADJOINT, "hessian", "--of", "z", *path)
    assert code == 0
    hessian = _values(out)
    assert hessian[0].tolist() == [0.0, 0.0] and hessian[1, 0] == 0.0  # jax.hessian: 0 (NaN before)
    assert hessian[1, 1] == pytest.approx(-0.25 * 0.5**-1.5, rel=1e-14)


def test_higher_orders_through_where_discard_the_untaken_branch(run_json):
    code, out, _ = run_json(INFINITE_ADJOINT, "grad", "--of", "z", "--order", "3")
    assert code == 0
    third = np.array(out["gradients"]["x"]["value"], dtype=float)
    expected = np.zeros((2, 2, 2))
    expected[1, 1, 1] = 0.375 * 0.5**-2.5
    assert np.allclose(third, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("path", PATHS)
def test_a_nan_derivative_of_the_untaken_branch_stays_nan_in_first_derivatives(run_json, path):
    # d/dx where(x > 1, sqrt(x - 1), 0.0) at x = 0.5: 0 * (1 / (2 sqrt(-0.5))) = NaN in reverse mode,
    # as grad, TensorFlow and jax.jacrev give (the well-known where/NaN pitfall); 1/2 at x = 2.
    text = "var x = [2.0, 0.5]\nz = sum(where(x > 1, sqrt(x - 1), 0.0))\n"
    code, out, _ = run_json(text, "jacobian", "--of", "z", *path)
    assert code == 0
    row = _values(out)[0]
    assert row[0] == 0.5 and math.isnan(row[1])
    code, out, _ = run_json(text, "grad", "--of", "z", *path)
    assert out["gradients"]["x"]["value"] == [0.5, "nan"]


def test_a_hessian_whose_gradient_is_nan_stays_nan(run_json):
    # where(x == 0, 3.0, log(x)) * x at x = 0: the gradient is 3 + 0 / 0 = NaN (jax.grad: NaN), so
    # is its derivative; at x = 0.5 the second derivative is 1 / x = 2.
    text = "var x = [0.0, 0.5]\nz = sum(where(x == 0, 3.0, log(x)) * x)\n"
    code, out, _ = run_json(text, "hessian", "--of", "z")
    assert code == 0
    hessian = _values(out)
    assert math.isnan(hessian[0, 0]) and hessian[1, 1] == pytest.approx(2.0, rel=1e-15)


BRANCHES = ["sqrt(x)", "log(x)", "1 / x", "x ** 2", "sqrt(x - 1)", "exp(x)", "0.0", "3.0", "x"]
OUTER = ["{}", "sqrt({})", "log({})", "1 / ({})", "({}) ** 3", "tanh({})"]
CONDITIONS = ["x > 1", "x >= 0", "x < 0.5", "x == 0"]
POINTS = [-1.0, 0.0, 0.5, 1.0, 1.5, 2.0]


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(BRANCHES), st.sampled_from(BRANCHES), st.sampled_from(OUTER), st.sampled_from(CONDITIONS),
    st.booleans(), st.lists(st.sampled_from(POINTS), min_size=3, max_size=3),
)  # fmt: skip
def test_per_element_hessian_is_the_whole_array_one(a, b, outer, condition, times_x, xs):
    """The per-element sweeps and the whole-array seeded rows agree, at points chosen to sit on kinks,
    poles and outside domains; off the diagonal both give the structural 0 of independent elements
    (JAX gives NaN there: 0 * NaN); a non-finite entry may be inf one way and NaN the other
    (`sqrt(sqrt(x))`'s at 0)."""
    body = outer.format(f"where({condition}, {a}, {b})")
    text = f"var x = {xs}\nz = sum({body}{' * x' if times_x else ''})\n"
    results = []
    for path in PATHS:
        result = CliRunner().invoke(cli, ["hessian", "-", "--of", "z", "--format", "json", *path], input=text)
        assert result.exit_code == 0, result.output
        results.append(_values(json.loads(result.stdout)))
    per_element, whole = results
    finite = np.isfinite(per_element)
    assert (finite == np.isfinite(whole)).all(), (text, per_element, whole)  # inf or NaN may differ
    scale = max(1.0, float(np.max(np.abs(per_element[finite]), initial=0.0)))
    close = np.allclose(per_element[finite], whole[finite], rtol=1e-9, atol=1e-14 * scale)
    assert close, (text, per_element, whole)
