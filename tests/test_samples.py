"""Every sample runs through every derivative command and agrees with finite differences."""

from pathlib import Path

import numpy as np
import pytest

from gradcli import api
from gradcli.model import Request
from gradcli.parser import parse

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
