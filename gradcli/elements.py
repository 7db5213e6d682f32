"""The element interpreter: an array program run on NumPy object arrays of SymEngine scalars.

Leaves are arrays of element symbols (`w[0,1]`), so each result element is an exact expression:
the per-element formulas and exact values of small programs. Only this view is bounded by the
`elements` limit.
"""

from __future__ import annotations

import numpy as np

from gradcli import deadline, ops
from gradcli.arrays import Node, postorder


def evaluate(roots: list[Node], leaves: dict[str, np.ndarray], memo: dict | None = None) -> list[np.ndarray]:
    """Each root as an object array; `leaves` maps declared names to arrays of element symbols
    (or numbers). `memo` (node id -> array) may be shared between calls on one program."""
    memo = {} if memo is None else memo
    keep = []  # nodes whose ids key the memo stay alive as long as it is used
    for node in postorder(roots):
        if id(node) in memo:
            continue
        keep.append(node)
        deadline.check()
        if node.op is ops.VARIABLE or node.op is ops.CONSTANT:
            memo[id(node)] = leaves[node.param("name")]
            continue
        args = [memo[id(a)] for a in node.args]
        with np.errstate(all="ignore"):  # NumPy reads the FPU's flags after object arithmetic too
            memo[id(node)] = node.op.element(*args, **dict(node.params))
    memo.setdefault("_keep", []).extend(keep)
    return [memo[id(r)] for r in roots]
