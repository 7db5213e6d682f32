"""Whole-array Jacobians: d(node)/d(x) for a vector x as one array expression (closed forms).

The Hessian of L with respect to a vector x is the Jacobian of its gradient, and for the programs
of matrix calculus it has a closed form that a person would write: `A + A.T` for `x @ A @ x`,
`2 * A.T @ A` for least squares, `X.T @ (s * (1 - s))[:, None] * X)` for logistic regression
(Laue, Mitterreiter and Giesen, NeurIPS 2018). This is forward accumulation on whole arrays: a
node u of shape (m,) or () gets J(u) of shape (m, n) or (n,). Element-wise operations take their
local derivatives from the operation table's VJP rules (a cotangent of ones), so no rule is
written twice; operations without a rule here give no closed form (None), never a wrong one.
"""

from __future__ import annotations

from gradcli import ad, ops
from gradcli.arrays import Node, postorder

_LINEAR = (ops.ADD, ops.SUBTRACT)


class NoClosedForm(Exception):  # noqa: N818 - a signal inside this module, never shown
    """The program uses an operation this module has no Jacobian rule for."""


def jacobian(node: Node, x: Node) -> Node | None:
    """d node / d x as one node of shape node.shape + x.shape, for x of shape (n,) and node of
    shape () or (m,); None where there is no closed form."""
    if x.ndim != 1 or node.ndim > 1:
        return None
    reached = ad.depends_on([node], [x])
    forms: dict[int, Node | None] = {}  # None: does not depend on x (a zero Jacobian)
    try:
        for item in postorder([node]):
            forms[id(item)] = _rule(item, x, forms, reached) if id(item) in reached else None
    except NoClosedForm:
        return None
    result = forms[id(node)]
    return result if result is not None else ops.zeros(node.shape + x.shape)


def _column(u: Node) -> Node:
    """u ready to scale the rows of a Jacobian: u[..., None] for an array, u itself for a scalar."""
    if u.ndim == 0:
        return u
    return ops.BROADCAST(u, shape=(*u.shape, 1), dims=tuple(range(u.ndim)))


def _plus(a: Node | None, b: Node | None) -> Node | None:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _local(op, out: Node, args: tuple[Node, ...], index: int) -> Node:
    """d out / d args[index] element by element, from the table's VJP with a cotangent of ones."""
    cotangents = op.vjp(ops.full_like(out, 1), out, *args, **dict(out.params))
    local = cotangents[index]
    if local is None or local.shape != out.shape:
        raise NoClosedForm
    return local


def _rule(u: Node, x: Node, forms: dict, reached: set) -> Node | None:
    n = x.shape[0]
    if u is x:
        return ops.EYE(n=n)
    args = u.args
    j = [forms.get(id(a)) for a in args]
    if all(form is None for form in j):
        return None
    if u.ndim > 1:
        raise NoClosedForm  # forms are kept for vectors and scalars only
    op = u.op
    if op is ops.STOP or not op.differentiable:
        return None
    if op is ops.INTERMEDIATE:
        return j[0]
    if op in _LINEAR:
        parts = [j[0], None if j[1] is None else (j[1] if op is ops.ADD else -j[1])]
        return _broadcast_rows(_plus(*parts), u)
    if op is ops.NEGATIVE:
        return -j[0]
    if op is ops.MULTIPLY:
        a, b = args
        terms = [None if j[0] is None else _column(b) * j[0], None if j[1] is None else _column(a) * j[1]]
        return _broadcast_rows(_plus(*terms), u)
    if op is ops.MATMUL:
        a, b = args
        if a.ndim == 2 and b.ndim == 1 and j[0] is None:
            return a @ j[1]
        if a.ndim == 1 and b.ndim == 2 and j[1] is None:
            return b.T @ j[0]
        if a.ndim == 1 and b.ndim == 1:
            return _plus(None if j[0] is None else j[0].T @ b, None if j[1] is None else j[1].T @ a)
        raise NoClosedForm
    if op is ops.SUM and args[0].ndim == 1 and u.ndim == 0:
        return ops.sum_(j[0], 0)
    if op is ops.SCATTER and u.ndim == 1:
        return ops.SCATTER(j[0], key=u.param("key"), shape=u.shape + (n,))
    if op is ops.GETITEM and args[0].ndim == 1:
        return ops.getitem(j[0], u.param("key"))
    if op is ops.BROADCAST and args[0].ndim == 0 and u.ndim == 1:
        return ops.broadcast_to(j[0], u.shape + (n,))
    if op is ops.WHERE:
        c, a, b = args
        picked = [j[1] if j[1] is not None else ops.zeros(u.shape + (n,)),
                  j[2] if j[2] is not None else ops.zeros(u.shape + (n,))]  # fmt: skip
        return ops.where(_column(c), *picked)
    varying = [a for a, form in zip(args, j) if form is not None]
    if op in ops.ELEMENTWISE and all(a.shape == u.shape for a in varying):
        total = None  # element-wise: the table's local derivatives
        for index, form in enumerate(j):
            if form is not None:
                total = _plus(total, _column(_local(op, u, args, index)) * form)
        return total
    raise NoClosedForm


def _broadcast_rows(form: Node | None, u: Node) -> Node | None:
    """A Jacobian of a scalar added to a vector becomes one row per element."""
    if form is None or form.shape == u.shape + form.shape[-1:]:
        return form
    return ops.broadcast_to(form, u.shape + form.shape[-1:])
