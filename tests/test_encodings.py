"""Terminals that are not UTF-8: every command works, its symbols fall back to ASCII, exit codes hold.

Each encoding runs one Python process that calls gradcli's real entry point (main(), which sets up
stdout and stderr) once per command line, so that the streams have the terminal's encoding."""

import re
import subprocess
import sys

import pytest

DRIVER = """
import sys
from gradcli.cli import main
for line in sys.stdin.read().splitlines():
    sys.argv = ["gradcli", *line.split()]
    try:
        main()
        code = 0
    except SystemExit as exit:
        code = exit.code
    for stream in (sys.stdout, sys.stderr):
        stream.write(f"\\n@@exit {code}@@\\n")
        stream.flush()
"""

FILES = {
    "s3.txt": "var w1 = 2.0\nvar w2 = 2.0\na = w1 * 3.0  # é ✓ ±\nb = stop(a) * w2\n",
    "wrong.json": '{"w2": 7.0, "w1": null}',
    "wide.txt": "var x: [40] = " + str([float(i) for i in range(40)]) + "\ny = sum(x ** 3)\n",
    "bad.txt": "var x = 1.0\ny = x + é * 2\n",
    "square.txt": "var a = 1.0\ny = a ** 2\n",
}
COMMANDS = [
    ("graph s3.txt", 0),
    ("check s3.txt --expect wrong.json", 3),
    ("grad s3.txt", 0),
    ("hessian wide.txt", 0),
    ("grad bad.txt", 1),
    ("plot square.txt --wrt a --order 2", 0),
    ("plot --help", 0),
    ("step s3.txt --lr 0.1", 0),
    ("jacobian wide.txt --of y", 0),
    ("grad s3.txt --format latex", 0),
    ("export s3.txt --lang numpy", 0),
    ("--help", 0),
]


def _run_all(tmp_path, encoding):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": encoding, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input="\n".join(c for c, _ in COMMANDS).encode(),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return done.stdout, done.stderr


def _parts(data: bytes, encoding: str) -> tuple[list[str], list[int]]:
    """The output of each command and its exit code; decoding fails on anything outside `encoding`."""
    pieces = re.split(r"\n@@exit (-?\d+)@@\n", data.decode(encoding))
    return pieces[0:-1:2], [int(code) for code in pieces[1::2]]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1", "cp1252"])
def test_every_command_works_in_a_non_utf8_terminal(tmp_path, encoding):
    stdout, stderr = _run_all(tmp_path, encoding)
    outs, codes = _parts(stdout, encoding)
    errs, _ = _parts(stderr, encoding)
    assert codes == [code for _, code in COMMANDS], errs
    assert not any("internal error" in err or "Traceback" in err for err in errs)
    graph, check, grad, hessian, error, plot, help_text, step, jacobian, latex, export, _ = outs
    assert "(/) no gradient: stop(...) at line 4" in graph and "x w1  DISCONNECTED" in graph
    assert "+ w2  a gradient reaches b" in graph
    assert "x w2: expected 7.0, computed 6.0" in check and "MISMATCH" in check
    assert "DISCONNECTED" in grad and "6.0" in grad
    assert "x[39]" in hessian and ("..." in hessian or "…" in hessian)
    assert "dL/da" in plot and "d2L/da2" in plot
    assert "(default: the value +/- 2)" in help_text
    assert "loss" in step and "x[39]" in jacobian and "\\begin{align*}" in latex
    assert "def evaluate" in export
    message, source, caret = errs[4].splitlines()
    assert message.startswith("bad.txt:2:9: error: unexpected character") and caret == "        ^"
    assert source[8] == ("?" if encoding == "ascii" else "é")  # one character for one: aligned


def test_ascii_output_is_plain_ascii(tmp_path):
    stdout, stderr = _run_all(tmp_path, "ascii")
    assert stdout.isascii() and stderr.isascii()
    outs, _ = _parts(stdout, "ascii")
    assert "?" not in outs[5]  # the plot: its frame and markers have ASCII forms
