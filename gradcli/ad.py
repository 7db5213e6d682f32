"""Reverse mode as a program transformation: an array program and seeds in, an array program out.

`vjp` walks the nodes that lie between the targets and the outputs in reverse order and emits each
operation's VJP rule (ops.py), summing cotangents where a value is used more than once, as
`tf.gradients` walks its graph. The result is again an array program, so it can be evaluated at
any size, printed (the backward program, matrix forms) or differentiated again (higher orders).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gradcli import deadline
from gradcli.arrays import Node, postorder
from gradcli.ops import broadcast_to


def depends_on(roots: Iterable[Node], targets: Iterable[Node]) -> set[int]:
    """Ids of the nodes under `roots` that some target reaches (through anything but a cut)."""
    targets = {id(t) for t in targets}
    reached: set[int] = set()
    for node in postorder(roots):
        if id(node) in targets or (
            node.op.vjp is not None and node.op.differentiable and any(id(a) in reached for a in node.args)
        ):
            reached.add(id(node))
    return reached


@dataclass(frozen=True)
class Sweep:
    """A reverse sweep: each target's gradient (None: no gradient reaches it), and the total
    cotangent of every forward node it passed, in the order the sweep visited them."""

    results: list[Node | None]
    totals: list[tuple[Node, Node]]


def vjp(seeds: list[tuple[Node, Node]], targets: list[Node]) -> list[Node | None]:
    """The gradient of sum over (y, w) in `seeds` of sum(w * y) with respect to each target node,
    as nodes (None where no gradient reaches the target)."""
    return backward(seeds, targets).results


def backward(seeds: list[tuple[Node, Node]], targets: list[Node]) -> Sweep:
    """The reverse sweep behind `vjp`, keeping every forward node's total cotangent."""
    roots = [y for y, _ in seeds]
    reached = depends_on(roots, targets)
    cotangents: dict[int, list[Node]] = {}
    for y, weight in seeds:
        if id(y) in reached:
            cotangents.setdefault(id(y), []).append(broadcast_to(weight, y.shape))
    wanted = {id(t) for t in targets}
    results: dict[int, Node] = {}
    totals: list[tuple[Node, Node]] = []
    for node in reversed(postorder(roots)):
        parts = cotangents.pop(id(node), None)
        if parts is None:
            continue
        deadline.check()
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        totals.append((node, total))
        if id(node) in wanted:
            results[id(node)] = total
        if node.op.vjp is None or not node.op.differentiable:
            continue
        if not any(id(a) in reached for a in node.args):
            continue
        params = dict(node.params)
        for arg, cotangent in zip(node.args, node.op.vjp(total, node, *node.args, **params)):
            if cotangent is not None and id(arg) in reached:
                cotangents.setdefault(id(arg), []).append(cotangent)
    return Sweep([results.get(id(t)) for t in targets], totals)
