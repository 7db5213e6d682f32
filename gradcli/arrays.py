"""The array program: nodes over whole arrays (the IR, as a jaxpr is JAX's), built only by operations.

A `Node` is one operation applied to argument nodes with static parameters; it knows its shape,
and its values come later, from an interpreter. Nodes are hash-consed (the same operation on the
same arguments is the same node), so a program is a shared graph and identical work is done
once. An `Op` is one row of the operation table (ops.py): calling it checks shapes and applies its
simplifications, so rules written with ops (`g * (1 - out ** 2)`) build simplified programs: no
`* 1`, `+ 0` or work on zeros.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from gradcli.errors import GradcliError

Shape = tuple[int, ...]
MAX_DIMENSIONS = 32  # axes of any array (NumPy supports no more)


class ShapeError(GradcliError):
    """Operands that do not fit an operation; lowering gives it the place of the expression."""


class Node:
    """One operation on argument nodes. Compare nodes by identity (they are hash-consed)."""

    __slots__ = ("op", "args", "params", "shape", "__weakref__")

    def __init__(self, op: Op, args: tuple[Node, ...], params: tuple, shape: Shape):
        self.op = op
        self.args = args
        self.params = params
        self.shape = shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        size = 1
        for d in self.shape:
            size *= d
        return size

    def param(self, key: str):
        return dict(self.params)[key]

    def __repr__(self) -> str:
        return f"<{self.op.name} {list(self.shape)}>"

    # Arithmetic sugar, so rules read as the maths they are (each builds through the table).
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().subtract(self, other)

    def __rsub__(self, other):
        return _ops().subtract(other, self)

    def __mul__(self, other):
        return _ops().multiply(self, other)

    def __rmul__(self, other):
        return _ops().multiply(other, self)

    def __truediv__(self, other):
        return _ops().divide(self, other)

    def __rtruediv__(self, other):
        return _ops().divide(other, self)

    def __pow__(self, other):
        return _ops().power(self, other)

    def __rpow__(self, other):
        return _ops().power(other, self)

    def __neg__(self):
        return _ops().negative(self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    @property
    def T(self):  # noqa: N802 - NumPy's name
        return _ops().transpose(self)


def _ops():
    from gradcli import ops

    return ops


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: everything it is, in one place (see ops.py for the table).

    - `shape(*arg shapes, **params)` gives the result's shape or raises ShapeError;
    - `numpy(*float64 arrays, **params)` and `element(*object arrays of SymEngine scalars, **params)`
      compute it (the element form gives exact values and per-element formulas);
    - `vjp(g, out, *args, **params)` gives each argument's cotangent as nodes (None: no gradient);
    - `simplify(*args, **params)` may return an equal, simpler node instead of a new one;
    - `spelling` says how the printers write it (see printing of programs);
    - `exact_scalar` and `source` serve operations whose element form is an undefined SymEngine
      function of their own name (ops.ELEMENT_FUNCTIONS): its exact value on Python numbers, and
      its NumPy and C text for exported code."""

    name: str
    shape: Callable[..., Shape]
    numpy: Callable
    element: Callable
    vjp: Callable | None
    simplify: Callable | None = None
    spelling: object = None
    differentiable: bool = True  # False: a kink-free step (derivative 0) or a comparison
    exact_scalar: Callable | None = None  # on Python numbers, exact for int and Fraction (None: not exact)
    source: object = None  # how exported code computes one element (ops.Source), for element functions
    doc: str = ""
    _cache: weakref.WeakValueDictionary = field(default_factory=weakref.WeakValueDictionary, repr=False)

    def __call__(self, *args, **params) -> Node:
        nodes = tuple(as_node(a) for a in args)
        if self.simplify is not None:
            simpler = self.simplify(*nodes, **params)
            if simpler is not None:
                return simpler
        return self.make(nodes, params)

    def make(self, nodes: tuple[Node, ...], params: dict) -> Node:
        """The node itself, without simplification (hash-consed)."""
        frozen = tuple(sorted(params.items()))
        key = (tuple(map(id, nodes)), _hashable(frozen))
        found = self._cache.get(key)
        if found is not None:
            return found
        shape = self.shape(*(n.shape for n in nodes), **params)
        node = Node(self, nodes, frozen, tuple(shape))
        self._cache[key] = node
        return node

    def __repr__(self) -> str:
        return f"Op({self.name})"


def _hashable(value):
    """Parameters as a key that tells 1, 1.0 and True apart."""
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    return (type(value).__name__, value)


def as_node(value) -> Node:
    if isinstance(value, Node):
        return value
    return _ops().literal(value)


def is_number(value) -> bool:
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def postorder(roots, known=()) -> list[Node]:
    """Every node reachable from `roots`, each once, arguments before the nodes that use them.
    Nodes whose ids are in `known` (a memo of earlier walks) are neither listed nor entered."""
    order: list[Node] = []
    seen: set[int] = set(known)
    for root in roots:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.args))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child.args)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order
