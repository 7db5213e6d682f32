"""Errors: every user-facing failure is a GradcliError with an optional place and its exit code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """A place in a source text: 1-based line and column, the end column on that line, and the
    0-based character offsets of its start and end (for rewriting the text in place)."""

    line: int
    column: int
    end_column: int | None = None
    start: int | None = None
    end: int | None = None


class GradcliError(Exception):
    """An input error (exit 1). `span` locates it in `source` (a file's text or an option value)."""

    exit_code = 1

    def __init__(self, message: str, span: Span | None = None):
        super().__init__(message)
        self.message = message
        self.span = span
        self.source: str | None = None
        self.filename: str | None = None

    def located(self, source: str, filename: str) -> GradcliError:
        """Attach the text the span refers to (once; the innermost place wins)."""
        if self.source is None:
            self.source = source
            self.filename = filename
        return self


class LimitError(GradcliError):
    """A documented limit was exceeded (exit 1); the message names the option that raises it."""


def values_needed(what: str, names) -> GradcliError:
    """The error for `what` (a command, or a gradient) needing values the declared `names` lack."""
    return GradcliError(f"{what} needs a value for {', '.join(names)}; declare one or use --at")
