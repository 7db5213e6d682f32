"""Values where an element is inf: the whole-array shortcuts (text Hessians under --symbolic auto,
--symbolic none, check --expect) give the per-element numbers, as JSON does: a zero weight of an
infinite element (a one-hot Hessian row, a slice's gradient) is 0, not NaN (see also
test_structural_zeros.py)."""

import json
import re

import numpy as np
import pytest

# sqrt at 0: d/dx is inf there, every other entry is finite (hand-derived below)
SQRT_AT_ZERO = "var x = [0.0, 1.0, 4.0]\nvar y = 1.0\nf = sum(sqrt(x)) * y\n"


def _row(out: str, label: str) -> list[str]:
    """The cells of the table row `label` (the header starts with a label too: the last match)."""
    *_, line = (line for line in out.splitlines() if line.split()[:1] == [label])
    return line.split()[1:]


def test_a_text_hessian_shows_the_numbers_json_gives(run, run_json):
    # d2f/dx_i2 = -y / (4 x_i^1.5), d2f/dx_i dy = 1 / (2 sqrt(x_i)), d2f/dx_i dx_j = 0
    code, doc, _ = run_json(SQRT_AT_ZERO, "hessian")
    assert code == 0
    assert doc["value"][1] == [0.0, -0.25, 0.0, 0.5] and doc["value"][2] == [0.0, 0.0, -1 / 32, 0.25]
    code, out, _ = run(SQRT_AT_ZERO, "hessian")
    assert code == 0 and "nan" not in out, out
    assert _row(out, "x[1]") == ["0.0", "-0.25", "0.0", "0.5"]
    assert _row(out, "x[0]") == ["-inf", "0.0", "0.0", "inf"]


def test_a_vector_closed_form_with_an_infinite_diagonal_keeps_zeros_off_it(run):
    # f = sum(1 / x): the Hessian is diag(2 / x^3); 2 / (1e-80)^3 = 2e240 overflows (x^2)^2 on the way
    code, out, _ = run("var x = [1e-80, 1.0]\nf = sum(1 / x)\n", "hessian")
    assert code == 0 and "nan" not in out and "inf" not in out, out
    assert _row(out, "x[0]") == ["2e+240", "0.0"] and _row(out, "x[1]") == ["0.0", "2.0"]


SLICED = "var x = [0.0, 1.0, 4.0]\nf = sum(sqrt(x)[1:])\n"  # x[0] is not used: its gradient is 0


def test_symbolic_none_gives_the_per_element_gradient(run_json):
    code, doc, _ = run_json(SLICED, "grad", "--symbolic", "none")
    assert code == 0 and doc["gradients"]["x"]["value"] == [0.0, 0.5, 0.25]


def test_check_accepts_grads_own_output(run, run_json, tmp_path):
    code, doc, _ = run_json(SLICED, "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == [0.0, 0.5, 0.25]
    (tmp_path / "expected.json").write_text(json.dumps(doc))
    code, out, err = run(SLICED, "check", "--expect", str(tmp_path / "expected.json"))
    assert code == 0, out + err


@pytest.mark.parametrize("limit", [(), ("--limit", "elements=1")])
def test_check_lists_plain_numbers(run, limit):
    # |x| ** 0.5 has no derivative at 0: gradcli says NaN, the central difference 0 (a disagreement)
    code, out, _ = run("var x = [0.0, 1.0]\nf = sum(abs(x) ** 0.5)\n", "check", *limit)
    assert code == 3
    assert re.search(r"x\[0\]: expected 0\.0, computed nan$", out, re.M), out


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would reach the user's stderr
def test_a_large_check_with_non_finite_elements_prints_no_python_warning(run, tmp_path):
    values = np.arange(50.0)
    values[3], values[7] = np.nan, np.inf  # elements the program does not use
    np.save(tmp_path / "x.npy", values)
    at = f"x=@{tmp_path / 'x.npy'}"
    code, out, err = run("var x: [50]\nf = sum(x[10:] ** 2)\n", "check", "--at", at, "--limit", "elements=10")
    assert code in (0, 3) and out and err == "", err


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would reach the user's stderr
def test_the_per_element_way_prints_no_python_warning(run_json):
    # NaN on whole arrays, so --symbolic none takes the per-element way, whose object arithmetic
    # on NaN left NumPy's floating-point flags set: "invalid value encountered in multiply"
    code, doc, err = run_json("var x = 1.0\ny = x + sinh((x - x) ** -1)\n", "grad", "--symbolic", "none")
    assert code == 0 and err == "" and doc["gradients"]["x"]["value"] == "nan"


HUGE = "1" + "0" * 400  # an exact integer beyond float64 (about 1e400)


@pytest.mark.parametrize(
    "args",
    [
        ("hessian", "-e", "var x = 2.0; x ** 3", "--grad-ys", f"f={HUGE}"),  # text: whole arrays
        ("grad", "-e", "var x = 2.0; x ** 3", "--grad-ys", f"f={HUGE}", "--symbolic", "none"),
        ("eval", "-e", f"var x = 2.0; y = x * {HUGE}; z = x * -{HUGE}"),
        ("grad", "-e", f"var k = {HUGE}; var x = [1.0, 2.0]; sum(x ** 3) * k", "--limit", "elements=1"),
    ],
)
def test_an_exact_integer_beyond_float64_is_inf_on_whole_arrays(run, args):
    # README: where a float takes part, a result beyond float64's range is "inf" (was exit 4:
    # OverflowError converting the literal to float64)
    code, out, err = run(None, *args)
    assert code == 0 and err == "", err
    assert "inf" in out and "nan" not in out.split("\n")[1], out


def test_an_exact_integer_beyond_float64_evaluates_to_signed_infinities(run_json):
    code, doc, _ = run_json(None, "eval", "-e", f"var x = 2.0; y = x * {HUGE}; z = x * -{HUGE}")
    assert code == 0 and doc["values"] == {"y": "inf", "z": "-inf"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("var y = 1e-300\nvar x = 2.0\nf = 1e200 * (1e200 * y * x)\n", 2e100),  # not inf * y * x
        ("var y = 1e300\nvar x = 2.0\nf = 1e-200 * (1e-200 * y * x)\n", 2e-100),  # not 0 * y * x
        ("var y = 1e-300\nf = 1e200 * (1e200 * y)\n", 1e100),
    ],
)
def test_float_factors_keep_their_order(run_json, text, expected):
    """Only exact numbers are folded together (2 * (3 * y) is 6 * y): float factors multiplied in
    another order overflow or underflow where NumPy, in the order written, does not."""
    code, doc, err = run_json(text, "eval")
    assert code == 0 and doc["values"]["f"] == pytest.approx(expected, rel=1e-15), err
