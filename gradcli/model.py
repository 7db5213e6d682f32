"""The program model: frozen dataclasses for declarations, expressions and requests (no parsing, no SymPy)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from fractions import Fraction

from gradcli.errors import Span

Number = int | float | Fraction


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


# ---- the functions of the language: name -> (fewest, most positional arguments, keywords) ----

_ONE_ARGUMENT = (
    "sin cos tan asin acos atan sinh cosh tanh exp log sqrt abs square sigmoid relu softplus stop "
    "step sign zeros ones log1p expm1 log2 log10 exp2 cbrt reciprocal floor ceil erf erfc "
    "asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh gelu silu log_sigmoid softsign "
    "zeros_like ones_like trace diag det logdet inv trunc deg2rad rad2deg positive negative copy "
    "diagonal ravel fliplr flipud sinc logit logical_not atleast_1d atleast_2d atleast_3d column_stack dstack"
)
_TWO_ARGUMENTS = (
    "pow power maximum minimum matmul dot atan2 arctan2 hypot logaddexp outer inner solve grad mod fmod "
    "floor_divide logaddexp2 heaviside vdot kron matrix_power cross sinc_maclaurin xlogy "
    "logical_and logical_or logical_xor"
)
_REDUCTIONS = "sum mean prod max min logsumexp median ptp"
FUNCTIONS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    **{name: (1, 1, ()) for name in _ONE_ARGUMENT.split()},
    **{name: (2, 2, ()) for name in _TWO_ARGUMENTS.split()},
    **{name: (1, 2, ("axis", "keepdims")) for name in _REDUCTIONS.split()},
    **{name: (1, 2, ("axis", "keepdims", "ddof")) for name in ("var", "std")},
    **{
        name: (1, 2, ("axis",))
        for name in ("softmax", "log_softmax", "cumsum", "cumprod", "sort", "flip", "expand_dims", "squeeze")
    },
    "elu": (1, 2, ("alpha",)),
    "leaky_relu": (1, 2, ("negative_slope",)),
    "norm": (1, 3, ("ord", "axis", "keepdims")),
    "clip": (3, 3, ()),
    "round": (1, 2, ("decimals",)),
    "triu": (1, 2, ("k",)),
    "tril": (1, 2, ("k",)),
    "swapaxes": (3, 3, ()),
    "moveaxis": (3, 3, ()),
    "hstack": (1, 1, ()),
    "vstack": (1, 1, ()),
    "roll": (1, 3, ("shift", "axis")),
    "tile": (1, 2, ("reps",)),
    "repeat": (1, 3, ("repeats", "axis")),
    "tensordot": (2, 3, ("axes",)),
    "average": (1, 3, ("axis", "weights", "keepdims")),
    "diff": (1, 3, ("n", "axis", "prepend", "append")),
    "trapezoid": (1, 4, ("x", "dx", "axis")),
    "take": (2, 3, ("axis",)),
    "pad": (2, 3, ("mode", "constant_values")),
    "arange": (0, 3, ("start", "stop", "step")),  # NumPy 2: arange(stop=5)
    "linspace": (2, 4, ("num", "endpoint")),
    "full_like": (2, 2, ()),
    "eye": (1, 3, ("M", "k")),
    "einsum": (2, 26, ()),
    "transpose": (1, 2, ("axes",)),
    "where": (3, 3, ()),
    "full": (2, 2, ()),
    "broadcast_to": (2, 2, ()),
    "reshape": (2, 2, ()),
    "concatenate": (1, 1, ("axis",)),
    "stack": (1, 1, ("axis",)),
}
# NumPy's names of leading positional parameters, which NumPy code may pass as keywords
# (np.full(3, fill_value=2.0), np.zeros(shape=3)): such a keyword fills its place in order.
POSITIONAL_NAMES: dict[str, tuple[str, ...]] = {
    "zeros": ("shape",),
    "ones": ("shape",),
    "full": ("shape", "fill_value"),
    "zeros_like": ("a",),
    "ones_like": ("a",),
    "full_like": ("a", "fill_value"),
    "eye": ("N",),
    "identity": ("n",),
    "linspace": ("start", "stop"),
    "clip": ("a", "a_min", "a_max"),
    "reshape": ("a", "shape"),
    "broadcast_to": ("array", "shape"),
}
# Names that stand for constants unless the program declares or defines them (None: axis=None).
CONSTANTS = ("pi", "e", "inf", "None")
KEYWORDS = ("var", "const")


# ---- requests ----------------------------------------------------------------------------


class Unconnected(str, enum.Enum):
    NONE = "none"
    ZERO = "zero"


class Language(str, enum.Enum):
    """What `gradcli export` writes."""

    NUMPY = "numpy"
    C = "c"


class SymbolicMode(str, enum.Enum):
    AUTO = "auto"
    FULL = "full"
    NONE = "none"


@dataclass(frozen=True)
class Limits:
    """Bounds that keep any input from hanging or exhausting memory (`--limit NAME=VALUE` raises them)."""

    elements: int = 100_000  # elements of any tensor: a declaration or an intermediate
    result: int = 1_000_000  # elements of a result: derivative tensor, Hessian, Jacobian
    order: int = 10  # highest --order
    exponent: int = 10_000  # exponent of an exact power of constants
    bits: int = 100_000  # size of an exact integer or fraction value
    nesting: int = 200  # brackets nested in a file
    depth: int = 2_000  # operators chained in one expression (a + a + ... or -(-(-...)))
    operations: int = 1_000_000  # operations printed in one symbolic result, even with --symbolic full
    time: float = 120.0  # seconds of wall time for one command
    memory: int = 2048  # MiB of arrays in one whole-array evaluation, checked from the shapes

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)


@dataclass(frozen=True)
class Request:
    """What to differentiate: outputs, targets, weights, values, order and display options."""

    of: tuple[str, ...] = ()
    wrt: tuple[str, ...] = ()
    grad_ys: dict[str, Literal] = field(default_factory=dict)
    at: dict[str, Literal] = field(default_factory=dict)
    order: int = 1
    stop: tuple[str, ...] = ()
    unconnected: Unconnected = Unconnected.NONE
    symbolic: SymbolicMode = SymbolicMode.AUTO
    limits: Limits = field(default_factory=Limits)


# ---- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetResult:
    """One target's derivative: `symbolic` and `value` are nested lists of the result's shape."""

    name: str
    status: str  # "ok" or "disconnected"
    reason: str | None
    shape: tuple[int, ...]
    symbolic: object | None
    symbolic_elided: str | None
    value: object | None
    needs: tuple[str, ...]
    expressions: object = field(default=None, repr=False, compare=False)  # the array of expressions
    matrix: str | None = None  # the gradient as one whole-array expression (order 1)
    matrix_elided: str | None = None  # why there is no matrix form
    matrix_latex: str | None = field(default=None, repr=False, compare=False)  # the matrix form in LaTeX


@dataclass(frozen=True)
class GradResult:
    command: str
    file: str
    of: tuple[str, ...]
    wrt: tuple[str, ...]
    order: int
    unconnected: Unconnected
    gradients: tuple[TargetResult, ...]
    loss: Number | None = None  # L at the values (None: a value is missing)
    loss_needs: tuple[str, ...] = ()  # the variables L needs a value for
    vector: tuple[str, ...] = ()  # a Hessian-vector product (hessian --vector): the targets given a part

    @property
    def disconnected(self) -> dict[str, str]:
        return {t.name: t.reason for t in self.gradients if t.status == "disconnected"}


@dataclass(frozen=True)
class MatrixResult:
    """A Hessian (rows and cols: target elements) or a Jacobian (rows: output elements)."""

    command: str
    file: str
    of: tuple[str, ...]
    wrt: tuple[str, ...]
    unconnected: Unconnected
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    symbolic: object | None
    symbolic_elided: str | None
    value: object | None
    needs: tuple[str, ...]
    disconnected: dict[str, str]
    expressions: object = field(default=None, repr=False, compare=False)  # the matrix of expressions
    matrix: str | None = None  # a Hessian of one target as one whole-array expression
    matrix_elided: str | None = None  # why there is none (one target only)
