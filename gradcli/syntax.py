"""The program as parsed: frozen dataclasses for expressions, declarations and definitions (no
parsing, no SymPy); gradcli.model holds the function table, the requests and the results."""

from __future__ import annotations

from dataclasses import dataclass

from gradcli.errors import Span

# ---- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: int | float
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    operand: Expr
    span: Span


@dataclass(frozen=True)
class Binary:
    op: str  # "+", "-", "*", "/", "//", "%", "@", "**" or a comparison
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]
    keywords: tuple[tuple[str, Expr, Span], ...]
    span: Span


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None
    span: Span


@dataclass(frozen=True)
class Index:
    """`base[items]`: each item an int, a Slice, None (a new axis), Ellipsis (`...`) or a tuple of
    ints (integer-list indexing)."""

    base: Expr
    items: tuple[int | Slice | None | tuple[int, ...], ...]
    span: Span


@dataclass(frozen=True)
class TupleExpr:
    """`(a, b)`: only as a keyword value (`axis=(0, 1)`) or an argument that takes a tuple."""

    items: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True)
class Str:
    """A string: only einsum's subscripts (`einsum("ij,jk->ik", a, b)`)."""

    value: str
    span: Span


@dataclass(frozen=True)
class AtAdd:
    """`base.at[items].add(value)` (JAX): a copy of base with value added at the index."""

    base: Expr
    items: tuple
    value: Expr
    span: Span


@dataclass(frozen=True)
class Transpose:
    base: Expr
    span: Span


Expr = Num | Name | ListExpr | Unary | Binary | Call | Index | Transpose | TupleExpr | AtAdd | Str


# ---- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A numeric literal: nested tuples of int/float, its shape, and each number's place (row-major)."""

    value: object
    shape: tuple[int, ...]
    span: Span
    numbers: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Declaration:
    """`var` or `const`: a leaf of the program, with a shape and perhaps a value."""

    name: str
    constant: bool
    shape: tuple[int, ...]
    literal: Literal | None
    span: Span
    end: int  # offset just past the declaration's last character

    @property
    def kind(self) -> str:
        return "const" if self.constant else "var"


@dataclass(frozen=True)
class Definition:
    name: str
    expr: Expr
    span: Span


@dataclass(frozen=True)
class Program:
    """A parsed file: declarations and definitions in file order, and the text they came from."""

    source: str
    filename: str
    declarations: tuple[Declaration, ...]
    definitions: tuple[Definition, ...]

    def declaration(self, name: str) -> Declaration | None:
        return next((d for d in self.declarations if d.name == name), None)

    def definition(self, name: str) -> Definition | None:
        return next((d for d in self.definitions if d.name == name), None)

    @property
    def variables(self) -> tuple[Declaration, ...]:
        return tuple(d for d in self.declarations if not d.constant)


def names_in(expr: Expr):
    """Yield (name node, the stop(...) call it sits inside or None) for each use of a name."""
    for node, stop in walk(expr):
        if isinstance(node, Name):
            yield node, stop


def walk(expr: Expr):
    """Yield (node, the stop(...) call it sits inside or None) for every node of an expression,
    parents before children, left to right (no recursion)."""
    stack: list[tuple[Expr, Call | None]] = [(expr, None)]
    while stack:
        node, stop = stack.pop()
        yield node, stop
        if isinstance(node, (ListExpr, TupleExpr)):
            stack.extend((item, stop) for item in reversed(node.items))
        elif isinstance(node, AtAdd):
            stack.extend([(node.value, stop), (node.base, stop)])
        elif isinstance(node, Unary):
            stack.append((node.operand, stop))
        elif isinstance(node, Binary):
            stack.extend([(node.right, stop), (node.left, stop)])
        elif isinstance(node, Call):
            inner = stop if (stop is not None or node.function != "stop") else node
            stack.extend((kw[1], inner) for kw in reversed(node.keywords))
            stack.extend((arg, inner) for arg in reversed(node.args))
        elif isinstance(node, (Index, Transpose)):
            stack.append((node.base, stop))
