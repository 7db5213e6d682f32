"""The README and the tutorial: every command in them runs, as written, in bash and in zsh (when it is
installed), and prints what they quote; every command is safe to paste into an interactive zsh."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gradcli.cli import cli
from gradcli.model import Limits

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
TUTORIAL = (ROOT / "docs" / "TUTORIAL.md").read_text()
DOCUMENTS = {"README.md": README, "docs/TUTORIAL.md": TUTORIAL}
BIN = Path(sys.executable).parent  # the environment's `gradcli` and `python`
TOOLS = ("dot", "cc")  # commands that need these are skipped where they are missing


@dataclass(frozen=True)
class Command:
    line: int
    text: str  # what follows "$ "
    quoted: tuple[str, ...]  # the output the document shows (may be empty)


def commands(document: str) -> list[Command]:
    """Each `$ COMMAND` line of an indented code block, with the lines quoted after it (up to the
    next `$` line or the end of the block)."""
    out = []
    lines = document.splitlines()
    i = 0
    while i < len(lines):
        if not lines[i].startswith("    $ "):
            i += 1
            continue
        start, text = i, lines[i][6:]
        i += 1
        quoted = []
        while (
            i < len(lines)
            and not lines[i].startswith("    $ ")
            and (lines[i].startswith("    ") or not lines[i].strip())
        ):
            quoted.append(lines[i][4:])
            i += 1
        while quoted and not quoted[-1].strip():
            quoted.pop()
        out.append(Command(start + 1, text, tuple(quoted)))
    return out


def matches(quoted: tuple[str, ...], printed: str) -> bool:
    """The printed output is what the document quotes: the same JSON object, or the same non-blank
    lines (trailing spaces ignored), where a quoted `...` line stands for any lines."""
    if quoted and quoted[0].startswith("{"):
        return json.loads(" ".join(quoted)) == json.loads(printed)
    pattern = []
    for line in quoted:
        if line.strip() == "...":
            pattern.append(r"(?:[^\n]*\n)*?")
        elif line.strip():
            pattern.append(re.escape(line.rstrip()) + r"\n")
    actual = "".join(line.rstrip() + "\n" for line in printed.splitlines() if line.strip())
    return re.fullmatch("".join(pattern), actual) is not None


@pytest.mark.parametrize("shell", ["bash", "zsh"])
@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_command_runs_as_written_and_prints_what_is_quoted(name, shell, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    if not (BIN / "gradcli").exists():
        pytest.skip("the gradcli script is not installed in this environment")
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    (tmp_path / "docs").mkdir()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "NO_COLOR": "1", "COLUMNS": "80"}
    for command in commands(DOCUMENTS[name]):
        if any(re.search(rf"(^|\| |&& ){tool} ", command.text) for tool in TOOLS if not shutil.which(tool)):
            continue
        done = subprocess.run(
            [shell, "-c", command.text],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
        where = f"{name}:{command.line}: {command.text}\n--- printed:\n{done.stdout}"
        if command.quoted:
            assert matches(command.quoted, done.stdout), where
        else:
            assert done.returncode == 0, where


def _unsafe_in_zsh(command: str) -> str | None:
    """What an interactive zsh would not pass through as written: glob characters outside quotes
    (`[`, `]`, `*`, `?`: "no matches found"), `#` (not a comment without INTERACTIVE_COMMENTS),
    `!` outside single quotes (history expansion)."""
    quote = None
    for i, c in enumerate(command):
        if quote:
            if c == quote:
                quote = None
            elif c == "!" and quote == '"':
                return f"'!' inside double quotes at column {i + 1}"
            continue
        if c in "'\"":
            quote = c
        elif c in "[]*?#!":
            return f"unquoted {c!r} at column {i + 1}"
    return None


SHELL_WORDS = ("gradcli ", "python ", "python3 ", "pip ", "ruff ", "eval ")


def _pasted_commands() -> list[tuple[str, int, str]]:
    """Every `$` command, every other code line that starts a shell command, and the examples in
    every command's --help."""
    found = []
    for name, document in DOCUMENTS.items():
        for number, line in enumerate(document.splitlines(), 1):
            if line.startswith("    $ "):
                found.append((name, number, line[6:]))
            elif line.startswith("    ") and line.strip().startswith(SHELL_WORDS):
                found.append((name, number, line.strip()))
    for command in (cli, *cli.commands.values()):
        for number, line in enumerate(command.help.splitlines(), 1):
            if line.strip().startswith(SHELL_WORDS):
                found.append((f"gradcli {command.name} --help", number, line.strip()))
    return found


@pytest.mark.parametrize("name, number, command", _pasted_commands())
def test_every_command_is_safe_to_paste_into_zsh(name, number, command):
    assert _unsafe_in_zsh(command) is None, f"{name}:{number}: {command}: {_unsafe_in_zsh(command)}"


def test_the_zsh_check_finds_what_zsh_refuses():
    unquoted = "gradcli grad m.txt --grad-ys z1=[2.,2.,3.]"
    assert _unsafe_in_zsh(unquoted) == f"unquoted '[' at column {unquoted.index('[') + 1}"
    commented = "gradcli grad m.txt --order 3   # a comment"
    assert _unsafe_in_zsh(commented) == f"unquoted '#' at column {commented.index('#') + 1}"
    assert _unsafe_in_zsh('gradcli grad -e "x!"') is not None
    assert _unsafe_in_zsh("gradcli grad m.txt --grad-ys 'z1=[2.,2.,3.]' -e 'x ** 2 # !'") is None


def test_the_document_parser_reads_outputs_and_elisions():
    document = "text\n\n    $ echo a\n    a\n\n    b\n    $ true\n\nmore\n"
    assert commands(document) == [Command(3, "echo a", ("a", "", "b")), Command(7, "true", ())]
    assert matches(("first", "...", "last"), "first\n2\n3\nlast\n")
    assert not matches(("first", "last"), "first\n2\nlast\n")


def test_every_command_is_documented():
    for name in cli.commands:
        assert f"gradcli {name}" in README, name
    assert "docs/TUTORIAL.md" in README


def test_set_up_commands_are_the_two_documented():
    assert "pip install -e . && gradcli grad samples/seed3_stop_blocks.txt" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_every_sample_named_in_the_documents_exists():
    for document in DOCUMENTS.values():
        for name in set(re.findall(r"samples/([\w.]+\.txt)", document)):
            assert (ROOT / "samples" / name).exists(), name


def test_the_limits_table_gives_the_defaults():
    for name in Limits.names():
        row = re.search(rf"^\| `{name}` \| ([\d,.]+) \|", README, re.MULTILINE)
        assert row, name
        assert float(row.group(1).replace(",", "")) == getattr(Limits, name), name


def test_the_documented_sympy_reading_of_symbolic_text(run_json):
    """The README's recipe: symbolic text, with gradcli's own functions given to sympify, is the
    same function as gradcli's values say."""
    sympy = pytest.importorskip("sympy")
    lines = README[README.index("    import re\n\n    import sympy") :].splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("    "))
    namespace: dict = {}
    exec("\n".join(line[4:] for line in lines[:end]), namespace)  # the README's own code
    text = (
        "var x = 0.7\nvar y = -1.3\n"
        "z = relu(x) * abs(y) + maximum(x, y) ** 2 + minimum(x, y) + sigmoid(x) * softplus(y)\n"
    )
    for order in ("1", "2"):
        _, doc, _ = run_json(text, "grad", "--order", order)
        for name, target in doc["gradients"].items():
            expr = namespace["read"](target["symbolic"])
            value = float(expr.subs({sympy.Symbol("x"): 0.7, sympy.Symbol("y"): -1.3}))
            assert value == pytest.approx(target["value"], rel=1e-12, abs=1e-12), (order, name)
