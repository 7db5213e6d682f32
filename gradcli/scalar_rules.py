"""Local derivatives of element expressions, derived from the operation table's VJP rules.

An element expression is a SymEngine tree; each of its nodes applies one operation of ops.py (or
SymEngine's n-ary Add and Mul). The derivative of a node with respect to its argument i is the
operation's own VJP rule, run on a one-element array program whose arguments are placeholders and
evaluated in the element view with the node's real arguments: so the sparse per-element sweeps
of differentiate.py and the whole-array VJPs of ad.py use one rule set and cannot disagree.
"""

from __future__ import annotations

import numpy as np
import symengine as se

from gradcli import elements, functions, objects, ops

ONE = se.Integer(1)

# The operation each element kind (functions.kind) applies.
_OPERATIONS = {
    **ops.UNARY_FUNCTIONS,
    **ops.ELEMENT_FUNCTIONS,
    "sgn": ops.SIGN,
    "exp": ops.EXP,
    "pow": ops.POWER,
    "maximum": ops.MAXIMUM,
    "minimum": ops.MINIMUM,
}
_templates: dict = {}
_memo: dict = {}


def _template(operation: ops.Op, arity: int):
    """The VJP of `operation` on scalar placeholders `_0`, `_1`, ... with a cotangent of 1."""
    key = (operation.name, arity)
    if key not in _templates:
        arguments = tuple(ops.variable(f"_{i}", ()) for i in range(arity))
        out = operation.make(arguments, {})
        _templates[key] = (out, operation.vjp(ops.literal(1), out, *arguments))
    return _templates[key]


def partial(node: se.Basic, index: int, args: tuple | None = None) -> se.Basic:
    """d node / d (its argument number `index`), as an element expression; `args` is `node.args`
    if the caller has it already."""
    key = (node, index)
    found = _memo.get(key)
    if found is not None:
        return found
    operation = functions.kind(node)
    args = node.args if args is None else args
    if operation == "add":
        result = ONE
    elif operation == "mul":
        result = se.Mul(*(args[:index] + args[index + 1 :]))
    elif operation == "pow" and args[0] == se.E:  # exp(x), stored as E ** x: x is argument 1
        result = _partials("exp", (args[1],), [0])[0] if index == 1 else functions.ZERO
    else:  # each argument's partial from one walk, but none for a number (nothing depends on it)
        wanted = [i for i, a in enumerate(args) if i == index or not functions.is_number(a)]
        for i, value in zip(wanted, _partials(operation, args, wanted)):
            _memo[(node, i)] = value
        return _memo[key]
    _memo[key] = result
    return result


def _partials(operation: str, args: tuple, wanted: list[int]) -> list:
    """The operation's local derivatives with respect to the arguments numbered in `wanted`."""
    _, cotangents = _template(_OPERATIONS[operation], len(args))
    chosen = [cotangents[i] for i in wanted]
    live = [c for c in chosen if c is not None]
    leaves = {f"_{i}": objects.tensor(a) for i, a in enumerate(args)}
    with np.errstate(all="ignore"):
        values = iter(elements.evaluate(live, leaves))
    return [functions.ZERO if c is None else next(values)[()] for c in chosen]
