"""Array programs written in gradcli's language (and LaTeX): matrix forms and backward programs.

Nodes with a name print as that name; the rest print inline with the fewest parentheses the
language's precedence allows. Broadcasts that NumPy would do anyway are not written.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from gradcli import ops
from gradcli.arrays import Node
from gradcli.errors import GradcliError

_LATEX_FUNCTIONS = {"sum": r"\operatorname{sum}"}


def number_text(value) -> str:
    if isinstance(value, float):
        if np.isnan(value):
            return "nan"
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def _nested(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    return number_text(value)


def _shape(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


class ArrayPrinter:
    """Writes nodes as expressions; `names` maps node ids to the names to write instead."""

    def __init__(self, names: dict[int, str] | None = None, latex: bool = False, numpy: bool = False):
        self.names = names or {}
        self.latex = latex
        self.numpy = numpy  # NumPy source for export: np. functions, helpers named in `helpers`
        self.helpers: dict[str, object] = {}  # helper name -> the row's float64 function
        self.memo: dict[int, tuple[str, int]] = {}
        self._alive: list[Node] = []

    def text(self, node: Node) -> str:
        return self._print(node)[0]

    def _print(self, node: Node, inline: bool = False) -> tuple[str, int]:
        name = self.names.get(id(node))
        if name is not None and not inline:
            return (self._name(name), ops.ATOM)
        found = self.memo.get(id(node))
        if found is None:
            found = self.memo[id(node)] = self._spell(node)
            self._alive.append(node)
        return found

    def _name(self, name: str) -> str:
        if not self.latex:
            return name
        escaped = name.replace("_", r"\_")
        return rf"\mathrm{{{escaped}}}" if len(name) > 1 else escaped

    def inline(self, node: Node) -> str:
        """The node's own expression, even when it has a name (a definition's right-hand side)."""
        return self._print(node, inline=True)[0]

    def _wrap(self, node: Node, least: int) -> str:
        text, precedence = self._print(node)
        return f"({text})" if precedence < least else text

    def _spell(self, node: Node) -> tuple[str, int]:
        vector = self._diagonal(node)
        if vector is not None:  # v[:, None] * eye(n), as catalogue.diag builds it: written diag(v)
            inside = self._print(vector)[0]
            if self.latex:
                return (rf"\operatorname{{diag}}\left({inside}\right)", ops.ATOM)
            return (f"{'np.' if self.numpy else ''}diag({inside})", ops.ATOM)
        spelling = node.op.spelling
        if isinstance(spelling, ops.Infix):
            return self._infix(node, spelling)
        if isinstance(spelling, ops.Prefix):
            return self._negative(node)
        if isinstance(spelling, ops.Function):
            return self._function(node, spelling)
        return self._special(node, spelling.rule)

    def _diagonal(self, node: Node) -> Node | None:
        """v, where the node is the diagonal matrix of a vector v: v[:, None] * eye(n) or
        eye(n) * v[:, None], neither operand a named node."""
        if node.op is not ops.MULTIPLY or any(id(a) in self.names for a in node.args):
            return None
        for column, eye in (node.args, node.args[::-1]):
            if eye.op is ops.EYE and column.op is ops.BROADCAST and column.param("dims") == (0,):
                (vector,) = column.args
                # v's axis is the rows, v as long as the eye (v of one element spread over 3 rows
                # times eye(3) is v[0] * eye(3), not the 1 x 1 diag(v))
                if column.ndim == 2 and vector.shape == eye.shape[:1] and node.shape == eye.shape:
                    return vector
        return None

    def _operand(self, node: Node, parent: Node, other: tuple, least: int) -> tuple[str, tuple]:
        """An operand's text and the shape it is written with: a broadcast NumPy would do anyway
        (against the other operand as written, of shape `other`) is written as its source."""
        elementwise = parent.op is not ops.MATMUL and node.op is ops.BROADCAST
        if elementwise and id(node) not in self.names and not self._is_filled(node):
            text, shape = self._expanded(node)
            if _broadcasts_to(shape, other, parent.shape):
                source = node.args[0]
                return (text if shape != source.shape else self._wrap(source, least)), shape
        return self._wrap(node, least), node.shape

    def _written_shape(self, left: Node, parent: Node, right: Node) -> tuple[int, ...]:
        """The shape of the left operand's text (its source's, where its broadcast is left out)."""
        if parent.op is ops.MATMUL or left.op is not ops.BROADCAST or id(left) in self.names:
            return left.shape
        if self._is_filled(left):
            return left.shape
        _, shape = self._expanded(left)
        return shape if _broadcasts_to(shape, right.shape, parent.shape) else left.shape

    def _is_filled(self, node: Node) -> bool:
        return node.args[0].op is ops.LITERAL and node.args[0].shape == () and node.ndim > 0

    def _expanded(self, node: Node) -> tuple[str, tuple[int, ...]]:
        """A broadcast's source with None axes where the broadcast adds inner axes: `x[:, None]`."""
        (source,) = node.args
        dims = node.param("dims")
        first = dims[0] if dims else node.ndim
        key = ["None" if i not in dims else ":" for i in range(first, node.ndim)]
        shape = tuple(1 if i not in dims else source.shape[dims.index(i)] for i in range(first, node.ndim))
        if "None" not in key:
            return self._wrap(source, ops.POSTFIX), source.shape
        return f"{self._wrap(source, ops.POSTFIX)}[{', '.join(key)}]", shape

    def _infix(self, node: Node, spelling: ops.Infix) -> tuple[str, int]:
        left, right = node.args
        precedence = spelling.precedence
        if self.latex:
            return self._infix_latex(node, spelling)
        if self.numpy and spelling.precedence == 0:  # a comparison: 1.0 or 0.0, as in the language
            left_text, right_text = self._wrap(left, ops.ADDITIVE), self._wrap(right, ops.ADDITIVE)
            return (f"(1.0 * ({left_text} {spelling.symbol} {right_text}))", ops.ATOM)
        if node.op is ops.POWER and self.numpy and _exact_half(ops.scalar_value(right)):
            root = f"np.sqrt({self._print(left)[0]})"  # an exact 1/2 is sqrt, as the element view takes it
            return (root if ops.scalar_value(right) > 0 else f"(1.0 / {root})", ops.ATOM)
        if node.op is ops.POWER and self.numpy:  # C's pow, as gradcli computes it
            self.helpers["power_numpy"] = ops.power_numpy
            return (f"power_numpy({self._print(left)[0]}, {self._print(right)[0]})", ops.ATOM)
        if node.op is ops.POWER:
            left_text, written = self._operand(left, node, right.shape, ops.POSTFIX)
            right_text, _ = self._operand(right, node, written, ops.UNARY)
            return (f"{left_text} {self._symbol(spelling)} {right_text}", precedence)
        if node.op is ops.MATMUL and self._scaled(right):
            c, rest = right.args  # A @ (c * B) is written c * A @ B, which is (c * A) @ B
            return (f"{self._wrap(c, precedence)} * {self._wrap(left, precedence)} @ "
                    f"{self._wrap(rest, precedence + 1)}", precedence)  # fmt: skip
        # a comparison's operands are sums (the grammar's `sum COMPARE sum`: a < b < c is not (a < b) < c)
        left_least = ops.ADDITIVE if precedence < ops.ADDITIVE else precedence
        left_text, written = self._operand(left, node, right.shape, left_least)
        right_text, _ = self._operand(right, node, written, precedence + 1)
        return (f"{left_text} {self._symbol(spelling)} {right_text}", precedence)

    def _infix_latex(self, node: Node, spelling: ops.Infix) -> tuple[str, int]:
        r"""LaTeX: A^\top r for matmul, \odot for element-wise products, \frac, powers as x^{n}."""
        left, right = node.args
        precedence = spelling.precedence
        if node.op is ops.POWER:
            return (f"{self._wrap(left, ops.POSTFIX)}^{{{self._print(right)[0]}}}", ops.EXPONENT)
        if node.op is ops.DIVIDE:
            return (rf"\frac{{{self._print(left)[0]}}}{{{self._print(right)[0]}}}", ops.ATOM)
        left_text, written = self._operand(left, node, right.shape, precedence)
        right_text, _ = self._operand(right, node, written, precedence + 1)
        if node.op is ops.MATMUL or (node.op is ops.MULTIPLY and (left.shape == () or right.shape == ())):
            return (f"{left_text} {right_text}", precedence)
        return (f"{left_text} {spelling.latex} {right_text}", precedence)

    def _scaled(self, node: Node) -> bool:
        """An unnamed c * B with c a scalar literal."""
        return (
            node.op is ops.MULTIPLY
            and node.args[0].op is ops.LITERAL
            and node.args[0].shape == ()
            and id(node) not in self.names
            and not self.latex
        )

    def _symbol(self, spelling: ops.Infix) -> str:
        if not self.latex:
            return spelling.symbol
        return spelling.latex or r"\,"

    def _negative(self, node: Node) -> tuple[str, int]:
        (x,) = node.args
        text, precedence = self._print(x)
        if precedence == ops.MULTIPLICATIVE and not text.startswith("-"):
            return (f"-{text}", ops.MULTIPLICATIVE)  # -(a * b) is written -a * b
        return (f"-{self._wrap(x, ops.UNARY)}", ops.UNARY)

    def _function(self, node: Node, spelling: ops.Function) -> tuple[str, int]:
        if self.numpy and node.op is ops.STOP:
            return self._print(node.args[0])
        args = [self._print(a)[0] for a in node.args]
        if node.op is ops.RESHAPE:
            args.append(_shape(node.shape))
        keywords = spelling.keywords(node) if spelling.keywords else {}
        args += [f"{k}={v}" for k, v in keywords.items()]
        name = spelling.latex if self.latex else spelling.name
        if self.numpy:
            name = spelling.numpy or self._numpy_name(node.op)
            if not name.startswith("np.") and name not in self.helpers:  # a function of ops.py, copied
                self.helpers[name] = getattr(ops, name, None) or node.op.numpy
        if self.latex:
            return (rf"{name}\left({', '.join(args)}\right)", ops.ATOM)
        return (f"{name}({', '.join(args)})", ops.ATOM)

    def _numpy_name(self, op: ops.Op) -> str:
        """`np.sin` for a NumPy function; else the row's own float64 function, exported as a helper
        (a row whose function is not a module-level one cannot be exported yet: a clear error)."""
        function = op.numpy
        if getattr(function, "__module__", "") == "numpy" or isinstance(function, np.ufunc):
            return f"np.{function.__name__}"
        if op.source is not None:  # an element function: its row's NumPy text
            params = ", ".join(op.source.params)
            self.helpers[op.name] = f"def {op.name}({params}):\n    return {op.source.numpy}\n"
            return op.name
        if function.__name__ == "<lambda>" or "<locals>" in function.__qualname__:
            raise GradcliError(f"export --lang numpy cannot write '{op.name}' yet; --lang c can")
        self.helpers[function.__name__] = function
        return function.__name__

    def _special(self, node: Node, rule: str) -> tuple[str, int]:
        if rule == "literal":
            value = node.param("value")
            if isinstance(value, tuple):
                text = _nested(value)
                return (f"np.array({text}, dtype=np.float64)" if self.numpy else text, ops.ATOM)
            text = number_text(value)
            if self.latex and isinstance(value, Fraction):
                return (rf"\frac{{{value.numerator}}}{{{value.denominator}}}", ops.ATOM)
            if isinstance(value, Fraction):  # -2/3 is a division: (-2/3) as an exponent
                return (text, ops.MULTIPLICATIVE)
            if text.startswith("-"):
                return (text, ops.UNARY)
            return (text, ops.ATOM)
        if rule == "name":
            return (self._name(node.param("name")), ops.ATOM)
        if rule == "transpose":
            (x,) = node.args
            perm = node.param("perm")
            if x.ndim == 2:
                suffix = "^\\top" if self.latex else ".T"
                return (f"{self._wrap(x, ops.POSTFIX)}{suffix}", ops.POSTFIX)
            axes = ", ".join(map(str, perm))
            return (f"{'np.' * self.numpy}transpose({self._print(x)[0]}, ({axes}))", ops.ATOM)
        if rule == "getitem":
            (x,) = node.args
            return (f"{self._wrap(x, ops.POSTFIX)}[{_key_text(node.param('key'))}]", ops.POSTFIX)
        if rule == "broadcast":
            return self._broadcast(node)
        if rule == "scatter" and self.numpy:
            (u,) = node.args
            self.helpers["scatter_add"] = None
            key = _key_text(node.param("key"))
            return (f"scatter_add({self._print(u)[0]}, np.s_[{key}], {_shape(node.shape)})", ops.ATOM)
        if rule == "scatter":
            (u,) = node.args
            zeros = f"zeros({_shape(node.shape)})"
            return (f"{zeros}.at[{_key_text(node.param('key'))}].add({self._print(u)[0]})", ops.POSTFIX)
        if rule == "eye":
            return (r"I" if self.latex else f"{'np.' * self.numpy}eye({node.param('n')})", ops.ATOM)
        if rule == "intermediate":
            return self._print(node.args[0])
        if rule == "math_constant":
            name = node.param("name")
            if self.numpy:
                return (f"np.{name}", ops.ATOM)
            return (rf"\{name}" if self.latex and name == "pi" else name, ops.ATOM)
        if rule == "einsum":
            subscripts = ops.einsum_text(node.param("inputs"), node.param("output"))
            operands = ", ".join(self._print(a)[0] for a in node.args)
            if self.latex:
                return (rf"\operatorname{{einsum}}\left(\text{{{subscripts}}}, {operands}\right)", ops.ATOM)
            return (f'{"np." * self.numpy}einsum("{subscripts}", {operands})', ops.ATOM)
        if rule == "concatenate":
            items = ", ".join(self._print(a)[0] for a in node.args)
            return (f"{'np.' * self.numpy}concatenate([{items}], axis={node.param('axis')})", ops.ATOM)
        raise ValueError(rule)

    def _broadcast(self, node: Node) -> tuple[str, int]:
        (source,) = node.args
        value = ops.scalar_value(source) if source.op is ops.LITERAL else None
        if value is not None and source.shape == ():
            prefix = "np." if self.numpy else ""
            if value == 0 and not isinstance(value, float):
                return (f"{prefix}zeros({_shape(node.shape)})", ops.ATOM)
            if value == 1 and not isinstance(value, float):
                return (f"{prefix}ones({_shape(node.shape)})", ops.ATOM)
            return (f"{prefix}full({_shape(node.shape)}, {number_text(value)})", ops.ATOM)
        text, shape = self._expanded(node)
        if shape == source.shape:  # no None axes: an argument needs no parentheses
            text = self._print(source)[0]
        return (f"{'np.' * self.numpy}broadcast_to({text}, {_shape(node.shape)})", ops.ATOM)


def _exact_half(value) -> bool:
    return isinstance(value, Fraction) and abs(value) == Fraction(1, 2)


def _broadcasts_to(a, b, shape) -> bool:
    try:
        return np.broadcast_shapes(a, b) == shape
    except ValueError:
        return False


def _key_text(key: tuple) -> str:
    items = []
    for item in key:
        if item is None:
            items.append("None")
        elif item is Ellipsis:
            items.append("...")
        elif isinstance(item, tuple) and item[0] == "slice":
            start, stop, step = item[1:]
            text = f"{'' if start is None else start}:{'' if stop is None else stop}"
            if step is not None:
                text += f":{step}"
            items.append(text)
        elif isinstance(item, tuple) and item[0] == "list":
            items.append("[" + ", ".join(map(str, item[1])) + "]")
        else:
            items.append(str(item))
    return ", ".join(items)


def shape_text(shape) -> str:
    return _shape(shape)
