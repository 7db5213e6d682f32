"""The time limit: a deadline that long loops check cooperatively, and a backstop for C code.

`check()` is cheap; call it in every loop that can run long. It raises TimeLimitExceeded, a
BaseException, so no `except Exception` on the way can swallow it; cli.py prints it as an error
(exit 1). Work stuck inside one C call never reaches a check, so the gradcli process itself (and
only it: never a host program such as pytest) also arms a backstop: a watchdog thread that, a
little past the deadline, writes the same error to stderr and ends the process with exit 1, and
for C code that holds the GIL (no Python thread can run), faulthandler ending it silently with
exit 1 a little later still.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

WATCHDOG_GRACE = 0.5  # seconds past the deadline before the watchdog ends the process
LAST_RESORT_GRACE = 1.0  # seconds past the deadline before faulthandler ends it
LONGEST_BACKSTOP = 10**6  # seconds; a longer limit (--limit time=1e10) is only checked cooperatively


def message(seconds: float) -> str:
    return f"gave up after {seconds:g} seconds (the time limit); raise it with --limit time=SECONDS"


class TimeLimitExceeded(BaseException):
    """The deadline passed. Not an Exception: `except Exception` must not swallow it."""

    def __init__(self, seconds: float):
        super().__init__(message(seconds))
        self.seconds = seconds


class Deadline:
    """`seconds` from now by `clock`; `check()` raises TimeLimitExceeded once that has passed,
    until `finish()` says the work is done (writing the result is never cut short)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.finished = False
        self._clock = clock
        self._end = clock() + seconds
        self._lock = threading.Lock()  # the backstop ends the process only while unfinished
        self._stand_down: Callable[[], None] | None = None

    def remaining(self) -> float:
        return self._end - self._clock()

    def check(self) -> None:
        if not self.finished and self._clock() >= self._end:
            raise TimeLimitExceeded(self.seconds)

    def finish(self) -> None:
        """No more checks, and the backstop (if armed) stands down."""
        with self._lock:
            self.finished = True
        if self._stand_down is not None:
            self._stand_down()
            self._stand_down = None

    def arm_backstop(self, text: str) -> None:
        """Past the deadline plus WATCHDOG_GRACE, a thread writes `text` and a newline to stderr
        and ends the process (exit 1); past LAST_RESORT_GRACE, faulthandler ends it (exit 1,
        nothing written: C code holds the GIL, so no Python thread runs). Only for the gradcli
        process itself; a deadline longer than LONGEST_BACKSTOP gets no backstop."""
        if self.remaining() > LONGEST_BACKSTOP:
            return
        import faulthandler

        done = threading.Event()

        def watch() -> None:
            if done.wait(max(0.0, self.remaining()) + WATCHDOG_GRACE):
                return
            with self._lock:
                if self.finished:
                    return
                with contextlib.suppress(OSError):
                    os.write(2, (text + "\n").encode("ascii", "replace"))
                os._exit(1)

        devnull = os.open(os.devnull, os.O_WRONLY)
        faulthandler.dump_traceback_later(
            max(0.0, self.remaining()) + LAST_RESORT_GRACE, exit=True, file=devnull
        )

        def stand_down() -> None:
            done.set()
            faulthandler.cancel_dump_traceback_later()
            os.close(devnull)

        self._stand_down = stand_down
        threading.Thread(target=watch, name="gradcli-deadline", daemon=True).start()


_current: Deadline | None = None


def check() -> None:
    """Raise TimeLimitExceeded if the running command's deadline has passed (no-op outside one)."""
    if _current is not None:
        _current.check()


def finish() -> None:
    """The running command's work is done: from now on only its result is written."""
    if _current is not None:
        _current.finish()


@contextlib.contextmanager
def enforced(deadline: Deadline, backstop_message: str | None = None) -> Iterator[Deadline]:
    """Make `deadline` the current one inside the block (finished when the block ends). With
    `backstop_message` (only in the gradcli process itself), arm its backstop."""
    global _current
    previous, _current = _current, deadline
    if backstop_message is not None:
        deadline.arm_backstop(backstop_message)
    try:
        yield deadline
    finally:
        deadline.finish()
        _current = previous
