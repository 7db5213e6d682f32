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
from gradcli.ops import broadcast_to, variable, zeros


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


def seeded(
    seeds: list[tuple[Node, Node]], targets: list[Node], seeded_targets: tuple[int, ...]
) -> tuple[list[Node], list[Node]]:
    """Derivatives of order N = len(seeded_targets) + 1 contracted with seed vectors, as array
    programs: the k-th seed is a variable shaped like targets[seeded_targets[k]], and each
    target's node is the derivative tensor of L contracted with the seeds over its first N - 1
    indices (order 2: a Hessian-vector product); one-hot seeds give one row of the tensor.
    Only the seeded targets are contracted, so no zero seed meets an infinite derivative.
    The seeds' names cannot be written in a program, so they never meet a declared name."""
    derivatives = gradients(seeds, targets)
    variables = []
    for k, index in enumerate(seeded_targets, 1):
        seed = variable(f"<seed {k}>", targets[index].shape)
        derivatives = gradients([(derivatives[index], seed)], targets)
        variables.append(seed)
    return variables, derivatives


def hessian_vector(
    seeds: list[tuple[Node, Node]], targets: list[Node], vectors: list[Node | None]
) -> list[Node]:
    """The Hessian of L (cross blocks included) times the vector whose part for each target is
    `vectors[i]` (None: zeros), as one node per target, without forming the Hessian: the
    gradient of sum over targets of sum(gradient * vector) (reverse over reverse)."""
    pairs = [(g, v) for g, v in zip(vjp(seeds, targets), vectors) if g is not None and v is not None]
    return gradients(pairs, targets)


def gradients(seeds: list[tuple[Node, Node]], targets: list[Node]) -> list[Node]:
    """`vjp` with zeros where no gradient reaches a target."""
    results = vjp(seeds, targets) if seeds else [None] * len(targets)
    return [r if r is not None else zeros(t.shape) for r, t in zip(results, targets)]
