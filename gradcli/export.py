"""Code export in C: a self-contained function computing L and the gradients, per element.

(`export --lang numpy` writes whole-array code from the array program: numpy_export.py.) The
per-element expression graph is already common-subexpression form: every node used more than once becomes
a temporary, every other node is written inline into its single user. Each statement's right-hand
side is printed by SymPy's C99CodePrinter from unevaluated SymPy
trees that mirror gradcli's own, so the code computes what gradcli computes: constants are folded
to float64 by gradcli's evaluator, sqrt and its reciprocal are kept for exact exponents of 1/2 and
-1/2, every other power is the float power, and sums are printed in their order (no sorting, so
the time is linear). Nothing from the program or its file name reaches the code but escaped
literals, element names (`_v0`) and temporaries (`_t0`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import symengine as se

from gradcli import api, functions, ops
from gradcli.differentiate import postorder
from gradcli.evaluate import Evaluator, to_float
from gradcli.lower import labels, size
from gradcli.model import Request
from gradcli.objects import tensor
from gradcli.syntax import Program


@dataclass(frozen=True)
class Plan:
    """What the generated code computes, from which inputs, in which order."""

    inputs: list[tuple[str, tuple[int, ...], object]]  # (name, shape, declared value or None)
    statements: list[tuple[str, object]]  # (temporary name, SymPy expression over earlier names)
    loss: object
    gradients: dict[str, np.ndarray | None]  # target -> array of SymPy expressions, None: disconnected
    reasons: dict[str, str | None]
    element_names: dict[str, str]  # element label -> generated variable name
    element_functions: list[str]  # the operations of ops.ELEMENT_FUNCTIONS the code calls
    shapes: dict[str, tuple[int, ...]]  # each target's shape


_SYMPY_FUNCTIONS = {"sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "log"}
MAX_TERMS = 64  # terms of a sum or product written in one expression (Python's compiler recurses)
MAX_NESTING = 24  # levels of inlined expressions (Python's parser allows 200 nested brackets)
INFINITY = "gradcli_inf"  # the names of +inf and NaN in a plan; each printer writes its language's
NOT_A_NUMBER = "gradcli_nan"


def plan(program: Program, request: Request) -> Plan:
    """Lower, differentiate and schedule L and every gradient as statements over the inputs."""
    import sympy as sp

    prepared = api.prepare(program, request)
    gradients = {
        t: None if a is None else api.at_values(prepared, a) for t, a in api.gradient_arrays(prepared).items()
    }
    loss = api.at_values(prepared, tensor(api.loss_expression(prepared)))[()]
    roots = [loss] + [e for a in gradients.values() if a is not None for e in a.flat]
    order = postorder(roots)
    inputs, element_names, form = [], {}, {}
    for decl in program.declarations:
        has_value = decl.literal is not None or decl.name in request.at
        if decl.constant and has_value and request.at.get(decl.name) is None:
            value = decl.literal.value
        else:
            value = (request.at.get(decl.name) or decl.literal).value if has_value else None
        inputs.append((decl.name, decl.shape, value))
        for label, symbol in zip(labels(decl.name, decl.shape), prepared.lowered.symbols[decl.name].flat):
            element_names[label] = f"_v{len(element_names)}"
            form[symbol] = sp.Symbol(element_names[label])

    variable: dict = {}  # does the node depend on an input?
    uses: dict = {}
    for node in order:
        variable[node] = node in form or any(variable[a] for a in node.args)
        if variable[node]:
            for arg in node.args:
                uses[arg] = uses.get(arg, 0) + 1
    for root in roots:
        uses[root] = uses.get(root, 0) + 2  # roots are always named

    constants = Evaluator({}, request.limits.bits)
    floats: dict[str, object] = {}  # one SymPy number for each float64 value
    statements: list[tuple[str, object]] = []

    def temporary(expr):
        name = sp.Symbol(f"_t{len(statements)}")
        statements.append((name.name, expr))
        return name

    nesting: dict = {}  # how deep each inlined expression nests (0: a name or a number)
    for node in order:
        if node in form:
            continue
        if not variable[node]:
            value = to_float(constants(node))
            form[node] = floats.get(repr(value)) or floats.setdefault(repr(value), _float_constant(value))
            continue
        operation = functions.kind(node)
        args = [form[a] for a in node.args]
        if operation == "stop":
            form[node], nesting[node] = args[0], nesting.get(node.args[0], 0)
            continue
        while operation in ("add", "mul") and len(args) > MAX_TERMS:  # left to right, in parts
            args = [temporary(_sympy_operation(operation, node, args[:MAX_TERMS])), *args[MAX_TERMS:]]
        expr = _sympy_operation(operation, node, args)
        nesting[node] = 1 + max((nesting.get(a, 0) for a in node.args), default=0)
        if uses.get(node, 0) > 1 or nesting[node] > MAX_NESTING:
            expr, nesting[node] = temporary(expr), 0
        form[node] = expr
    sympy_gradients = {
        t: None if a is None else np.vectorize(form.get, otypes=[object])(a) for t, a in gradients.items()
    }
    used = sorted({functions.kind(n) for n in order} & set(ops.ELEMENT_FUNCTIONS))
    shapes = {t: prepared.lowered.shape(t) for t in prepared.targets}
    return Plan(
        inputs, statements, form[loss], sympy_gradients, prepared.reasons, element_names, used, shapes
    )


def _float_constant(value: float):
    """A float64 constant as SymPy: a Float, or the symbols that stand for inf and nan."""
    import sympy as sp

    if math.isnan(value):
        return sp.Symbol(NOT_A_NUMBER)
    if math.isinf(value):
        infinity = sp.Symbol(INFINITY)
        return infinity if value > 0 else sp.Mul(-1, infinity, evaluate=False)
    return sp.Float(value)


def _sympy_operation(operation: str, node, args):
    """The node as an unevaluated SymPy expression of its arguments' forms (SymPy simplifies
    nothing: 0.0*x stays, as in gradcli, and no sum is sorted)."""
    import sympy as sp

    if operation == "add":
        return sp.Add(*args, evaluate=False)
    if operation == "mul":
        return sp.Mul(*args, evaluate=False)
    if operation == "pow":
        base, exponent = node.args
        if base == se.E:
            return sp.exp(args[1], evaluate=False)
        if isinstance(exponent, se.Rational) and exponent in (functions.HALF, -functions.HALF):
            half = sp.S.Half if exponent == functions.HALF else -sp.S.Half
            return sp.Pow(args[0], half, evaluate=False)  # sqrt and 1/sqrt, as gradcli evaluates them
        return sp.Pow(*args, evaluate=False)
    if operation == "stop":
        return args[0]
    if operation == "abs":
        return sp.Abs(args[0], evaluate=False)
    if operation in _SYMPY_FUNCTIONS:
        return getattr(sp, operation)(*args, evaluate=False)
    row = ops.ELEMENT_FUNCTIONS.get(operation)
    if row is not None and row.source is not None and len(args) > len(row.source.params):
        function = sp.Function(operation)  # an n-ary element function (logaddexp, amax) in pairs
        folded = args[-1]
        for arg in reversed(args[:-1]):
            folded = function(arg, folded)
        return folded
    return sp.Function(operation)(*args)


def _printer(base):
    """A SymPy code printer that writes floats in their shortest exact form, sums and products in
    their order, and inf and nan by the names `base` gives them."""

    class Printer(base):
        def __init__(self, names: dict[str, str], settings: dict):
            super().__init__({**settings, "order": "none"})
            self.names = names

        def _print_Float(self, expr):  # noqa: N802 - SymPy's name for it
            return repr(float(expr))

        def _print_Symbol(self, expr):  # noqa: N802
            return self.names.get(expr.name) or super()._print_Symbol(expr)

    return Printer


def _python_literal(value) -> str:
    """A declared value (nested tuples of numbers) as Python source of float64 numbers."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_python_literal, value)) + "]"
    number = to_float(value)
    return repr(number) if math.isfinite(number) else f'float("{number}")'


def _helpers(names: list[str]) -> str:
    """The element functions the C code calls, each from its row's source text."""
    out = []
    for name in names:
        source = ops.ELEMENT_FUNCTIONS[name].source
        params = ", ".join(f"double {p}" for p in source.params)
        out.append(f"static double gradcli_{name}({params}) {{ return {source.c}; }}\n")
    return "".join(out)


# ---- C -------------------------------------------------------------------------------------------

_C_HELPERS = """#include <math.h>

static double gradcli_positive(double x, double value) { return x > 0 ? value : (isnan(x) ? x : 0.0); }
static double gradcli_relu(double x) { return gradcli_positive(x, x); }
static double gradcli_step(double x) { return gradcli_positive(x, 1.0); }
static double gradcli_sgn(double x) { return isnan(x) ? x : (double)((x > 0) - (x < 0)); }
static double gradcli_sigmoid(double x) {
    double z = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + z) : z / (1.0 + z);
}
static double gradcli_softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
static double gradcli_maximum(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : (a >= b ? a : b); }
static double gradcli_minimum(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : (a <= b ? a : b); }
"""
_C_FUNCTIONS = {
    name: f"gradcli_{name}" for name in ("relu", "step", "sgn", "sigmoid", "softplus", "maximum", "minimum")
}


def _c_printer(element_functions=()):
    import sympy as sp
    from sympy.printing.c import C99CodePrinter

    class Printer(_printer(C99CodePrinter)):
        def _print_Pow(self, expr):  # noqa: N802
            """sqrt for an exact exponent of 1/2 (1/sqrt for -1/2), pow for every other: SymPy's
            would take sqrt for 0.5 and cbrt for 1/3, which differ from pow at -inf and below 0."""
            base, exponent = (self._print(arg) for arg in expr.args)
            if expr.exp.is_Rational and expr.exp == sp.S.Half:
                return f"sqrt({base})"
            if expr.exp.is_Rational and expr.exp == -sp.S.Half:
                return f"(1.0/sqrt({base}))"
            return f"pow({base}, {exponent})"

    functions_in_c = {**_C_FUNCTIONS, **{name: f"gradcli_{name}" for name in element_functions}}
    return Printer({INFINITY: "INFINITY", NOT_A_NUMBER: "NAN"}, {"user_functions": functions_in_c})


def _c_double(value) -> str:
    number = to_float(value)
    if math.isnan(number):
        return "NAN"
    if math.isinf(number):
        return "INFINITY" if number > 0 else "-INFINITY"
    return repr(number)


def _c_comment_text(text: str) -> str:
    """Text as a C string literal that is safe inside a comment: every character but letters,
    digits and ` .,_-+=:@[]()` is an octal escape of its UTF-8 bytes, so no `*/` can appear."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,_-+=:@[]()")
    out = []
    for char in text:
        if char in safe:
            out.append(char)
        else:
            out += [f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogateescape")]
    return '"' + "".join(out) + '"'


def c_source(program: Program, request: Request) -> str:
    """C99: `void gradcli_eval(const double *in, double *out)`; the layout is in the header comment."""
    built = plan(program, request)
    printer = _c_printer(built.element_functions)
    layout, reads, position = [], [], 0
    for name, shape, value in built.inputs:
        if value is not None and program.declaration(name).constant:
            numbers = np.empty(shape, dtype=object)
            numbers[...] = value
            for label, number in zip(labels(name, shape), numbers.flat):
                reads.append(
                    f"    const double {built.element_names[label]} = {_c_double(number)};  /* {label} */"
                )
            continue
        count = size(shape)
        layout.append(f" *   in[{position}..{position + count - 1}]  {name}, shape {list(shape)}, row-major")
        for index, label in enumerate(labels(name, shape)):
            reads.append(
                f"    const double {built.element_names[label]} = in[{position + index}];  /* {label} */"
            )
        position += count
    outputs, out_position = [" *   out[0]  L"], 1
    body = []
    for target, array in built.gradients.items():
        shape = built.shapes[target]
        count = size(shape)
        note = ""
        if array is None:
            note = f" (disconnected: {_c_comment_text(built.reasons[target])}; zeros)"
        outputs.append(
            f" *   out[{out_position}..{out_position + count - 1}]  d L / d {target}, row-major{note}"
        )
        for index in range(count):
            expr = "0.0" if array is None else printer.doprint(array.flat[index])
            body.append(f"    out[{out_position + index}] = {expr};")
        out_position += count
    header = [
        "/* L and its gradients, exported by gradcli (C99, needs only <math.h>), for the program in",
        f" * {_c_comment_text(program.filename)}",
        " *",
        " * void gradcli_eval(const double *in, double *out)",
        f" *   in:  {position} doubles: every variable (and constant without a value), declaration order",
        *layout,
        f" *   out: {out_position} doubles",
        *outputs,
        " */",
    ]
    helpers = _C_HELPERS + _helpers(built.element_functions)
    lines = header + [helpers, "void gradcli_eval(const double *in, double *out)", "{"]
    lines += reads
    lines += [f"    const double {t} = {printer.doprint(e)};" for t, e in built.statements]
    lines.append(f"    out[0] = {printer.doprint(built.loss)};")
    lines += body
    lines.append("}")
    return "\n".join(lines) + "\n"
