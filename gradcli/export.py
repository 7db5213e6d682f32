"""Code export: a self-contained NumPy module or C function computing L and the gradients.

The expression graph is already common-subexpression form: every node used more than once becomes
a temporary, every other node is written inline into its single user. Each statement's right-hand
side is printed by SymPy's code printers (NumPyPrinter, C99CodePrinter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from gradcli import api, functions, ops
from gradcli.differentiate import postorder
from gradcli.lower import labels, tensor
from gradcli.model import Program, Request


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


def plan(program: Program, request: Request) -> Plan:
    """Lower, differentiate and schedule L and every gradient as statements over the inputs."""
    import sympy as sp

    prepared = api.prepare(program, request)
    gradients = {
        t: None if a is None else api.at_values(prepared, a) for t, a in api.gradient_arrays(prepared).items()
    }
    loss = api.at_values(prepared, tensor(api.loss_expression(prepared)))[()]
    roots = [loss] + [e for a in gradients.values() if a is not None for e in a.flat]
    uses: dict = {}
    order = postorder(roots)
    for node in order:
        if functions.kind(node) != "leaf":
            for arg in node.args:
                uses[arg] = uses.get(arg, 0) + 1
    for root in roots:
        uses[root] = uses.get(root, 0) + 2  # roots are always named

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

    statements = []
    for node in order:
        operation = functions.kind(node)
        if node in form:
            continue
        if operation == "leaf":
            form[node] = node._sympy_()  # SymEngine's own conversion of its tree, no text
            continue
        args = [form[a] for a in node.args]
        expr = _sympy_operation(operation, node, args)
        if uses.get(node, 0) > 1 and operation != "stop":
            name = sp.Symbol(f"_t{len(statements)}")
            statements.append((name.name, expr))
            expr = name
        form[node] = expr
    sympy_gradients = {
        t: None if a is None else np.vectorize(form.get, otypes=[object])(a) for t, a in gradients.items()
    }
    used = sorted({functions.kind(n) for n in order} & set(ops.ELEMENT_FUNCTIONS))
    shapes = {t: prepared.lowered.shape(t) for t in prepared.targets}
    return Plan(
        inputs, statements, form[loss], sympy_gradients, prepared.reasons, element_names, used, shapes
    )


def _sympy_operation(operation: str, node, args):
    import sympy as sp

    if operation == "add":
        return sp.Add(*args)
    if operation == "mul":
        return sp.Mul(*args)
    if operation == "pow":
        return sp.exp(args[1]) if str(node.args[0]) == "E" else sp.Pow(*args)
    if operation == "stop":
        return args[0]
    if operation == "abs":
        return sp.Abs(args[0])
    if operation in _SYMPY_FUNCTIONS:
        return getattr(sp, operation)(*args)
    row = ops.ELEMENT_FUNCTIONS.get(operation)
    if row is not None and row.source.fold:  # amax(a, b, c) is amax(amax(a, b), c)
        out = args[0]
        for arg in args[1:]:
            out = sp.Function(operation)(out, arg)
        return out
    return sp.Function(operation)(*args)


def _helpers(names: list[str], language: str) -> str:
    """The element functions the code calls, each from its row's source text."""
    out = []
    for name in names:
        source = ops.ELEMENT_FUNCTIONS[name].source
        if language == "numpy":
            out.append(f"\n\ndef {name}({', '.join(source.params)}):\n    return {source.numpy}\n")
        else:
            params = ", ".join(f"double {p}" for p in source.params)
            out.append(f"static double gradcli_{name}({params}) {{ return {source.c}; }}\n")
    return "".join(out)


# ---- NumPy -----------------------------------------------------------------------------------------

_NUMPY_HELPERS = """
def relu(x):
    return numpy.where(x > 0, x, 0.0 * x)


def step(x):
    return numpy.where(x > 0, 1.0, 0.0)


def sgn(x):
    return numpy.sign(x)


def sigmoid(x):
    z = numpy.exp(-numpy.abs(x))
    return numpy.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def softplus(x):
    return numpy.logaddexp(0.0, x)


def maximum(a, b):
    return numpy.where(a >= b, a, b)


def minimum(a, b):
    return numpy.where(a <= b, a, b)
"""


def numpy_module(program: Program, request: Request) -> str:
    """A Python module with `evaluate(**variables) -> (L, {target: gradient})`, needing only NumPy."""
    from sympy.printing.numpy import NumPyPrinter

    built = plan(program, request)
    printer = NumPyPrinter({"allow_unknown_functions": True, "fully_qualified_modules": True})
    defaults = {name: value for name, _, value in built.inputs if value is not None}
    shapes = {name: list(shape) for name, shape, _ in built.inputs}
    lines = [
        f'"""L and its gradients for {program.filename}, exported by gradcli. Needs only NumPy.',
        "",
        "evaluate(**variables) takes each variable and constant by name (an array or a number;",
        "declared values are the defaults) and returns (L, {target: gradient array}); a target no",
        "gradient reaches (disconnected) maps to None.",
        '"""',
        "",
        "import math",
        "",
        "import numpy",
        _NUMPY_HELPERS + _helpers(built.element_functions, "numpy"),
        f"SHAPES = {json.dumps(shapes)}",
        f"DEFAULTS = {json.dumps(defaults)}",
        f"DISCONNECTED = {json.dumps({t: r for t, r in built.reasons.items() if r})}",
        "",
        "",
        "def evaluate(**variables):",
        "    unknown = set(variables) - set(SHAPES)",
        "    if unknown:",
        '        raise TypeError(f"unknown variables: {sorted(unknown)}")',
        "    values = {**DEFAULTS, **variables}",
        "    missing = set(SHAPES) - set(values)",
        "    if missing:",
        '        raise TypeError(f"missing values for: {sorted(missing)}")',
        "    arrays = {}",
        "    for name, shape in SHAPES.items():",
        "        arrays[name] = numpy.asarray(values[name], dtype=numpy.float64)",
        "        if arrays[name].shape != tuple(shape):",
        '            raise ValueError(f"{name} has shape {arrays[name].shape}, expected {tuple(shape)}")',
    ]
    for name, shape, _ in built.inputs:
        for index, label in zip(np.ndindex(*shape), labels(name, shape)):
            lines.append(f"    {built.element_names[label]} = arrays[{name!r}][{tuple(index)!r}]  # {label}")
    for temporary, expr in built.statements:
        lines.append(f"    {temporary} = {printer.doprint(expr)}")
    lines.append(f"    L = {printer.doprint(built.loss)}")
    lines.append("    gradients = {}")
    for target, array in built.gradients.items():
        if array is None:
            lines.append(f"    gradients[{target!r}] = None  # disconnected: {built.reasons[target]}")
            continue
        entries = ", ".join(printer.doprint(e) for e in array.flat)
        shape = array.shape
        lines.append(f"    gradients[{target!r}] = numpy.array([{entries}], dtype=float).reshape({shape!r})")
    lines.append("    return L, gradients")
    return "\n".join(lines) + "\n"


# ---- C -------------------------------------------------------------------------------------------

_C_HELPERS = """#include <math.h>

static double gradcli_relu(double x) { return x > 0 ? x : 0.0; }
static double gradcli_step(double x) { return x > 0 ? 1.0 : 0.0; }
static double gradcli_sgn(double x) { return (x > 0) - (x < 0); }
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


def c_source(program: Program, request: Request) -> str:
    """C99: `void gradcli_eval(const double *in, double *out)`; the layout is in the header comment."""
    from sympy.printing.c import C99CodePrinter

    built = plan(program, request)
    functions_in_c = {**_C_FUNCTIONS, **{name: f"gradcli_{name}" for name in built.element_functions}}
    printer = C99CodePrinter({"user_functions": functions_in_c})
    layout, reads, position = [], [], 0
    for name, shape, value in built.inputs:
        if value is not None and program.declaration(name).constant:
            for index, label in zip(np.ndindex(*shape), labels(name, shape)):
                number = np.asarray(value, dtype=float)[index]
                reads.append(
                    f"    const double {built.element_names[label]} = {float(number)!r};  /* {label} */"
                )
            continue
        size = int(np.prod(shape, dtype=int)) if shape else 1
        layout.append(f" *   in[{position}..{position + size - 1}]  {name}, shape {list(shape)}, row-major")
        for index, label in enumerate(labels(name, shape)):
            reads.append(
                f"    const double {built.element_names[label]} = in[{position + index}];  /* {label} */"
            )
        position += size
    outputs, out_position = [" *   out[0]  L"], 1
    body = []
    for target, array in built.gradients.items():
        shape = built.shapes[target]
        size = int(np.prod(shape, dtype=int)) if shape else 1
        note = "" if array is not None else f" (disconnected: {built.reasons[target]}; zeros)"
        outputs.append(
            f" *   out[{out_position}..{out_position + size - 1}]  d L / d {target}, row-major{note}"
        )
        for index in range(size):
            expr = "0.0" if array is None else printer.doprint(array.flat[index])
            body.append(f"    out[{out_position + index}] = {expr};")
        out_position += size
    header = [
        f"/* L and its gradients for {program.filename}, exported by gradcli (C99, needs only <math.h>).",
        " *",
        " * void gradcli_eval(const double *in, double *out)",
        f" *   in:  {position} doubles: every variable (and constant without a value), declaration order",
        *layout,
        f" *   out: {out_position} doubles",
        *outputs,
        " */",
    ]
    helpers = _C_HELPERS + _helpers(built.element_functions, "c")
    lines = header + [helpers, "void gradcli_eval(const double *in, double *out)", "{"]
    lines += reads
    lines += [f"    const double {t} = {printer.doprint(e)};" for t, e in built.statements]
    lines.append(f"    out[0] = {printer.doprint(built.loss)};")
    lines += body
    lines.append("}")
    return "\n".join(lines) + "\n"
