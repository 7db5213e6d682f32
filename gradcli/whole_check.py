"""`check` beyond --limit elements: float64 gradients from whole arrays against central differences
of L, every stop(...) held at its value at the declared point.

A difference costs four evaluations of the program, one element at a time, which a model's size
does not allow. So a target of more than SAMPLED_ELEMENTS elements is checked at that many
elements drawn at random, and along DIRECTIONS random directions, as jax.test_util.check_grads
and torch.autograd.gradcheck(fast_mode=True) check directional derivatives: a wrong entry
anywhere moves a directional derivative. The draws are seeded, so every run checks the same
elements and directions.
"""

from __future__ import annotations

import math

import numpy as np

from gradcli import deadline, numbers, whole
from gradcli.errors import values_needed
from gradcli.model import Request
from gradcli.objects import label
from gradcli.syntax import Program

SAMPLED_ELEMENTS = 32  # a target of more elements is checked at this many, drawn at random
DIRECTIONS = 4  # ... and along this many random directions
STEP = 1e-3  # the difference step along a direction scaled by max(1, |x|), as per element


def finite_differences(program: Program, request: Request, rtol: float, atol: float):
    """Each connected target's gradient against Richardson-extrapolated central differences: at
    every element of a small target; at a sample of elements and along random directions of a
    large one (a direction agrees when its error is within atol + rtol * the sum of its terms'
    magnitudes, the scale its rounding grows with)."""
    from gradcli.workflow import CheckResult, TargetCheck

    problem = whole.prepare(program, request)
    terms = whole.loss_terms(problem)
    missing = whole.missing_values(problem, terms)
    if missing:
        raise values_needed("check", missing)
    whole.check_memory(terms, request.limits, problem.arrays)
    gradients = whole.float_gradients(problem, request.limits)
    values = problem.float_values()
    draws = np.random.default_rng(0)
    targets, mismatches = [], []
    for target in problem.targets:
        if target not in gradients:
            targets.append(TargetCheck(target, 0.0, 0.0, True, problem.reasons[target]))
            continue
        moved = numbers.Moved(terms, values, problem.arrays.node(target))
        check, bad = _check_target(target, moved, gradients[target], draws, rtol, atol)
        targets.append(check)
        mismatches += bad
    return CheckResult("finite-differences", rtol, atol, targets, mismatches)


def _check_target(name: str, moved: numbers.Moved, gradient: np.ndarray, draws, rtol, atol):
    from gradcli.workflow import TargetCheck, compare

    x = moved.value
    scale = np.fmax(1.0, np.abs(x))  # max(1, |x|) as per element: 1 at NaN (workflow._central_differences)
    finite = np.isfinite(x)  # the elements the random directions move (a step from inf or NaN is no step)
    size = x.size
    sampled = size > SAMPLED_ELEMENTS
    chosen = np.sort(draws.choice(size, SAMPLED_ELEMENTS, replace=False)) if sampled else range(size)
    element_labels, computed, estimates = [], [], []
    for i in chosen:
        index = tuple(int(k) for k in np.unravel_index(i, x.shape))
        along = np.zeros(x.shape)
        along[index] = scale[index]
        element_labels.append(label(name, index))
        computed.append(float(gradient[index]))
        estimates.append(_slope(moved, x, along) / float(scale[index]))
    check, mismatches = compare(name, element_labels, computed, estimates, rtol, atol)
    if not sampled:
        return check, mismatches
    worst_abs, worst_rel = check.max_abs_error, check.max_rel_error
    for k in range(DIRECTIONS):
        along = np.where(finite, scale * draws.choice([-1.0, 1.0], size=x.shape) / math.sqrt(size), 0.0)
        with np.errstate(all="ignore"):  # a non-finite entry shows as a disagreement, not a warning
            terms = np.where(finite, gradient * along, 0.0)
            total, magnitude = float(np.sum(terms)), float(np.sum(np.abs(terms)))
        direction = f"{name} along random direction {k + 1}"
        errors, bad = compare(
            direction, [direction], [total], [_slope(moved, x, along)], rtol, atol, magnitude
        )
        worst_abs = max(worst_abs, errors.max_abs_error)
        worst_rel = max(worst_rel, errors.max_rel_error)
        mismatches += bad
    note = f"{len(chosen)} of {size} elements and {DIRECTIONS} random directions"
    return TargetCheck(name, worst_abs, worst_rel, not mismatches, note), mismatches


def _slope(moved: numbers.Moved, x: np.ndarray, along: np.ndarray) -> float:
    """d/dt L(x + t along) at t = 0: (4 D(STEP/2) - D(STEP)) / 3 from central differences D,
    error of order STEP**4."""
    deadline.check()
    with np.errstate(all="ignore"):
        at = [whole.weighted_sum(moved(x + t * along)) for t in (STEP, -STEP, STEP / 2, -STEP / 2)]
    coarse = (at[0] - at[1]) / (2 * STEP)
    fine = (at[2] - at[3]) / STEP
    return (4 * fine - coarse) / 3
