"""The float64 interpreter: an array program evaluated with NumPy on whole arrays (BLAS matmuls).

Non-finite results follow NumPy (1/0 is inf, log(0) is -inf), never an exception, with one
exception, taken from the per-element formulas (where SymEngine makes `0 * x` 0 before any value is
known): an entry that is zero whatever the values (a literal 0, what a slice's or an index's
gradient leaves out, a zero of `eye`, of a one-hot seed) is a structural zero, and a product with a
structural zero factor is exactly 0. So a gradient entry that does not depend on an element stays 0
where a local derivative is inf or NaN (`sum(sqrt(x)[1:])` at x[0] = 0), as per element; JAX's
symbolic zeros are whole arrays, so JAX gives NaN there. A zero that comes from values (a variable
that is 0, `where(x > 0, g, 0)`) is an ordinary number, as per element: 0 * inf is NaN.

Products of finite numbers need no such care, so a program is first evaluated as NumPy does; only
where a result is not finite is it evaluated again with the structural zeros (`_Zeros`).
"""

from __future__ import annotations

import numpy as np

from gradcli import deadline, ops
from gradcli.arrays import Node, postorder


class MissingValueError(Exception):
    """A variable or constant the program needs has no value (`name` says which)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


def evaluate(roots: list[Node], values: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The float64 value of each root; `values` maps declared names to arrays of their shapes.
    Raises MissingValueError when a needed name has no value."""
    order = postorder(roots)
    releases = _releases(order, roots)
    memo: dict[int, np.ndarray] = {}
    _run(order, memo, values, releases)
    results = [memo[id(r)] for r in roots]
    if _finite(results) or not has_structural_zeros(order):
        return results
    memo, zeros = {}, _Zeros(order)
    _run(order, memo, values, releases, zeros)
    return [memo[id(r)] for r in roots]


class Repeated:
    """The roots evaluated again and again while the names in `changing` take new values (the
    seeds of derivative rows): every node that does not depend on them is computed once, here.
    A seed's zeros are structural zeros: a one-hot seed picks one row of a derivative tensor, and
    per element the other rows' terms are no part of it (so an inf elsewhere gives no NaN)."""

    def __init__(self, roots: list[Node], values: dict[str, np.ndarray], changing: set[str]):
        self.roots = roots
        self._values = values
        varying: set[int] = set()
        order = postorder(roots)
        for node in order:
            leaf = node.op is ops.VARIABLE or node.op is ops.CONSTANT
            if (leaf and node.param("name") in changing) or any(id(a) in varying for a in node.args):
                varying.add(id(node))
        self._fixed = _Once(order, [n for n in order if id(n) not in varying], values, changing)
        self._varying = [n for n in order if id(n) in varying]
        self._releases = _releases(self._varying, roots)
        self._zeros = bool(changing) or has_structural_zeros(order)

    def __call__(self, changed: dict[str, np.ndarray]) -> list[np.ndarray]:
        values = {**self._values, **changed}
        memo = self._fixed.numpy()
        _run(self._varying, memo, values, self._releases)
        results = [memo[id(r)] for r in self.roots]
        if _finite(results) or not self._zeros:
            return results
        memo, zeros = self._fixed.structural()
        _run(self._varying, memo, values, self._releases, zeros)
        return [memo[id(r)] for r in self.roots]


class Moved:
    """The roots evaluated again and again with the value of one node moved (the points of a
    finite difference): every node that does not depend on it is computed once, at the unmoved
    point, and so is every stop(...), which holds its value there."""

    def __init__(self, roots: list[Node], values: dict[str, np.ndarray], node: Node):
        self.roots, self.node = roots, node
        order = postorder([*roots, node])
        self._unmoved = _Once(order, order, values)
        moving = {id(node)}
        for item in order:
            if item.op is not ops.STOP and any(id(a) in moving for a in item.args):
                moving.add(id(item))
        self._moving = [n for n in order if id(n) in moving and n is not node]
        self._releases = _releases(self._moving, roots)
        self._zeros = has_structural_zeros(order)
        self.value = self._unmoved.numpy()[id(node)]  # the node's value at the unmoved point

    def __call__(self, value: np.ndarray) -> list[np.ndarray]:
        results = self._at(value, self._unmoved.numpy())
        if _finite(results) or not self._zeros:
            return results
        return self._at(value, *self._unmoved.structural())

    def _at(self, value: np.ndarray, memo: dict[int, np.ndarray], zeros: _Zeros | None = None):
        memo[id(self.node)] = value
        _run(self._moving, memo, {}, self._releases, zeros)
        return [memo[id(r)] for r in self.roots]


class _Once:
    """The values of `nodes` (a part of `order`), computed once for many evaluations: with NumPy's
    arithmetic, and with structural zeros when first needed (`seeds`: see _Zeros)."""

    def __init__(self, order: list[Node], nodes: list[Node], values: dict[str, np.ndarray], seeds=()):
        self._order, self._nodes, self._values, self._seeds = order, nodes, values, seeds
        self._numpy: dict[int, np.ndarray] = {}
        _run(nodes, self._numpy, values)
        self._structural: tuple[dict[int, np.ndarray], _Zeros] | None = None

    def numpy(self) -> dict[int, np.ndarray]:
        """A memo to evaluate the rest with NumPy's arithmetic (a copy: the caller adds to it)."""
        return dict(self._numpy)

    def structural(self) -> tuple[dict[int, np.ndarray], _Zeros]:
        """A memo and the structural zeros to evaluate the rest with (copies, as `numpy`)."""
        if self._structural is None:
            memo, zeros = {}, _Zeros(self._order, self._seeds)
            _run(self._nodes, memo, self._values, None, zeros)
            self._structural = memo, zeros
        memo, zeros = self._structural
        return dict(memo), zeros.copy()


def _releases(order: list[Node], kept: list[Node]) -> list[list[int]]:
    """For each node of `order`, the ids of the arguments last used by it, apart from `kept`:
    their arrays can go once it is computed (so memory holds the live arrays, not every one)."""
    last: dict[int, int] = {}
    for position, node in enumerate(order):
        for arg in node.args:
            last[id(arg)] = position
    releases: list[list[int]] = [[] for _ in order]
    kept_ids = {id(k) for k in kept}
    for key, position in last.items():
        if key not in kept_ids:
            releases[position].append(key)
    return releases


def _run(
    order: list[Node],
    memo: dict[int, np.ndarray],
    values: dict[str, np.ndarray],
    releases: list[list[int]] | None = None,
    zeros: _Zeros | None = None,
) -> None:
    """Evaluate the nodes of `order` (children first) into `memo`; `releases` (see `_releases`)
    says which arrays to drop from `memo` after each node (None: keep every one); with `zeros`,
    products drop their structural zeros (see _Zeros), else every operation is NumPy's."""
    with np.errstate(all="ignore"):
        for position, node in enumerate(order):
            if node.op is ops.VARIABLE or node.op is ops.CONSTANT:
                name = node.param("name")
                if name not in values:
                    raise MissingValueError(name)
                memo[id(node)] = np.asarray(values[name], dtype=np.float64)
                if zeros is not None and name in zeros.seeds:
                    zeros.record(node, _indicator(memo[id(node)] != 0))
                continue
            deadline.check()
            params = dict(node.params)
            args = [memo[id(a)] for a in node.args]
            value = node.op.numpy(*args, **params) if zeros is None else zeros.evaluate(node, args, params)
            memo[id(node)] = np.asarray(value, dtype=np.float64)
            if releases is not None:
                for key in releases[position]:
                    memo.pop(key, None)
                if zeros is not None:
                    for key in releases[position]:
                        zeros.kept.pop(key, None)


def _finite(results: list[np.ndarray]) -> bool:
    return all(np.isfinite(r).all() for r in results)


# ---- structural zeros -------------------------------------------------------------------------------

# Sums of products of their arguments' entries: a structural zero factor drops its terms.
_PRODUCTS = (ops.MULTIPLY, ops.MATMUL, ops.EINSUM)
# Each entry a sum or difference of argument entries (or a copy of one): zero where every entry it
# takes is, which the operation itself finds on 0/1 indicators (a difference as a sum of them).
_SUMS = (ops.ADD, ops.SUBTRACT, ops.BROADCAST, ops.RESHAPE, ops.TRANSPOSE, ops.GETITEM, ops.SCATTER,
         ops.CONCATENATE, ops.SUM, ops.CUMSUM)  # fmt: skip
_COPIES = (ops.NEGATIVE, ops.STOP)  # zero where their argument is


def has_structural_zeros(order: list[Node]) -> bool:
    """Whether any node of `order` makes a structural zero (a literal 0, eye, a scatter's fill)."""
    return any(node.op is ops.SCATTER or _made_zeros(node) is not None for node in order)


def _made_zeros(node: Node) -> np.ndarray | None:
    """Where a constant node (a literal, eye) is 0, as 0.0 in an array of 1.0 (None: nowhere)."""
    if node.op is ops.LITERAL:
        return _indicator(ops.float_array(node.param("value")) != 0)
    if node.op is ops.EYE:
        return np.eye(node.param("n"))
    return None


def _indicator(nonzero: np.ndarray) -> np.ndarray | None:
    """1.0 where an entry may be nonzero, 0.0 at structural zeros; None when there are none."""
    nonzero = np.asarray(nonzero)
    return None if nonzero.all() else nonzero.astype(np.float64)


class _Zeros:
    """The structural zeros of the nodes evaluated so far: `kept[id(node)]` is 1.0 where the node's
    entry may be nonzero and 0.0 where it is zero whatever the declared values (no entry: no
    structural zero). They are the zeros the per-element formulas have: SymEngine makes `0 * x`
    0 before any value is known, so 0 * log(0) is 0 there, where NumPy gives NaN. A zero that
    depends on values (where(x > 0, g, 0)) is not one: per element it is a formula, not 0."""

    def __init__(self, order: list[Node], seeds=()):
        static: set[int] = set()  # nodes that no declared value changes (where's constant conditions)
        for node in order:
            leaf = node.op is ops.VARIABLE or node.op is ops.CONSTANT
            if not leaf and all(id(a) in static for a in node.args):
                static.add(id(node))
        self.static = static
        self.seeds = seeds  # names whose zero entries are structural (Repeated)
        self.kept: dict[int, np.ndarray] = {}

    def copy(self) -> _Zeros:
        other = object.__new__(_Zeros)
        other.static, other.seeds, other.kept = self.static, self.seeds, dict(self.kept)
        return other

    def record(self, node: Node, indicator: np.ndarray | None) -> None:
        if indicator is not None:
            self.kept[id(node)] = indicator

    def evaluate(self, node: Node, args: list[np.ndarray], params: dict) -> np.ndarray:
        """The node's value, products dropping their structural zeros; records its structural zeros."""
        op = node.op
        kept = [self.kept.get(id(a)) for a in node.args]
        value, indicator = None, None
        if op in _PRODUCTS and any(k is not None for k in kept):
            indicator = np.asarray(op.numpy(*_ones_for(kept, args), **params), dtype=np.float64)
            value = _products_without_zeros(op, args, kept, indicator, params)
            indicator = _indicator(indicator != 0)
        elif op is ops.DIVIDE and kept[0] is not None:
            indicator = np.broadcast_to(kept[0], node.shape)
            value = np.where(indicator != 0, np.true_divide(*args), 0.0)
        elif op in _SUMS and (op is ops.SCATTER or any(k is not None for k in kept)):
            combine = np.add if op is ops.SUBTRACT else op.numpy
            indicator = _indicator(combine(*_ones_for(kept, args), **params) != 0)
        elif op in _COPIES or (op is ops.INTERMEDIATE and not params.get("perturbed")):
            indicator = kept[0]
        elif op is ops.WHERE and id(node.args[0]) in self.static and any(k is not None for k in kept[1:]):
            indicator = _indicator(np.where(args[0] != 0, *_ones_for(kept[1:], args[1:])) != 0)
        else:
            indicator = _made_zeros(node)
        if value is None:
            value = op.numpy(*args, **params)
        self.record(node, indicator)
        if indicator is not None:
            value = np.where(indicator != 0, value, 0.0)  # 0, as per element (not -0.0 from -g)
        return value


def _ones_for(kept: list[np.ndarray | None], args: list[np.ndarray]) -> list[np.ndarray]:
    """Each argument's indicator, all ones where it has no structural zero."""
    return [np.ones(np.shape(a)) if k is None else k for k, a in zip(kept, args)]


def _products_without_zeros(op, args, kept, count, params) -> np.ndarray:
    """A sum of products (`op` of `args`) with the terms that have a structural zero factor left out;
    `count` is how many terms each entry keeps. The kept terms are summed as IEEE arithmetic would:
    a finite part, plus inf, -inf or NaN where a kept term is not finite (from how many kept terms
    are NaN, +inf and -inf, each counted by `op` on 0/1 and sign arrays, exact below 2**53)."""
    if op is ops.MULTIPLY:  # one term an entry
        return np.where(count != 0, np.multiply(*args), 0.0)
    if all(bool(np.isfinite(a).all()) for a in args):
        return op.numpy(*args, **params)  # a dropped term is 0 times a finite number: 0 already
    ones = _ones_for(kept, args)
    finite = [np.isfinite(a) for a in args]
    signs = [np.where(np.isnan(a), 0.0, np.sign(a)) * k for a, k in zip(args, ones)]  # 0: NaN, 0, dropped

    def terms(arrays):
        return np.asarray(op.numpy(*arrays, **params), dtype=np.float64)

    total = terms([np.where(f, a, 0.0) * k for a, f, k in zip(args, finite, ones)])
    nonfinite = count - terms([k * f for k, f in zip(ones, finite)])
    nonzero = [np.abs(s) for s in signs]  # kept entries that are neither 0 nor NaN
    infinite = terms(nonzero) - terms([n * f for n, f in zip(nonzero, finite)])  # +-inf terms
    signed = terms(signs) - terms([s * f for s, f in zip(signs, finite)])  # (+inf terms) - (-inf terms)
    positive, negative = (infinite + signed) / 2, (infinite - signed) / 2
    undefined = (nonfinite > infinite) | ((positive > 0) & (negative > 0))  # a NaN term, or inf - inf
    return np.where(undefined, np.nan, np.where(positive > 0, np.inf, np.where(negative > 0, -np.inf, total)))


def leaves(roots: list[Node]) -> list[str]:
    """The declared names the roots use, in no particular order."""
    return sorted({n.param("name") for n in postorder(roots) if n.op is ops.VARIABLE or n.op is ops.CONSTANT})
