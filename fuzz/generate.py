"""Random gradcli programs and command lines for the fuzzing campaign (seeded, no Hypothesis).

`program(rng)` writes a well-shaped program over random declarations: every function and operator
of the language, indexing, slicing, reductions, matmul and dot, list literals, stop(...), and edge
numbers (0, -0.0, huge and tiny floats, 1e999, exact integers beyond float64). `mutate(rng, text)`
damages one (characters, tokens, lines, nesting, numbers). `command_line(rng, ...)` draws a command
and options from the whole option space, hostile values included.
"""

from __future__ import annotations

import json
import random

SHAPES = [(), (), (2,), (3,), (2, 3), (3, 2), (1, 3), (2, 1, 3)]
UNARY = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log", "sqrt"]
UNARY += ["abs", "square", "sigmoid", "relu", "softplus", "stop"]
EDGE_FLOATS = ["0.0", "-0.0", "1e308", "1e-320", "1e999", "-1e999", "0.5", "-1.5", "2.0", "1e-8"]
EDGE_INTS = ["0", "1", "-1", "2", "3", "7", "100", "10**30", "123456789012345678901234567890"]


def number(rng: random.Random, exact: bool | None = None) -> str:
    if exact is None:
        exact = rng.random() < 0.3
    if rng.random() < 0.25:
        text = rng.choice(EDGE_INTS if exact else EDGE_FLOATS)
        return text if "**" not in text else str(eval_power(text))
    if exact:
        return str(rng.randint(-5, 9))
    return repr(round(rng.uniform(-2.5, 2.5), rng.randint(1, 4)))


def eval_power(text: str) -> int:
    base, exponent = text.split("**")
    return int(base) ** int(exponent)


def literal(rng: random.Random, shape: tuple[int, ...], exact: bool | None = None) -> str:
    if not shape:
        return number(rng, exact)
    return "[" + ", ".join(literal(rng, shape[1:], exact) for _ in range(shape[0])) + "]"


def shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


class _Program:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names: dict[str, tuple[int, ...]] = {}
        self.variables: list[str] = []
        self.constants: list[str] = []
        self.definitions: list[str] = []

    def expr(self, shape: tuple[int, ...], depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.2:
            return self.leaf(shape)
        sub = lambda s: self.expr(s, depth - 1)  # noqa: E731
        kind = rng.randrange(12)
        if kind <= 2:
            return f"{rng.choice(UNARY)}({sub(shape)})"
        if kind <= 4:
            op = rng.choice(["+", "-", "*", "/", "*", "+"])
            other = shape if rng.random() < 0.6 else shape[1:] if shape else ()
            left, right = sub(shape), sub(other)
            return f"({left} {op} {right})" if rng.random() < 0.5 else f"({right} {op} {left})"
        if kind == 5:
            exponent = rng.choice(["2", "3", "0.5", "-1", "(1/2)", "2.5", "0", "-0.5", sub(())])
            return f"({sub(shape)}) ** {exponent}" if rng.random() < 0.7 else f"pow({sub(shape)}, {exponent})"
        if kind == 6:
            return f"{rng.choice(['maximum', 'minimum'])}({sub(shape)}, {sub(rng.choice([shape, ()]))})"
        if kind == 7:
            bigger = shape + (rng.choice([2, 3]),)
            axis = rng.choice([f", axis={len(shape)}", ", axis=-1"]) if shape else ""
            return (
                f"{rng.choice(['sum', 'mean'])}({sub(bigger if shape or rng.random() < 0.5 else (3,))}{axis})"
            )
        if kind == 8 and len(shape) <= 2:
            return self._product(shape, sub)
        if kind == 9 and shape:
            return "[" + ", ".join(sub(shape[1:]) for _ in range(shape[0])) + "]"
        if kind == 10:
            bigger = (rng.choice([2, 3, 4]),) + shape
            index = rng.choice(["0", "-1", "1"]) if bigger[0] > 1 else "0"
            return f"({sub(bigger)})[{index}]"
        if kind == 11 and len(shape) == 2:
            return f"({sub(shape[::-1])}).T" if rng.random() < 0.5 else f"transpose({sub(shape[::-1])})"
        return f"(-{sub(shape)})"

    def leaf(self, shape: tuple[int, ...]) -> str:
        """A name of that shape, a scalar name times a literal, a sum of any name, or a literal."""
        rng = self.rng
        usable = [n for n, s in self.names.items() if s == shape]
        scalars = [n for n, s in self.names.items() if s == ()]
        if usable and rng.random() < 0.7:
            return rng.choice(usable)
        if scalars and rng.random() < 0.6:
            return f"({rng.choice(scalars)} * {literal(rng, shape)})"
        if shape == () and self.names and rng.random() < 0.6:
            return f"sum({rng.choice(list(self.names))})"
        return literal(rng, shape)

    def _product(self, shape, sub) -> str:
        rng = self.rng
        inner = rng.choice([1, 2, 3])
        if shape == ():
            return f"dot({sub((inner,))}, {sub((inner,))})"
        if len(shape) == 1:
            return f"({sub((inner,))} @ {sub((inner, shape[0]))})"
        return f"matmul({sub((shape[0], inner))}, {sub((inner, shape[1]))})"

    def text(self) -> str:
        rng = self.rng
        lines = []
        for i in range(rng.randint(1, 4)):
            shape = rng.choice(SHAPES)
            name = f"{'w' if rng.random() < 0.8 else 'k'}{i}"
            constant = name.startswith("k")
            form = rng.randrange(4)
            if constant or form == 0:
                declaration = f"{'const' if constant else 'var'} {name} = {literal(rng, shape)}"
            elif form == 1:
                declaration = f"var {name}: {shape_text(shape)} = {literal(rng, shape)}"
            elif form == 2:
                declaration = f"var {name}: {shape_text(shape)}"
            else:
                declaration = f"var {name} = {literal(rng, shape, exact=True)}"
            lines.append(declaration)
            self.names[name] = shape
            (self.constants if constant else self.variables).append(name)
        for i in range(rng.randint(1, 4)):
            shape = rng.choice(SHAPES)
            name = f"d{i}"
            lines.append(f"{name} = {self.expr(shape, rng.randint(1, 4))}")
            self.names[name] = shape
            self.definitions.append(name)
        return "\n".join(lines) + "\n"


def program(rng: random.Random) -> tuple[str, dict]:
    """(text, facts): facts name the variables, constants and definitions with their shapes."""
    built = _Program(rng)
    text = built.text()
    facts = {
        "variables": built.variables,
        "constants": built.constants,
        "definitions": built.definitions,
        "shapes": built.names,
    }
    return text, facts


HOSTILE_SNIPPETS = [
    "(" * 150 + "1" + ")" * 150,
    "[" * 80 + "1" + "]" * 80,
    "9" * 5000,
    "1e99999",
    "x" * 300,
    "__import__('os')",
    "2 ** 2 ** 2 ** 2 ** 2",
    "((3**10000)**10000)**10000",
    "sqrt(-1)",
    "log(-2.0)",
    "(-1.0)**0.5",
    "1/0",
    "0**-1",
    "\x00",
    "\ufeff",
    "é",
    "\t",
    "\r\n",
    "#",
    "var",
    "const",
    ":",
    "=",
]


def mutate(rng: random.Random, text: str) -> str:
    """One to three damages: characters, a token, a line, or a hostile snippet."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(6)
        i = rng.randrange(len(text) + 1)
        if kind == 0:
            text = text[:i] + rng.choice("()[]+-*/@.,:=#Te0123456789 \nvarconst_xyz") + text[i:]
        elif kind == 1:
            text = text[:i] + text[i + rng.randint(1, 5) :]
        elif kind == 2:
            text = text[:i] + rng.choice(HOSTILE_SNIPPETS) + text[i:]
        elif kind == 3:
            lines = text.splitlines(keepends=True)
            if lines:
                j = rng.randrange(len(lines))
                lines.insert(j, lines[j]) if rng.random() < 0.5 else lines.pop(j)
            text = "".join(lines)
        elif kind == 4:
            numbers = [k for k, c in enumerate(text) if c.isdigit()]
            if numbers:
                k = rng.choice(numbers)
                text = text[:k] + rng.choice(EDGE_FLOATS + EDGE_INTS[:-2]) + text[k + 1 :]
        else:
            text = text.replace("var", rng.choice(["const", "var", ""]), 1)
    return text


COMMANDS = ["grad", "grad", "grad", "hessian", "jacobian", "check", "check-expect", "step", "export"]
COMMANDS += ["graph", "points", "plot"]


def _names(rng: random.Random, pool: list[str], hostile: bool) -> str:
    if hostile and rng.random() < 0.15:
        return rng.choice(["nope", "", ",", "w0,w0", "k0", "d0,", " w0 ", "1x"])
    return ",".join(rng.sample(pool, rng.randint(1, len(pool)))) if pool else "nope"


def command_line(rng: random.Random, facts: dict, hostile: bool) -> tuple[str, list[str], dict]:
    """(command, options after FILE, extra files to write: name -> text)."""
    command = rng.choice(COMMANDS)
    variables, definitions, shapes = facts["variables"], facts["definitions"], facts["shapes"]
    options: list[str] = []
    files: dict[str, str] = {}
    outputs = definitions[-1:]
    if rng.random() < 0.7 and definitions:
        chosen = _names(rng, definitions + (variables if rng.random() < 0.1 else []), hostile)
        options += ["--of", chosen]
        outputs = [name for name in chosen.split(",") if name in shapes]
    if rng.random() < 0.5 and command != "plot":
        options += ["--wrt", _names(rng, variables, hostile)]
    if rng.random() < 0.25 and definitions:
        options += ["--stop", _names(rng, definitions, hostile)]
    declared = variables + facts["constants"]
    if command not in ("graph", "export") and rng.random() < 0.4 and declared:
        for name in rng.sample(declared, rng.randint(1, len(declared))):
            value = (
                literal(rng, shapes[name])
                if not (hostile and rng.random() < 0.2)
                else rng.choice(
                    ["[1, 2", "nan", "[[1], [2, 3]]", "1e999", "-0.0", "[" * 40 + "1" + "]" * 40, "0x10"]
                )
            )
            options += ["--at", f"{name}={value}"]
    if command not in ("graph", "jacobian") and rng.random() < 0.4 and outputs:
        for name in rng.sample(outputs, rng.randint(1, len(outputs))):
            shape = shapes[name]
            weights = [literal(rng, ()), literal(rng, shape), literal(rng, shape[-1:])]
            if hostile:
                weights += [literal(rng, (4,)), "[[1, 2], [3]]", "nan", "[" * 70 + "1" + "]" * 70]
            target = name if not (hostile and rng.random() < 0.1) else rng.choice(list(shapes))
            options += ["--grad-ys", f"{target}={rng.choice(weights)}"]
    if command in ("grad", "hessian", "jacobian", "check", "check-expect", "points"):
        options += ["--unconnected", rng.choice(["none", "zero"])]
    if command in ("grad", "hessian", "jacobian"):
        options += ["--symbolic", rng.choice(["auto", "full", "none"])]
        options += ["--format", rng.choice(["text", "json", "latex", "json"])]
        if rng.random() < 0.3:
            options.append("--strict")
    if command == "hessian" and rng.random() < 0.3:  # Hessian-vector products
        targets = [v for v in variables if rng.random() < 0.7] or variables[:1]
        for name in targets:
            shape = shapes[name] if not (hostile and rng.random() < 0.2) else (7,)
            vector = literal(rng, shape) if not (hostile and rng.random() < 0.1) else "[1, 2"
            options += ["--vector", f"{name}={vector}"]
    if command == "grad" and rng.random() < 0.3:
        options += ["--order", str(rng.choice([1, 2, 3, 0, 11, -1]) if hostile else rng.choice([1, 2, 3]))]
    if command == "check":
        options += ["--format", rng.choice(["text", "json"])]
        options += ["--rtol", rng.choice(["1e-7", "1e-3", "0"])]
    if command == "check-expect":
        files["expect.json"] = _expected(rng, facts, hostile)
        options += ["--expect", "expect.json", "--format", rng.choice(["text", "json"])]
    if command == "step":
        options += ["--lr", rng.choice(["0.1", "0.01", "1e300", "-0.5"]), "--steps", str(rng.randint(0, 3))]
        options += ["--format", rng.choice(["text", "json"])]
        if rng.random() < 0.3:
            options.append("--write")
    if command == "export":
        options = [o for o in options if o not in ("--at",)]
        options += ["--lang", rng.choice(["numpy", "c"])]
    if command == "graph":
        options = _only(options, ("--of", "--wrt", "--stop"))
        options += ["--format", rng.choice(["text", "dot", "mermaid"])]
    if command == "points":
        files["points.csv"] = _points(rng, facts, hostile)
        options += ["--points", "points.csv"]
    if command == "plot":
        scalars = [v for v in variables if shapes[v] == ()]
        options = _only(options, ("--of", "--at", "--stop", "--grad-ys"))
        options += ["--wrt", rng.choice(scalars) if scalars else (variables or ["x"])[0]]
        options += ["--order", str(rng.choice([1, 2])), "--range", rng.choice(["-1:1", "0:2", "1:-1"])]
    if rng.random() < 0.1:
        limit = ["time=3", "elements=50", "elements=2", "bits=64", "exponent=5", "result=4"]
        options += ["--limit", rng.choice(limit)]
    options += ["--limit", "time=5"]
    return command, options, files


def _only(options: list[str], kept: tuple[str, ...]) -> list[str]:
    out = []
    for option, value in zip(options[::2], options[1::2]):
        if option in kept:
            out += [option, value]
    return out


def _expected(rng: random.Random, facts: dict, hostile: bool) -> str:
    shapes = facts["shapes"]
    if hostile and rng.random() < 0.3:
        return rng.choice(
            ["{}", "[]", "{", '{"w0": "x"}', '{"gradients": 3}', '{"w0": [[1], [2, 3]]}', "null"]
        )
    document = {}
    for name in facts["variables"]:
        if rng.random() < 0.9:
            document[name] = json.loads(_json_literal(rng, shapes[name]))
    return json.dumps(document)


def _json_literal(rng: random.Random, shape) -> str:
    if not shape:
        return json.dumps(rng.choice([0.0, 1.0, -2.5, "nan", "inf", None, 3]))
    return "[" + ", ".join(_json_literal(rng, shape[1:]) for _ in range(shape[0])) + "]"


def _points(rng: random.Random, facts: dict, hostile: bool) -> str:
    labels = []
    for name in facts["variables"]:
        shape = facts["shapes"][name]
        if not shape:
            labels.append(name)
        elif len(shape) == 1:
            labels += [f"{name}[{i}]" for i in range(shape[0])]
    if not labels or hostile and rng.random() < 0.2:
        labels = labels or ["nope"]
        if rng.random() < 0.5:
            labels.append("bogus")
    rows = []
    for _ in range(rng.randint(0, 5)):
        fields = [rng.choice(["0.5", "-1", "nan", "inf", "1e999", "", "x", "2.0"]) for _ in labels]
        rows.append(",".join(fields))
    return ",".join(labels) + "\n" + "\n".join(rows) + "\n"
