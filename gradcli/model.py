"""The function table, requests and results (the parsed program's dataclasses are in gradcli.syntax)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parsed program's classes, imported only where a program is read
    from gradcli.syntax import Literal

Number = int | float | Fraction


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
