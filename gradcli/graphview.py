"""Pictures of the dataflow graph: a Rich tree, Graphviz DOT and Mermaid, with blocked edges marked."""

from __future__ import annotations

from dataclasses import dataclass

from gradcli.graph import Edge, disconnection_reasons, edges, upstream_of
from gradcli.syntax import Program

BLOCKED = "#c0392b"


@dataclass(frozen=True)
class GraphView:
    """The part of a program's graph between its targets and its outputs."""

    program: Program
    outputs: tuple[str, ...]
    targets: tuple[str, ...]
    stop: tuple[str, ...]
    nodes: tuple[str, ...]  # in file order
    edges: tuple[Edge, ...]
    reasons: dict[str, str | None]

    def describe(self, name: str) -> str:
        """`var`, `const`, `line 4`, with `output` and `--stop` where they apply."""
        decl = self.program.declaration(name)
        words = [decl.kind] if decl else [f"line {self.program.definition(name).span.line}"]
        if name in self.stop:
            words.append("--stop")
        if name in self.outputs:
            words.append("output")
        return ", ".join(words)


def build(program: Program, outputs, targets, stop=()) -> GraphView:
    """The nodes on some path from a target to an output (blocked or not), the targets and outputs."""
    all_edges = edges(program, stop)
    upstream = upstream_of(outputs, all_edges)
    order = [d.name for d in program.declarations] + [d.name for d in program.definitions]
    shown = [n for n in order if n in upstream or n in targets]
    kept = tuple(e for e in all_edges if e.source in upstream and e.target in upstream)
    reasons = disconnection_reasons(program, tuple(outputs), tuple(targets), tuple(stop))
    return GraphView(program, tuple(outputs), tuple(targets), tuple(stop), tuple(shown), kept, reasons)


# ---- text --------------------------------------------------------------------------------------


def tree(view: GraphView):
    """A Rich tree per output, inputs below; blocked edges and disconnected targets in red."""
    from rich.console import Group
    from rich.text import Text
    from rich.tree import Tree

    feeds: dict[str, list[Edge]] = {}
    for edge in view.edges:
        feeds.setdefault(edge.target, []).append(edge)
    expanded: set[str] = set()

    def label(name: str, edge: Edge | None) -> Text:
        text = Text.assemble((name, "bold cyan"), f"  {view.describe(name)}")
        if edge is not None and not edge.open:
            text.append(f"  ⊘ no gradient: {', '.join(edge.blockers)}", style=f"bold {BLOCKED}")
        if view.reasons.get(name):
            text.append("  DISCONNECTED", style=f"bold white on {BLOCKED}")
        return text

    def grow(branch, name: str) -> None:
        if name in expanded and feeds.get(name):
            branch.add(Text("(inputs shown above)", style="dim"))
            return
        expanded.add(name)
        for edge in feeds.get(name, ()):
            grow(branch.add(label(edge.source, edge)), edge.source)

    parts = []
    for output in view.outputs:
        root = Tree(label(output, None))
        grow(root, output)
        parts.append(root)
    summary = [Text("targets", style="bold")]
    for target in view.targets:
        reason = view.reasons[target]
        if reason:
            summary.append(
                Text.assemble(
                    ("  ✗ ", BLOCKED), (target, "bold"), (f"  DISCONNECTED: {reason}", f"bold {BLOCKED}")
                )
            )
        else:
            summary.append(
                Text.assemble(
                    ("  ✓ ", "green"), (target, "bold"), f"  a gradient reaches {', '.join(view.outputs)}"
                )
            )
    return Group(*parts, Text(""), *summary)


# ---- Graphviz -------------------------------------------------------------------------------------


def _dot_string(text: str) -> str:
    """A DOT quoted string; a newline becomes DOT's centred line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def dot(view: GraphView) -> str:
    """Graphviz source: variables as ellipses, constants dashed, definitions as boxes, outputs
    doubled; blocked edges dashed red with their reason; disconnected targets filled red."""
    lines = [
        "digraph gradcli {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for name in view.nodes:
        decl = view.program.declaration(name)
        attributes = {"label": f"{name}\n{view.describe(name)}"}
        if decl:
            attributes["shape"] = "ellipse"
            if decl.constant:
                attributes["style"] = "dashed"
        else:
            attributes["shape"] = "box"
        if name in view.outputs:
            attributes["peripheries"] = "2"
        reason = view.reasons.get(name)
        if reason:
            attributes.update(
                style="filled", fillcolor="#f8d7da", color=BLOCKED,
                label=f"{name}\n{view.describe(name)}\nDISCONNECTED: {reason}",
            )  # fmt: skip
        lines.append(f"  {_dot_string(name)} [{_attributes(attributes)}];")
    for edge in view.edges:
        attributes = {}
        if not edge.open:
            attributes = {
                "style": "dashed", "color": BLOCKED, "fontcolor": BLOCKED,
                "label": "no gradient: " + ", ".join(edge.blockers),
            }  # fmt: skip
        suffix = f" [{_attributes(attributes)}]" if attributes else ""
        lines.append(f"  {_dot_string(edge.source)} -> {_dot_string(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines)


def _attributes(attributes: dict[str, str]) -> str:
    return ", ".join(f"{key}={_dot_string(str(value))}" for key, value in attributes.items())


# ---- Mermaid --------------------------------------------------------------------------------------


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def mermaid(view: GraphView) -> str:
    """A Mermaid flowchart: the same nodes and edges; blocked edges dotted, with their reason."""
    lines = ["flowchart LR"]
    ident = {name: f"n{i}_{name}" for i, name in enumerate(view.nodes)}
    for name in view.nodes:
        decl = view.program.declaration(name)
        label = f"{name}<br/>{view.describe(name)}"
        reason = view.reasons.get(name)
        if reason:
            label += f"<br/>DISCONNECTED: {reason}"
        left, right = ("([", "])") if decl else (("[[", "]]") if name in view.outputs else ("[", "]"))
        line = f"  {ident[name]}{left}{_mermaid_text(label)}{right}"
        lines.append(line + (":::disconnected" if reason else ""))
    for edge in view.edges:
        source, target = ident[edge.source], ident[edge.target]
        if edge.open:
            lines.append(f"  {source} --> {target}")
        else:
            reason = "no gradient: " + ", ".join(edge.blockers)
            lines.append(f"  {source} -.->|{_mermaid_text(reason)}| {target}")
    lines.append(f"  classDef disconnected fill:#f8d7da,stroke:{BLOCKED},color:{BLOCKED}")
    return "\n".join(lines)
