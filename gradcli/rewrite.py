"""Rewriting a program file's variable values in place, every other byte kept, written atomically."""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from gradcli.errors import GradcliError
from gradcli.model import Program


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


def write_atomically(path: str, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old file or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    handle, temporary = tempfile.mkstemp(prefix=".gradcli-", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def rewrite_file(path: str, program: Program, values: dict[str, object]) -> None:
    """Rewrite the values in the file at `path` (a leading UTF-8 BOM and line endings kept)."""
    with open(path, "rb") as stream:
        raw = stream.read()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom) :].decode("utf-8")
    write_atomically(path, bom + rewrite_values(text, program, values).encode("utf-8"))
