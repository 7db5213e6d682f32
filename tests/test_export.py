"""Exported NumPy and C code reproduces gradcli's own values."""

import importlib.util
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from gradcli import api, export
from gradcli.model import Request
from gradcli.parser import parse, parse_literal

from .programs import VALUES, VARIABLES, program


def _load_module(path):
    spec = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected(prog, values, outputs):
    request = Request(
        of=tuple(outputs), at={k: parse_literal(repr(v.tolist()), "--at") for k, v in values.items()}
    )
    result = api.gradient(prog, request)
    return {t.name: None if t.value is None else np.array(t.value, dtype=float) for t in result.gradients}


def _close(actual, expected):
    scale = max(1.0, float(np.max(np.abs(expected)))) if np.size(expected) else 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * scale)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(program(), VALUES)
def test_exported_numpy_matches_gradcli(tmp_path_factory, generated, values):
    text, outputs, _ = generated
    prog = parse(text, "random.txt")
    path = tmp_path_factory.mktemp("export") / "exported.py"
    path.write_text(export.numpy_module(prog, Request(of=tuple(outputs))))
    loss, gradients = _load_module(path).evaluate(**values)
    expected = _expected(prog, values, outputs)
    for name, value in expected.items():
        if value is None:
            assert gradients[name] is None
        else:
            _close(gradients[name], value)
    assert np.isfinite(loss)


HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
void gradcli_eval(const double *in, double *out);
int main(int argc, char **argv) {
    int n_in = atoi(argv[1]), n_out = atoi(argv[2]);
    double *in = malloc(sizeof(double) * (n_in + 1)), *out = malloc(sizeof(double) * n_out);
    for (int i = 0; i < n_in; i++) in[i] = strtod(argv[3 + i], NULL);
    gradcli_eval(in, out);
    for (int i = 0; i < n_out; i++) printf("%.17g\n", out[i]);
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(program(), VALUES)
def test_exported_c_compiles_and_matches_gradcli(tmp_path_factory, generated, values):
    text, outputs, _ = generated
    prog = parse(text, "random.txt")
    work = tmp_path_factory.mktemp("c")
    (work / "model.c").write_text(export.c_source(prog, Request(of=tuple(outputs))))
    (work / "main.c").write_text(HARNESS)
    subprocess.run(["cc", "-c", "model.c"], cwd=work, check=True, capture_output=True)
    subprocess.run(["cc", "-o", "run", "model.o", "main.c", "-lm"], cwd=work, check=True, capture_output=True)
    inputs = [float(x) for name in VARIABLES for x in np.ravel(values[name])]
    expected = _expected(prog, values, outputs)
    n_out = 1 + sum(np.size(values[name]) for name in VARIABLES)
    result = subprocess.run(
        ["./run", str(len(inputs)), str(n_out), *map(repr, inputs)],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    )
    numbers = [float(line) for line in result.stdout.split()]
    position = 1
    for name in VARIABLES:
        size = int(np.size(values[name]))
        got = np.array(numbers[position : position + size]).reshape(np.shape(values[name]))
        position += size
        if expected[name] is None:
            assert np.all(got == 0.0)
        else:
            _close(got, expected[name])


def test_export_cli_writes_a_file_and_c_compiles_with_no_flag(run, tmp_path):
    target = tmp_path / "seed3.py"
    code, out, err = run(
        "var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0\nb = stop(a) * w2\n",
        "export",
        "--lang",
        "numpy",
        "--output",
        str(target),
    )
    assert code == 0 and out == ""
    loss, gradients = _load_module(target).evaluate()
    assert loss == 12.0 and gradients == {"w1": None, "w2": pytest.approx(6.0)}
    loss, gradients = _load_module(target).evaluate(w1=1.0, w2=5.0)
    assert loss == 15.0 and float(gradients["w2"]) == 3.0
    code, out, err = run("var x = [1.0, 2.0]\nconst c = 3\ny = sum(relu(x) * c)\n", "export", "--lang", "c")
    assert "in[0..1]  x, shape [2]" in out and "out[1..2]  d L / d x" in out
    (tmp_path / "m.c").write_text(out)
    if shutil.which("cc"):
        subprocess.run(["cc", "-c", "m.c"], cwd=tmp_path, check=True)


def test_exported_module_checks_its_arguments(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(export.numpy_module(parse("var x: [2]\ny = sum(x * x)\n"), Request()))
    module = _load_module(path)
    with pytest.raises(TypeError, match="missing values"):
        module.evaluate()
    with pytest.raises(ValueError, match="shape"):
        module.evaluate(x=[1.0, 2.0, 3.0])
    loss, gradients = module.evaluate(x=np.array([1.0, -2.0]))
    assert loss == 5.0 and gradients["x"].tolist() == [2.0, -4.0]


CATALOGUE_PROGRAM = """var x = [0.5, -1.25, 2.0]
var A = [[2.0, 0.5], [0.5, 1.0]]
a = sum(log1p(x ** 2) + expm1(x) + log2(x ** 2) + log10(x ** 2) + cbrt(x) + floor(x) + ceil(x) + round(x))
b = sum(erf(x) + erfc(x) + asinh(x) + acosh(x ** 2 + 1) + atanh(x / 3) + atan2(x, 1.5) + hypot(x, 1.0))
c = sum(where(x > 0, x, 2 * x) * (x >= 0) + (x < 1) + (x <= 1) + (x == 2.0) + (x != 2.0) + gelu(x) + elu(x))
d = logsumexp(x) + max(x) + min(x) + sum(softmax(x) * x) + sum(log_softmax(x)) + logaddexp(x[0], x[1])
f = logdet(A) + det(A) + sum(inv(A)) + sum(solve(A, [1.0, 2.0])) + pi * e + prod(x) + norm(x, ord=inf)
y = a + b + c + d + f
"""


def test_exported_code_covers_the_catalogue(tmp_path):
    """Every element function SymEngine lacks (ops.ELEMENT_FUNCTIONS) and the matrix functions, in
    exported NumPy and C, give gradcli's values."""
    from gradcli import ops

    prog = parse(CATALOGUE_PROGRAM)
    used = set(export.plan(prog, Request()).element_functions)
    assert used == set(ops.ELEMENT_FUNCTIONS)
    expected = _expected(prog, {}, ["y"])
    path = tmp_path / "m.py"
    path.write_text(export.numpy_module(prog, Request()))
    _, gradients = _load_module(path).evaluate()
    for name in ("x", "A"):
        _close(gradients[name], expected[name])
    if shutil.which("cc") is None:
        return
    (tmp_path / "model.c").write_text(export.c_source(prog, Request()))
    (tmp_path / "main.c").write_text(HARNESS)
    subprocess.run(["cc", "-c", "model.c"], cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(
        ["cc", "-o", "run", "model.o", "main.c", "-lm"], cwd=tmp_path, check=True, capture_output=True
    )
    inputs = [0.5, -1.25, 2.0, 2.0, 0.5, 0.5, 1.0]
    result = subprocess.run(
        ["./run", "7", "8", *map(repr, inputs)], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    numbers = [float(line) for line in result.stdout.split()]
    _close(np.array(numbers[1:4]), expected["x"])
    _close(np.array(numbers[4:]).reshape(2, 2), expected["A"])
