"""Walking element expressions: the shared SymEngine graphs the element view builds.

(Differentiation itself is a transformation of the array program: see ad.py.)
"""

from __future__ import annotations

from collections.abc import Container, Iterable

import symengine as se


def postorder(roots: Iterable[se.Basic], known: Container = ()) -> list[se.Basic]:
    """Every node reachable from `roots`, each once, children before parents (no recursion).

    Nodes in `known` (a memo of earlier walks) are neither listed nor descended into."""
    order: list[se.Basic] = []
    done: set[se.Basic] = set()
    for root in roots:
        if root in done or root in known:
            continue
        stack = [(root, iter(root.args))]
        done.add(root)
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in done and child not in known:
                    done.add(child)
                    stack.append((child, iter(child.args)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order
