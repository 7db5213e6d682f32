"""The float64 interpreter: an array program evaluated with NumPy on whole arrays (BLAS matmuls).

Non-finite results follow NumPy (1/0 is inf, log(0) is -inf), never an exception, with one
exception, taken from the per-element formulas (where SymEngine makes `0 * x` 0 before any value is
known): an entry that is zero whatever the values (a literal 0, what a slice's or an index's
gradient leaves out, a zero of `eye`, of a one-hot seed) is a structural zero, and a product with a
structural zero factor is exactly 0 (unless another factor is an inf or NaN that depends on no value
either: numbers multiply as numbers). So a gradient entry that does not depend on an element stays 0
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
    memo, zeros = {}, _Zeros()
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
        self._fixed = _Once([n for n in order if id(n) not in varying], values, changing)
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
        self._unmoved = _Once(order, values)
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
    """The values of `nodes` (children first), computed once for many evaluations: with NumPy's
    arithmetic, and with structural zeros when first needed (`seeds`: see _Zeros)."""

    def __init__(self, nodes: list[Node], values: dict[str, np.ndarray], seeds=()):
        self._nodes, self._values, self._seeds = nodes, values, seeds
        self._numpy: dict[int, np.ndarray] = {}
        _run(nodes, self._numpy, values)
        self._structural: tuple[dict[int, np.ndarray], _Zeros] | None = None

    def numpy(self) -> dict[int, np.ndarray]:
        """A memo to evaluate the rest with NumPy's arithmetic (a copy: the caller adds to it)."""
        return dict(self._numpy)

    def structural(self) -> tuple[dict[int, np.ndarray], _Zeros]:
        """A memo and the structural zeros to evaluate the rest with (copies, as `numpy`)."""
        if self._structural is None:
            memo, zeros = {}, _Zeros(self._seeds)
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
                if zeros is not None:
                    zeros.leaf(node, memo[id(node)])
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
                    zeros.release(releases[position])


def _finite(results: list[np.ndarray]) -> bool:
    return all(np.isfinite(r).all() for r in results)


# ---- structural zeros -------------------------------------------------------------------------------

# Sums of products of their arguments' entries: a structural zero factor drops its terms.
_PRODUCTS = (ops.MULTIPLY, ops.MATMUL, ops.EINSUM)
# Each entry a sum or difference of argument entries (or a copy of one): known where every entry
# it takes is, which the operation itself finds on 0/1 arrays (a difference as a sum of them).
_SUMS = (ops.ADD, ops.SUBTRACT, ops.BROADCAST, ops.RESHAPE, ops.TRANSPOSE, ops.GETITEM, ops.SCATTER,
         ops.CONCATENATE, ops.SUM, ops.CUMSUM)  # fmt: skip
# Each entry a function of the same entries of the arguments: known where they all are.
_ENTRYWISE = ops.ELEMENTWISE | set(ops.COMPARISONS.values()) | {ops.STOP}


def has_structural_zeros(order: list[Node]) -> bool:
    """Whether any node of `order` can make a structural zero (a literal 0, eye, a scatter's fill)."""
    return any(_zero_maker(node) for node in order)


def _zero_maker(node: Node) -> bool:
    if node.op is ops.LITERAL:
        return not ops.float_array(node.param("value")).all()
    return node.op is ops.EYE or node.op is ops.SCATTER


class _Zeros:
    """Which entries are known whatever the declared values, as the per-element formulas know them:
    there an entry is a number, not a formula, when it depends on no value (a literal, eye, what
    a slice's gradient leaves out, a one-hot seed: the `seeds` names, and what is computed from
    them). A known 0 is a structural zero: SymEngine makes `0 * x` 0 before any value is known,
    so 0 * log(0) is 0 there, where NumPy gives NaN; but a number times a number is arithmetic,
    so 0 times a known inf or NaN (1 / 0 of structural zeros) is NaN both ways. A zero that depends
    on values (where(x > 0, g, 0)) is not known: per element it is a formula, so 0 * inf is NaN.
    `known[id(node)]` is a bool array of the node's shape (no entry: nothing known)."""

    def __init__(self, seeds=()):
        self.seeds = seeds
        self.known: dict[int, np.ndarray] = {}

    def copy(self) -> _Zeros:
        other = _Zeros(self.seeds)
        other.known = dict(self.known)
        return other

    def leaf(self, node: Node, value: np.ndarray) -> None:
        if node.param("name") in self.seeds:
            self.known[id(node)] = np.ones(value.shape, dtype=bool)

    def release(self, keys: list[int]) -> None:
        for key in keys:
            self.known.pop(key, None)

    def evaluate(self, node: Node, args: list[np.ndarray], params: dict) -> np.ndarray:
        """The node's value, products dropping their structural zeros; records its known entries."""
        op = node.op
        known = [self.known.get(id(a)) for a in node.args]
        value, out = None, None
        if not node.args:  # a literal, eye, pi: a number
            out = np.ones(node.shape, dtype=bool)
        elif op in _PRODUCTS or op is ops.DIVIDE:
            if any(k is not None for k in known):
                value, out = _products_without_zeros(op, args, known, params)
        elif op in _SUMS:
            if op is ops.SCATTER or any(k is not None for k in known):
                combine = np.add if op is ops.SUBTRACT else op.numpy
                out = combine(*_unknown(known, args), **params) == 0
        elif op is ops.WHERE:
            picked = [_all(k, a) for k, a in zip(known[1:], args[1:])]
            out = picked[0] & picked[1] & (args[1] == args[2])  # the same number either way: known
            if known[0] is not None:  # whatever the condition (a seed's zeros in both branches)
                out = out | (known[0] & np.where(args[0] != 0, *picked))
        elif op is ops.INTERMEDIATE:  # perturbed: per element a symbol is added, so nothing is known
            out = None if params.get("perturbed") else known[0]
        elif op in _ENTRYWISE:
            if all(k is not None for k in known):
                out = np.logical_and.reduce(np.broadcast_arrays(*known))
        elif all(k is not None and k.all() for k in known):  # a whole operation of numbers
            out = np.ones(node.shape, dtype=bool)
        if value is None:
            value = op.numpy(*args, **params)
        if out is not None and out.any():
            out = np.broadcast_to(out, node.shape)
            self.known[id(node)] = out
            value = np.where(out & (value == 0), 0.0, value)  # 0, as per element (not -0.0 from -g)
        return value


def _all(known: np.ndarray | None, arg: np.ndarray) -> np.ndarray:
    """Known entries as a bool array of the argument's shape (None: none known)."""
    return np.zeros(np.shape(arg), dtype=bool) if known is None else known


def _unknown(known: list[np.ndarray | None], args: list[np.ndarray]) -> list[np.ndarray]:
    """1.0 where an argument's entry is not known, 0.0 where it is."""
    return [1.0 - _all(k, a) for k, a in zip(known, args)]


def _products_without_zeros(op, args, known, params) -> tuple[np.ndarray, np.ndarray]:
    """A sum of products (`op` of `args`; a quotient for divide) in which a structural zero factor
    drops its term unless another factor is a known inf or NaN (0 * zoo is NaN per element), and
    which entries of it are known. The kept terms are summed as IEEE arithmetic would: a finite
    part, plus inf, -inf or NaN where a kept term is not finite (from how many kept terms are NaN,
    +inf and -inf, each counted by `op` on 0/1 and sign arrays, exact below 2**53)."""
    known = [_all(k, a) for k, a in zip(known, args)]
    zeros = [k & (a == 0) for k, a in zip(known, args)]
    nonfinite = [k & ~np.isfinite(a) for k, a in zip(known, args)]
    if op is ops.DIVIDE:  # 0 / x is 0 per element where x is a formula; a number divides as numbers do
        dropped = zeros[0] & ~known[1]
        return np.where(dropped, 0.0, np.true_divide(*args)), (known[0] & known[1]) | dropped
    if op is ops.MULTIPLY:  # one term an entry
        dropped = (zeros[0] | zeros[1]) & ~(nonfinite[0] | nonfinite[1])
        return np.where(dropped, 0.0, np.multiply(*args)), (known[0] & known[1]) | dropped

    def terms(arrays):
        return np.asarray(op.numpy(*arrays, **params), dtype=np.float64)

    ones = [1.0 - z for z in zeros]  # 0.0: the factor drops its terms
    count = terms(ones)  # how many terms each entry keeps
    if any(not k.any() for k in known):  # a factor that is a formula everywhere: every kept term has one
        unknown = count
    else:
        unknown = count - terms([o * k for o, k in zip(ones, known)])  # kept terms with a formula factor
    value = op.numpy(*args, **params)
    if not all(bool(np.isfinite(a).all()) for a in args):
        value = _ieee_sum(terms, args, ones, count)
    # a structural zero meeting a known inf or NaN: 0 * zoo is NaN per element, as IEEE's 0 * inf
    for i, zero in enumerate(zeros):
        for j, bad in enumerate(nonfinite):
            if i != j and zero.any() and bad.any():
                factors = [np.ones(np.shape(a)) for a in args]
                factors[i], factors[j] = zero * 1.0, bad * 1.0
                value = np.where(terms(factors) > 0, np.nan, value)
    return value, (unknown == 0)


def _ieee_sum(terms, args, ones, count) -> np.ndarray:
    """The sum of the kept terms (`ones`: 0.0 where a factor drops its terms), non-finite ones
    included: a finite part, then +-inf or NaN by how many kept terms are NaN, +inf and -inf."""
    finite = [np.isfinite(a) for a in args]
    signs = [np.where(np.isnan(a), 0.0, np.sign(a)) * k for a, k in zip(args, ones)]  # 0: NaN, 0, dropped
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
