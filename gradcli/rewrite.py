"""Rewriting a program's variable values in its text, every other byte kept."""

from __future__ import annotations

import math

import numpy as np

from gradcli.errors import GradcliError
from gradcli.syntax import Program


def format_number(value) -> str:
    """The shortest text that reads back as the same number (Python's repr for floats)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise GradcliError(f"cannot write the non-finite value {value} into the file")
        return repr(value)
    return str(value)


def format_literal(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(format_literal(v) for v in value) + "]"
    return format_number(value)


def _same(a, b) -> bool:
    return a == b


def rewrite_values(text: str, program: Program, values: dict[str, object]) -> str:
    """`text` with each changed number of the named declarations replaced (or `= LITERAL` added)."""
    edits: list[tuple[int, int, str]] = []
    for name, value in values.items():
        decl = program.declaration(name)
        if decl.literal is None:
            edits.append((decl.end, decl.end, " = " + format_literal(value)))
            continue
        old = np.array(decl.literal.value, dtype=object).reshape(-1) if decl.shape else [decl.literal.value]
        new = np.array(value, dtype=object).reshape(-1) if decl.shape else [value]
        for span, before, after in zip(decl.literal.numbers, old, new):
            if not _same(before, after):
                edits.append((span.start, span.end, format_number(after)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def rewrite_bytes(raw: bytes, program: Program, values: dict[str, object]) -> bytes:
    """The file content `raw` (which `program` was parsed from) with the values rewritten; a
    leading UTF-8 BOM and the line endings are kept."""
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    return bom + rewrite_values(text, program, values).encode("utf-8")
