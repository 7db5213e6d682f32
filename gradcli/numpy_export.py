"""`export --lang numpy`: the program and its gradients as whole-array NumPy code.

The module is as long as the program, however large its arrays: each forward definition and each
value the backward program uses twice is one statement over whole arrays (BLAS matmuls). The
functions NumPy lacks are copied from the operation table's own float64 implementations, so the
exported code computes exactly what gradcli computes. Names from the program become `v_NAME`
(never a Python keyword or a name of the module's own); the file name appears only as a string
literal.
"""

from __future__ import annotations

import inspect
import json
import math

from gradcli import ad, ops, whole
from gradcli.array_printer import ArrayPrinter
from gradcli.arrays import postorder
from gradcli.model import Request
from gradcli.syntax import Program

MAX_INLINE_DEPTH = 40  # a deeper expression is split into named steps
_SCATTER_ADD = """def scatter_add(values, key, shape):
    out = np.zeros(shape)
    np.add.at(out, key, values)
    return out
"""


def numpy_module(program: Program, request: Request) -> str:
    """The source of a module with evaluate(**variables) -> (L, {target: gradient or None})."""
    prepared = whole.prepare(program, request)
    arrays = prepared.arrays
    loss = None
    for name, weight in prepared.seeds:
        term = ops.sum_(weight * arrays.node(name))
        loss = term if loss is None else loss + term
    connected = [t for t in prepared.targets if prepared.reasons[t] is None]
    results = ad.vjp([(arrays.node(n), w) for n, w in prepared.seeds], [arrays.node(t) for t in connected])
    gradients = {
        t: r if r is not None else ops.zeros(arrays.node(t).shape) for t, r in zip(connected, results)
    }
    roots = [loss, *gradients.values()]
    names = {node_id: f"v_{name}" for node_id, name in arrays.names.items()}
    uses: dict[int, int] = {}
    order = postorder(roots)
    for node in order:
        for arg in node.args:
            uses[id(arg)] = uses.get(id(arg), 0) + 1
    temporaries = 0
    depth: dict[int, int] = {}  # brackets a node would nest, written inline
    for node in order:
        depth[id(node)] = 1 + max((0 if id(a) in names else depth[id(a)] for a in node.args), default=0)
        deep = depth[id(node)] > MAX_INLINE_DEPTH  # Python's parser allows 200 nested brackets
        if id(node) not in names and node.args and (uses.get(id(node), 0) >= 2 or deep):
            names[id(node)] = f"t{temporaries}"
            temporaries += 1
            depth[id(node)] = 1
    printer = ArrayPrinter(names, numpy=True)
    body = []
    for decl in program.declarations:
        body.append(f"    v_{decl.name} = arrays[{decl.name!r}]")
    for node in order:
        if id(node) in names and node.op not in (ops.VARIABLE, ops.CONSTANT):
            body.append(f"    {names[id(node)]} = {printer.inline(node)}")
    body.append(f"    loss = {printer.text(loss)}")
    body.append("    gradients = {}")
    for target in prepared.targets:
        value = (
            f"np.asarray({printer.text(gradients[target])}, dtype=np.float64)"
            if target in gradients
            else "None"
        )
        body.append(f"    gradients[{target!r}] = {value}")
    body.append("    return float(loss), gradients")
    helpers = [_helper_source(function) for _, function in sorted(printer.helpers.items())]
    shapes = {d.name: list(d.shape) for d in program.declarations}
    defaults = {name: whole._listed(lit.value) for name, lit in prepared.literals.items()}
    defaults = {n: v for n, v in defaults.items() if _small(v)}
    disconnected = {t: r for t, r in prepared.reasons.items() if r is not None}
    return "\n".join(
        [
            '"""L and its gradients of a gradcli program (its file name is SOURCE below), exported by',
            "gradcli on whole arrays. Needs only NumPy.",
            "",
            "evaluate(**variables) takes each variable and constant by name (an array or a number;",
            "declared values are the defaults) and returns (L, {target: gradient array}); a target no",
            'gradient reaches (disconnected) maps to None."""',
            "",
            "import math",
            "",
            "import numpy",
            "import numpy as np",
            "",
            f"SOURCE = {program.filename!r}",
            f"SHAPES = {json.dumps(shapes)}",
            f"DEFAULTS = {{{', '.join(f'{n!r}: {_literal(v)}' for n, v in defaults.items())}}}",
            f"DISCONNECTED = {json.dumps(disconnected)}",
            "",
            *[h.rstrip() + "\n\n" for h in helpers],
            "def evaluate(**variables):",
            "    unknown = set(variables) - set(SHAPES)",
            "    if unknown:",
            '        raise TypeError(f"unknown variables: {sorted(unknown)}")',
            "    values = {**DEFAULTS, **variables}",
            "    missing = set(SHAPES) - set(values)",
            "    if missing:",
            '        raise TypeError(f"missing values for: {sorted(missing)}")',
            "    arrays = {}",
            "    for name, shape in SHAPES.items():",
            "        arrays[name] = np.asarray(values[name], dtype=np.float64)",
            "        if arrays[name].shape != tuple(shape):",
            '            raise ValueError(f"{name} has shape {arrays[name].shape}, expected {tuple(shape)}")',
            "    with np.errstate(all='ignore'):",
            "        return _evaluate(arrays)",
            "",
            "",
            "def _evaluate(arrays):",
            *body,
            "",
        ]
    )


def _helper_source(function) -> str:
    """A helper's source: scatter_add, a row's NumPy text, or one of ops.py's own functions."""
    if function is None:
        return _SCATTER_ADD
    if isinstance(function, str):
        return function
    return inspect.getsource(function)


def _literal(value) -> str:
    """A Python literal for nested lists of numbers (inf and nan as float('inf'), float('nan'))."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    return repr(value)


def _small(value) -> bool:
    return len(json.dumps(value)) <= 100_000
