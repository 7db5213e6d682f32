"""The command line: click commands over the library; the one place that prints errors and exits."""

from __future__ import annotations

import enum
import json
import sys
import traceback

import click

EXIT_INPUT_ERROR = 1
EXIT_DISCONNECTED_OR_MISMATCH = 3
EXIT_BUG = 4


class OutputFormat(str, enum.Enum):
    TEXT = "text"
    JSON = "json"


# ---- error reporting (the one error path) --------------------------------------------------


def format_error(error) -> str:
    """`FILE:LINE:COL: error: MESSAGE`, the source line and a caret under the place."""
    where = error.filename or "gradcli"
    span = error.span
    if span is None or error.source is None:
        return f"{where}: error: {error.message}"
    lines = error.source.splitlines() or [""]
    line_text = lines[span.line - 1] if 0 < span.line <= len(lines) else ""
    width = 1
    if span.end_column is not None and span.end_column > span.column:
        width = span.end_column - span.column
    width = max(1, min(width, len(line_text) - span.column + 1))
    indent = "".join(c if c == "\t" else " " for c in line_text[: span.column - 1])
    return (
        f"{where}:{span.line}:{span.column}: error: {error.message}\n"
        f"{line_text}\n{indent}^{'~' * (width - 1)}"
    )


class GradcliGroup(click.Group):
    """Turns every GradcliError into one located message and exit 1, and a bug into exit 4."""

    def invoke(self, ctx):
        from gradcli.errors import GradcliError

        try:
            return super().invoke(ctx)
        except GradcliError as error:
            click.echo(format_error(error), err=True)
            ctx.exit(error.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except RecursionError:
            click.echo("gradcli: error: the input is nested too deeply to process", err=True)
            ctx.exit(EXIT_INPUT_ERROR)
        except MemoryError:
            click.echo("gradcli: error: out of memory; the input is too large", err=True)
            ctx.exit(EXIT_INPUT_ERROR)
        except Exception:
            if ctx.params.get("debug") or ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(
                "gradcli: internal error (a bug in gradcli); please report it with the input "
                "file and command line (run again with --debug for the traceback)",
                err=True,
            )
            ctx.exit(EXIT_BUG)


@click.group(cls=GradcliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradcli")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an internal error.")
@click.pass_context
def cli(ctx, debug):
    """Exact symbolic and numeric derivatives of small NumPy-like programs.

    \b
    Example:
      gradcli grad samples/seed3_stop_blocks.txt --format json
    """
    ctx.obj = {"debug": debug}


# ---- reading input -----------------------------------------------------------------------


def read_program(path: str):
    """Read and parse FILE ('-' is standard input). Raises GradcliError."""
    from gradcli.errors import GradcliError
    from gradcli.parser import parse

    filename = "<stdin>" if path == "-" else path
    try:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()  # noqa: SIM115
    except OSError as error:
        raise GradcliError(f"cannot read {path}: {error.strerror}") from None
    if b"\0" in data:
        raise GradcliError(f"{filename} is a binary file, not a gradcli program")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise GradcliError(
            f"{filename} is not valid UTF-8 (byte 0x{data[error.start]:02x} at line {line})"
        ) from None
    if not text.strip():
        raise GradcliError(f"{filename} is empty; write at least one 'var' and one definition")
    return parse(text, filename)


def _names(option: str, value: str | None) -> tuple[str, ...]:
    from gradcli.errors import GradcliError

    if value is None:
        return ()
    names = tuple(n.strip() for n in value.split(","))
    if any(not n for n in names):
        raise GradcliError(f"{option} {value!r}: an empty name; separate names with commas")
    return names


def _assignments(option: str, items: tuple[str, ...]) -> dict:
    from gradcli.errors import GradcliError
    from gradcli.parser import parse_literal

    result = {}
    for item in items:
        name, sep, literal = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise GradcliError(f"{option} {item!r}: expected NAME=LITERAL, e.g. {option} w=[1, 2]")
        if name in result:
            raise GradcliError(f"{option} {name} is given twice")
        result[name] = parse_literal(literal, f"{option} {name}=")
    return result


# ---- shared options: one vocabulary for every command ----------------------------------------


def _option_group(*decorators):
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


target_options = _option_group(
    click.argument("file", type=click.Path(dir_okay=False, allow_dash=True)),
    click.option("--of", "of", metavar="NAMES", help="Outputs (default: the last definition)."),
    click.option("--wrt", metavar="NAMES", help="Target variables (default: every var)."),
    click.option("--at", "at", metavar="NAME=LIT", multiple=True, help="Set a value."),
    click.option("--stop", "stop", metavar="NAMES", help="Treat these definitions as constants."),
    click.option(
        "--unconnected",
        type=click.Choice(["none", "zero"]),
        default="none",
        show_default=True,
        help="Result of a disconnected target: null or zeros.",
    ),
)
grad_ys_option = click.option(
    "--grad-ys", "grad_ys", metavar="NAME=LIT", multiple=True, help="Weights of an output."
)
display_options = _option_group(
    click.option(
        "--symbolic",
        type=click.Choice(["auto", "full", "none"]),
        default="auto",
        show_default=True,
        help="Symbolic results: small ones, all, or none.",
    ),
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
    ),
    click.option("--strict", is_flag=True, help="Exit 3 when a target is disconnected."),
)


def _request(of, wrt, at, stop, unconnected, symbolic="auto", grad_ys=(), order=1):
    from gradcli.model import Request, SymbolicMode, Unconnected

    return Request(
        of=_names("--of", of),
        wrt=_names("--wrt", wrt),
        grad_ys=_assignments("--grad-ys", grad_ys),
        at=_assignments("--at", at),
        order=order,
        stop=_names("--stop", stop),
        unconnected=Unconnected(unconnected),
        symbolic=SymbolicMode(symbolic),
    )


def _emit(document: dict, renderable, output_format: str) -> None:
    if output_format == OutputFormat.JSON.value:
        click.echo(json.dumps(document, indent=None))
        return
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(renderable)


def _finish(disconnected: dict, strict: bool) -> None:
    if strict and disconnected:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


# ---- commands ----------------------------------------------------------------------------


@cli.command()
@target_options
@grad_ys_option
@click.option("--order", type=int, default=1, show_default=True, help="Derivative order N >= 1.")
@display_options
def grad(file, of, wrt, at, stop, unconnected, grad_ys, order, symbolic, output_format, strict):
    """Gradient (or N-th derivative) of the outputs with respect to the targets.

    \b
    Example:
      gradcli grad model.txt --wrt w1,w2 --grad-ys y=[1.,2.] --format json
    """
    from gradcli import api, render

    program = read_program(file)
    request = _request(of, wrt, at, stop, unconnected, symbolic, grad_ys, order)
    result = api.gradient(program, request)
    _emit(render.grad_document(result), render.grad_text(result), output_format)
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@display_options
def hessian(file, of, wrt, at, stop, unconnected, grad_ys, symbolic, output_format, strict):
    """Full Hessian of L over every element of every target, cross blocks included.

    \b
    Example:
      gradcli hessian model.txt --at x=[1., 2.]
    """
    from gradcli import api, render

    program = read_program(file)
    request = _request(of, wrt, at, stop, unconnected, symbolic, grad_ys)
    result = api.hessian(program, request)
    _emit(render.matrix_document(result), render.matrix_text(result), output_format)
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@display_options
def jacobian(file, of, wrt, at, stop, unconnected, symbolic, output_format, strict):
    """Derivative of every output element with respect to every target element.

    \b
    Example:
      gradcli jacobian model.txt --of y --wrt x
    """
    from gradcli import api, render

    program = read_program(file)
    request = _request(of, wrt, at, stop, unconnected, symbolic)
    result = api.jacobian(program, request)
    _emit(render.matrix_document(result), render.matrix_text(result), output_format)
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@click.option("--lr", type=float, required=True, help="Learning rate.")
@click.option("--steps", type=int, default=1, show_default=True, help="Number of steps.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--write", is_flag=True, help="Write the new values into FILE's var declarations.")
def step(file, of, wrt, at, stop, unconnected, grad_ys, lr, steps, output_format, write):
    """Plain gradient descent: every target w becomes w - LR * dL/dw, STEPS times.

    \b
    Example:
      gradcli step model.txt --lr 0.1 --steps 100 --write
    """
    from rich.console import Console
    from rich.progress import Progress

    from gradcli import render, rewrite, workflow
    from gradcli.errors import GradcliError

    if write and file == "-":
        raise GradcliError("--write needs a file, not standard input")
    program = read_program(file)
    request = _request(of, wrt, at, stop, unconnected, grad_ys=grad_ys)
    console = Console(stderr=True)
    show = output_format == "text" and console.is_terminal and steps >= 20
    with Progress(console=console, disable=not show, transient=True) as progress:
        task = progress.add_task("stepping", total=steps)
        result = workflow.step(
            program, request, lr, steps, lambda done: progress.update(task, completed=done)
        )
    if write:
        raw = open(file, "rb").read()  # noqa: SIM115
        bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
        text = raw[len(bom) :].decode("utf-8")
        changed = {k: v for k, v in result.values.items() if k not in result.unchanged}
        new_text = rewrite.rewrite_values(text, program, changed)
        rewrite.write_atomically(file, bom + new_text.encode("utf-8"))
    _emit(render.step_document(result), render.step_text(result), output_format)


@cli.command()
@target_options
@grad_ys_option
@click.option(
    "--expect",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSON of expected gradients: grad's output or a map {name: value}.",
)
@click.option("--rtol", type=float, default=1e-7, show_default=True)
@click.option("--atol", type=float, default=1e-9, show_default=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def check(file, of, wrt, at, stop, unconnected, grad_ys, expect, rtol, atol, output_format):
    """Check gradients: against finite differences, or against --expect. Exit 3 on disagreement.

    \b
    Examples:
      gradcli check model.txt
      gradcli check model.txt --expect expected.json --rtol 1e-6
    """
    from gradcli import render, workflow

    program = read_program(file)
    request = _request(of, wrt, at, stop, unconnected, grad_ys=grad_ys)
    if expect is None:
        result = workflow.check_finite_differences(program, request, rtol, atol)
    else:
        expected = workflow.expected_map(read_json(expect))
        result = workflow.check_expected(program, request, expected, rtol, atol)
    _emit(render.check_document(result), render.check_text(result), output_format)
    if not result.ok:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


def read_json(path: str):
    from gradcli.errors import GradcliError

    try:
        data = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        return json.loads(data)
    except OSError as error:
        raise GradcliError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GradcliError(f"{path} is not valid JSON: {error}") from None


def main() -> None:
    cli(prog_name="gradcli")
