"""Workflow: gradient descent steps and gradient checks (finite differences or expected values)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from gradcli import api, deadline, functions
from gradcli.differentiate import postorder
from gradcli.errors import GradcliError, values_needed
from gradcli.evaluate import MISSING, Evaluator, Tape, to_float
from gradcli.lower import labels
from gradcli.model import Request, SymbolicMode
from gradcli.printing import nested
from gradcli.syntax import Program


def _require_values(prepared: api.Prepared, exprs, what: str) -> None:
    missing = api.needs(prepared, [np.asarray(list(exprs), dtype=object)])
    if missing:
        raise values_needed(what, missing)


def _floats(values) -> list[float]:
    return [to_float(v) if v is not MISSING else math.nan for v in values]


# ---- step --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    lr: float
    steps: int
    values: dict[str, object]  # target -> nested lists (new values)
    loss: list[float]
    unchanged: dict[str, str]


def step(
    program: Program,
    request: Request,
    lr: float,
    steps: int,
    progress: Callable[[int], None] | None = None,
) -> StepResult:
    """Plain gradient descent: `steps` times, w <- w - lr * dL/dw for every connected target."""
    if steps < 0:
        raise GradcliError(f"--steps must be 0 or more, got {steps}")
    if not math.isfinite(lr):
        raise GradcliError(f"--lr must be a finite number, got {lr}")
    from gradcli import whole

    if whole.needs_whole_arrays(program, request):
        return whole.step(program, request, lr, steps, progress)
    prepared = api.prepare(program, request)
    for name in api.intermediates(program, prepared.targets):
        raise GradcliError(f"--wrt {name}: '{name}' is a defined name; step updates variables only")
    gradients = api.gradient_arrays(prepared)
    loss = api.loss_expression(prepared)
    live = [t for t in prepared.targets if gradients[t] is not None]
    target_symbols = [s for t in prepared.targets for s in prepared.lowered.symbols[t].flat]
    _require_values(prepared, [loss, *target_symbols], "step")
    values = dict(prepared.values)
    losses = [Evaluator(values, request.limits.bits)(loss)]  # exact where the values are
    updated = [(s, g) for t in live for s, g in zip(prepared.lowered.symbols[t].flat, gradients[t].flat)]
    tape = Tape([loss] + [g for _, g in updated])
    current = {s: to_float(v) for s, v in values.items()}
    for done in range(steps):
        deadline.check()
        results = tape.run_scalar(current)
        if done:
            losses.append(results[0])
        for (symbol, _), g in zip(updated, results[1:]):
            current[symbol] = values[symbol] = current[symbol] - lr * g
        if progress:
            progress(done + 1)
    if steps:
        losses.append(tape.run_scalar(current)[0])
    new_values = {}
    for target in prepared.targets:
        symbols = prepared.lowered.symbols[target]
        numbers = np.empty(symbols.shape, dtype=object)
        numbers.reshape(-1)[:] = [api.to_number(values[s]) for s in symbols.flat]
        new_values[target] = nested(numbers)
    unchanged = {t: prepared.reasons[t] for t in prepared.targets if gradients[t] is None}
    return StepResult(lr, steps, new_values, [api.to_number(v) for v in losses], unchanged)


# ---- check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    element: str
    expected: object
    computed: object


@dataclass(frozen=True)
class TargetCheck:
    name: str
    max_abs_error: float
    max_rel_error: float
    agrees: bool
    note: str | None = None


@dataclass(frozen=True)
class CheckResult:
    mode: str  # "finite-differences" or "expect"
    rtol: float
    atol: float
    targets: list[TargetCheck]
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.agrees for t in self.targets)


def _close(computed: float, expected: float, rtol: float, atol: float, scale: float) -> bool:
    if math.isnan(computed) or math.isnan(expected):
        return math.isnan(computed) and math.isnan(expected)
    if math.isinf(computed) or math.isinf(expected):
        return computed == expected
    return abs(computed - expected) <= atol + rtol * scale


def compare(name, element_labels, computed, expected, rtol, atol, scale: float | None = None) -> tuple:
    """(TargetCheck, mismatches): each element agrees when |computed - expected| <= atol + rtol *
    |expected|, or rtol * `scale` where the caller knows the scale of the rounding (whole_check)."""
    mismatches, abs_err, rel_err = [], 0.0, 0.0
    for element, c, e in zip(element_labels, computed, expected):
        reference = abs(e) if scale is None else scale
        close = _close(c, e, rtol, atol, reference)
        if not close:
            mismatches.append(Mismatch(element, e, c))
        if math.isfinite(c) and math.isfinite(e):
            abs_err = max(abs_err, abs(c - e))
            rel_err = max(rel_err, abs(c - e) / reference if reference else (0.0 if c == e else math.inf))
        elif not close:  # a NaN or an infinity the other side lacks: no finite error measures it
            abs_err = rel_err = math.inf
    return TargetCheck(name, abs_err, rel_err, not mismatches), mismatches


def _frozen_stops(roots, evaluator: Evaluator) -> dict:
    """The values of every stop(...) node at the unperturbed point: held fixed by differences."""
    return {node: evaluator(node) for node in postorder(roots) if functions.kind(node) == "stop"}


FD_BLOCK = 256  # target elements whose differences are evaluated in one vectorised pass


def _central_differences(tape: Tape, values: dict, frozen: dict, symbols: list) -> list[float]:
    """Richardson-extrapolated central differences of the tape's one root (L) along each symbol:
    (4 D(h/2) - D(h)) / 3 with h = 1e-3 max(1, |x|), error of order h**4; four points a symbol,
    a block of symbols at a time in one vectorised run."""
    base = {s: to_float(v) for s, v in values.items()}
    estimates: list[float] = []
    for start in range(0, len(symbols), FD_BLOCK):
        deadline.check()
        block = symbols[start : start + FD_BLOCK]
        steps = np.array([1e-3 * max(1.0, abs(base[s])) for s in block])
        offsets = np.stack([steps, -steps, steps / 2, -steps / 2], axis=1)  # (block, 4)
        moved = dict(base)
        for i, symbol in enumerate(block):
            column = np.full((len(block), 4), base[symbol])
            column[i] += offsets[i]
            moved[symbol] = column.reshape(-1)
        (loss,) = tape.run(moved, 4 * len(block), frozen)
        at = loss.reshape(len(block), 4)
        with np.errstate(all="ignore"):  # inf - inf where L overflows: NaN, no warning on stderr
            coarse = (at[:, 0] - at[:, 1]) / (2 * steps)
            fine = (at[:, 2] - at[:, 3]) / steps
            estimates += ((4 * fine - coarse) / 3).tolist()
    return estimates


def check_finite_differences(program: Program, request: Request, rtol: float, atol: float) -> CheckResult:
    """Compare each connected target's gradient with Richardson-extrapolated central differences,
    every stop(...) held at its value at the declared point (whole_check beyond --limit elements)."""
    from gradcli import whole

    if whole.needs_whole_arrays(program, request):
        from gradcli import whole_check

        return whole_check.finite_differences(program, request, rtol, atol)
    prepared = api.prepare(program, request)
    gradients = api.gradient_arrays(prepared)
    loss = api.loss_expression(prepared)
    targets_symbols = [s for t in prepared.targets for s in prepared.lowered.symbols[t].flat]
    _require_values(prepared, [loss, *targets_symbols], "check")
    base = Evaluator(prepared.values, request.limits.bits)
    frozen = {node: to_float(value) for node, value in _frozen_stops([loss], base).items()}
    tape = Tape([loss])
    targets, mismatches = [], []
    for target in prepared.targets:
        deadline.check()
        if gradients[target] is None:
            targets.append(TargetCheck(target, 0.0, 0.0, True, prepared.reasons[target]))
            continue
        symbols = list(prepared.lowered.symbols[target].flat)
        computed = _floats(base.many(gradients[target].flat))
        estimates = _central_differences(tape, prepared.values, frozen, symbols)
        shape = prepared.lowered.shape(target)
        check, bad = compare(target, labels(target, shape), computed, estimates, rtol, atol)
        targets.append(check)
        mismatches += bad
    return CheckResult("finite-differences", rtol, atol, targets, mismatches)


def _flatten(value, shape, name) -> list[float]:
    try:
        array = np.array(value, dtype=object)
    except ValueError:
        raise GradcliError(f"--expect: the value for {name} is a ragged list") from None
    if array.shape != tuple(shape):
        raise GradcliError(f"--expect: {name} has shape {list(array.shape)}, the gradient has {list(shape)}")
    out = []
    for v in array.flat:
        if (
            isinstance(v, str)
            and v in ("nan", "inf", "-inf")
            or isinstance(v, (int, float))
            and not isinstance(v, bool)
        ):
            try:
                out.append(float(v))
            except OverflowError:
                raise GradcliError(f"--expect: {name} holds an integer beyond float64") from None
        else:
            raise GradcliError(f"--expect: {name} holds {v!r}, not a number")
    return out


def expected_map(document) -> tuple[dict[str, object], int]:
    """({target: value or None}, derivative order) from a `grad --format json` document (whose
    "order" is honoured) or a plain map of gradients."""
    if not isinstance(document, dict):
        raise GradcliError("--expect: the file must hold a JSON object")
    if isinstance(document.get("gradients"), dict):
        result = {}
        for name, entry in document["gradients"].items():
            if not isinstance(entry, dict) or "value" not in entry:
                raise GradcliError(f"--expect: gradients.{name} has no 'value'")
            result[name] = entry["value"]
        order = document.get("order", 1)
        if not isinstance(order, int) or isinstance(order, bool) or order < 1:
            raise GradcliError(f"--expect: 'order' must be a positive integer, not {order!r}")
    else:
        result, order = dict(document), 1
    if not result:
        raise GradcliError(
            "--expect: the file names no gradient; give {name: value, ...} or grad's JSON output"
        )
    return result, order


def check_expected(
    program: Program, request: Request, expected: dict[str, object], rtol: float, atol: float, order: int = 1
) -> CheckResult:
    """Compare gradient values (grad's, at any size) with expected ones; a disconnected target
    matches null (or zeros)."""
    names = request.wrt or tuple(expected)
    for name in names:
        if name not in expected:
            raise GradcliError(f"--expect: no value for {name}")
    numbers_only = replace(request, wrt=tuple(names), order=order, symbolic=SymbolicMode.NONE)
    result = api.gradient(program, numbers_only)
    targets, mismatches = [], []
    for gradient in result.gradients:
        deadline.check()
        name, want = gradient.name, expected[gradient.name]
        if gradient.value is None and gradient.status == "disconnected":
            agrees = want is None
            targets.append(TargetCheck(name, 0.0, 0.0, agrees, gradient.reason))
            if not agrees:
                mismatches.append(Mismatch(name, want, None))
            continue
        if gradient.value is None:
            raise values_needed(f"the gradient of {name}", gradient.needs)
        if want is None:
            targets.append(TargetCheck(name, math.inf, math.inf, False, "expected null"))
            mismatches.append(Mismatch(name, None, "a value"))
            continue
        computed = [to_float(v) for v in np.asarray(gradient.value, dtype=object).reshape(-1)]
        wanted = _flatten(want, gradient.shape, name)  # the order-N tensor of a higher-order document
        check, bad = compare(name, labels(name, gradient.shape), computed, wanted, rtol, atol)
        targets.append(check)
        mismatches += bad
    return CheckResult("expect", rtol, atol, targets, mismatches)
