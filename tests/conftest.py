import json

import pytest
from click.testing import CliRunner

from gradcli.cli import cli


@pytest.fixture
def run(tmp_path):
    """Run gradcli on program text (written to a file); returns (exit code, stdout, stderr)."""

    def runner(text: str | None, *args: str, name: str = "model.txt"):
        argv = list(args)
        if text is not None:
            path = tmp_path / name
            path.write_text(text)
            argv = [argv[0], str(path), *argv[1:]]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return runner


@pytest.fixture
def run_json(run):
    """Run with --format json and parse stdout (asserting it is one JSON object)."""

    def runner(text: str, *args: str):
        code, out, err = run(text, *args, "--format", "json")
        return code, json.loads(out), err

    return runner
