"""The element view of a program: every name as a NumPy object array of SymEngine scalars.

The program is first built as an array program (build.py, which checks shapes and constants with
their places); the element interpreter then runs it on arrays of element symbols (labelled
`w[0,1]`), so each definition becomes an array of exact expressions in those symbols. Shared nodes
are the same objects, so the result is a shared expression graph (a DAG), never copied per use.
Only this view is bounded by the `elements` limit, which is checked from the shapes first.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import symengine as se

from gradcli import elements, functions, objects, ops
from gradcli.arrays import MAX_DIMENSIONS, postorder
from gradcli.build import ArrayProgram, build
from gradcli.errors import GradcliError, LimitError, Span
from gradcli.model import Limits
from gradcli.syntax import Program

PRODUCT_FACTOR = 10  # terms of a matmul before summing, against the element limit


@dataclass(frozen=True)
class Lowered:
    """The program's element view: element symbols of each declaration, element expressions of
    every name, and the array program they came from (with the element memo, to extend it)."""

    program: Program
    symbols: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]  # every name: symbols for declarations, expressions for definitions
    ir: ArrayProgram | None = None
    memo: dict = field(default_factory=dict, repr=False, compare=False)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.arrays[name].shape

    def owner(self) -> dict[se.Symbol, str]:
        """Which declared name each element symbol belongs to."""
        return {s: name for name, syms in self.symbols.items() for s in syms.flat}

    def elements_of(self, nodes: list) -> list[np.ndarray]:
        """More nodes of the same program (a derivative) in the element view."""
        return elements.evaluate(nodes, self.symbols, self.memo)


label = objects.label


def labels(name: str, shape: tuple[int, ...]) -> list[str]:
    """Labels of every element, row-major."""
    return [label(name, idx) for idx in itertools.product(*(range(d) for d in shape))]


def distinct(array: np.ndarray) -> tuple[list, np.ndarray]:
    """The distinct elements of an array and each element's index among them.

    Derivatives are mostly the one shared zero (a Hessian of a million entries may hold a few
    thousand others), so those are found by identity and only the rest hashed."""
    objects = array.reshape(-1).tolist()  # a list is iterated much faster than an object array
    zero = functions.ZERO
    rest = [i for i, x in enumerate(objects) if x is not zero]
    index: dict = {zero: 0} if len(rest) < len(objects) else {}
    codes = np.zeros(len(objects), dtype=np.intp)
    codes[rest] = [index.setdefault(objects[i], len(index)) for i in rest]
    return list(index), codes.reshape(array.shape)


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    return objects.symbols(name, shape)


def scalar(value) -> se.Number:
    """A Python int, Fraction or float as an exact SymEngine number or a float64 one."""
    if isinstance(value, float):
        return se.RealDouble(value)
    if isinstance(value, int):
        return se.Integer(value)
    return se.Rational(value.numerator, value.denominator)


def lower(
    program: Program,
    stop: tuple[str, ...] = (),
    limits: Limits | None = None,
    intermediates: tuple[str, ...] = (),
) -> Lowered:
    """The element view of every declaration and definition. Defined names in `intermediates`
    (gradient targets) get symbols too: zero perturbations of their values (ops.INTERMEDIATE).
    Raises GradcliError on a shape error or a limit, before any element is built."""
    limits = limits or Limits()
    arrays = build(program, stop, limits, intermediates)
    try:
        for decl in program.declarations:
            check_size(decl.shape, decl.span, f"'{decl.name}'", limits)
        order = postorder(list(arrays.nodes.values()))
        places = _places(order, arrays.spans)
        for node in order:
            span = places.get(id(node))
            check_size(node.shape, span, "this expression", limits)
            obstacle = per_element_obstacle(node, limits)
            if obstacle is not None:
                raise LimitError(obstacle, span)
    except GradcliError as error:
        raise error.located(program.source, program.filename) from None
    symbols = {d.name: element_symbols(d.name, d.shape) for d in program.declarations}
    symbols.update({name: element_symbols(name, arrays.node(name).shape) for name in intermediates})
    memo: dict = {}
    names = list(arrays.nodes)
    with np.errstate(all="ignore"):
        values = elements.evaluate([arrays.nodes[n] for n in names], symbols, memo)
    return Lowered(program, symbols, dict(zip(names, values)), arrays, memo)


def _places(order: list, spans: dict[int, Span]) -> dict[int, Span]:
    """Each node's place: where it was written, or else its consumer's (a step inside a catalogue
    function's composition, such as tile's broadcast, is refused at the call)."""
    places = dict(spans)
    for node in reversed(order):  # every consumer before its arguments
        place = places.get(id(node))
        if place is not None:
            for arg in node.args:
                places.setdefault(id(arg), place)
    return places


def size(shape: tuple[int, ...]) -> int:
    """The number of elements of a shape, as an exact Python int (no overflow)."""
    return int(np.prod(shape, dtype=object)) if shape else 1


MATRIX_FUNCTIONS = (ops.DET, ops.LOGDET, ops.INV, ops.SOLVE)


def per_element_obstacle(node, limits: Limits) -> str | None:
    """Why this node is too large for the element view beyond its size (None: it is not): the
    products of a matmul or an einsum, or a symbolic matrix function of a large matrix."""
    if node.op is ops.MATMUL or node.op is ops.EINSUM:
        size = _products(node)
        if size > PRODUCT_FACTOR * limits.elements:
            return (
                f"this {node.op.name} needs {size} products, more than the limit of "
                f"{PRODUCT_FACTOR * limits.elements} ({PRODUCT_FACTOR} x --limit elements=N)"
            )
    if node.op is ops.CUMSUM or node.op is ops.CUMPROD:
        length = node.shape[node.param("axis")]
        terms = node.size // max(length, 1) * length * (length + 1) // 2
        if terms > PRODUCT_FACTOR * limits.elements:
            limit = PRODUCT_FACTOR * limits.elements
            return f"this {node.op.name} has {terms} terms per element, more than the limit of {limit}"
    if node.op in MATRIX_FUNCTIONS:
        side = node.args[0].shape[-1]
        if side > ops.MATRIX_ELEMENT_SIDE:
            return (
                f"{node.op.name} of a {side}x{side} matrix is expanded per element (exact values, formulas, "
                f"higher orders) only up to {ops.MATRIX_ELEMENT_SIDE}x{ops.MATRIX_ELEMENT_SIDE}"
            )
        matrices = node.args[0].size // max(side * side, 1)
        work = matrices * math.comb(2 * side, side) * side  # the minors of every matrix of the stack
        if work > limits.elements:
            return f"{node.op.name} of {matrices} matrices of {side}x{side} is too much to expand per element"
    return None


def _products(node) -> int:
    if node.op is ops.MATMUL:
        return int(np.prod(node.shape, dtype=object)) * node.args[0].shape[-1]
    sizes = {
        letter: size
        for letters, arg in zip(node.param("inputs"), node.args)
        for letter, size in zip(letters, arg.shape)
    }
    return int(np.prod(list(sizes.values()), dtype=object))


def check_size(shape: tuple[int, ...], span: Span | None, what: str, limits: Limits) -> None:
    if len(shape) > MAX_DIMENSIONS:
        message = f"{what} would have {len(shape)} axes; at most {MAX_DIMENSIONS} are supported"
        raise GradcliError(message, span)
    if size(shape) > limits.elements:
        raise LimitError(
            f"{what} would have {size(shape)} elements, more than the limit of {limits.elements}; "
            "raise it with --limit elements=N",
            span,
        )
    others = size(tuple(d for d in shape if d))  # an empty array's: NumPy's index range bounds them
    if others > limits.elements:
        raise LimitError(
            f"{what} is empty, but its other sizes multiply to {others}, more than the limit of "
            f"{limits.elements}; raise it with --limit elements=N",
            span,
        )
