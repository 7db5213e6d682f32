"""The command line over the whole option space, against the independent oracle.

Random programs (tests/programs.py) with random option sets: every command (grad at orders 1
and 2, hessian, jacobian, check with and without --expect), several --of, --wrt subsets, scalar
and array --grad-ys, --stop, --unconnected, --strict, --at for some variables or all. Numbers
are compared with central differences of the program evaluated by NumPy (tests/oracle.py), which
shares nothing with gradcli but the parser.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcli.cli import cli

from .oracle import central_gradient, central_hessian, central_jacobian
from .programs import VALUES, VARIABLES, program

CONSTANTS = {"c": np.array([0.5, -1.5, 2.0])}
EXAMPLES = int(os.environ.get("GRADCLI_EXAMPLES", 60)) // 3  # per command


def _literal(array) -> str:
    return json.dumps(np.asarray(array).tolist())


# grad2: --order 2; hvp: hessian --vector
COMMANDS = ["grad", "grad2", "hessian", "hvp", "jacobian", "check", "check-expect"]


@st.composite
def invocation(draw, command: str):
    """(program text, command line after FILE, what the oracle needs to know)."""
    text, outputs, shapes = draw(program(max_definitions=3, depth=3))
    values = draw(VALUES)
    wrt = draw(st.lists(st.sampled_from(sorted(VARIABLES)), min_size=1, max_size=3, unique=True))
    stop = draw(st.lists(st.sampled_from(sorted(shapes)), max_size=2, unique=True))
    weights = {}
    if command != "jacobian":
        for name in outputs:
            kind = draw(st.sampled_from(["none", "scalar", "row", "full"]))
            shape = shapes[name]
            if kind == "scalar":
                weights[name] = np.array(draw(st.sampled_from([-0.3, 2.0, 0.5])))
            elif kind in ("row", "full") and shape:
                count = shape[-1] if kind == "row" else int(np.prod(shape))
                numbers = draw(
                    st.lists(st.sampled_from([-2.0, -0.3, 0.5, 3.0]), min_size=count, max_size=count)
                )
                weights[name] = np.array(numbers).reshape(shape[-1:] if kind == "row" else shape)
    given_values = set(VARIABLES)  # mostly all; sometimes some, so values are null and `needs` says why
    if draw(st.integers(0, 3)) == 0:
        given_values = draw(st.sets(st.sampled_from(sorted(VARIABLES)))) | set(wrt)
    unconnected = draw(st.sampled_from(["none", "zero"]))
    args = ["--of", ",".join(outputs), "--wrt", ",".join(wrt), "--unconnected", unconnected]
    args += [arg for name in sorted(given_values) for arg in ("--at", f"{name}={_literal(values[name])}")]
    args += [arg for name, w in weights.items() for arg in ("--grad-ys", f"{name}={_literal(w)}")]
    if stop:
        args += ["--stop", ",".join(stop)]
    strict = command in ("grad", "hessian", "jacobian") and draw(st.booleans())
    if strict:
        args.append("--strict")
    vectors = {}
    if command == "hvp":
        for name in draw(st.lists(st.sampled_from(wrt), min_size=1, unique=True)):
            count = int(np.prod(VARIABLES[name]))
            parts = draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), min_size=count, max_size=count))
            vectors[name] = np.array(parts).reshape(VARIABLES[name])
            args += ["--vector", f"{name}={_literal(vectors[name])}"]
    if command not in ("check", "check-expect") and draw(st.booleans()):
        args += ["--limit", "elements=2"]  # every program has v: [3], so whole arrays serve it
    if command not in ("check", "check-expect"):
        args += ["--symbolic", draw(st.sampled_from(["auto", "none", "full"]))]
    known = {
        "values": {**values, **CONSTANTS},
        "given": given_values,
        "outputs": outputs,
        "wrt": wrt,
        "weights": weights,
        "stop": stop,
        "unconnected": unconnected,
        "strict": strict,
        "vectors": vectors,
    }
    return text, command, args, known


def _run(argv):
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _close(computed, expected, text):
    computed = np.asarray(computed, dtype=float)
    scale = max(1.0, float(np.max(np.abs(expected)))) if np.size(expected) else 1.0
    np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-6 * scale, err_msg=text)


@pytest.mark.parametrize("command", COMMANDS)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_command_and_option_against_the_oracle(command, data):
    text, command, args, known = data.draw(invocation(command))
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.txt"
        path.write_text(text)
        _check(path, text, command, args, known)


def _check(path, text, command, args, known):
    from gradcli.parser import parse

    prog = parse(text)
    values, outputs, wrt = known["values"], known["outputs"], known["wrt"]
    stop, weights = tuple(known["stop"]), known["weights"]
    complete = set(VARIABLES) <= known["given"]
    name = {"grad2": "grad", "check-expect": "check", "hvp": "hessian"}.get(command, command)
    extra = ["--order", "2"] if command == "grad2" else []
    if command == "check-expect":
        code, out, err = _run(["grad", str(path), *args, "--format", "json"])
        assert code == 0, err
        expect = path.with_suffix(".json")
        expect.write_text(out)
        extra = ["--expect", str(expect)]
    code, out, err = _run([name, str(path), *args, *extra, "--format", "json"])
    if name == "check":
        if code == 1 and not complete:  # L or a gradient needs a variable without a value
            assert "needs a value" in err and out == ""
            return
        assert code == 0, (text, args, out, err)
        assert json.loads(out)["ok"] is True
        return
    assert code in (0, 3), (text, args, err)
    doc = json.loads(out)
    disconnected = set(doc["disconnected"] if "disconnected" in doc else doc_disconnected(doc))
    assert code == (3 if known["strict"] and disconnected else 0)
    if command == "hvp":
        _check_product(prog, doc, known, disconnected, complete, text)
        return
    if name == "grad":
        for target in wrt:
            entry = doc["gradients"][target]
            if target in disconnected and known["unconnected"] == "none":
                assert entry["value"] is None
                continue
            _check_missing(entry["value"], entry.get("needs"), known, complete)
            if entry["value"] is None:
                continue
            if command == "grad":
                expected = central_gradient(prog, values, outputs, target, weights or None, stop)
            else:
                expected = central_hessian(prog, values, outputs, [target], weights or None, stop)
            _close(np.reshape(entry["value"], np.shape(expected)), expected, text)
        return
    live = [t for t in wrt if not (t in disconnected and known["unconnected"] == "none")]
    _check_missing(doc["value"], doc.get("needs"), known, complete)
    if doc["value"] is None or not live:
        return
    if command == "hessian":
        expected = central_hessian(prog, values, outputs, live, weights or None, stop)
    else:
        expected = central_jacobian(prog, values, outputs, live, stop)
    _close(np.reshape(doc["value"], expected.shape), expected, text)


def doc_disconnected(doc) -> list[str]:
    entries = doc["products"] if "products" in doc else doc["gradients"]
    return [name for name, entry in entries.items() if entry["status"] == "disconnected"]


def _check_product(prog, doc, known, disconnected, complete, text):
    """hessian --vector: each target's part of H @ v, with H from central differences over every
    target (cross blocks included) and v zero where no part was given."""
    wrt, vectors = known["wrt"], known["vectors"]
    assert doc["vector"] == list(vectors)
    entries = doc["products"]
    for target in wrt:
        if target in disconnected and known["unconnected"] == "none":
            assert entries[target]["value"] is None
        else:
            _check_missing(entries[target]["value"], entries[target].get("needs"), known, complete)
    if not complete:
        return
    hessian = central_hessian(
        prog, known["values"], known["outputs"], wrt, known["weights"] or None, tuple(known["stop"])
    )
    v = np.concatenate([vectors.get(t, np.zeros(VARIABLES[t])).reshape(-1) for t in wrt])
    product, start = hessian @ v, 0
    for target in wrt:
        size = int(np.prod(VARIABLES[target]))
        if entries[target]["value"] is not None:
            computed = np.reshape(entries[target]["value"], VARIABLES[target])
            _close(computed, product[start : start + size].reshape(VARIABLES[target]), text)
        start += size


def _check_missing(value, needs, known, complete):
    """Every value is known when every variable has one; otherwise a null value names what it needs."""
    if complete:
        assert value is not None
    elif value is None:
        assert needs and set(needs) <= set(VARIABLES) - known["given"]


def test_a_scalar_grad_ys_weights_a_scalar_and_a_vector_output(run_json):
    code, doc, err = run_json("var x = 1.5\nt2 = x * x\n", "grad", "--of", "t2", "--grad-ys", "t2=-0.3")
    assert code == 0 and doc["gradients"]["x"]["value"] == pytest.approx(-0.3 * 2 * 1.5)
    code, doc, err = run_json("var x = [1.0, 2.0]\nt = x * x\n", "hessian", "--grad-ys", "t=2")
    assert code == 0 and doc["value"] == [[4.0, 0.0], [0.0, 4.0]]


@pytest.mark.parametrize(
    "command",
    [["grad"], ["hessian"], ["jacobian"], ["eval"], ["backward"], ["graph", "--format", "dot"]],
)
def test_repeated_name_options_are_the_comma_lists(run, command):
    """--of a --of b is --of a,b (and --wrt, --stop): click would otherwise keep the last one."""
    text = "var x = 1.5\nvar y = -0.5\nvar z = 2.0\na = x * y\nb = sin(y * z)\nc = a + b\nd = c * x\n"
    names = {"grad": ("--of", "--wrt", "--stop"), "eval": ("--of",)}.get(command[0], ("--of", "--wrt"))
    values = {"--of": ("c", "d"), "--wrt": ("x", "z"), "--stop": ("a", "b")}
    commas = [a for n in names for a in (n, ",".join(values[n]))]
    repeated = [a for n in names for v in values[n] for a in (n, v)]
    listed = run(text, *command, *commas)
    assert listed[0] == 0, listed[2]
    assert run(text, *command, *repeated) == listed
    first_only = [a for n in names for a in (n, values[n][0])]
    assert run(text, *command, *first_only) != listed  # the second names count: not the last one kept
