"""Hostile numbers: every limit is checked before the work it bounds, and ordinary edge cases (huge
exact integers, complex intermediates, many axes) give clean results or exit-1 errors, never exit 4."""

import json

import pytest

BIG = "var a: [100000]\nvar b: [100000, 1]\ny = sum(a * b)\n"  # 10**10 elements: 80 GB of pointers


@pytest.mark.parametrize(
    "expr",
    ["sum(a * b)", "sum(pow(a, b))", "sum(maximum(a, b))"],
)
def test_sizes_are_checked_from_the_shape_before_anything_is_built(run, tmp_path, expr):
    """10**10 elements: per element (C export) the `elements` limit refuses them, on whole arrays
    (grad) the `memory` limit does, both from the shapes before anything is built; a Hessian
    over 200000 elements is refused by the result limit."""
    import numpy as np

    np.save(tmp_path / "a.npy", np.ones(100000))
    np.save(tmp_path / "b.npy", np.ones((100000, 1)))
    text = f"var a: [100000]\nvar b: [100000, 1]\ny = {expr}\n"
    code, out, err = run(text, "export", "--lang", "c")
    assert (
        code == 1 and out == "" and "would have 10000000000 elements" in err and "--limit elements=N" in err
    )
    code, out, err = run(text, "hessian")
    assert code == 1 and out == "" and "would have 40000000000 elements" in err and "--limit result=N" in err
    at = ["--at", f"a=@{tmp_path / 'a.npy'}", "--at", f"b=@{tmp_path / 'b.npy'}"]
    code, out, err = run(text, "grad", *at)
    assert (
        code == 1 and out == "" and "would have 10000000000 elements" in err and "--limit memory=MIB" in err
    )


def test_a_list_beyond_the_element_limit_is_refused_per_element(run):
    code, out, err = run("var a: [100000]\ny = sum([a, a])\n", "export", "--lang", "c")
    assert code == 1 and out == "" and "would have 200000 elements" in err


@pytest.mark.parametrize(
    "text",
    [
        "var x: [" + ", ".join(["1"] * 33) + "]\ny = sum(x)\n",
        "var x = " + "[" * 100 + "1.0" + "]" * 100 + "\ny = sum(x)\n",
        "var x = 1.0\ny = x * " + "[" * 70 + "1" + "]" * 70 + "\n",
    ],
)
def test_more_than_32_axes_is_an_input_error(run, text):
    code, out, err = run(text, "grad")
    assert code == 1 and out == "" and "at most 32 are supported" in err


def test_a_result_of_more_than_32_axes_is_an_input_error(run):
    code, out, err = run("var x: [1, 1, 1, 1]\ny = sum(x * x * x)\n", "grad", "--order", "9")
    assert code == 1 and out == "" and "36 axes" in err


@pytest.mark.parametrize(
    "expr",
    [
        "x * ((3**10000)**10000)**10000",  # each ** within --limit exponent; killed the process
        "x * (3**10000)**11",  # 174,000 bits
        "(2*x)**200000",  # SymEngine computes 2**200000 * x**200000
        "sqrt(3)**300000 * x",  # 3**150000
        "x * 3**9000 * 3**9000 * 3**9000 * 3**9000 * 3**9000 * 3**9000 * 3**9000 * 3**9000",
        "square(square(square(square(3**9000)))) * x",
    ],
)
def test_exact_constants_are_bounded_by_bits_before_they_are_computed(run, expr):
    code, out, err = run(f"var x = 1.0\ny = {expr}\n", "grad", "--limit", "exponent=1000000")
    assert code == 1 and out == "" and "--limit bits=N" in err


def test_many_exact_numbers_together_are_bounded(run):
    text = "var W: [100, 100]\na = 3**3000 + 0*W\nb = a @ a\ny = sum(b * W)\n"  # 10**6 products
    code, out, err = run(text, "grad", "--symbolic", "none")
    assert code == 1 and out == "" and "1000000 exact numbers of up to" in err


def test_cancelling_exact_constants_within_the_limit_are_fine(run_json):
    code, doc, err = run_json("var x = 2\ny = x * 3**9000 * 3**9000 / 3**8999 / 3**9000\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == 3


@pytest.mark.parametrize("expr", ["sqrt(-1)", "log(-2.0)", "(-1.0)**0.5", "log(-2)", "sqrt(-3) + 1"])
@pytest.mark.parametrize("command", ["grad", "hessian", "jacobian", "check"])
def test_complex_intermediates_are_nan_as_in_numpy(run_json, expr, command):
    code, doc, err = run_json(f"var x = 1.5\ny = x * {expr}\n", command)
    if command == "check":  # L is NaN, so are its finite differences: they agree
        assert code == 0 and doc["ok"] is True
    elif command == "grad":
        result = dict(doc["gradients"]["x"])
        assert result.pop("matrix")  # the whole-array form is the expression as written
        assert code == 0 and result == {"status": "ok", "shape": [], "symbolic": "nan", "value": "nan"}
    else:
        assert code == 0 and doc["value"][0][0] in ("nan", 0.0)  # the Hessian of x * nan simplifies to 0


def test_complex_intermediates_without_values(run_json):
    code, doc, err = run_json("var x\ny = x * sqrt(-1) + log(-2.0) * x ** 2\n", "grad")
    result = doc["gradients"]["x"]
    assert code == 0 and "nan" in result["symbolic"] and "I" not in result["symbolic"]
    assert result["value"] is None and result["needs"] == ["x"]


def test_exact_integers_beyond_float64_stay_exact(run):
    text = "var x = 100\ny = x**200\n"
    code, out, err = run(text, "grad", "--format", "json")
    assert code == 0 and json.loads(out)["gradients"]["x"]["value"] == 200 * 100**199
    code, out, err = run(text, "hessian", "--format", "json")
    assert code == 0 and json.loads(out)["value"] == [[200 * 199 * 100**198]]
    code, out, err = run(text, "jacobian", "--format", "json")
    assert code == 0 and json.loads(out)["value"] == [[200 * 100**199]]
    code, out, err = run(text, "grad")
    assert code == 0 and str(200 * 100**199) in out


def test_a_float_result_beyond_float64_is_inf(run_json):
    code, doc, err = run_json("var x = 100\nvar w = 1.0\ny = x**200 * w\n", "grad")
    assert code == 0 and doc["gradients"]["w"]["value"] == "inf"
    assert doc["gradients"]["x"]["value"] == "inf"  # a float (w) takes part
    code, doc, err = run_json(
        "var x = 100\nvar w = 1.0\ny = x**200 * w * w\n", "hessian", "--symbolic", "none"
    )
    assert code == 0 and doc["value"][1][1] == "inf"


@pytest.mark.parametrize("option", ["--grad-ys", "--at"])
def test_an_option_literal_with_many_axes_is_an_input_error(run, option):
    name = "y" if option == "--grad-ys" else "x"
    code, out, err = run("var x = 1.0\ny = x * 2\n", "grad", option, f"{name}=" + "[" * 70 + "1" + "]" * 70)
    assert code == 1 and out == "" and "shape" in err


def test_exact_integers_beyond_float64_compare_exactly(run_json):
    big = str(10**400)
    text = f"var x = 1\ny = x * (maximum({big}, 10 * {big}) - 10 * {big}) + relu(x - {big})\n"
    code, doc, err = run_json(text, "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == 0


@pytest.mark.parametrize("base, sign", [("1", 1), ("(-1)", -1), ("pow(-1, 2)", 1)])
def test_a_power_of_one_or_minus_one_beyond_two_to_the_64(run_json, base, sign):
    exponent = 10**40 + 1
    code, doc, err = run_json(f"var x = 2.0\ny = x * {base} ** {exponent}\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == sign


def test_exact_results_over_4300_digits_print_in_full(run_json):
    code, doc, err = run_json("var x = 3\ny = x**9500\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == 9500 * 3**9499


def test_integer_literals_over_4300_digits(run_json, run):
    code, doc, err = run_json("var x = " + "9" * 5000 + "\ny = x * 2\n", "grad")
    assert code == 0 and doc["gradients"]["x"]["value"] == 2
    code, out, err = run("var x = " + "9" * 40000 + "\ny = x * 2\n", "grad")
    assert code == 1 and out == "" and "40000 digits" in err


def test_plot_of_curves_without_finite_values(run):
    code, out, err = run("var w1 = 6\nd1 = log(w1 - 10)\n", "plot", "--wrt", "w1", "--range", "0:2")
    assert code == 0 and "dL/dw1" in out  # L is nan there, its derivative is not
    code, out, err = run("var x = 1.0\ny = sqrt(-1 - x * x)\n", "plot", "--wrt", "x")
    assert code == 1 and out == "" and "not finite" in err


@pytest.mark.parametrize("expr", ["sinh((x - x) ** -1)", "atan(1 / (x - x))"])
def test_functions_of_complex_infinity_are_nan(run_json, expr):
    code, doc, err = run_json(f"var x = 1.0\ny = x + {expr}\n", "grad", "--symbolic", "none")
    assert code == 0, err


def test_a_constant_complex_infinity_is_a_located_error(run):
    code, out, err = run("var x = 1.0\ny = x + sin(pow(0 * x, -1))\n", "grad")  # 0 * x is 0
    assert code == 1 and out == "" and "undefined for its constant inputs" in err


def test_check_needs_values_of_its_targets(run):
    code, out, err = run("var w: [2]\nvar v = 1.0\ny = sum(w) * 0 + v\n", "check", "--wrt", "w,v")
    assert code == 1 and out == "" and "needs a value for w" in err


def test_grad_ys_with_more_than_32_axes(run):
    weights = "[" * 40 + "1" + "]" * 40
    args = ["hessian", "--grad-ys", f"y={weights}", "--symbolic", "none"]
    code, out, err = run("var x: [2]\ny = x * 2\n", *args)
    assert code == 1 and out == "" and ("32" in err or "shape" in err)


def test_plot_at_a_huge_current_value(run):
    code, out, err = run("var x = 1e308\ny = x * 2\n", "plot", "--wrt", "x", "--range", "-1:1")
    assert code in (0, 1) and "internal error" not in err


@pytest.mark.filterwarnings("error")  # a RuntimeWarning would reach the user's stderr
@pytest.mark.parametrize("limit", ["100000", "2"])
def test_finite_differences_of_an_overflowing_loss_warn_nothing(run_json, limit):
    """x**2 at x = 1e200 is inf on each side: the differences inf - inf are NaN, which do not
    agree with the gradient 2e200 (exit 3); NumPy's RuntimeWarnings about them reached stderr."""
    code, doc, err = run_json("var x = 1e200\nf = x ** 2\n", "check", "--limit", f"elements={limit}")
    assert code == 3 and err == ""
    assert doc["ok"] is False and doc["mismatches"][0]["expected"] == "nan"
    assert doc["mismatches"][0]["computed"] == 2e200


@pytest.mark.parametrize("command", ["grad", "hessian", "jacobian"])
@pytest.mark.parametrize("limit", ["100000", "2"])
def test_an_empty_declaration_with_huge_other_sizes_is_refused_at_its_place(run, command, limit):
    """var v: [3000000000, 3000000000, 0] has no elements, but NumPy cannot make it (its other
    sizes multiply beyond its index range): an internal error (exit 4), now the elements limit's."""
    code, out, err = run(
        "var v: [3000000000, 3000000000, 0]\nx = sum(v)\n", command, "--limit", f"elements={limit}"
    )
    assert code == 1 and out == "" and "Traceback" not in err
    assert ":1:5: error: 'v' is empty, but its other sizes multiply to 9000000000000000000" in err


def test_an_empty_declaration_within_the_limit_has_an_empty_gradient(run_json):
    code, doc, err = run_json("var v: [3, 0]\nx = sum(v)\n", "grad")
    assert code == 0, err
    assert doc["L"] == 0 and doc["gradients"]["v"]["value"] == [[], [], []]
