"""Regressions found by the differential fuzzer against JAX (fuzz/jax_diff.py).

Each test states the expected value from an independent oracle (a hand derivation, or JAX's value
with the JAX expression in a comment). Tests marked xfail(strict=True) are open bugs: the fix flips
them (remove the mark).
"""

import math

import pytest


def values(doc):
    return [[float(v) for v in row] for row in doc["value"]]


@pytest.mark.parametrize("symbolic", ["auto", "none"])
def test_hessian_of_separable_where_sqrt_keeps_structural_zeros(run_json, symbolic):
    # y = sum(f(w_i)): a sum of functions of one element each, so every mixed second derivative
    # d2y / dw0 dw1 is 0 (hand-derived), whatever f'' is at w0 = -1 (there sqrt(-1) is NaN in the
    # untaken branch and the diagonal entry is NaN, as JAX gives). The per-element path
    # (--symbolic auto) gives [[nan, 0], [0, h]]; the whole-array path (--symbolic none, floats)
    # gave NaN off the diagonal, against README's "higher orders and Hessians are the same numbers
    # either way" and "whole arrays keep the same zeros".
    program = "var w = [-1.0, 0.5]\ny = sum(sin(where(w > 0, sqrt(w), 0)))\n"
    code, doc, _ = run_json(program, "hessian", "--symbolic", symbolic)
    assert code == 0
    h = values(doc)
    assert h[0][1] == 0.0 and h[1][0] == 0.0
    assert math.isnan(h[0][0])
    s = math.sqrt(0.5)  # d2/dw2 sin(sqrt(w)) = -sin(sqrt(w)) / (4 w) - cos(sqrt(w)) / (4 w ** 1.5)
    assert h[1][1] == pytest.approx(-math.sin(s) / 2 - math.cos(s) / (4 * 0.5**1.5), rel=1e-12)


def test_hessian_of_log_of_where_at_the_guarded_point(run_json):
    # The where NaN-vs-0 difference (fixed: where selects): the gradient is 0 at x = 0
    # (grad gives 0.0, as JAX), and so is its derivative in JAX:
    #   jax.hessian(lambda x: jnp.log(jnp.where(x > 0, x, 0.0)))(0.0) == 0.0
    # and gradcli's whole-array path (--symbolic none) gives 0.0 too; per element it gave NaN.
    code, doc, _ = run_json("var x = 0.0\ny = log(where(x > 0, x, 0))\n", "hessian")
    assert code == 0
    assert values(doc) == [[0.0]]


def test_jacobian_of_sqrt_of_where_agrees_with_grad(run_json):
    # y = sqrt(where(x > 0, x, 0)) element-wise at x = [0, 2, -1]: the safe-where pattern. JAX:
    #   jax.jacobian(lambda x: jnp.sqrt(jnp.where(x > 0, x, 0.0)))(jnp.array([0.0, 2.0, -1.0]))
    #   == diag([0, 1 / (2 sqrt(2)), 0])
    # gradcli's own grad (the column sums of this diagonal Jacobian) gives [0, 0.3535..., 0] too,
    # but jacobian gave NaN on the diagonal at x = 0 and x = -1 (and hessian NaN there as well).
    program = "var x = [0.0, 2.0, -1.0]\ny = sqrt(where(x > 0, x, 0))\n"
    code, grad, _ = run_json(program, "grad")
    assert code == 0
    assert [float(v) for v in grad["gradients"]["x"]["value"]] == pytest.approx(
        [0.0, 2**-1.5, 0.0], abs=1e-15
    )
    code, doc, _ = run_json(program, "jacobian")
    assert code == 0
    got = [v for row in values(doc) for v in row]
    assert got == pytest.approx([0.0, 0.0, 0.0, 0.0, 2**-1.5, 0.0, 0.0, 0.0, 0.0], abs=1e-15)


@pytest.mark.xfail(
    strict=True, reason="whole-array second derivative differs from the per-element one at w = 0"
)
def test_second_derivative_of_sqrt_cubed_at_zero_is_the_same_on_both_paths(run_json):
    # d2/dw2 sqrt(w) ** 3 = d2/dw2 w ** (3/2) = 3 / (4 sqrt(w)): +inf at w = 0 (hand-derived; the
    # one-sided limit). Per element (--symbolic auto) gradcli gives inf; on whole arrays
    # (--symbolic none, floats) it gave NaN (the chain rule's 0 * inf, as JAX's
    # jax.hessian(lambda w: jnp.sqrt(w) ** 3)(0.0) is NaN), against README's "higher orders and
    # Hessians are the same numbers either way". Likewise sum(sqrt(w) ** 2) at w = -1: per element
    # 0 (simplified to w, as README documents), whole arrays NaN.
    program = "var w = [0.0, 0.5]\ny = sum(sqrt(w) ** 3)\n"
    for symbolic in ("auto", "none"):
        code, doc, _ = run_json(program, "grad", "--order", "2", "--symbolic", symbolic)
        assert code == 0
        h = doc["gradients"]["w"]["value"]
        assert h[0][0] == "inf", symbolic
        assert float(h[1][1]) == pytest.approx(0.75 / math.sqrt(0.5), rel=1e-12)


@pytest.mark.parametrize(
    ("program", "want"),
    [
        # jax.jacobian(lambda x: jnp.sum(jnp.sqrt(jnp.sort(x))))(jnp.array([1.0, 0.0, 2.0]))
        #   == [0.5, inf, 0.35355339059327373]
        ("var x = [1.0, 0.0, 2.0]\ny = sum(sqrt(sort(x)))\n", [0.5, math.inf, 2**-1.5]),
        # jax.jacobian(lambda x: jnp.sqrt(jnp.median(x) - 0.5))(jnp.array([1.0, 0.0, 0.5]))
        #   == [0.0, 0.0, inf]
        ("var x = [1.0, 0.0, 0.5]\ny = sqrt(median(x) - 0.5)\n", [0.0, 0.0, math.inf]),
    ],
)
def test_jacobian_of_a_scalar_through_sort_is_its_gradient(run_json, program, want):
    # A scalar output's Jacobian row is its gradient: gradcli's grad gives `want` (as JAX), but
    # jacobian gave NaN where grad has 0 or a finite number (the sorted position's permutation
    # weights, 0 for the other elements, times the infinite derivative of sqrt at 0).
    code, grad, _ = run_json(program, "grad")
    assert code == 0
    assert [float(v) for v in grad["gradients"]["x"]["value"]] == pytest.approx(want, rel=1e-12)
    code, doc, _ = run_json(program, "jacobian")
    assert code == 0
    assert values(doc)[0] == pytest.approx(want, rel=1e-12)


@pytest.mark.xfail(
    strict=True, reason="a constant log(0) or 1 / 0 in where's untaken branch is refused when exact"
)
@pytest.mark.parametrize("branch", ["log(0)", "1 / 0", "log([0, 1])"])
def test_exact_undefined_constant_in_an_untaken_branch_is_not_refused(run_json, branch):
    # NumPy: np.where(False, np.log(0), 1) == 1 (log(0) is -inf, 1 / 0 is inf; neither is taken),
    # so d(x * 1)/dx = 1. gradcli gives 1.0 for the float `log(0.0)`, but refused the exact
    # `log(0)` and `1 / 0` ("undefined for its constant inputs"; `1 / 0.0` is refused as well).
    program = f"var x = 2.0\ny = x * where(0 > 0, {branch}, 1)\n"
    code, doc, _ = run_json(program, "grad")
    assert code == 0
    assert float(doc["gradients"]["x"]["value"]) == 1.0
