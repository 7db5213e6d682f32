"""The library on whole arrays: the backward program, forward values, matrix forms, float64 gradients.

Everything here works on the array program (build.py), so its cost grows with the arrays, not
with per-element expressions: a 784x128 layer is one matmul.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from gradcli import ad, backward, deadline, elements, numbers, objects, ops
from gradcli.arrays import MAX_DIMENSIONS, Node, postorder
from gradcli.build import ArrayProgram, build
from gradcli.errors import GradcliError, LimitError, values_needed
from gradcli.graph import disconnection_reasons
from gradcli.lower import label
from gradcli.model import Request
from gradcli.printing import nested
from gradcli.syntax import Literal, Program

PRINTED_VALUE_ELEMENTS = 10_000  # a declaration's value is written into a backward program up to this size


@dataclass(frozen=True)
class Whole:
    """A request on the array program: outputs with their weights, targets, values, connectivity."""

    arrays: ArrayProgram
    outputs: tuple[str, ...]
    targets: tuple[str, ...]
    seeds: list[tuple[str, Node]]
    reasons: dict[str, str | None]
    literals: dict[str, Literal]  # each declaration's value, where it has one

    @property
    def program(self) -> Program:
        return self.arrays.program

    @property
    def pairs(self) -> list[tuple[Node, Node]]:
        """Each output's node with its weights: the seeds of a VJP."""
        return [(self.arrays.node(name), weight) for name, weight in self.seeds]

    def connected(self) -> list[str]:
        """The targets some gradient reaches."""
        return [t for t in self.targets if self.reasons[t] is None]

    def float_values(self) -> dict[str, np.ndarray]:
        return {name: ops.float_array(lit.value) for name, lit in self.literals.items()}

    def exact(self) -> bool:
        """No float anywhere: the values, the weights and the program's own numbers are exact."""
        nodes = postorder([self.arrays.node(n) for n in self.outputs] + [w for _, w in self.seeds])
        literal_floats = any(n.op is ops.LITERAL and _has_float(n.param("value")) for n in nodes)
        return not literal_floats and not any(_has_float(lit.value) for lit in self.literals.values())


def _has_float(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if isinstance(value, tuple):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


def prepare(program: Program, request: Request, *, targets_needed: bool = True) -> Whole:
    """Check the request against the program and build its array program (no element expanded)."""
    from gradcli.api import intermediates, resolve_names

    outputs, targets = resolve_names(program, request)
    if targets_needed and not targets:
        raise GradcliError("the program declares no variable ('var NAME') to differentiate by")
    arrays = build(program, request.stop, request.limits, intermediates(program, targets))
    seeds = []
    for name in outputs:
        shape = arrays.node(name).shape
        literal = request.grad_ys.get(name)
        if literal is not None and len(literal.shape) > MAX_DIMENSIONS:
            raise GradcliError(
                f"--grad-ys {name}: {len(literal.shape)} axes; at most {MAX_DIMENSIONS} are supported"
            )
        weight = ops.literal(1) if literal is None else ops.literal(literal.value)
        try:
            if np.broadcast_shapes(weight.shape, shape) != shape:
                raise ValueError
        except ValueError:
            raise GradcliError(
                f"--grad-ys {name}: weights of shape {list(weight.shape)} do not broadcast to "
                f"the shape of {name}, {list(shape)}"
            ) from None
        seeds.append((name, ops.broadcast_to(weight, shape)))
    for name in request.grad_ys:
        if name not in outputs:
            raise GradcliError(f"--grad-ys {name}: '{name}' is not an output; outputs: {', '.join(outputs)}")
    literals = {}
    for decl in program.declarations:
        literal = request.at.get(decl.name, decl.literal)
        if literal is not None:
            if literal.shape != decl.shape:
                raise GradcliError(
                    f"--at {decl.name}: a value of shape {list(literal.shape)} for '{decl.name}', "
                    f"declared with shape {list(decl.shape)}"
                )
            literals[decl.name] = literal
    for name in request.at:
        if program.declaration(name) is None:
            raise GradcliError(f"--at {name}: '{name}' is not a declared variable or constant")
    reasons = disconnection_reasons(program, outputs, targets, request.stop)
    return Whole(arrays, outputs, targets, seeds, reasons, literals)


def check_memory(nodes: list[Node], limits, arrays: ArrayProgram | None = None) -> None:
    """Refuse, from the shapes alone, a whole-array evaluation larger than --limit memory: one
    array that is too large is named at its place in the program."""
    allowed = limits.memory * 2**20
    total = 0
    for node in postorder(nodes):
        total += node.size * 8
        if node.size * 8 > allowed:
            error = LimitError(
                f"this expression would have {node.size} elements ({node.size * 8 // 2**20} MiB), more "
                f"than --limit memory={limits.memory} MiB allows; raise it with --limit memory=MIB",
                arrays.spans.get(id(node)) if arrays is not None else None,
            )
            if arrays is not None:
                error.located(arrays.program.source, arrays.program.filename)
            raise error
    if total > allowed:
        raise LimitError(
            f"the whole-array evaluation needs about {total // 2**20} MiB, more than the limit of "
            f"{limits.memory} MiB; raise it with --limit memory=MIB"
        )


# ---- the backward program -----------------------------------------------------------------------


@dataclass(frozen=True)
class BackwardResult:
    command: str
    file: str
    program: str
    targets: dict[str, str | None]


def _printed_values(whole: Whole) -> dict[str, object]:
    out = {}
    for name, literal in whole.literals.items():
        size = int(np.prod(literal.shape, dtype=np.int64)) if literal.shape else 1
        if size <= PRINTED_VALUE_ELEMENTS:
            out[name] = _listed(literal.value)
    return out


def _listed(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    return [_listed(v) for v in value] if isinstance(value, tuple) else value


def backward_program(program: Program, request: Request) -> BackwardResult:
    """The backward program, as the README describes it (its text and each target's adjoint name)."""
    whole = prepare(program, request)
    written = backward.write_backward(
        whole.arrays, whole.seeds, whole.targets, whole.reasons, _printed_values(whole), request.stop
    )
    return BackwardResult("backward", program.filename, written.text, written.targets)


def matrix_forms(whole: Whole) -> tuple[dict[str, str], int]:
    """Each connected target's gradient as one expression, and the length of the backward
    program's adjoint part (a matrix form longer than that is elided)."""
    connected = tuple(t for t in whole.targets if whole.reasons[t] is None)
    forms = backward.matrix_forms(whole.arrays, whole.seeds, connected)
    written = backward.write_backward(whole.arrays, whole.seeds, connected, whole.reasons, {}, ())
    return forms, written.adjoint_characters


# ---- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalResult:
    command: str
    file: str
    values: dict[str, object]
    needs: dict[str, tuple[str, ...]]


def evaluate(program: Program, request: Request) -> EvalResult:
    """The forward values of the definitions named in --of (default: every definition), exact
    where the inputs are exact and the program is small, float64 from whole arrays otherwise."""
    whole = prepare(program, request, targets_needed=False)
    names = request.of or tuple(d.name for d in program.definitions)
    nodes = [whole.arrays.node(n) for n in names]
    values: dict[str, object] = {}
    needs: dict[str, tuple[str, ...]] = {}
    missing_of = {
        n: [m for m in numbers.leaves([node]) if m not in whole.literals] for n, node in zip(names, nodes)
    }
    present = [(n, node) for n, node in zip(names, nodes) if not missing_of[n]]
    for name in names:
        if missing_of[name]:
            values[name] = None
            needs[name] = tuple(d.name for d in program.declarations if d.name in missing_of[name])
    if present:
        computed = _values(whole, [node for _, node in present], request.limits)
        values.update(zip([n for n, _ in present], computed))
    return EvalResult("eval", program.filename, {n: values[n] for n in names}, needs)


def element_count(nodes: list[Node]) -> int:
    return max((n.size for n in postorder(nodes)), default=0)


def _values(whole: Whole, nodes: list[Node], limits) -> list:
    """Nested lists of numbers: exact through the element view where it is small enough, else float64."""
    if element_count(nodes) <= limits.elements and whole.exact():
        from gradcli.api import _literal_array, _numbers
        from gradcli.evaluate import Evaluator

        symbols = {d.name: objects.symbols(d.name, d.shape, label) for d in whole.program.declarations}
        assignment = {}
        for name, literal in whole.literals.items():
            for symbol, value in zip(symbols[name].flat, _literal_array(literal).flat):
                assignment[symbol] = value
        arrays = elements.evaluate(nodes, symbols)
        evaluator = Evaluator(assignment, limits.bits)
        return [_numbers(a, evaluator, False) for a in arrays]
    check_memory(nodes, limits)
    results = numbers.evaluate(nodes, whole.float_values())
    return [nested(np.asarray(r, dtype=object)) if r.ndim else float(r) for r in results]


def float_gradients(whole: Whole, limits) -> dict[str, np.ndarray | None]:
    """Each target's gradient in float64 from the whole-array backward program (None: no value)."""
    connected = whole.connected()
    nodes = ad.gradients(whole.pairs, [whole.arrays.node(t) for t in connected])
    check_memory(nodes, limits, whole.arrays)
    computed = numbers.evaluate(nodes, whole.float_values())
    return dict(zip(connected, computed))


# ---- gradients ------------------------------------------------------------------------------


def needs_whole_arrays(program: Program, request: Request) -> bool:
    """Whether the per-element view would exceed its limits, so the gradient's numbers come from
    whole arrays instead (the first order only: higher orders are per element)."""
    return _beyond_elements(program, request) is not None


def _beyond_elements(program: Program, request: Request) -> str | None:
    """Why the per-element view cannot take this program (None: it can)."""
    from gradcli.lower import per_element_obstacle

    arrays = build(program, request.stop, request.limits)
    limit = request.limits.elements
    for node in postorder(list(arrays.nodes.values())):
        if node.size > limit:
            return f"the program's arrays exceed --limit elements={limit}"
        obstacle = per_element_obstacle(node, request.limits)
        if obstacle is not None:
            return obstacle
    return None


def gradient(program: Program, request: Request, skipped: str | None = None):
    """The gradient (or order-N derivative) in float64 from whole arrays, with its matrix form, for
    programs larger than the per-element view allows (or, with `skipped` saying why, where no
    formula is wanted); no per-element formulas."""
    from gradcli.model import GradResult

    reason = _beyond_elements(program, request)
    whole = prepare(program, request)
    for target in whole.targets if request.order > 1 else ():  # a gradient is the size of its target
        _check_result(whole.arrays.node(target).shape * request.order, request.limits)
    needs = missing_values(whole, [whole.arrays.node(o) for o in whole.outputs])
    computed = {}
    if not needs and request.order == 1:
        computed = float_gradients(whole, request.limits)
    elif not needs:
        computed = {t: higher_order(whole, t, request.order, request.limits) for t in whole.connected()}
    how = "whole-array float64 evaluation" if request.order == 1 else "seeded rows in float64"
    elided = skipped or f"not built: {reason}; the values come from {how}"
    results = _target_results(whole, request, request.order, computed, needs, elided)
    result = GradResult(
        "grad", program.filename, whole.outputs, whole.targets, request.order, request.unconnected,
        results, loss=None if needs else loss(whole, request.limits), loss_needs=needs,
    )  # fmt: skip
    return with_matrix(result, whole)


def _target_results(whole: Whole, request: Request, order: int, computed: dict, needs, elided: str):
    """One TargetResult per target from float64 arrays (`computed`: connected targets' values; a
    target without one is zeros): disconnected targets flagged, null without --unconnected zero."""
    from gradcli.model import TargetResult, Unconnected

    results = []
    for target in whole.targets:
        shape = whole.arrays.node(target).shape * order
        reason = whole.reasons[target]
        if reason is not None and request.unconnected is Unconnected.NONE:
            results.append(TargetResult(target, "disconnected", reason, shape, None, None, None, ()))
            continue
        value = None
        if not needs:
            array = computed.get(target)
            array = np.zeros(shape) if array is None else array
            value = nested(np.asarray(array, dtype=object)) if shape else float(array)
        status = "ok" if reason is None else "disconnected"
        results.append(TargetResult(target, status, reason, shape, None, elided, value, needs))
    return tuple(results)


def loss(whole: Whole, limits) -> float:
    """L = sum over outputs y of sum(grad_ys[y] * y), in float64 from whole arrays."""
    nodes = loss_terms(whole)
    check_memory(nodes, limits)
    return weighted_sum(numbers.evaluate(nodes, whole.float_values()))


def loss_terms(whole: Whole) -> list[Node]:
    """Each output's node followed by its weights: what `weighted_sum` makes L of."""
    return [node for pair in whole.pairs for node in pair]


def weighted_sum(values: list[np.ndarray]) -> float:
    """L from the values of loss_terms: the sum of every output times its weights. A weight of 0
    (a literal: a structural zero, see numbers.py) leaves its element out, as per element."""
    with np.errstate(all="ignore"):
        return float(sum(np.sum(np.where(w == 0, 0.0, y * w)) for y, w in zip(values[::2], values[1::2])))


def with_matrix(
    result, whole: Whole | None = None, program: Program | None = None, request: Request | None = None
):
    """The gradient result with each ok target's matrix form (order 1 only)."""
    import dataclasses

    if result.order != 1:
        return result
    whole = whole or prepare(program, request)
    forms, budget = matrix_forms(whole)
    updated = []
    for target in result.gradients:
        form = forms.get(target.name)
        if target.status != "ok" or form is None:
            updated.append(target)
        elif isinstance(form, int):
            why = f"{form} operations, longer than the backward program; `gradcli backward` prints it"
            updated.append(dataclasses.replace(target, matrix_elided=why))
        elif len(form[0]) > max(budget, 80):
            why = f"{len(form[0])} characters, longer than the backward program; `gradcli backward` prints it"
            updated.append(dataclasses.replace(target, matrix_elided=why))
        else:
            updated.append(dataclasses.replace(target, matrix=form[0], matrix_latex=form[1]))
    return dataclasses.replace(result, gradients=tuple(updated))


# ---- Hessians in closed form ----------------------------------------------------------------------

MATRIX_MAX_CHARACTERS = 200  # a Hessian's closed form longer than this is elided


def closed_hessian(whole: Whole) -> tuple[Node | None, str | None, str | None]:
    """The Hessian of L for a single scalar or vector target as (node, text, why there is none):
    for a vector, the Jacobian of its gradient in closed form (jacobians.py); for a scalar, the
    gradient of its gradient, a whole-array expression of shape () (the 1 x 1 matrix's entry)."""
    from gradcli import jacobians
    from gradcli.array_printer import ArrayPrinter

    if len(whole.targets) != 1:
        return None, None, "a whole-array Hessian is given for one target"
    (target,) = whole.targets
    x = whole.arrays.node(target)
    if whole.reasons[target] is not None:
        return None, None, "the target is disconnected"
    if x.ndim > 1:
        return None, None, "a whole-array Hessian is given for a scalar or vector target"
    (gradient,) = ad.vjp(whole.pairs, [x])
    if gradient is None:
        node = ops.zeros(x.shape * 2)
    elif x.ndim == 0:
        (node,) = ad.vjp([(gradient, ops.literal(1))], [x])
        node = ops.zeros(()) if node is None else node
    else:
        node = jacobians.jacobian(gradient, x)
    if node is None:
        return None, None, "no whole-array closed form for an operation of this program"
    operations = backward.expanded_size(node, whole.arrays.names)
    if operations > MATRIX_MAX_CHARACTERS:  # each prints at least one character: not written out,
        return node, None, f'{operations} operations; the values are in "value"'  # as it may be huge
    text = ArrayPrinter(whole.arrays.names).text(node)
    if len(text) > MATRIX_MAX_CHARACTERS:
        return node, None, f'{len(text)} characters; the values are in "value"'
    return node, text, None


def numbers_suffice(program: Program, request: Request, every_value: bool = False) -> bool:
    """Whether the float64 values from whole arrays are the whole answer where no formula is
    shown (--symbolic none): a float takes part (`every_value`: every declared value is a float,
    so no result is an exact integer) and every value the outputs use is known, so the
    per-element path would give the same float64 numbers (api._numbers_suffice)."""
    whole = prepare(program, request)
    floats = [_has_float(literal.value) for literal in whole.literals.values()]
    if not (all(floats) if every_value else any(floats)) or not floats:
        return False
    return not missing_values(whole, [whole.arrays.node(o) for o in whole.outputs])


def hessian(program: Program, request: Request, skipped: str | None = None):
    """The Hessian in float64 from whole arrays, for programs larger than the per-element view
    allows (or, with `skipped` saying why, where no formula is wanted): from its whole-array
    closed form where the rules give one, else one seeded row per target element."""
    from gradcli.lower import labels
    from gradcli.model import MatrixResult, Unconnected

    whole = prepare(program, request)
    shown = [t for t in whole.targets if whole.reasons[t] is None or request.unconnected is Unconnected.ZERO]
    names = tuple(n for t in shown for n in labels(t, whole.arrays.node(t).shape))
    _check_result((len(names), len(names)), request.limits)
    node, text, why = closed_hessian(whole)
    outputs = [whole.arrays.node(o) for o in whole.outputs]
    needs = missing_values(whole, [node] if node is not None else outputs)
    value = None
    if not needs:
        if node is not None:
            check_memory([node], request.limits, whole.arrays)
            (matrix,) = numbers.evaluate([node], whole.float_values())
            matrix = np.reshape(matrix, (len(names), len(names)))  # a scalar target's: 1 x 1
            matrix = np.triu(matrix) + np.triu(matrix, 1).T  # exactly symmetric
        else:
            matrix = full_hessian(whole, shown, request.limits)
        value = matrix.tolist()
    how = "the whole-array closed form" if node is not None else "one seeded row per element"
    elided = skipped or (
        f"not built: the program's arrays exceed --limit elements={request.limits.elements}; "
        f"the values come from {how} in float64"
    )
    disconnected = {t: r for t, r in whole.reasons.items() if r is not None}
    return MatrixResult(
        "hessian", program.filename, whole.outputs, whole.targets, request.unconnected, names, names,
        None, elided, value, needs, disconnected, None, text, why,
    )  # fmt: skip


# ---- derivative rows: Hessians and higher orders without a closed form ------------------------------


def derivative_rows(
    seeds: list[tuple[Node, Node]], targets: list[Node], values: dict[str, np.ndarray], keys, limits
) -> Iterator[np.ndarray]:
    """Rows of L's derivative tensors in float64: for each key (one (target index, flat index)
    pair per seed), the derivative contracted with those one-hot seeds, over every target's
    elements, flattened in order. One array program per seeded-target tuple (ad.seeded); the
    nodes that no seed reaches are evaluated once for all rows (numbers.Repeated), so a row
    costs only its seed's share of the program. Raises numbers.MissingValueError."""
    programs = {}
    for key in keys:
        deadline.check()
        seeded = tuple(index for index, _ in key)
        if seeded not in programs:
            variables, nodes = ad.seeded(seeds, targets, seeded)
            flat = [ops.reshape(n, (t.size,)) for n, t in zip(nodes, targets)]
            check_memory(flat, limits)
            names = {v.param("name") for v in variables}
            programs[seeded] = variables, numbers.Repeated(flat, values, names)
        variables, run = programs[seeded]
        one_hots = {}
        for variable, (index, element) in zip(variables, key):
            one_hot = np.zeros(targets[index].size)
            one_hot[element] = 1.0
            one_hots[variable.param("name")] = one_hot.reshape(targets[index].shape)
        yield np.concatenate(run(one_hots))


def symmetric_tensor(rows: dict[tuple[int, ...], np.ndarray], size: int, order: int) -> np.ndarray:
    """The symmetric order-N tensor over `size` elements whose entries [k, :] are rows[k] for each
    sorted (N - 1)-tuple k; every other entry is a copy of its sorted twin, so it is exactly
    symmetric (order 2: the upper triangle of the rows, mirrored)."""
    keys = list(rows)
    if not keys:  # no element: the tensor is empty
        return np.zeros((size,) * order)
    table = np.stack([rows[k] for k in keys])
    indices = np.sort(np.indices((size,) * order).reshape(order, -1), axis=0)
    lookup = np.zeros((size,) * (order - 1), dtype=np.int64)
    for r, key in enumerate(keys):
        lookup[key] = r
    return table[lookup[tuple(indices[:-1])], indices[-1]].reshape((size,) * order)


def _check_result(shape: tuple[int, ...], limits) -> None:
    from gradcli.api import _check_result_size

    _check_result_size(shape, limits)


def missing_values(whole: Whole, nodes: list[Node]) -> tuple[str, ...]:
    """The declared names, in file order, that the nodes use and that have no value."""
    missing = [n for n in numbers.leaves(nodes) if n not in whole.literals]
    return tuple(d.name for d in whole.program.declarations if d.name in missing)


def higher_order(whole: Whole, target: str, order: int, limits) -> np.ndarray:
    """The order-N derivative of L with respect to one target, in float64 from seeded rows."""
    connected = whole.connected()
    nodes = [whole.arrays.node(t) for t in connected]
    x = whole.arrays.node(target)
    _check_result(x.shape * order, limits)
    index = connected.index(target)
    offset = sum(n.size for n in nodes[:index])
    keys = list(itertools.combinations_with_replacement(range(x.size), order - 1))
    seeded = [tuple((index, i) for i in k) for k in keys]
    rows = derivative_rows(whole.pairs, nodes, whole.float_values(), seeded, limits)
    computed = {key: row[offset : offset + x.size] for key, row in zip(keys, rows)}
    return symmetric_tensor(computed, x.size, order).reshape(x.shape * order)


def full_hessian(whole: Whole, columns: list[str], limits) -> np.ndarray:
    """The Hessian of L over every element of `columns` (targets; disconnected ones give zero
    rows and columns), one seeded row per connected element, exactly symmetric."""
    connected = whole.connected()
    nodes = [whole.arrays.node(t) for t in connected]
    live, total = _live_columns(whole, columns)
    keys = [((i, e),) for i, node in enumerate(nodes) for e in range(node.size)]
    matrix = np.zeros((total, total))
    for i, row in zip(live, derivative_rows(whole.pairs, nodes, whole.float_values(), keys, limits)):
        matrix[i, live] = row
    return np.triu(matrix) + np.triu(matrix, 1).T


def _live_columns(whole: Whole, columns: list[str]) -> tuple[np.ndarray, int]:
    """The positions of the connected targets' elements among the elements of `columns`, and
    how many elements `columns` has."""
    sizes = [whole.arrays.node(t).size for t in columns]
    starts = np.cumsum([0, *sizes])
    live = [np.arange(starts[i], starts[i + 1]) for i, t in enumerate(columns) if whole.reasons[t] is None]
    return np.concatenate([np.zeros(0, dtype=np.int64), *live]), int(starts[-1])


def jacobian(program: Program, request: Request):
    """d(output element)/d(target element) in float64 for programs larger than the per-element view
    allows: one reverse sweep per output element, seeded one-hot."""
    from gradcli.lower import labels
    from gradcli.model import MatrixResult, Unconnected

    whole = prepare(program, request)
    shown = [t for t in whole.targets if whole.reasons[t] is None or request.unconnected is Unconnected.ZERO]
    cols = tuple(n for t in shown for n in labels(t, whole.arrays.node(t).shape))
    outputs = [whole.arrays.node(o) for o in whole.outputs]
    rows = tuple(n for o, y in zip(whole.outputs, outputs) for n in labels(o, y.shape))
    _check_result((len(rows), len(cols)), request.limits)
    needs = missing_values(whole, outputs)
    value = None
    if not needs:
        nodes = [whole.arrays.node(t) for t in whole.connected()]
        live, total = _live_columns(whole, shown)
        matrix = np.zeros((len(rows), total))
        values = whole.float_values()
        row = 0
        for y in outputs if nodes else ():  # no connected target: every entry is zero
            seed = ops.variable("<seed 1>", y.shape)
            flat = [ops.reshape(g, (g.size,)) for g in ad.gradients([(y, seed)], nodes)]
            check_memory(flat, request.limits, whole.arrays)
            run = numbers.Repeated(flat, values, {"<seed 1>"})
            for element in range(y.size):
                deadline.check()
                one_hot = np.zeros(y.size)
                one_hot[element] = 1.0
                matrix[row, live] = np.concatenate(run({"<seed 1>": one_hot.reshape(y.shape)}))
                row += 1
        value = matrix.tolist()
    elided = (
        f"not built: the program's arrays exceed --limit elements={request.limits.elements}; "
        "the values come from one reverse sweep per output element in float64"
    )
    disconnected = {t: r for t, r in whole.reasons.items() if r is not None}
    return MatrixResult(
        "jacobian", program.filename, whole.outputs, whole.targets, request.unconnected, rows, cols,
        None, elided, value, needs, disconnected,
    )  # fmt: skip


def hessian_vector(program: Program, request: Request, vectors: dict[str, Literal]):
    """The Hessian of L times a vector, as jax's Hessian-vector products: per target t the sum
    over targets s of H[t, s] @ vectors[s] (cross blocks included; a target without a part in
    `vectors` contributes zeros), in float64 from the array program; the Hessian is never formed,
    so its cost is a few gradients whatever the number of parameters."""
    from gradcli.model import GradResult

    whole = prepare(program, request)
    for name, literal in vectors.items():
        if name not in whole.targets:
            raise GradcliError(
                f"--vector {name}: '{name}' is not a target; targets: {', '.join(whole.targets)}"
            )
        shape = whole.arrays.node(name).shape
        if literal.shape != shape:
            raise GradcliError(
                f"--vector {name}: a vector of shape {list(literal.shape)} for '{name}', "
                f"of shape {list(shape)}"
            )
    connected = whole.connected()
    nodes = [whole.arrays.node(t) for t in connected]
    parts = {t: ops.variable(f"<vector {t}>", whole.arrays.node(t).shape) for t in connected if t in vectors}
    seeds = whole.pairs
    products = ad.hessian_vector(seeds, nodes, [parts.get(t) for t in connected])
    needs = missing_values(whole, [whole.arrays.node(o) for o in whole.outputs])
    computed = {}
    if not needs:
        check_memory(products, request.limits, whole.arrays)
        values = whole.float_values()
        values.update(
            {v.param("name"): np.asarray(vectors[t].value, dtype=np.float64) for t, v in parts.items()}
        )
        computed = dict(zip(connected, numbers.evaluate(products, values)))
    elided = "not built: a Hessian-vector product is computed in float64 from the array program"
    results = _target_results(whole, request, 1, computed, needs, elided)
    return GradResult(
        "hessian", program.filename, whole.outputs, whole.targets, 2, request.unconnected, results,
        loss=None if needs else loss(whole, request.limits), loss_needs=needs, vector=tuple(vectors),
    )  # fmt: skip


# ---- gradient descent on whole arrays --------------------------------------------------------------


def step(program: Program, request: Request, lr: float, steps: int, progress=None):
    """Gradient descent in float64 on whole arrays (for programs beyond the per-element view):
    the same StepResult as workflow.step."""
    from gradcli import deadline
    from gradcli.workflow import StepResult

    whole = prepare(program, request)
    loss = None
    for name, weight in whole.seeds:
        term = ops.sum_(weight * whole.arrays.node(name))
        loss = term if loss is None else loss + term
    connected = [t for t in whole.targets if whole.reasons[t] is None]
    results = ad.vjp(whole.pairs, [whole.arrays.node(t) for t in connected])
    nodes = [
        r if r is not None else ops.zeros(whole.arrays.node(t).shape) for t, r in zip(connected, results)
    ]
    missing = [n for n in numbers.leaves([loss, *nodes]) if n not in whole.literals]
    missing += [t for t in whole.targets if t not in whole.literals and t not in missing]
    if missing:
        raise values_needed("step", [d.name for d in program.declarations if d.name in missing])
    check_memory([loss, *nodes], request.limits, whole.arrays)
    values = whole.float_values()
    losses = []
    for done in range(steps):
        deadline.check()
        computed = numbers.evaluate([loss, *nodes], values)
        losses.append(float(computed[0]))
        for target, gradient in zip(connected, computed[1:]):
            values[target] = values[target] - lr * gradient
        if progress:
            progress(done + 1)
    losses.append(float(numbers.evaluate([loss], values)[0]))
    new_values = {t: values[t].tolist() if values[t].ndim else float(values[t]) for t in whole.targets}
    unchanged = {t: whole.reasons[t] for t in whole.targets if whole.reasons[t] is not None}
    return StepResult(lr, steps, new_values, losses, unchanged)
