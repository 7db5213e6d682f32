"""The float64 interpreter: an array program evaluated with NumPy on whole arrays (BLAS matmuls).

Non-finite results follow NumPy (1/0 is inf, log(0) is -inf), never an exception.
"""

from __future__ import annotations

import numpy as np

from gradcli import deadline, ops
from gradcli.arrays import Node, postorder


class MissingValueError(Exception):
    """A variable or constant the program needs has no value (`name` says which)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def evaluate(roots: list[Node], values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The float64 value of each root; `values` maps declared names to arrays of their shapes.
    Raises MissingValueError when a needed name has no value."""
    memo: dict[int, np.ndarray] = {}
    order = postorder(roots)
    _run(order, memo, values, _releases(order, roots))
    return [memo[id(r)] for r in roots]


class Repeated:
    """The roots evaluated again and again while the names in `changing` take new values (the
    seeds of derivative rows): every node that does not depend on them is computed once, here."""

    def __init__(self, roots: list[Node], values: dict[str, np.ndarray], changing: set[str]):
        self.roots = roots
        self._values = values
        varying: set[int] = set()
        order = postorder(roots)
        for node in order:
            leaf = node.op is ops.VARIABLE or node.op is ops.CONSTANT
            if (leaf and node.param("name") in changing) or any(id(a) in varying for a in node.args):
                varying.add(id(node))
        self._fixed: dict[int, np.ndarray] = {}
        _run([n for n in order if id(n) not in varying], self._fixed, values)
        self._varying = [n for n in order if id(n) in varying]
        self._releases = _releases(self._varying, roots)

    def __call__(self, changed: dict[str, np.ndarray]) -> list[np.ndarray]:
        memo = dict(self._fixed)
        _run(self._varying, memo, {**self._values, **changed}, self._releases)
        return [memo[id(r)] for r in self.roots]


class Moved:
    """The roots evaluated again and again with the value of one node moved (the points of a
    finite difference): every node that does not depend on it is computed once, at the unmoved
    point, and so is every stop(...), which holds its value there."""

    def __init__(self, roots: list[Node], values: dict[str, np.ndarray], node: Node):
        self.roots, self.node = roots, node
        order = postorder([*roots, node])
        self._unmoved: dict[int, np.ndarray] = {}
        _run(order, self._unmoved, values)
        moving = {id(node)}
        for item in order:
            if item.op is not ops.STOP and any(id(a) in moving for a in item.args):
                moving.add(id(item))
        self._moving = [n for n in order if id(n) in moving and n is not node]
        self._releases = _releases(self._moving, roots)
        self.value = self._unmoved[id(node)]  # the node's value at the unmoved point

    def __call__(self, value: np.ndarray) -> list[np.ndarray]:
        memo = dict(self._unmoved)
        memo[id(self.node)] = value
        _run(self._moving, memo, {}, self._releases)
        return [memo[id(r)] for r in self.roots]


def _releases(order: list[Node], kept: list[Node]) -> list[list[int]]:
    """For each node of `order`, the ids of the arguments last used by it, apart from `kept`:
    their arrays can go once it is computed (so memory holds the live arrays, not every one)."""
    last: dict[int, int] = {}
    for position, node in enumerate(order):
        for arg in node.args:
            last[id(arg)] = position
    releases: list[list[int]] = [[] for _ in order]
    kept_ids = {id(k) for k in kept}
    for key, position in last.items():
        if key not in kept_ids:
            releases[position].append(key)
    return releases


def _run(
    order: list[Node],
    memo: dict[int, np.ndarray],
    values: dict[str, np.ndarray],
    releases: list[list[int]] | None = None,
) -> None:
    """Evaluate the nodes of `order` (children first) into `memo`; `releases` (see `_releases`)
    says which arrays to drop from `memo` after each node (None: keep every one)."""
    with np.errstate(all="ignore"):
        for position, node in enumerate(order):
            if node.op is ops.VARIABLE or node.op is ops.CONSTANT:
                name = node.param("name")
                if name not in values:
                    raise MissingValueError(name)
                memo[id(node)] = np.asarray(values[name], dtype=np.float64)
                continue
            deadline.check()
            params = dict(node.params)
            args = [memo[id(a)] for a in node.args]
            memo[id(node)] = np.asarray(node.op.numpy(*args, **params), dtype=np.float64)
            if releases is not None:
                for key in releases[position]:
                    memo.pop(key, None)


def leaves(roots: list[Node]) -> list[str]:
    """The declared names the roots use, in no particular order."""
    return sorted({n.param("name") for n in postorder(roots) if n.op is ops.VARIABLE or n.op is ops.CONSTANT})
