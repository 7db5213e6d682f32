"""The backward program (see the README) and matrix forms: the VJP program written in the language.

The backward program is the forward program followed by one adjoint definition per forward step
that a gradient passes (`d_hidden = d_prediction @ W2.T`), in reverse order, each with its shape,
ending with the gradient of every connected target. A matrix form is one target's gradient as a
single expression over the program's names (`2 * A.T @ r`).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradcli import ad, ops
from gradcli.array_printer import ArrayPrinter, number_text, shape_text
from gradcli.arrays import Node, postorder
from gradcli.build import ArrayProgram

MATRIX_MAX_NODES = 500  # a matrix form with more operations than this is elided, never printed


@dataclass(frozen=True)
class Backward:
    """The backward program's text and each target's adjoint name (None: disconnected)."""

    text: str
    targets: dict[str, str | None]
    adjoint_characters: int  # the length of the adjoint part (matrix forms longer than it are elided)


def _is_trivial(node: Node) -> bool:
    return node.op is ops.LITERAL or (node.op is ops.BROADCAST and node.args[0].op is ops.LITERAL)


def _literal_text(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_literal_text(v) for v in value) + "]"
    return number_text(value)


def write_backward(
    arrays: ArrayProgram,
    seeds: list[tuple[str, Node]],
    targets: tuple[str, ...],
    reasons: dict[str, str | None],
    values: dict[str, object],
    stop: tuple[str, ...] = (),
) -> Backward:
    """The backward program. `seeds` pairs each output name with its weights (grad_ys) node;
    `values` holds each declaration's value as nested lists (or None: shape only)."""
    program = arrays.program
    pairs = [(arrays.node(name), weight) for name, weight in seeds]
    connected = [t for t in targets if reasons.get(t) is None]
    sweep = ad.backward(pairs, [arrays.node(t) for t in connected])
    taken = {d.name for d in program.declarations} | {d.name for d in program.definitions}
    names = dict(arrays.names)  # forward names, then adjoint names
    lines = ["# forward"]
    for decl in program.declarations:
        value = values.get(decl.name)
        keyword = "const" if decl.constant else "var"
        if value is None:
            lines.append(f"{keyword} {decl.name}: {shape_text(decl.shape)}")
        else:
            lines.append(f"{keyword} {decl.name} = {_literal_text(value)}")
    known = {id(arrays.node(d.name)): d.name for d in program.declarations}
    for definition in program.definitions:  # each written over the names defined before it
        node = arrays.defined[definition.name]
        text = known[id(node)] if id(node) in known else ArrayPrinter(known).inline(node)
        lines.append(f"{definition.name} = {text}  # {shape_text(node.shape)}")
        known.setdefault(id(node), definition.name)
    for name in stop:
        lines.append(f"# --stop {name}: no gradient flows back through {name}")

    def fresh(base: str) -> str:
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    roots = [r for r in sweep.results if r is not None]
    uses: dict[int, int] = {}
    for node in postorder(roots):
        for arg in node.args:
            uses[id(arg)] = uses.get(id(arg), 0) + 1
    owner = _owners(arrays)
    adjoint_names: dict[int, str] = {}
    named_first = sorted(sweep.totals, key=lambda pair: id(pair[0]) not in arrays.names)
    for forward_node, total in named_first:
        if id(total) in adjoint_names or id(total) in arrays.names or _is_trivial(total):
            continue
        forward_name = arrays.names.get(id(forward_node))
        if forward_name is not None:
            adjoint_names[id(total)] = fresh(f"d_{forward_name}")
        elif uses.get(id(total), 0) >= 2:
            base = owner.get(id(forward_node), "t")
            adjoint_names[id(total)] = fresh(f"d_{base}_{forward_node.op.name}")
    for node in postorder(roots):  # any other value used twice is named once (never printed twice)
        shared = uses.get(id(node), 0) >= 2 and node.args and not _is_trivial(node)
        if shared and id(node) not in adjoint_names and id(node) not in arrays.names:
            adjoint_names[id(node)] = fresh(f"t_{owner.get(id(node), 'd')}" if id(node) in owner else "t")
    names.update(adjoint_names)
    adjoint = ArrayPrinter(names)
    body: list[str] = []
    result_names: dict[str, str | None] = {}
    emitted: set[int] = set()
    for target, result in zip(connected, sweep.results):
        node = result if result is not None else ops.zeros(arrays.node(target).shape)
        for item in postorder([node]):
            if id(item) in adjoint_names and id(item) not in emitted:
                emitted.add(id(item))
                body.append(f"{adjoint_names[id(item)]} = {adjoint.inline(item)}  # {shape_text(item.shape)}")
        name = adjoint_names.get(id(node))
        wanted = fresh(f"d_{target}") if name != f"d_{target}" else name
        if name != wanted:
            body.append(f"{wanted} = {adjoint.text(node)}  # {shape_text(node.shape)}")
        result_names[target] = wanted
    for target in targets:
        if reasons.get(target) is not None:
            body.append(f"# d_{target}: disconnected: {reasons[target]}")
            result_names[target] = None
    lines.append("# backward")
    lines += body
    text = "\n".join(lines) + "\n"
    return Backward(text, {t: result_names[t] for t in targets}, sum(len(b) for b in body))


def _owners(arrays: ArrayProgram) -> dict[int, str]:
    """For each unnamed node, the definition it first appears in."""
    owner: dict[int, str] = {}
    for definition in arrays.program.definitions:
        for node in postorder([arrays.defined[definition.name]]):
            if id(node) not in arrays.names and id(node) not in owner:
                owner[id(node)] = definition.name
    return owner


def matrix_forms(arrays: ArrayProgram, seeds: list[tuple[str, Node]], targets: tuple[str, ...]) -> dict:
    """Each target's gradient as one expression over the program's names, as (text, LaTeX), or
    (an int) the number of operations it would have when that is more than MATRIX_MAX_NODES."""
    pairs = [(arrays.node(name), weight) for name, weight in seeds]
    results = ad.vjp(pairs, [arrays.node(t) for t in targets])
    printer, latex = ArrayPrinter(arrays.names), ArrayPrinter(arrays.names, latex=True)
    out = {}
    for target, result in zip(targets, results):
        node = result if result is not None else ops.zeros(arrays.node(target).shape)
        size = expanded_size(node, arrays.names)
        out[target] = (printer.text(node), latex.text(node)) if size <= MATRIX_MAX_NODES else size
    return out


def expanded_size(root: Node, names: dict[int, str]) -> int:
    """The number of operations in the expression written out as a tree (named nodes count one)."""
    size: dict[int, int] = {}
    for node in postorder([root]):
        size[id(node)] = 1 + sum(1 if id(a) in names else size[id(a)] for a in node.args)
    return size[id(root)]
