"""One meaning per operation: every function of the language, through every path that computes
numbers, on ordinary, edge (0, -0, +-inf, NaN, huge) and kink inputs, gives the same L and the same
gradient (NaN agrees only with NaN).

The paths: the Evaluator on float64 values and on exact values (where the input is an integer),
`api.gradient`, the Tape one point at a time and vectorised, `grad --points`, the exported NumPy
module and the exported C function (compiled with cc when there is one).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import math
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from gradcli import api, export, numpy_export, ops
from gradcli.cli import cli
from gradcli.evaluate import Evaluator, Tape
from gradcli.model import FUNCTIONS, Request
from gradcli.parser import parse, parse_literal

# element-wise functions, as the language spells them
ELEMENTWISE = {op.name for op in ops.ELEMENTWISE} | {"square", "pow", "sum", "mean"}
ONE_ARGUMENT = [name for name, (low, high, _) in FUNCTIONS.items() if high == 1 and name in ELEMENTWISE]
TWO_ARGUMENTS = [name for name, (low, high, _) in FUNCTIONS.items() if low == 2 and name in ELEMENTWISE]
EXPRESSIONS = (
    [f"{name}(x)" for name in ONE_ARGUMENT if name != "stop"]
    + ["stop(x) * x"]  # stop(x) alone is disconnected
    + [f"{name}(x, z)" for name in TWO_ARGUMENTS]
    + ["x + z", "x - z", "x * z", "x / z", "x ** z", "-x", "x ** 0.5", "x ** (1/2)", "x ** -1", "x ** 3"]
    + ["x ** (-1/2)", "2 ** x", "0 ** x", "0.0 ** x", "(-2.0) ** x", "x ** x"]
)
ONE = [-2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 30.0, 1e200, -1e200, math.inf, -math.inf, math.nan]
TWO = [-1.5, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, math.inf, -math.inf, math.nan]


def _agree(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _integer(value: float) -> bool:
    """Written as an exact integer, the same number (not -0.0, whose sign an integer loses)."""
    if not (math.isfinite(value) and float(value).is_integer() and abs(value) < 1e6):
        return False
    return value != 0 or math.copysign(1.0, value) > 0


def _literal(value: float) -> str:
    return repr(value) if math.isfinite(value) else {"inf": "1e999", "-inf": "-1e999"}.get(repr(value), "")


class Case:
    """One expression: its program, its variables, and the points it is evaluated at."""

    def __init__(self, expr: str):
        self.names = ["x", "z"] if "z" in expr else ["x"]
        self.text = "".join(f"var {n} = 1.0\n" for n in self.names) + f"y = {expr}\n"
        self.program = parse(self.text, "case.txt")
        grid = ONE if len(self.names) == 1 else TWO
        self.points = list(itertools.product(grid, repeat=len(self.names)))

    def reference(self, point, exact=False) -> list[float]:
        """L and the gradient by the Evaluator (on float64 or exact values); the gradient again by
        api.gradient with --at, whose result also goes through the JSON number rules."""
        prepared = api.prepare(self.program, Request())
        gradients = api.gradient_arrays(prepared)
        exprs = [api.loss_expression(prepared)] + [g for n in self.names for g in gradients[n].flat]
        values = dict(prepared.values)
        for name, value in zip(self.names, point):
            values[prepared.lowered.symbols[name][()]] = int(value) if exact else np.float64(value)
        numbers = [float(api.to_number(v)) for v in Evaluator(values).many(exprs)]
        literals = [str(int(v)) if exact else _literal(v) for v in point]
        if all(literals):
            at = {name: parse_literal(text, "--at") for name, text in zip(self.names, literals)}
            result = api.gradient(self.program, Request(at=at))
            via_api = [float(t.value) for t in result.gradients]
            assert all(map(_agree, via_api, numbers[1:])), (self.text, point, via_api, numbers)
        return numbers

    def tape(self):
        prepared = api.prepare(self.program, Request())
        gradients = api.gradient_arrays(prepared)
        exprs = [api.loss_expression(prepared)] + [g for n in self.names for g in gradients[n].flat]
        symbols = [prepared.lowered.symbols[n][()] for n in self.names]
        return Tape(exprs), symbols

    def tape_scalar(self, point) -> list[float]:
        tape, symbols = self.tape()
        return tape.run_scalar(dict(zip(symbols, point)))


def _exported_numpy(case: Case, tmp_path) -> list[list[float]]:
    path = tmp_path / "exported.py"
    path.write_text(numpy_export.numpy_module(case.program, Request()))
    spec = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = []
    with np.errstate(all="ignore"):
        for point in case.points:
            loss, gradients = module.evaluate(**dict(zip(case.names, point)))
            rows.append([float(loss)] + [float(gradients[n]) for n in case.names])
    return rows


def _points(case: Case, tmp_path) -> list[list[float]]:
    path = tmp_path / "points.csv"
    path.write_text(",".join(case.names) + "\n" + "".join(",".join(map(repr, p)) + "\n" for p in case.points))
    program = tmp_path / "case.txt"
    program.write_text(case.text)
    result = CliRunner().invoke(cli, ["grad", str(program), "--points", str(path)])
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    return [[float(field) if field else math.nan for field in row] for row in rows]


CASES = {expr: Case(expr) for expr in EXPRESSIONS}


@pytest.fixture(scope="module")
def compiled_c(tmp_path_factory):
    """Every case's exported C, compiled by one cc run into one program that evaluates case N
    (argv[1]) at the points that follow; None without a C compiler."""
    if shutil.which("cc") is None:
        return None
    work = tmp_path_factory.mktemp("c")
    for index, case in enumerate(CASES.values()):
        source = export.c_source(case.program, Request())
        (work / f"case{index}.c").write_text(f"#define gradcli_eval gradcli_eval_{index}\n{source}")
    declarations = "".join(f"void gradcli_eval_{i}(const double *, double *);\n" for i in range(len(CASES)))
    table = ", ".join(f"gradcli_eval_{i}" for i in range(len(CASES)))
    (work / "main.c").write_text(
        "#include <stdio.h>\n#include <stdlib.h>\n" + declarations
        + "static void (*cases[])(const double *, double *) = {" + table + "};\n"
        + r"""
int main(int argc, char **argv) {
    int n = atoi(argv[1]), width = atoi(argv[2]);
    double in[2], out[3];
    for (int i = 3; i + width <= argc; i += width) {
        for (int k = 0; k < width; k++) in[k] = strtod(argv[i + k], NULL);
        cases[n](in, out);
        for (int k = 0; k <= width; k++) printf("%.17g ", out[k]);
        printf("\n");
    }
    return 0;
}
"""
    )  # fmt: skip
    files = [f"case{i}.c" for i in range(len(CASES))]
    subprocess.run(["cc", "-o", "run", *files, "main.c", "-lm"], cwd=work, check=True)
    return work


def _exported_c(expr: str, work) -> list[list[float]]:
    case = CASES[expr]
    args = [str(list(CASES).index(expr)), str(len(case.names))]
    args += [repr(float(v)) for point in case.points for v in point]
    output = subprocess.run(["./run", *args], cwd=work, check=True, capture_output=True, text=True).stdout
    return [[float(field) for field in line.split()] for line in output.splitlines()]


# x * x ** (x - 1) is x ** x per element (SymEngine), but is nan at x = -0.0 as written: the
# whole-array NumPy export computes the program as written, as NumPy would.
AS_WRITTEN = {"x ** x"}


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_every_path_agrees(expr, tmp_path, compiled_c):
    case = CASES[expr]
    tape, symbols = case.tape()
    columns = np.array(case.points).T
    vector = np.array(tape.run(dict(zip(symbols, columns)), len(case.points))).T
    paths = {
        "tape, vectorised": vector.tolist(),
        "tape, one point": [case.tape_scalar(p) for p in case.points],
        "--points": _points(case, tmp_path),
        "export numpy": _exported_numpy(case, tmp_path),
    }
    if compiled_c is not None:
        paths["export c"] = _exported_c(expr, compiled_c)
    for i, point in enumerate(case.points):
        expected = case.reference(point)
        computed = {name: rows[i] for name, rows in paths.items()}
        if all(map(_integer, point)):
            computed["exact"] = case.reference(point, exact=True)
        if expr in AS_WRITTEN:  # the per-element paths simplify; the whole-array export does not
            computed.pop("export numpy")
        for name, values in computed.items():
            assert len(values) == len(expected) and all(map(_agree, values, expected)), (
                f"{expr} at {point}: {name} gives {values}, the Evaluator {expected}"
            )
