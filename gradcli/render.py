"""JSON documents (README, "JSON") of every command's result; terminal.py renders them for people."""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii

from gradcli.factored import Factored
from gradcli.model import GradResult, MatrixResult


def to_json(document: dict) -> str:
    """One line of JSON; non-finite floats become the strings "nan", "inf", "-inf" (README, "JSON").
    Factored arrays (a Hessian's formulas and values) encode each distinct element once."""
    return _encode(document)


def _encode(value) -> str:
    if isinstance(value, Factored):
        return value.encode(_dumps)
    if isinstance(value, dict) and _holds_factored(value):
        return "{" + ", ".join(f"{json.dumps(k)}: {_encode(v)}" for k, v in value.items()) + "}"
    return _dumps(value)


def _holds_factored(value) -> bool:
    if isinstance(value, dict):
        return any(_holds_factored(v) for v in value.values())
    return isinstance(value, Factored)


def _dumps(value) -> str:
    kind = type(value)  # a number or text (a Hessian's thousands of distinct entries): as json.dumps
    if kind is str:  # writes them, with its own encoder's functions, without its per-call set-up
        return encode_basestring_ascii(value)
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    try:
        return json.dumps(value, allow_nan=False)  # all in C: the common case, no NaN or infinity
    except ValueError:
        return json.dumps(_finite(value))


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def grad_document(result: GradResult) -> dict:
    gradients = {}
    for t in result.gradients:
        entry: dict = {"status": t.status}
        if t.reason is not None:
            entry["reason"] = t.reason
        entry.update({"shape": list(t.shape), "symbolic": t.symbolic, "value": t.value})
        if t.symbolic_elided is not None:
            entry["symbolic_elided"] = t.symbolic_elided
        if t.status == "ok" and result.order == 1:
            entry["matrix"] = t.matrix
            if t.matrix is None:
                entry["matrix_elided"] = t.matrix_elided or "no whole-array form"
        if t.needs:
            entry["needs"] = list(t.needs)
        gradients[t.name] = entry
    document = {
        "command": result.command,
        "file": result.file,
        "of": list(result.of),
        "wrt": list(result.wrt),
        "order": result.order,
        "unconnected": result.unconnected.value,
        "L": result.loss,
    }
    if result.vector:  # a Hessian-vector product (hessian --vector)
        return {**document, "vector": list(result.vector), "products": gradients}
    return {**document, "gradients": gradients}


def matrix_document(result: MatrixResult) -> dict:
    document = {
        "command": result.command,
        "file": result.file,
        "of": list(result.of),
        "wrt": list(result.wrt),
        "unconnected": result.unconnected.value,
        "rows": list(result.rows),
        "cols": list(result.cols),
        "symbolic": result.symbolic,
        "value": result.value,
        "disconnected": dict(result.disconnected),
    }
    if result.symbolic_elided is not None:
        document["symbolic_elided"] = result.symbolic_elided
    if result.needs:
        document["needs"] = list(result.needs)
    if result.command == "hessian" and len(result.wrt) == 1:
        document["matrix"] = result.matrix
        if result.matrix is None:
            document["matrix_elided"] = result.matrix_elided or "no whole-array form"
    return document


def step_document(result) -> dict:
    return {
        "command": "step",
        "lr": result.lr,
        "steps": result.steps,
        "values": dict(result.values),
        "loss": list(result.loss),
        "unchanged": dict(result.unchanged),
    }


def check_document(result) -> dict:
    return {
        "command": "check",
        "mode": result.mode,
        "ok": result.ok,
        "rtol": result.rtol,
        "atol": result.atol,
        "targets": {
            t.name: {
                "agrees": t.agrees,
                "max_abs_error": t.max_abs_error,
                "max_rel_error": t.max_rel_error,
                **({"note": t.note} if t.note else {}),
            }
            for t in result.targets
        },
        "mismatches": [
            {
                "element": m.element,
                "expected": m.expected,
                "computed": m.computed,
            }
            for m in result.mismatches
        ],
    }


def backward_document(result) -> dict:
    return {
        "command": result.command,
        "file": result.file,
        "program": result.program,
        "targets": result.targets,
    }


def eval_document(result) -> dict:
    document = {"command": result.command, "file": result.file, "values": result.values}
    if result.needs:
        document["needs"] = {name: list(missing) for name, missing in result.needs.items()}
    return document
