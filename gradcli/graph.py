"""The dataflow graph of a program: which targets reach which outputs, and which stops block them.

Decided on the program as written (names and their uses), before any algebra, so `w - w` is
connected and a disconnection's reason can name a line of the file.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from gradcli.syntax import Program, names_in


@dataclass(frozen=True)
class Edge:
    """A use of `source` in the definition of `target`; `blockers` say why no gradient flows (empty: open)."""

    source: str
    target: str
    blockers: tuple[str, ...]

    @property
    def open(self) -> bool:
        return not self.blockers


def edges(program: Program, stop: tuple[str, ...] = ()) -> list[Edge]:
    """One edge per (used name, definition); open if any use lies outside every stop(...)."""
    result = []
    bound = {d.name for d in program.declarations} | {d.name for d in program.definitions}
    for definition in program.definitions:
        uses: dict[str, list] = {}
        for node, stop_call in names_in(definition.expr):
            if node.id in bound:  # not pi, e, inf: constants of the language
                uses.setdefault(node.id, []).append(stop_call)
        for source, stops in uses.items():
            if definition.name in stop:
                blockers = (f"--stop {definition.name}",)
            elif any(s is None for s in stops):
                blockers = ()
            else:
                lines = sorted({s.span.line for s in stops})
                blockers = tuple(f"stop(...) at line {line}" for line in lines)
            result.append(Edge(source, definition.name, blockers))
    return result


def upstream_of(names, all_edges: list[Edge]) -> set[str]:
    """Every name from which some path of edges (blocked or not) leads to one of `names`."""
    feeds: dict[str, list[Edge]] = {}
    for edge in all_edges:
        feeds.setdefault(edge.target, []).append(edge)
    return _reach(names, lambda name: (e.source for e in feeds.get(name, ())))


def _reach(starts, neighbours) -> set[str]:
    """The starts and everything reachable from them, one `neighbours(name)` step at a time."""
    seen, queue = set(starts), deque(starts)
    while queue:
        for name in neighbours(queue.popleft()):
            if name not in seen:
                seen.add(name)
                queue.append(name)
    return seen


def disconnection_reasons(
    program: Program, outputs: tuple[str, ...], targets: tuple[str, ...], stop: tuple[str, ...] = ()
) -> dict[str, str | None]:
    """For each target: None if a gradient reaches some output, else the reason it does not."""
    all_edges = edges(program, stop)
    opens: dict[str, list[str]] = {}
    for edge in all_edges:
        if edge.open:
            opens.setdefault(edge.source, []).append(edge.target)
    reaches_output = upstream_of(outputs, all_edges)
    out_text = ", ".join(outputs)
    reasons = {}
    for target in targets:
        open_reach = _reach([target], lambda name: opens.get(name, ()))
        if open_reach & set(outputs):
            reasons[target] = None
        elif target not in reaches_output:
            reasons[target] = f"no path from {target} to {out_text}"
        else:
            blockers = []
            for edge in all_edges:
                if edge.source in open_reach and edge.target in reaches_output:
                    blockers += [b for b in edge.blockers if b not in blockers]
            if len(blockers) == 1:
                reasons[target] = f"only path passes {blockers[0]}"
            else:
                reasons[target] = "every path is blocked: " + "; ".join(blockers)
    return reasons
