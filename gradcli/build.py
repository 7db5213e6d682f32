"""Lowering to the array program: Program -> nodes over whole arrays, shapes checked once, with places.

No element is expanded here: a 784x128 layer is one node. Each definition's node is remembered
under its name, so printers can write results over the program's own names.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradcli import ops
from gradcli.arrays import Node, ShapeError
from gradcli.errors import GradcliError, Span
from gradcli.model import (
    Binary,
    Call,
    Expr,
    Index,
    ListExpr,
    Name,
    Num,
    Program,
    Slice,
    Transpose,
    Unary,
)


@dataclass(frozen=True)
class ArrayProgram:
    """A program as nodes: `nodes` maps every declared and defined name to its node; `names` maps
    a node's id to the first name it was given (for printing)."""

    program: Program
    nodes: dict[str, Node]
    names: dict[int, str]
    defined: dict[str, Node]  # each definition as written (before --stop cuts it)

    def node(self, name: str) -> Node:
        return self.nodes[name]


def build(program: Program, stop: tuple[str, ...] = ()) -> ArrayProgram:
    """Lower every declaration and definition. Raises GradcliError (located) on a shape error."""
    nodes: dict[str, Node] = {}
    names: dict[int, str] = {}
    defined: dict[str, Node] = {}
    try:
        for decl in program.declarations:
            make = ops.constant if decl.constant else ops.variable
            nodes[decl.name] = make(decl.name, decl.shape)
            names[id(nodes[decl.name])] = decl.name
        lowering = _Lowering(nodes)
        for definition in program.definitions:
            node = lowering.expr(definition.expr)
            names.setdefault(id(node), definition.name)
            defined[definition.name] = node
            if definition.name in stop:
                node = ops.STOP(node)
                names.setdefault(id(node), definition.name)
            nodes[definition.name] = node
    except GradcliError as error:
        raise error.located(program.source, program.filename) from None
    return ArrayProgram(program, nodes, names, defined)


_BINARY = {"+": ops.add, "-": ops.subtract, "*": ops.multiply, "/": ops.divide, "**": ops.power}


class _Lowering:
    def __init__(self, nodes: dict[str, Node]):
        self.nodes = nodes

    def expr(self, node: Expr) -> Node:
        try:
            if isinstance(node, Num):
                return ops.literal(node.value)
            if isinstance(node, Name):
                return self.nodes[node.id]
            if isinstance(node, ListExpr):
                return self._list(node)
            if isinstance(node, Unary):
                operand = self.expr(node.operand)
                return -operand if node.op == "-" else operand
            if isinstance(node, Binary):
                left, right = self.expr(node.left), self.expr(node.right)
                if node.op == "@":
                    return ops.matmul(left, right)
                return _BINARY[node.op](left, right)
            if isinstance(node, Call):
                return self._call(node)
            if isinstance(node, Index):
                return self._index(node)
            if isinstance(node, Transpose):
                return ops.transpose(self.expr(node.base))
        except ShapeError as error:
            if error.span is None:
                error.span = node.span
            raise
        raise GradcliError("this expression is not supported", node.span)

    def _list(self, node: ListExpr) -> Node:
        items = [self.expr(item) for item in node.items]
        for item, sub in zip(items[1:], node.items[1:]):
            if item.shape != items[0].shape:
                raise GradcliError(
                    f"list elements differ in shape: {list(items[0].shape)} and {list(item.shape)}", sub.span
                )
        if not items:
            return ops.literal(())
        if all(i.op is ops.LITERAL for i in items):
            return ops.literal(tuple(i.param("value") for i in items))
        return ops.stack(items)

    def _call(self, node: Call) -> Node:
        name = node.function
        args = [self.expr(a) for a in node.args]
        if name in ops.UNARY_FUNCTIONS:
            return ops.UNARY_FUNCTIONS[name](args[0])
        if name == "square":
            return args[0] ** 2
        if name == "pow":
            return args[0] ** args[1]
        if name == "maximum":
            return ops.MAXIMUM(*args)
        if name == "minimum":
            return ops.MINIMUM(*args)
        if name in ("sum", "mean"):
            return self._reduction(node, args[0])
        if name == "matmul":
            return ops.matmul(*args)
        if name == "dot":
            return ops.dot(*args)
        if name == "transpose":
            return ops.transpose(args[0])
        raise GradcliError(f"'{name}' is not implemented", node.span)

    def _reduction(self, node: Call, x: Node) -> Node:
        axis = None
        for _, value, span in node.keywords:
            axis = _integer_constant(value, span)
            if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
                raise GradcliError(
                    f"axis {axis} is out of range for an operand of shape {list(x.shape)}", span
                )
        total = ops.sum_(x, axis)
        if node.function == "sum":
            return total
        count = x.size // max(total.size, 1) if x.size else 0
        if count == 0:
            raise GradcliError("mean of an empty array", node.span)
        return total / count

    def _index(self, node: Index) -> Node:
        base = self.expr(node.base)
        if len(node.items) > base.ndim:
            raise GradcliError(
                f"too many indices: {len(node.items)} for an operand of shape {list(base.shape)}", node.span
            )
        key = []
        for axis, (item, size) in enumerate(zip(node.items, base.shape)):
            if isinstance(item, Slice):
                if item.step == 0:
                    raise GradcliError("slice step cannot be zero", node.span)
                key.append(("slice", item.start, item.stop, item.step))
            else:
                if not -size <= item < size:
                    raise GradcliError(
                        f"index {item} is out of range for axis {axis} of size {size}", node.span
                    )
                key.append(item % size)
        return ops.getitem(base, tuple(key))


def _integer_constant(node: Expr, span: Span) -> int:
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Num):
        value = -node.operand.value
    elif isinstance(node, Num):
        value = node.value
    else:
        value = None
    if not isinstance(value, int):
        raise GradcliError("axis must be an integer, e.g. axis=0", span)
    return value
