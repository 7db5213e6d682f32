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
