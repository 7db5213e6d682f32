"""The library: parse a program, ask for derivatives, get result objects (no click, no Rich)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import symengine as se

from gradcli import ad, differentiate, functions, numbers, ops
from gradcli.arrays import Node
from gradcli.errors import GradcliError, LimitError
from gradcli.evaluate import MISSING, Evaluator, to_float
from gradcli.factored import nested_factored
from gradcli.graph import disconnection_reasons
from gradcli.lower import MAX_DIMENSIONS, Lowered, distinct, labels, lower, scalar, size
from gradcli.model import GradResult, MatrixResult, Request, SymbolicMode, TargetResult, Unconnected
from gradcli.objects import tensor
from gradcli.parser import did_you_mean, parse, parse_literal  # noqa: F401 - parse* are part of the API
from gradcli.printing import AUTO_MAX_OPERATIONS, nested, operations, symbolic
from gradcli.syntax import Literal, Program


@dataclass(frozen=True)
class Prepared:
    """A program lowered for one request: outputs, targets, weights, values and connectivity."""

    program: Program
    lowered: Lowered
    outputs: tuple[str, ...]
    targets: tuple[str, ...]
    weights: dict[str, np.ndarray]
    values: dict[se.Symbol, object]
    float_names: frozenset[str]
    reasons: dict[str, str | None]
    request: Request

    @property
    def seeds(self) -> list[tuple[Node, Node]]:
        """Each output's node with its weights (grad_ys) as a node: the VJP's seeds."""
        ir = self.lowered.ir
        out = []
        for name in self.outputs:
            literal = self.request.grad_ys.get(name)
            weight = ops.literal(1) if literal is None else ops.literal(literal.value)
            out.append((ir.node(name), ops.broadcast_to(weight, ir.node(name).shape)))
        return out

    def connected(self) -> list[str]:
        return [t for t in self.targets if self.reasons[t] is None]

    @property
    def disconnected(self) -> dict[str, str]:
        """The targets no gradient reaches, with the reason."""
        return {t: r for t, r in self.reasons.items() if r is not None}


def resolve_names(program: Program, request: Request) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The outputs and targets a request names, checked against the program (--of, --wrt, --stop)."""
    defined = [d.name for d in program.definitions]
    for name in request.stop:
        if name not in defined:
            raise GradcliError(f"--stop {name}: {_not_a('defined name', name, program, defined)}")
    names = [d.name for d in program.declarations] + defined
    outputs = request.of or (defined[-1],)
    for name in outputs:
        if name not in names:
            raise GradcliError(f"--of {name}: {_not_a('name', name, program, names)}")
    variables = [d.name for d in program.variables]
    targets = request.wrt or tuple(variables)
    for name in targets:
        if name not in variables and name not in defined:
            what = _not_a("variable or a defined name", name, program, variables + defined)
            raise GradcliError(f"--wrt {name}: {what}")
    if len(set(targets)) != len(targets) or len(set(outputs)) != len(outputs):
        raise GradcliError("a name is given twice in --wrt or --of")
    return tuple(outputs), tuple(targets)


def intermediates(program: Program, targets) -> tuple[str, ...]:
    """The targets that are defined names (gradients with respect to intermediates, as
    tf.gradients allows)."""
    return tuple(t for t in targets if program.definition(t) is not None)


def at_values(prepared: Prepared, array: np.ndarray) -> np.ndarray:
    """Expressions with the zero perturbations of intermediate targets set to 0 (for showing and
    exporting them; their values are the same)."""
    names = intermediates(prepared.program, prepared.targets)
    if not names:
        return array
    zero = {s: functions.ZERO for name in names for s in prepared.lowered.symbols[name].flat}
    out = np.empty(array.shape, dtype=object)
    out.reshape(-1)[:] = [e.subs(zero) for e in array.flat]
    return out


def prepare(program: Program, request: Request) -> Prepared:
    """Check the request against the program and lower it. Raises GradcliError on a bad request."""
    limits = request.limits
    check_order(request)
    outputs, targets = resolve_names(program, request)
    if not targets:
        raise GradcliError("the program declares no variable ('var NAME') to differentiate by")
    lowered = lower(program, request.stop, limits, intermediates(program, targets))
    weights = {}
    for name in outputs:
        literal = request.grad_ys.get(name)
        weights[name] = np.broadcast_to(tensor(functions.ONE), lowered.shape(name))
        if literal is not None:
            weights[name] = _weights(literal, name, lowered.shape(name))
    for name in request.grad_ys:
        if name not in outputs:
            raise GradcliError(f"--grad-ys {name}: '{name}' is not an output; outputs: {', '.join(outputs)}")
    values, float_names = _values(program, lowered, request.at)
    for name in intermediates(program, targets):  # zero perturbations: the derivative at h's value
        values.update((symbol, 0) for symbol in lowered.symbols[name].flat)
        if set(numbers.leaves([lowered.ir.node(name)])) & float_names:
            float_names |= {name}
    reasons = disconnection_reasons(program, outputs, targets, request.stop)
    return Prepared(program, lowered, outputs, targets, weights, values, float_names, reasons, request)


def check_order(request: Request) -> None:
    """Refuse an --order below 1 or above --limit order, before any work."""
    limit = request.limits.order
    if request.order < 1 or request.order > limit:
        raise LimitError(
            f"--order must be between 1 and {limit}, got {request.order}"
            + ("; raise the limit with --limit order=N" if request.order > limit else "")
        )


def _not_a(kind: str, name: str, program: Program, choices: list[str]) -> str:
    decl = program.declaration(name)
    if decl is not None:
        what = f"'{name}' is a {decl.kind}"
    elif program.definition(name) is not None:
        what = f"'{name}' is a defined name"
    else:
        what = f"unknown name '{name}'" + did_you_mean(name, choices)
    return f"{what}; expected a {kind}: {', '.join(choices) or '(none)'}"


def _weights(literal: Literal, name: str, shape: tuple[int, ...]) -> np.ndarray:
    try:  # from the shapes, before any array is built (a literal may have 100 axes)
        if len(literal.shape) > len(shape) or np.broadcast_shapes(literal.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise GradcliError(
            f"--grad-ys {name}: weights of shape {list(literal.shape)} do not broadcast to "
            f"the shape of {name}, {list(shape)}"
        ) from None
    array = _literal_array(literal)
    return np.broadcast_to(tensor(np.frompyfunc(scalar, 1, 1)(array)), shape)  # 0-d stays an array


def _literal_array(literal: Literal) -> np.ndarray:
    out = np.empty(literal.shape, dtype=object)
    if literal.shape == ():
        out[()] = literal.value
    else:
        out[...] = np.array(literal.value, dtype=object)
    return out


def _values(program: Program, lowered: Lowered, at: dict[str, Literal]):
    values: dict[se.Symbol, object] = {}
    float_names = set()
    for name, literal in at.items():
        decl = program.declaration(name)
        if decl is None:
            names = [d.name for d in program.declarations]
            raise GradcliError(f"--at {name}: {_not_a('variable or constant', name, program, names)}")
        if literal.shape != decl.shape:
            raise GradcliError(
                f"--at {name}: a value of shape {list(literal.shape)} for '{name}', "
                f"declared with shape {list(decl.shape)}"
            )
    for decl in program.declarations:
        literal = at.get(decl.name, decl.literal)
        if literal is None:
            continue
        array = _literal_array(literal)
        is_float = any(isinstance(v, float) for v in array.flat)
        if is_float:
            float_names.add(decl.name)
        for symbol, value in zip(lowered.symbols[decl.name].flat, array.flat):
            values[symbol] = np.float64(value) if is_float else value
    return values, frozenset(float_names)


# ---- results -----------------------------------------------------------------------------


def _to_number(value, as_float: bool):
    """A JSON-ready Python number: exact integers stay int, however large (unless the result is a
    float one); a float beyond float64's range is +-inf."""
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, int) and not isinstance(value, bool) and not as_float:
        return value
    return to_float(value)


def _all_integers(values) -> bool:
    return all(isinstance(v, int) or isinstance(v, Fraction) and v.denominator == 1 for v in values)


def _numbers(array: np.ndarray, evaluator: Evaluator, as_float, factored: tuple | None = None):
    """Nested lists of numbers, None if any is unknown. `as_float` (per element, broadcast) marks
    results that are floats whatever their value; exact integers stay ints only if all are.
    Each distinct entry is evaluated once (`factored`: distinct(array), if the caller has it)."""
    unique, codes = factored or distinct(array)
    values = evaluator.many(unique)
    if any(v is MISSING for v in values):
        return None
    floats = [_to_number(v, True) for v in values]
    codes = codes.reshape(array.shape)
    if not _all_integers(values):
        return nested_factored(floats, codes)
    exact = [_to_number(v, False) for v in values]
    as_float = np.broadcast_to(as_float, array.shape)
    return nested_factored(exact + floats, codes + as_float * len(values))  # a float's code: past the ints


def needs(prepared: Prepared, arrays: list[np.ndarray]) -> tuple[str, ...]:
    """The declared names, in file order, whose missing values the expressions in `arrays` need."""
    missing = {
        n
        for n in differentiate.postorder(e for a in arrays for e in a.flat)
        if isinstance(n, se.Symbol) and n not in prepared.values
    }
    owner = prepared.lowered.owner()
    names = {owner[s] for s in missing if s in owner}
    return tuple(d.name for d in prepared.program.declarations if d.name in names)


def _zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.full(shape, functions.ZERO, dtype=object)


def _check_result_size(shape: tuple[int, ...], limits) -> None:
    if len(shape) > MAX_DIMENSIONS:
        raise GradcliError(
            f"the result would have {len(shape)} axes (the target's, once per order); "
            f"at most {MAX_DIMENSIONS} are supported"
        )
    count = size(shape)
    if count > limits.result:
        raise LimitError(
            f"the result would have {count} elements, more than the limit of {limits.result}; "
            "raise it with --limit result=N"
        )


def first_derivatives(prepared: Prepared) -> dict[str, Node]:
    """Each connected target's gradient as a node of the array program (zeros where the rules pass
    no gradient, e.g. only through sign(x))."""
    connected = prepared.connected()
    ir = prepared.lowered.ir
    results = ad.vjp(prepared.seeds, [ir.node(t) for t in connected])
    return {t: r if r is not None else ops.zeros(ir.node(t).shape) for t, r in zip(connected, results)}


def gradient_arrays(prepared: Prepared, order: int | None = None) -> dict[str, np.ndarray | None]:
    """Each target's derivative of `order` (default: the request's) as an array of SymEngine
    expressions (None: disconnected): the gradient from the element view of its array program,
    higher orders by sparse sweeps over each entry's own graph (differentiate.py)."""
    order = order or prepared.request.order
    connected = prepared.connected()
    firsts = dict(
        zip(connected, prepared.lowered.elements_of([first_derivatives(prepared)[t] for t in connected]))
    )
    result = {}
    for target in prepared.targets:
        shape = prepared.lowered.shape(target)
        if order > 1:  # a gradient is the size of its target, which the elements limit bounds
            _check_result_size(shape * order, prepared.request.limits)
        if prepared.reasons[target] is not None:
            result[target] = None
            continue
        first = firsts[target]
        if order > 1:
            first = differentiate.derivative_tensor(first, prepared.lowered.symbols[target], order)
        result[target] = first
    return result


def float_values(prepared: Prepared) -> dict[str, np.ndarray]:
    """Every declaration whose elements all have values, as float64 arrays."""
    out = {}
    for name, symbols in prepared.lowered.symbols.items():
        if all(s in prepared.values for s in symbols.flat):
            out[name] = np.array([float(prepared.values[s]) for s in symbols.flat], dtype=np.float64).reshape(
                symbols.shape
            )
    return out


def _seeded_rows(prepared: Prepared, keys) -> Iterator[np.ndarray]:
    """Rows of a derivative tensor in float64 (whole.derivative_rows): for each key (one
    (target, flat index) pair per seed), its entries over every connected target's elements."""
    from gradcli import whole

    ir = prepared.lowered.ir
    connected = prepared.connected()
    position = {t: i for i, t in enumerate(connected)}
    keys = [tuple((position[t], i) for t, i in key) for key in keys]
    targets = [ir.node(t) for t in connected]
    return whole.derivative_rows(
        prepared.seeds, targets, float_values(prepared), keys, prepared.request.limits
    )


def _numeric_last_order(prepared: Prepared, target: str) -> TargetResult | None:
    """The order-N derivative's values in float64 from its array program, when the symbolic
    result would not be shown (see _numbers_suffice); else None."""
    order = prepared.request.order
    below = gradient_arrays(prepared, order - 1)[target]
    skipped = _numbers_suffice(prepared, list(below.flat))
    if skipped is None:
        return None
    from gradcli import whole

    shape = prepared.lowered.shape(target)
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    keys = list(itertools.combinations_with_replacement(range(size), order - 1))
    connected = prepared.connected()
    offset = sum(prepared.lowered.symbols[t].size for t in connected[: connected.index(target)])
    try:
        rows = _seeded_rows(prepared, [tuple((target, i) for i in key) for key in keys])
        computed = {key: row[offset : offset + size] for key, row in zip(keys, rows)}
    except numbers.MissingValueError:  # the array program uses a value the simplified entries do not
        return None
    value = nested(whole.symmetric_tensor(computed, size, order).reshape(shape * order))
    return TargetResult(target, "ok", None, shape * order, None, skipped, value, ())


def gradient(program: Program, request: Request) -> GradResult:
    """The N-th derivative of L for each target and L itself (README, "Commands"). Raises GradcliError."""
    from gradcli import whole

    check_order(request)
    if whole.needs_whole_arrays(program, request):
        return whole.gradient(program, request)
    if request.symbolic is SymbolicMode.NONE and whole.numbers_suffice(program, request, every_value=True):
        result = whole.gradient(program, request, "skipped (--symbolic none)")
        if all_finite(t.value for t in result.gradients):
            return result  # else per element: 0 * inf is NaN on whole arrays, 0 per element
    prepared = prepare(program, request)
    numeric = {}
    if request.order > 1:
        numeric = {t: _numeric_last_order(prepared, t) for t in prepared.connected()}
    arrays = gradient_arrays(prepared) if None in numeric.values() or not numeric else {}
    evaluator = Evaluator(prepared.values, request.limits.bits)
    results = []
    for target in prepared.targets:
        if numeric.get(target) is not None:
            results.append(numeric[target])
            continue
        array = arrays.get(target)
        reason = prepared.reasons[target]
        shape = prepared.lowered.shape(target) * request.order
        if array is None and request.unconnected is Unconnected.ZERO:
            array = _zeros(shape)
        if array is None:
            results.append(TargetResult(target, "disconnected", reason, shape, None, None, None, ()))
            continue
        array = at_values(prepared, array)
        text, elided = symbolic(
            array, request.symbolic, request.limits.operations, arguments=evaluator.arguments
        )
        value = _numbers(array, evaluator, target in prepared.float_names)
        missing = needs(prepared, [array]) if value is None else ()
        status = "ok" if reason is None else "disconnected"
        results.append(TargetResult(target, status, reason, shape, text, elided, value, missing, array))
    loss = loss_expression(prepared)
    loss_value = evaluator(loss)
    result = GradResult(
        "grad",
        program.filename,
        prepared.outputs,
        prepared.targets,
        request.order,
        request.unconnected,
        tuple(results),
        loss=None if loss_value is MISSING else to_number(loss_value),
        loss_needs=needs(prepared, [np.array([loss])]) if loss_value is MISSING else (),
    )
    return whole.with_matrix(result, program=program, request=request)


def _matrix_result(
    command: str,
    prepared: Prepared,
    rows: list[str],
    cols: list[str],
    matrix: np.ndarray,
    float_rows: list[bool],
    float_cols: list[bool],
    factored: tuple | None = None,
) -> MatrixResult:
    """`factored`: distinct(matrix), if the caller has it."""
    request = prepared.request
    shown = at_values(prepared, matrix)
    if shown is not matrix or factored is None:
        matrix, factored = shown, distinct(shown)
    arguments: dict = {}  # of the distinct entries' nodes: read once for the printer and the evaluator
    text, elided = symbolic(matrix, request.symbolic, request.limits.operations, factored, arguments)
    evaluator = Evaluator(prepared.values, request.limits.bits, arguments)
    value = _numbers(matrix, evaluator, np.logical_or.outer(float_rows, float_cols), factored)
    missing = needs(prepared, [matrix]) if value is None else ()
    return MatrixResult(
        command,
        prepared.program.filename,
        prepared.outputs,
        prepared.targets,
        request.unconnected,
        tuple(rows),
        tuple(cols),
        text,
        elided,
        value,
        missing,
        prepared.disconnected,
        matrix,
    )


def _columns(prepared: Prepared):
    """Target element symbols and labels that appear in a matrix (disconnected ones only as zeros)."""
    symbols, names, floats, live = [], [], [], []
    for target in prepared.targets:
        connected = prepared.reasons[target] is None
        if not connected and prepared.request.unconnected is Unconnected.NONE:
            continue
        shape = prepared.lowered.shape(target)
        for s, name in zip(prepared.lowered.symbols[target].flat, labels(target, shape)):
            symbols.append(s)
            names.append(name)
            floats.append(target in prepared.float_names)
            live.append(connected)
    return symbols, names, floats, live


def hessian(program: Program, request: Request, formulas_with_values: bool = True) -> MatrixResult:
    """The full Hessian of L over all target elements, cross blocks included, exactly symmetric;
    for one scalar or vector target also its whole-array closed form where the rules give one.

    `formulas_with_values=False`: the caller shows symbolic entries only where there are no values
    (text output with --symbolic auto), so where the float64 values are the whole answer none are
    built and the values come from whole arrays, as with --symbolic none."""
    from gradcli import whole

    if whole.needs_whole_arrays(program, request):
        return whole.hessian(program, request)
    if request.symbolic is SymbolicMode.NONE and whole.numbers_suffice(program, request):
        return whole.hessian(program, request, "skipped (--symbolic none)")
    if (
        request.symbolic is SymbolicMode.AUTO
        and not formulas_with_values
        and whole.numbers_suffice(program, request, every_value=True)  # no entry can stay exact
    ):
        result = whole.hessian(program, request, "not built: only the values are shown")
        if all_finite([result.value]):
            return result  # else per element, as JSON: 0 * inf is NaN on whole arrays, 0 per element
    whole_request = whole.prepare(program, request)
    closed, matrix_text, matrix_why = whole.closed_hessian(whole_request)
    result = _hessian(program, request, closed)
    return dataclasses.replace(result, matrix=matrix_text, matrix_elided=matrix_why)


def all_finite(values) -> bool:
    """Whether every number in the values (nested lists; None: no value) is finite. A whole-array
    value that is not may differ from the per-element one: numbers.py keeps structural zeros as
    the formulas do, but SymEngine also simplifies (1/(1/(x + 1)) is x + 1, finite at x = -1)."""
    return all(v is None or bool(np.all(np.isfinite(np.asarray(v, dtype=float)))) for v in values)


def hessian_vector_product(program: Program, request: Request, vectors: dict[str, Literal]) -> GradResult:
    """The Hessian of L times a vector with one part per target (a missing part is zeros), in
    float64 from the array program, without forming the Hessian (whole.hessian_vector)."""
    from gradcli import whole

    return whole.hessian_vector(program, request, vectors)


def _hessian(program: Program, request: Request, closed) -> MatrixResult:
    prepared = prepare(program, request)
    symbols, names, floats, live = _columns(prepared)
    _check_result_size((len(symbols), len(symbols)), request.limits)
    connected = prepared.connected()
    gradients = gradient_arrays(prepared, 1)
    first = [g if alive else functions.ZERO for g, alive in zip(_joined(gradients, prepared), live)]
    live_symbols = [s if alive else se.Dummy() for s, alive in zip(symbols, live)]
    arguments: dict = {}  # the gradient entries' graph, walked once for both uses
    skipped = _numbers_suffice(prepared, first, arguments)
    numbers_matrix = _float_hessian(prepared, closed, connected, live) if skipped is not None else None
    if numbers_matrix is not None:
        symmetric = np.triu(numbers_matrix) + np.triu(numbers_matrix, 1).T  # the upper triangle, mirrored
        return MatrixResult(
            "hessian", program.filename, prepared.outputs, prepared.targets, request.unconnected,
            tuple(names), tuple(names), None, skipped, symmetric.tolist(), (), prepared.disconnected,
        )  # fmt: skip
    matrix, factored = differentiate.hessian(first, live_symbols, arguments)
    return _matrix_result("hessian", prepared, names, names, matrix, floats, floats, factored)


def _float_hessian(prepared: Prepared, closed, connected: list[str], live: list[bool]) -> np.ndarray | None:
    """The Hessian in float64 from its closed form or one seeded row per element; None where the
    array program needs a value that the simplified per-element entries do not."""
    numbers_matrix = np.zeros((len(live), len(live)))
    columns = np.flatnonzero(live)
    try:
        if closed is not None:  # the closed form: a few BLAS calls instead of a sweep per row
            return np.reshape(numbers.evaluate([closed], float_values(prepared))[0], numbers_matrix.shape)
        keys = [((t, i),) for t in connected for i in range(prepared.lowered.symbols[t].size)]
        for i, row in zip(columns, _seeded_rows(prepared, keys)):
            numbers_matrix[i, columns] = row
    except numbers.MissingValueError:
        return None
    return numbers_matrix


def _joined(gradients: dict, prepared: Prepared) -> list:
    """Every target's gradient entries in column order (zeros for a disconnected target shown)."""
    out = []
    for target in prepared.targets:
        connected = prepared.reasons[target] is None
        if not connected and prepared.request.unconnected is Unconnected.NONE:
            continue
        array = gradients[target]
        size = prepared.lowered.symbols[target].size
        out += list(array.flat) if array is not None else [functions.ZERO] * size
    return out


def _numbers_suffice(prepared: Prepared, first: list, arguments: dict | None = None) -> str | None:
    """Why the symbolic Hessian need not be built (None: build it). Only its float64 values are
    wanted when --symbolic none asks for none, or when the gradient entries are already too large
    to show (their derivatives would be elided too), and every value is known and a float takes
    part (exact inputs keep the exact path). `arguments`: see differentiate.walk."""
    mode = prepared.request.symbolic
    if mode is SymbolicMode.FULL:
        return None
    nodes, arguments = differentiate.walk(first, arguments=arguments)
    leaves = [n for n in nodes if not arguments[n]]
    if any(isinstance(n, se.Symbol) and n not in prepared.values for n in leaves):
        return None
    if not prepared.float_names and not any(isinstance(n, se.RealDouble) for n in leaves):
        return None
    if mode is SymbolicMode.NONE:
        return "skipped (--symbolic none)"
    largest = max(operations(first, arguments)[0], default=0)
    if largest <= AUTO_MAX_OPERATIONS:
        return None
    return (
        f"not built: an entry of the derivative below already has {largest} operations, so the "
        "next derivatives would be elided too; --symbolic full builds them"
    )


def jacobian(program: Program, request: Request) -> MatrixResult:
    """d(output element)/d(target element) for every output and target element (no weights)."""
    from gradcli import whole

    if whole.needs_whole_arrays(program, request):
        return whole.jacobian(program, request)
    prepared = prepare(program, request)
    symbols, names, floats, live = _columns(prepared)
    outputs, rows = [], []
    for name in prepared.outputs:
        array = prepared.lowered.arrays[name]
        outputs += list(array.flat)
        rows += labels(name, array.shape)
    _check_result_size((len(rows), len(symbols)), request.limits)
    live_symbols = [s if alive else se.Dummy() for s, alive in zip(symbols, live)]
    matrix = differentiate.jacobian(outputs, live_symbols)
    return _matrix_result("jacobian", prepared, rows, names, matrix, [False] * len(rows), floats)


def loss_expression(prepared: Prepared) -> se.Basic:
    """L = sum over outputs y of sum(weights[y] * y), as one expression."""
    terms = []
    for name in prepared.outputs:
        y = prepared.lowered.arrays[name]
        terms += [w * e for w, e in zip(np.broadcast_to(prepared.weights[name], y.shape).flat, y.flat)]
    return se.Add(*terms)


def to_number(value):
    """A Python int or float for a value from the evaluator (exact integers stay int)."""
    return _to_number(value, as_float=False)
