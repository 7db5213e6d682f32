"""`check` beyond --limit elements: whole-array gradients against finite differences (sampled
elements and random directions) and against expected values."""

import json

import numpy as np
import pytest

from gradcli import whole

LIMIT = ("--limit", "elements=10")  # every program here has an array beyond it: the whole-array path


def _floats(rng, shape) -> str:
    return json.dumps(np.round(rng.uniform(-1.5, 1.5, shape), 3).tolist())


def _program(size: int = 200, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    return (
        f"var x = {_floats(rng, size)}\nconst c = {_floats(rng, size)}\n"
        "f = sum(sin(x) * x ** 2 * c) + sum(x) ** 2 / 10\n"
    )


def test_a_large_target_is_checked_at_sampled_elements_and_along_directions(run_json):
    code, doc, _ = run_json(_program(), "check", *LIMIT)
    assert code == 0 and doc["ok"], doc
    assert doc["targets"]["x"]["note"] == "32 of 200 elements and 4 random directions"
    code, doc, _ = run_json(_program(size=20), "check", *LIMIT)  # small: every element
    assert code == 0 and "note" not in doc["targets"]["x"]


@pytest.mark.parametrize("position", [0, 37, 101, 150, 199])
def test_a_wrong_entry_anywhere_is_caught(run_json, monkeypatch, position):
    """One entry off by 1e-4 of itself, sampled or not: a random direction disagrees."""
    exact = whole.float_gradients

    def wrong(problem, limits):
        gradients = exact(problem, limits)
        gradients["x"] = gradients["x"].copy()
        gradients["x"][position] *= 1 + 1e-4
        return gradients

    monkeypatch.setattr(whole, "float_gradients", wrong)
    code, doc, _ = run_json(_program(), "check", *LIMIT)
    assert code == 3 and not doc["ok"]
    assert any(m["element"].startswith("x along random direction") for m in doc["mismatches"]), doc


@pytest.mark.parametrize(
    "body, options",
    [
        ("a = sum(x ** 2)\nf = stop(a) * sum(sin(x))\n", ()),  # a stop: the partial derivative
        ("a = sum(x ** 2)\nf = a * sum(sin(x))\n", ("--stop", "a")),
        ("h = x * c\nf = sum(tanh(h) * h)\n", ("--wrt", "h")),  # an intermediate target
        ("f = x * c + sin(x)\n", ("--grad-ys", "f=" + json.dumps(list(np.linspace(-2, 2, 40))))),
    ],
)
def test_stops_intermediates_and_weights_are_checked_as_grad_defines_them(run_json, body, options):
    """The same verdict as the per-element check; a check that moved the stops, ignored a
    weight or perturbed the wrong node would disagree with grad's gradient here."""
    rng = np.random.default_rng(1)
    text = f"var x = {_floats(rng, 40)}\nconst c = {_floats(rng, 40)}\n{body}"
    code, doc, _ = run_json(text, "check", *options, *LIMIT)
    assert code == 0 and doc["ok"], doc
    assert doc["targets"][options[1] if options[:1] == ("--wrt",) else "x"]["note"].startswith("32 of 40")
    code, per_element, _ = run_json(text, "check", *options)
    assert code == 0 and per_element["ok"]


def test_expected_values_beyond_the_limit(run, run_json, tmp_path):
    """Against a hand-derived gradient (NumPy), and one wrong element listed by its label."""
    rng = np.random.default_rng(2)
    x = np.round(rng.uniform(-1, 1, (6, 5)), 3)
    text = f"var x = {json.dumps(x.tolist())}\nf = sum(x ** 3) + sum(x[:, 0] * x[:, 1])\n"
    expected = 3 * x**2
    expected[:, 0] += x[:, 1]
    expected[:, 1] += x[:, 0]
    (tmp_path / "right.json").write_text(json.dumps({"x": expected.tolist()}))
    code, doc, _ = run_json(
        text, "check", "--expect", str(tmp_path / "right.json"), "--rtol", "1e-12", *LIMIT
    )
    assert code == 0 and doc["ok"], doc
    expected[4, 3] += 1e-6
    (tmp_path / "wrong.json").write_text(json.dumps({"x": expected.tolist()}))
    code, doc, _ = run_json(text, "check", "--expect", str(tmp_path / "wrong.json"), *LIMIT)
    assert code == 3 and [m["element"] for m in doc["mismatches"]] == ["x[4,3]"]


def test_missing_values_are_named(run):
    code, out, err = run("var x: [40]\nf = sum(x ** 2)\n", "check", *LIMIT)
    assert code == 1 and out == "" and "check needs a value for x" in err
