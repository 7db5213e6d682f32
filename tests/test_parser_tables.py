"""The parser's tables are built into the package: generated from the grammar, never cached in a file."""

import hashlib
import importlib.util
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gradcli import parser, parser_tables

ROOT = Path(__file__).parent.parent


def test_the_tables_come_from_the_current_grammar():
    grammar = (ROOT / "gradcli" / "grammar.lark").read_text(encoding="utf-8")
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()
    assert digest == parser_tables.GRAMMAR_SHA256, "grammar.lark changed: run python tools/build_parser.py"


def test_the_module_is_what_the_generator_writes():
    lark = pytest.importorskip("lark")
    if lark.__version__ != parser_tables.__version__:
        pytest.skip(f"tables made by Lark {parser_tables.__version__}, Lark {lark.__version__} installed")
    spec = importlib.util.spec_from_file_location("build_parser", ROOT / "tools" / "build_parser.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.render() == (ROOT / "gradcli" / "parser_tables.py").read_text(encoding="utf-8")


def test_parsing_reads_and_writes_nothing_in_the_temporary_directory(tmp_path, monkeypatch):
    # Lark's cache=True kept pickled tables at a predictable name in the shared temporary directory
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))

    def refuse(*args, **kwargs):
        raise AssertionError("the parser unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    parser._lark.cache_clear()
    try:
        program = parser.parse("var x = [1.0, 2.0]\ny = sum(x ** 2)\n", "m.txt")
    finally:
        parser._lark.cache_clear()
    assert [d.name for d in program.definitions] == ["y"]
    assert list(shared.iterdir()) == []


def test_parsing_does_not_import_lark():
    code = (
        "import sys\nfrom gradcli.parser import parse\nparse('var x = 1\\ny = x * 2\\n')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lark'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "[]\n", done.stderr
