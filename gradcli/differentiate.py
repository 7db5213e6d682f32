"""Sparse per-element differentiation: reverse sweeps over the element view's SymEngine graphs.

Whole-array derivatives are a transformation of the array program (ad.py); per element, where
formulas are shown, a gradient entry depends on a few symbols only, so its own derivatives are
found by a reverse sweep over its expression graph with the local derivatives of scalar_rules.py
(the same VJP rules, run on one element). The cost is proportional to the entry's graph.
"""

from __future__ import annotations

import itertools
from collections.abc import Container, Iterable

import numpy as np
import symengine as se

from gradcli import deadline, functions, ops, scalar_rules


def walk(
    roots: Iterable[se.Basic], known: Container = (), arguments: dict | None = None
) -> tuple[list[se.Basic], dict[se.Basic, tuple]]:
    """Every node reachable from `roots`, each once, children before parents (no recursion), and
    each listed node's arguments. Nodes in `known` (a memo of earlier walks) are neither listed nor
    descended into.

    SymEngine makes new Python objects for a node's arguments at each `.args`, and a dict finds an
    equal but new object only by a slow comparison; the arguments returned are the very objects
    listed (or found in `known`), so dicts keyed by them find each by identity. `arguments` from
    an earlier walk of the same graph is read instead of `.args`, and extended."""
    order: list[se.Basic] = []
    reuse = bool(arguments)  # else no lookup in it: a lookup hashes, which SymEngine does slowly
    arguments = {} if arguments is None else arguments
    listed: dict[se.Basic, se.Basic] = {}  # each node -> the object listed for it
    for root in roots:
        if root in listed or root in known:
            continue
        listed[root] = root
        args = arguments.get(root) if reuse else None
        stack = [(root, iter(root.args if args is None else args), [])]
        while stack:
            node, children, same = stack[-1]
            for child in children:
                found = listed.get(child)
                if found is not None:
                    same.append(found)
                    continue
                same.append(child)
                if child in known:
                    continue
                listed[child] = child
                grandchildren = arguments.get(child) if reuse else None
                if grandchildren is None:
                    grandchildren = child.args
                if grandchildren:
                    stack.append((child, iter(grandchildren), []))
                    break
                order.append(child)  # a leaf: listed at once
                arguments[child] = ()
            else:
                stack.pop()
                order.append(node)
                arguments[node] = tuple(same)
    return order, arguments


def postorder(roots: Iterable[se.Basic], known: Container = ()) -> list[se.Basic]:
    """Every node reachable from `roots`, each once, children before parents (see `walk`)."""
    return walk(roots, known)[0]


def reverse_sweep(
    seeds: dict[se.Basic, se.Basic], wanted: Container, arguments: dict | None = None, *, again: bool = False
) -> dict[se.Symbol, se.Basic]:
    """d(sum of seed weight * seed node) / d(symbol) for each wanted symbol that the seeds depend on.
    `arguments`: from a walk of a graph holding the seeds (see `walk`).

    A `where` selects its adjoint (its VJP's where(c, g, 0)) rather than multiplying it by
    where(c, 1, 0): an infinite adjoint does not reach the untaken branch as 0 * inf = NaN, as in
    TensorFlow and JAX, where a first derivative keeps reverse mode's 0 * NaN = NaN below it.
    `again` (the seeds are derivatives already): the sweep finds what forward mode finds, as
    jax.hessian is forward-over-reverse: a `where` passes `adjoint * where(c, d, 0)` to a branch,
    d the product of the local derivatives below it (see _Selection), so the untaken branch's
    derivatives are discarded (0, NaN ones included) and an infinite adjoint times its 0 is NaN.
    """
    order, arguments = walk(seeds, arguments=arguments)
    depends: dict[se.Basic, bool] = {}
    for node in order:
        args = arguments[node]
        depends[node] = any(depends[a] for a in args) if args else node in wanted
    adjoints: dict[se.Basic, list[se.Basic]] = {}
    selections: dict[se.Basic, list[_Selection]] = {}  # only if `again`
    for node, weight in seeds.items():
        if depends[node]:
            adjoints.setdefault(node, []).append(weight)
    result: dict[se.Symbol, se.Basic] = {}
    for node in reversed(order):
        deadline.check()
        plain, selected = adjoints.pop(node, []), selections.pop(node, [])
        if not (plain or selected):
            continue
        args = arguments[node]
        if not args:
            result[node] = _sum(plain + [s.expression() for s in selected])
            continue
        operation = functions.kind(node)
        total = _sum(plain)
        if operation == "stop" or functions.is_zero(total) and not selected:
            continue
        for index, arg in enumerate(args):
            if not depends[arg]:
                continue
            if operation == "add":  # the local derivative is 1: pass the adjoints on unchanged
                passed, chosen = total, selected
            elif operation == "where":
                if index == 0:
                    continue
                above = _sum([total] + [s.expression() for s in selected])
                if again:
                    passed, chosen = functions.ZERO, [_Selection(args[0], index == 1, above)]
                else:  # where(c, above, 0): selected, not multiplied by where(c, 1, 0)
                    branch = (above, functions.ZERO) if index == 1 else (functions.ZERO, above)
                    passed, chosen = ops.where_scalar(args[0], *branch), []
            else:
                local = scalar_rules.partial(node, index, args)
                if functions.is_zero(local):
                    continue
                passed, chosen = total * local, [s.times(local) for s in selected]
            if not functions.is_zero(passed):
                adjoints.setdefault(arg, []).append(passed)
            if chosen:
                selections.setdefault(arg, []).extend(chosen)
    return result


def _sum(terms: list[se.Basic]) -> se.Basic:
    if not terms:
        return functions.ZERO
    return terms[0] if len(terms) == 1 else se.Add(*terms)


class _Selection:
    """What a `where` passed to one branch in a sweep `again`: `above` (the where's adjoint) times
    `below` (the local derivatives multiplied in since) where `condition` chooses that branch, and
    times 0 where it does not."""

    def __init__(self, condition: se.Basic, taken: bool, above: se.Basic, below: se.Basic = functions.ONE):
        self.condition, self.taken, self.above, self.below = condition, taken, above, below

    def times(self, local: se.Basic) -> _Selection:
        return _Selection(self.condition, self.taken, self.above, self.below * local)

    def expression(self) -> se.Basic:
        zero = functions.ZERO
        chosen = (self.below, zero) if self.taken else (zero, self.below)
        return self.above * ops.where_scalar(self.condition, *chosen)


# SymEngine differentiates an expression itself (in C++, about ten times faster than a sweep) where
# it is a small tree of operations whose textbook derivatives are the operation table's own rules;
# small: its derivative is built from the tree written out, so shared parts would be redone per use.
_TEXTBOOK = frozenset({"add", "mul", "leaf", "sin", "cos", "tanh", "sinh", "cosh", "log"})
_SMALL_TREE = 200  # nodes, shared parts counted per use


def _textbook(nodes: list, arguments: dict) -> dict:
    """For each node of a walk (see `walk`), whether SymEngine's own differentiation may be used:
    a power only with a number exponent or base e (x**y at x <= 0 has its own rule)."""
    size: dict = {}
    for node in nodes:
        args = arguments[node]
        operation = functions.kind(node)
        if operation in _TEXTBOOK or operation == "pow" and (functions.is_number(args[1]) or args[0] == se.E):
            size[node] = min(_SMALL_TREE + 1, 1 + sum(size[a] for a in args))
        else:
            size[node] = _SMALL_TREE + 1
    return {node: n <= _SMALL_TREE for node, n in size.items()}


def _partials(expr: se.Basic, wanted: Container, arguments: dict, textbook: dict) -> dict:
    """d expr / d symbol for each wanted symbol it depends on (zeros left out)."""
    if functions.is_zero(expr):
        return {}
    if not textbook[expr]:
        return reverse_sweep({expr: functions.ONE}, wanted, arguments, again=True)
    deadline.check()
    partials = {}
    for symbol in expr.free_symbols:
        if symbol in wanted:
            derivative = expr.diff(symbol)
            if not functions.is_zero(derivative):
                partials[symbol] = derivative
    return partials


class _From:
    """The symbols numbered `start` or more by `position` (symbol -> number), as a container: one
    for each of many sweeps costs nothing, where a set of them would hash every symbol."""

    def __init__(self, position: dict, start: int):
        self.position, self.start = position, start

    def __contains__(self, symbol) -> bool:
        return self.position.get(symbol, -1) >= self.start


def _positions(symbols: list) -> dict:
    """Each symbol's number (its last, if listed twice: _From then holds what a set would)."""
    return {s: j for j, s in enumerate(symbols)}


def derivative_tensor(first: np.ndarray, target: np.ndarray, order: int) -> np.ndarray:
    """The order-N derivative tensor from the gradient `first` (order 1): shape target.shape * N.

    Entries are symmetric in their indices, so each is computed once, for indices in
    non-decreasing order, by one sweep of its predecessor; the rest are copies.
    """
    symbols = list(target.flat)
    position = _positions(symbols)
    entries: dict[tuple[int, ...], se.Basic] = {(i,): e for i, e in enumerate(first.flat)}
    for _ in range(order - 1):
        following = {}
        nodes, arguments = walk(entries.values())  # the entries share nodes: each is read once
        textbook = _textbook(nodes, arguments)
        for key, expr in entries.items():
            partials = _partials(expr, _From(position, key[-1]), arguments, textbook)
            for j in range(key[-1], len(symbols)):
                following[key + (j,)] = partials.get(symbols[j], functions.ZERO)
        entries = following
    n = len(symbols)
    out = np.empty((n,) * order, dtype=object)
    for key in itertools.product(range(n), repeat=order):
        out[key] = entries[tuple(sorted(key))]
    return out.reshape(target.shape * order)


def hessian(
    first: list[se.Basic], symbols: list[se.Symbol], arguments: dict | None = None
) -> tuple[np.ndarray, tuple[list, np.ndarray]]:
    """The symmetric matrix of second derivatives from gradient entries `first` over `symbols`, and
    the same matrix factored as lower.distinct gives it (its distinct entries, each element's index
    among them), found as the entries are: no scan of the n * n matrix, mostly the one zero.
    `arguments`: from an earlier walk of `first`, if the caller has one (see `walk`)."""
    n = len(symbols)
    index: dict = {functions.ZERO: 0}
    codes = np.zeros((n, n), dtype=np.intp)
    position = _positions(symbols)
    nodes, arguments = walk(first, arguments=arguments)  # the entries share nodes: each is read once
    textbook = _textbook(nodes, arguments)
    for i, expr in enumerate(first):
        for symbol, value in _partials(expr, _From(position, i), arguments, textbook).items():
            j = position[symbol]
            codes[i, j] = codes[j, i] = index.setdefault(value, len(index))
    entries = list(index)
    table = np.empty(len(entries), dtype=object)
    table[:] = entries
    return table[codes], (entries, codes)


def jacobian(outputs: list[se.Basic], symbols: list[se.Symbol]) -> np.ndarray:
    """d(output element)/d(symbol) for every pair: one sweep per output element."""
    out = np.full((len(outputs), len(symbols)), functions.ZERO, dtype=object)
    wanted = set(symbols)
    _, arguments = walk(outputs)  # the outputs share nodes: each is read once
    for i, expr in enumerate(outputs):
        partials = reverse_sweep({expr: functions.ONE}, wanted, arguments)
        for j, symbol in enumerate(symbols):
            out[i, j] = partials.get(symbol, functions.ZERO)
    return out


def _fill(shape: tuple[int, ...], values: Iterable) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    flat = out.reshape(-1)
    for i, value in enumerate(values):
        flat[i] = value
    return out
