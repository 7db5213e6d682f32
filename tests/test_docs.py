"""The README documents every command, and its quoted outputs are what the tool prints."""

import re
from pathlib import Path

from gradcli.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_command_is_documented():
    for name in cli.commands:
        assert f"gradcli {name}" in README, name


def test_set_up_commands_are_the_two_documented():
    assert "pip install -e . && gradcli grad samples/seed3_stop_blocks.txt" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    assert "python -m pytest" in (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_quoted_example_outputs_match(run):
    seed3 = (Path(__file__).parent.parent / "samples" / "seed3_stop_blocks.txt").read_text()
    code, out, _ = run(seed3, "grad")
    block = README[README.index("$ gradcli grad samples/seed3_stop_blocks.txt\n") :].split("\n\n    $")[0]
    quoted = [line[4:] for line in block.splitlines()[1:]]
    assert [line.rstrip() for line in out.splitlines() if line.strip()] == [
        q.rstrip() for q in quoted if q.strip()
    ]
    code, out, _ = run(seed3, "graph")
    graph_block = README[README.index("$ gradcli graph samples/seed3_stop_blocks.txt\n") :].split(
        "\n\n    $"
    )[0]
    assert [line[4:] for line in graph_block.splitlines()[1:] if line.strip()] == [
        line for line in out.splitlines() if line.strip()
    ]


def test_every_sample_named_in_the_readme_exists():
    for name in set(re.findall(r"samples/([\w.]+\.txt)", README)):
        assert (Path(__file__).parent.parent / "samples" / name).exists(), name
