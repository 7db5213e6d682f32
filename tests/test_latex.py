"""LaTeX output of results that have no symbolic form: skipped, elided or never built."""

import pytest


@pytest.mark.parametrize(
    "args", [("--symbolic", "none"), ("--order", "2", "--symbolic", "none"), ("--order", "3")]
)
def test_results_without_expressions_are_a_text_line(run, args):
    text = "var w = [0.5, -1.0]\ny = sum(tanh(w) ** 2) * sum(sin(w * w) ** 3)\n"
    code, out, err = run(text, "grad", "--format", "latex", *args)
    assert code == 0 and err == ""
    assert r"\text{elided: " in out and out.startswith(r"\begin{align*}")


def test_infinite_and_nan_constants_are_printed_not_compared(run):
    """SymPy's assumptions and term ordering compare numbers, and NaN compares with nothing."""
    text = "var w = 1.5\nvar v = [0.5, 2.0]\ny = cosh(w * -1e999) + w * (0.0 * 1e999) + sum(v * 1e999)\n"
    code, out, err = run(text, "grad", "--format", "latex", "--symbolic", "full")
    assert code == 0 and err == ""
    assert r"\infty" in out and r"\mathrm{NaN}" in out
