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
    with np.errstate(all="ignore"):
        for node in postorder(roots):
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
    return [memo[id(r)] for r in roots]


def leaves(roots: list[Node]) -> list[str]:
    """The declared names the roots use, in no particular order."""
    return sorted(
        {n.param("name") for n in postorder(roots) if n.op is ops.VARIABLE or n.op is ops.CONSTANT}
    )
