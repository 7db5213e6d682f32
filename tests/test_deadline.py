"""The time limit: a deadline no `except Exception` can swallow, and a backstop for C code."""

import contextlib
import subprocess
import sys
import textwrap
import time

import pytest

from gradcli import deadline
from gradcli.deadline import Deadline, TimeLimitExceeded


class Clock:
    """A clock that moves only when told to."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_deadline_passes_at_its_time_and_not_before():
    clock = Clock()
    limit = Deadline(2.5, clock)
    limit.check()
    clock.now += 2.4
    limit.check()
    assert limit.remaining() == pytest.approx(0.1)
    clock.now += 0.1
    with pytest.raises(TimeLimitExceeded, match=r"gave up after 2\.5 seconds .* --limit time=SECONDS"):
        limit.check()


def test_except_exception_cannot_swallow_it():
    clock = Clock()
    limit = Deadline(1.0, clock)
    clock.now += 5

    def careless_library_loop():
        for _ in range(3):
            with contextlib.suppress(Exception):  # what Lark's cache loader and many libraries do
                limit.check()

    with pytest.raises(TimeLimitExceeded):
        careless_library_loop()


def test_finished_work_is_not_cut_short():
    clock = Clock()
    limit = Deadline(1.0, clock)
    limit.finish()
    clock.now += 5
    limit.check()


def test_the_current_deadline_is_set_only_inside_the_block():
    clock = Clock()
    deadline.check()  # no command running: a no-op
    with deadline.enforced(Deadline(1.0, clock)) as limit:
        clock.now += 5
        with pytest.raises(TimeLimitExceeded):
            deadline.check()
    assert limit.finished
    deadline.check()


def test_a_cooperative_loop_stops_in_process(run):
    # a billion steps never finish; the step loop checks the deadline
    code, out, err = run("var x = 1.0\ny = x * x\n", "step", "--lr", "0.1", "--steps", "1000000000",
                         "--limit", "time=0.2")  # fmt: skip
    assert code == 1 and out == ""
    assert "gave up after 0.2 seconds (the time limit); raise it with --limit time=SECONDS" in err


def test_a_huge_time_limit_is_accepted(run):
    code, out, err = run("var x = 2.0\ny = x * x\n", "grad", "--limit", "time=1e10", "--format", "json")
    assert code == 0 and '"value": 4.0' in out


def _gradcli(tmp_path, *args):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gradcli", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    return done.returncode, done.stdout, done.stderr, time.monotonic() - started


# Far longer than its limit: this dense Hessian of 300 variables runs for minutes, inside
# library loops and SymEngine calls that never check the deadline; the watchdog ends it.
LONG_HESSIAN = "var x: [300]\nf = sum(sin(x) * sum(x)) ** 3\n"


def test_the_backstop_ends_work_that_never_checks(tmp_path):
    (tmp_path / "slow.txt").write_text(LONG_HESSIAN)
    code, out, err, seconds = _gradcli(tmp_path, "hessian", "slow.txt", "--limit", "time=1")
    assert code == 1 and out == ""
    assert (
        err
        == "gradcli: error: gave up after 1 seconds (the time limit); raise it with --limit time=SECONDS\n"
    )
    assert seconds < 20  # the work alone runs for minutes


def test_a_huge_time_limit_is_accepted_by_the_process(tmp_path):
    (tmp_path / "m.txt").write_text("var x = 2.0\ny = x * x\n")
    code, out, err, _ = _gradcli(tmp_path, "grad", "m.txt", "--limit", "time=1e10", "--format", "json")
    assert code == 0 and '"value": 4.0' in out and err == ""


def test_the_last_resort_ends_c_code_that_holds_the_gil(tmp_path):
    # sum() over a range runs in C without ever releasing the GIL, so no Python thread runs;
    # faulthandler's own thread ends the process (exit 1, no message). The watchdog is set to
    # wait longer than faulthandler here, so that only faulthandler can end it.
    script = textwrap.dedent(
        """
        from gradcli import deadline
        deadline.WATCHDOG_GRACE = 1000.0
        with deadline.enforced(deadline.Deadline(0.2), "the watchdog ran"):
            sum(range(10**13))
        print("finished")
        """
    )
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == "" and "the watchdog ran" not in done.stderr
    assert time.monotonic() - started < 20  # the sum alone runs for hours
