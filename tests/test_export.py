"""Exported NumPy and C code reproduces gradcli's own values."""

import importlib.util
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from gradcli import api, export, numpy_export
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
    path.write_text(numpy_export.numpy_module(prog, Request(of=tuple(outputs))))
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
    path.write_text(numpy_export.numpy_module(parse("var x: [2]\ny = sum(x * x)\n"), Request()))
    module = _load_module(path)
    with pytest.raises(TypeError, match="missing values"):
        module.evaluate()
    with pytest.raises(ValueError, match="shape"):
        module.evaluate(x=[1.0, 2.0, 3.0])
    loss, gradients = module.evaluate(x=np.array([1.0, -2.0]))
    assert loss == 5.0 and gradients["x"].tolist() == [2.0, -4.0]


def test_exported_numpy_is_whole_array_code_whatever_the_size(tmp_path):
    """A 300x200 layer exports as a few whole-array statements, and the module's gradient equals
    NumPy's hand-written one."""
    text = "const X: [300, 200]\nvar W: [200, 10]\nh = tanh(X @ W)\nL = sum(h ** 2) / 2\n"
    source = numpy_export.numpy_module(parse(text, "big.txt"), Request())
    assert len(source.splitlines()) < 60
    path = tmp_path / "big.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("big", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(300, 200)), rng.normal(size=(200, 10)) * 0.1
    loss, gradients = module.evaluate(X=x, W=w)
    h = np.tanh(x @ w)
    np.testing.assert_allclose(loss, np.sum(h**2) / 2, rtol=1e-12)
    np.testing.assert_allclose(gradients["W"], x.T @ (h * (1 - h**2)), rtol=1e-10)


def test_exported_numpy_names_and_file_names_cannot_inject_code(tmp_path):
    name = 'q"""; import os; os.system("touch PWNED"); """.txt'
    source = numpy_export.numpy_module(parse("var lambda_ = 1.0\nclass_ = lambda_ * 2\n", name), Request())
    path = tmp_path / "m.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("m", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert name == module.SOURCE and not (tmp_path / "PWNED").exists()
    assert module.evaluate()[1]["lambda_"] == 2.0


def _compile_and_run(tmp_path, source: str, inputs: list[float], n_out: int) -> list[float]:
    (tmp_path / "model.c").write_text(source)
    (tmp_path / "main.c").write_text(HARNESS)
    subprocess.run(
        ["cc", "-o", "run", "model.c", "main.c", "-lm"], cwd=tmp_path, check=True, capture_output=True
    )
    result = subprocess.run(
        ["./run", str(len(inputs)), str(n_out), *map(repr, inputs)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    return [float(line) for line in result.stdout.split()]


NON_FINITE = (
    "const c = [1e999, -1e999]\nvar x = 2.0\ny = x * c[0] + x * c[1] * 0 + x * log(0.0) + x * sqrt(-1)\n"
)


def test_infinite_nan_and_complex_constants_give_code_that_runs(tmp_path):
    program = parse(NON_FINITE)
    (tmp_path / "m.py").write_text(numpy_export.numpy_module(program, Request()))
    loss, gradients = _load_module(tmp_path / "m.py").evaluate()
    assert np.isnan(loss) and np.isnan(gradients["x"])
    (x,) = api.gradient(program, Request()).gradients
    assert x.value == "nan" or np.isnan(x.value)
    source = export.c_source(program, Request())
    assert not re.search(r"\b(inf|I|Infinity|nan)\b", source)  # undeclared in C
    if shutil.which("cc"):
        out = _compile_and_run(tmp_path, source, [2.0], 2)
        assert np.isnan(out[0]) and np.isnan(out[1])


def test_an_infinite_declared_value_is_a_python_float(tmp_path):
    program = parse("var x = [1.0, 1e999]\ny = sum(x * x)\n")
    (tmp_path / "m.py").write_text(numpy_export.numpy_module(program, Request()))
    loss, gradients = _load_module(tmp_path / "m.py").evaluate()
    assert loss == np.inf and gradients["x"].tolist() == [2.0, np.inf]


@pytest.mark.parametrize(
    "name",
    [
        'q"""; import os; os.system("touch PWNED"); """.txt',
        "q'''; import os; os.system('touch PWNED'); '''.txt",
        "x\\\n__import__('os').system('touch PWNED')\n#.txt",
        "c */ int pwned; /* .txt",
        "d\\\n*/ int pwned; /*.txt",
    ],
)
def test_a_file_name_reaches_generated_code_only_as_an_escaped_literal(run, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("var x = 2.0\ny = x * x\n")
    code, module, err = run(None, "export", name, "--lang", "numpy")
    assert code == 0, err
    (tmp_path / "m.py").write_text(module)
    loaded = _load_module(tmp_path / "m.py")
    assert not (tmp_path / "PWNED").exists() and name == loaded.SOURCE
    code, source, err = run(None, "export", name, "--lang", "c")
    header = source[: source.index("*/") + 2]  # the comment ends where it should, once
    assert code == 0 and header.count("/*") == 1 and header.endswith("row-major\n */")
    assert "pwned" not in source[len(header) :]
    if shutil.which("cc"):
        assert _compile_and_run(tmp_path, source, [2.0], 2) == [4.0, 4.0]


def test_large_sums_are_printed_in_linear_time(tmp_path, monkeypatch):
    """SymPy's term ordering compares every term with every generator: quadratic. A sum of 150
    terms must be printed without it (in export and in LaTeX)."""
    import sympy
    from sympy.core.expr import Expr

    ordered = Expr.as_ordered_terms

    def refuse_large(self, *args, **kwargs):
        assert len(self.args) <= 100, "a large sum was sorted"
        return ordered(self, *args, **kwargs)

    monkeypatch.setattr(Expr, "as_ordered_terms", refuse_large)
    program = parse("var x: [150]\nvar w = 2.0\ny = w * sum(x * x)\n")
    values = {"x": np.linspace(-1, 1, 150)}
    (tmp_path / "m.py").write_text(numpy_export.numpy_module(program, Request()))
    loss, gradients = _load_module(tmp_path / "m.py").evaluate(**values)
    assert loss == pytest.approx(2.0 * np.sum(values["x"] ** 2), rel=1e-13)
    export.c_source(program, Request())
    from gradcli import latex
    from gradcli.model import SymbolicMode

    result = api.gradient(program, Request(wrt=("w",), symbolic=SymbolicMode.FULL))
    text = latex.grad_latex(result)
    assert text.count("^{2}") == 150 and sympy.__version__


def test_deep_and_wide_expressions_give_code_python_can_compile(run, tmp_path):
    """Python's parser allows 200 nested brackets and its compiler recurses on a long sum: the
    exported module names parts of deep or wide expressions (checked in a fresh interpreter)."""
    deep = "var x = 0.5\ny = x * stop(" + "sin(" * 300 + "x" + ")" * 301 + "\n"
    wide = "var x = [" + ", ".join(["0.5"] * 3000) + "]\ny = sum(x * x)\n"
    for text, expected in ((deep, 0.5 * _nested_sin(0.5, 300)), (wide, 750.0)):
        code, module, err = run(text, "export", "--lang", "numpy", "--limit", "nesting=400")
        assert code == 0, err
        (tmp_path / "m.py").write_text(module)
        result = subprocess.run(
            [sys.executable, "-c", "import m; print(repr(float(m.evaluate()[0])))"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-500:]
        assert float(result.stdout) == pytest.approx(expected, rel=1e-12)


def _nested_sin(x: float, depth: int) -> float:
    for _ in range(depth):
        x = np.sin(x)
    return x


CATALOGUE_PROGRAM = """var x = [0.5, -1.25, 2.0]
var A = [[2.0, 0.5], [0.5, 1.0]]
a = sum(log1p(x ** 2) + expm1(x) + log2(x ** 2) + log10(x ** 2) + cbrt(x) + floor(x) + ceil(x) + round(x))
b = sum(erf(x) + erfc(x) + asinh(x) + acosh(x ** 2 + 1) + atanh(x / 3) + atan2(x, 1.5) + hypot(x, 1.0))
c = sum(where(x > 0, x, 2 * x) * (x >= 0) + (x < 1) + (x <= 1) + (x == 2.0) + (x != 2.0) + gelu(x) + elu(x))
d = logsumexp(x) + max(x) + min(x) + sum(softmax(x) * x) + sum(log_softmax(x)) + logaddexp(x[0], x[1])
f = logdet(A) + det(A) + sum(inv(A)) + sum(solve(A, [1.0, 2.0])) + pi * e + prod(x) + norm(x, ord=inf)
g = sum(sinc(x - 0.5) * x) + sum(logit(x / 4 + 0.5))
h = sum(x % 0.75 * x + x // 0.5 * x + x % -0.3 + fmod(x, 0.7) * x) + x[2] % x[1] * x[0]
k = fmod(x[0], x[1]) * x[2] + xlogy(x[2], x[0] ** 2) * x[1] + xlogy(x[0] - 0.5, x[1])
y = a + b + c + d + f + g + h + k
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
    path.write_text(numpy_export.numpy_module(prog, Request()))
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


def test_c_export_of_a_gradient_with_respect_to_a_defined_name(tmp_path):
    """--wrt may name a defined name (as tf.gradients allows); its block of out[] has its shape
    (this raised StopIteration, exit 4). d sum(sin(h)) / dh = cos(h) with h = x * x."""
    program = parse("var x = [1.0, 2.0]\nh = x * x\nf = sum(sin(h))\n")
    source = export.c_source(program, Request(wrt=("h",)))
    assert "out[1..2]  d L / d h, row-major" in source
    if shutil.which("cc"):
        out = _compile_and_run(tmp_path, source, [1.0, 2.0], 3)
        np.testing.assert_allclose(out, [np.sin(1.0) + np.sin(4.0), np.cos(1.0), np.cos(4.0)], rtol=1e-12)
