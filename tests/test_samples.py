"""Every sample runs through every derivative command and agrees with finite differences."""

from pathlib import Path

import numpy as np
import pytest

from gradcli import api
from gradcli.model import Request
from gradcli.parser import parse

from . import oracle
from .oracle import central_gradient

SAMPLES = sorted((Path(__file__).parent.parent / "samples").glob("*.txt"))


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
@pytest.mark.parametrize("command", ["grad", "hessian", "jacobian"])
def test_sample_runs(run, path, command):
    code, out, err = run(path.read_text(), command)
    assert code == 0, err
    assert out.strip() and not err


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_gradients_match_finite_differences(path):
    program = parse(path.read_text(), path.name)
    values = {d.name: np.array(d.literal.value, dtype=float) for d in program.declarations if d.literal}
    result = api.gradient(program, Request())
    for target in result.gradients:
        if target.status != "ok" or target.value is None:
            continue
        if not all(d.literal for d in program.declarations):
            continue
        expected = central_gradient(program, values, result.of, target.name)
        np.testing.assert_allclose(np.array(target.value, float), expected, rtol=1e-6, atol=1e-6)


def _gradients(run_json, name: str, *args) -> dict:
    code, doc, err = run_json((SAMPLE_DIR / name).read_text(), "grad", *args)
    assert code == 0, err
    return {k: np.array(v["value"], dtype=float) for k, v in doc["gradients"].items()}, doc


SAMPLE_DIR = Path(__file__).parent.parent / "samples"


def _declared(name: str) -> dict:
    program = parse((SAMPLE_DIR / name).read_text())
    return {d.name: np.array(d.literal.value, dtype=float) for d in program.declarations}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_softmax_classifier_is_the_textbook_gradient(run_json):
    v = _declared("softmax_classifier.txt")
    delta = (_softmax(v["X"] @ v["W"] + v["b"]) - v["T"]) / 4
    gradients, doc = _gradients(run_json, "softmax_classifier.txt")
    np.testing.assert_allclose(gradients["W"], v["X"].T @ delta, rtol=1e-12)
    np.testing.assert_allclose(gradients["b"], delta.sum(axis=0), rtol=1e-12, atol=1e-15)
    assert (
        doc["gradients"]["W"]["matrix"]
        == "1/4 * X.T @ (softmax(Z, axis=1) * sum(T, axis=1, keepdims=True) - T)"
    )


def test_gaussian_likelihood_is_the_textbook_gradient(run_json):
    v = _declared("gaussian.txt")
    s = v["L"] @ v["L"].T + 0.1 * np.eye(3)
    r = v["X"] - v["mu"]
    inverse = np.linalg.inv(s)
    d_s = -inverse @ (r.T @ r) @ inverse / 2 + 2 * inverse  # symmetric
    gradients, _ = _gradients(run_json, "gaussian.txt")
    np.testing.assert_allclose(gradients["mu"], -inverse @ r.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(gradients["L"], 2 * d_s @ v["L"], rtol=1e-10, atol=1e-12)


def test_layer_norm_is_the_textbook_gradient(run_json):
    v = _declared("layer_norm.txt")
    x, gamma, beta, t = v["X"], v["gamma"], v["beta"], v["T"]
    sigma = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    xhat = (x - x.mean(axis=1, keepdims=True)) / sigma
    d_y = 2 * (gamma * xhat + beta - t) / t.size
    d_xhat = d_y * gamma
    d_x = (
        d_xhat - d_xhat.mean(axis=1, keepdims=True) - xhat * (d_xhat * xhat).mean(axis=1, keepdims=True)
    ) / sigma
    gradients, _ = _gradients(run_json, "layer_norm.txt")
    np.testing.assert_allclose(gradients["gamma"], (d_y * xhat).sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(gradients["beta"], d_y.sum(axis=0), rtol=1e-10)
    np.testing.assert_allclose(gradients["X"], d_x, rtol=1e-8, atol=1e-12)


def test_huber_is_quadratic_inside_and_linear_outside(run_json):
    v = _declared("huber.txt")
    r = v["X"] @ v["w"] - v["y"]
    assert np.any(np.abs(r) <= 1) and np.any(np.abs(r) > 1)  # both branches are taken
    gradients, _ = _gradients(run_json, "huber.txt")
    np.testing.assert_allclose(gradients["w"], v["X"].T @ np.where(np.abs(r) <= 1, r, np.sign(r)), rtol=1e-12)


def test_gradient_penalty_hessian_matches_finite_differences(run_json):
    """The loss holds grad(critic, x); its Hessian in x differentiates that gradient twice more,
    checked against second differences of the oracle (which takes grad(...) by differences too)."""
    program = parse((SAMPLE_DIR / "gradient_penalty.txt").read_text())
    values = _declared("gradient_penalty.txt")
    code, doc, _ = run_json((SAMPLE_DIR / "gradient_penalty.txt").read_text(), "hessian", "--wrt", "x")
    step = 1e-3
    expected = np.zeros((2, 2))
    for i, j in np.ndindex(2, 2):

        def at(a, b, i=i, j=j):
            moved = {k: v.copy() for k, v in values.items()}
            moved["x"][i] += a
            moved["x"][j] += b
            return oracle.loss(program, moved, ["loss"])

        expected[i, j] = (at(step, step) - at(step, -step) - at(-step, step) + at(-step, -step)) / (
            4 * step**2
        )
    np.testing.assert_allclose(np.array(doc["value"]), expected, rtol=1e-4, atol=1e-5)
