"""The command line: click commands over the library; the one place that prints errors and exits."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import math
import signal
import sys
import traceback

import click

from gradcli.errors import GradcliError, LimitError
from gradcli.model import Language, Limits  # a few dataclasses: cheap to import, unlike the maths

EXIT_INPUT_ERROR = 1
EXIT_DISCONNECTED_OR_MISMATCH = 3
EXIT_BUG = 4
SOURCE_WINDOW = 100  # characters of a long source line shown around an error
RECURSION_LIMIT = 20_000  # deep but bounded (--limit depth) expressions recurse in Lark and SymPy


class OutputFormat(str, enum.Enum):
    TEXT = "text"
    JSON = "json"
    LATEX = "latex"


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
    width = max(1, min(width, len(line_text) - span.column + 1, SOURCE_WINDOW // 2))
    start = max(0, span.column - 1 - SOURCE_WINDOW // 2) if len(line_text) > SOURCE_WINDOW else 0
    shown = line_text[start : start + SOURCE_WINDOW]
    prefix = "..." if start else ""
    suffix = "..." if start + SOURCE_WINDOW < len(line_text) else ""
    indent = " " * len(prefix) + "".join(c if c == "\t" else " " for c in line_text[start : span.column - 1])
    return (
        f"{where}:{span.line}:{span.column}: error: {error.message}\n"
        f"{prefix}{shown}{suffix}\n{indent}^{'~' * (width - 1)}"
    )


class GradcliGroup(click.Group):
    """Turns every GradcliError into one located message and exit 1, and a bug into exit 4."""

    def invoke(self, ctx):
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
            if ctx.params.get("debug"):
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
def cli(debug):
    """Exact symbolic and numeric derivatives of small NumPy-like programs.

    \b
    Example:
      gradcli grad samples/seed3_stop_blocks.txt --format json
    """


# ---- reading input -----------------------------------------------------------------------


def parse_limits(items: tuple[str, ...]) -> Limits:
    """`--limit NAME=VALUE` options over the defaults (gradcli.model.Limits)."""
    changes = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in Limits.names():
            raise GradcliError(
                f"--limit {item!r}: expected NAME=VALUE with NAME one of {', '.join(Limits.names())}"
            )
        try:
            number = float(value)
        except ValueError:
            raise GradcliError(f"--limit {name}: {value!r} is not a number") from None
        if not (math.isfinite(number) and number > 0):
            raise GradcliError(f"--limit {name}: must be a positive number, got {value}")
        changes[name] = number if name == "time" else max(1, int(number))
    return dataclasses.replace(Limits(), **changes)


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise LimitError when a command runs longer than `seconds` of wall time."""

    def expire(signum, frame):
        raise LimitError(
            f"gave up after {seconds:g} seconds (the time limit); raise it with --limit time=SECONDS"
        )

    if not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def read_program(path: str, limits=None):
    """Read and parse FILE ('-' is standard input). Raises GradcliError."""
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
    return parse(text, filename, limits)


def _names(option: str, value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    names = tuple(n.strip() for n in value.split(","))
    if any(not n for n in names):
        raise GradcliError(f"{option} {value!r}: an empty name; separate names with commas")
    return names


def _assignments(option: str, items: tuple[str, ...], memory_mib: int = Limits.memory) -> dict:
    """NAME=LITERAL options; with --at, NAME=@PATH reads the value from a file."""
    from gradcli.parser import parse_literal

    result = {}
    for item in items:
        name, sep, literal = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise GradcliError(f"{option} {item!r}: expected NAME=LITERAL, e.g. {option} w=[1, 2]")
        if name in result:
            raise GradcliError(f"{option} {name} is given twice")
        if option == "--at" and literal.startswith("@"):
            from gradcli import values

            result[name] = values.literal_of(values.read_array(literal[1:], memory_mib, f"{option} {name}"))
        else:
            result[name] = parse_literal(literal, f"{option} {name}=")
    return result


# ---- shared options: one vocabulary for every command ----------------------------------------


def _option_group(*decorators):
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


file_argument = click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
of_option = click.option("--of", "of", metavar="NAMES", help="Outputs (default: the last definition).")
wrt_option = click.option("--wrt", metavar="NAMES", help="Target variables (default: every var).")
at_option = click.option("--at", "at", metavar="NAME=LIT", multiple=True, help="Set a value.")
stop_option = click.option("--stop", "stop", metavar="NAMES", help="Treat these definitions as constants.")
limit_option = click.option(
    "--limit",
    "limit",
    metavar="NAME=N",
    multiple=True,
    help="Raise a limit: " + ", ".join(Limits.names()) + " (see README).",
)
target_options = _option_group(
    file_argument,
    of_option,
    wrt_option,
    at_option,
    stop_option,
    click.option(
        "--unconnected",
        type=click.Choice(["none", "zero"]),
        default="none",
        show_default=True,
        help="Result of a disconnected target: null or zeros.",
    ),
    limit_option,
)
grad_ys_option = click.option(
    "--grad-ys", "grad_ys", metavar="NAME=LIT", multiple=True, help="Weights of an output."
)


def _format_option(*formats: OutputFormat):
    return click.option(
        "--format",
        "output_format",
        type=click.Choice([f.value for f in formats]),
        default="text",
        show_default=True,
        help="For people (text), for scripts (json)"
        + (", for documents (latex)." if OutputFormat.LATEX in formats else "."),
    )


format_option = _format_option(OutputFormat.TEXT, OutputFormat.JSON)
display_options = _option_group(
    click.option(
        "--symbolic",
        type=click.Choice(["auto", "full", "none"]),
        default="auto",
        show_default=True,
        help="Symbolic results: small ones, all, or none.",
    ),
    _format_option(OutputFormat.TEXT, OutputFormat.JSON, OutputFormat.LATEX),
    click.option("--strict", is_flag=True, help="Exit 3 when a target is disconnected."),
)


def _request(limits, of, wrt, at, stop, unconnected, symbolic="auto", grad_ys=(), order=1):
    from gradcli.model import Request, SymbolicMode, Unconnected

    return Request(
        of=_names("--of", of),
        wrt=_names("--wrt", wrt),
        grad_ys=_assignments("--grad-ys", grad_ys),
        at=_assignments("--at", at, limits.memory),
        order=order,
        stop=_names("--stop", stop),
        unconnected=Unconnected(unconnected),
        symbolic=SymbolicMode(symbolic),
        limits=limits,
    )


def _with_limits(command):
    """Parse --limit once, and run the command under its wall-time limit."""

    @functools.wraps(command)
    def run(*args, limit=(), **kwargs):
        limits = parse_limits(limit)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
        with time_limit(limits.time):
            return command(*args, limits=limits, **kwargs)

    return run


def _load(file, limits, **options):
    """The program in FILE and the request the options describe."""
    return read_program(file, limits), _request(limits, **options)


def _emit(output_format: str, kind: str, result, weighted: bool = False) -> None:
    """Print `result` as JSON (render.KIND_document), LaTeX (latex.KIND_latex; `weighted`: with
    --grad-ys, so the differentiated quantity is L) or for people (terminal.KIND_text)."""
    if output_format == OutputFormat.JSON.value:
        from gradcli import render

        click.echo(render.to_json(getattr(render, f"{kind}_document")(result)))
        return
    if output_format == OutputFormat.LATEX.value:
        from gradcli import latex

        click.echo(getattr(latex, f"{kind}_latex")(result, weighted))
        return
    from rich.console import Console

    from gradcli import terminal

    Console(highlight=False, soft_wrap=True).print(getattr(terminal, f"{kind}_text")(result))


def _finish(disconnected: dict, strict: bool) -> None:
    if strict and disconnected:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


# ---- commands ----------------------------------------------------------------------------


@cli.command()
@target_options
@grad_ys_option
@click.option("--order", type=int, default=1, show_default=True, help="Derivative order N >= 1.")
@display_options
@click.option(
    "--points", type=click.Path(dir_okay=False), help="Evaluate at every point of a CSV or NPZ file."
)
@click.option("--output", type=click.Path(dir_okay=False), help="With --points: the CSV or NPZ to write.")
@_with_limits
def grad(file, limits, output_format, strict, points, output, **options):
    """Gradient (or N-th derivative) of the outputs with respect to the targets.

    \b
    Examples:
      gradcli grad model.txt --wrt w1,w2 --grad-ys y=[1.,2.] --format json
      gradcli grad model.txt --points points.npz --output gradients.npz
    """
    from gradcli import api

    program, request = _load(file, limits, **options)
    if points is not None:
        _grad_at_points(program, request, points, output, strict)
        return
    if output is not None:
        raise GradcliError("--output goes with --points; for one point the result is printed")
    result = api.gradient(program, request)
    _emit(output_format, "grad", result, bool(options["grad_ys"]))
    _finish(result.disconnected, strict)


@contextlib.contextmanager
def _progress_bar(wanted: bool = True):
    """A Rich progress bar on stderr, shown only when wanted and stderr is a terminal."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, disable=not (wanted and console.is_terminal), transient=True) as bar:
        yield bar


def _grad_at_points(program, request, points: str, output: str | None, strict: bool) -> None:
    from gradcli.points import evaluate_points

    with _progress_bar() as progress:

        def track(total):
            task = progress.add_task("points", total=total)
            return lambda size: progress.advance(task, size)

        job = evaluate_points(program, request, points, output, sys.stdout, track)
    for name, reason in job.disconnected.items():
        click.echo(
            f"gradcli: warning: {name} is disconnected ({reason}); its columns are "
            + ("zeros" if job.zeros else "empty"),
            err=True,
        )
    _finish(job.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@display_options
@_with_limits
def hessian(file, limits, output_format, strict, **options):
    """Full Hessian of L over every element of every target, cross blocks included.

    \b
    Example:
      gradcli hessian model.txt --at x=[1., 2.]
    """
    from gradcli import api

    result = api.hessian(*_load(file, limits, **options))
    _emit(output_format, "matrix", result, bool(options["grad_ys"]))
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@display_options
@_with_limits
def jacobian(file, limits, output_format, strict, **options):
    """Derivative of every output element with respect to every target element.

    \b
    Example:
      gradcli jacobian model.txt --of y --wrt x
    """
    from gradcli import api

    result = api.jacobian(*_load(file, limits, **options))
    _emit(output_format, "matrix", result)
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@click.option("--lr", type=float, required=True, help="Learning rate.")
@click.option("--steps", type=int, default=1, show_default=True, help="Number of steps.")
@format_option
@click.option("--write", is_flag=True, help="Write the new values into FILE's var declarations.")
@_with_limits
def step(file, limits, lr, steps, output_format, write, **options):
    """Plain gradient descent: every target w becomes w - LR * dL/dw, STEPS times.

    \b
    Example:
      gradcli step model.txt --lr 0.1 --steps 100 --write
    """
    from gradcli import rewrite, workflow

    if write and file == "-":
        raise GradcliError("--write needs a file, not standard input")
    program, request = _load(file, limits, **options)
    with _progress_bar(output_format == OutputFormat.TEXT.value and steps >= 20) as progress:
        task = progress.add_task("stepping", total=steps)
        result = workflow.step(
            program, request, lr, steps, lambda done: progress.update(task, completed=done)
        )
    if write:
        changed = {k: v for k, v in result.values.items() if k not in result.unchanged}
        rewrite.rewrite_file(file, program, changed)
    _emit(output_format, "step", result)


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
@format_option
@_with_limits
def check(file, limits, expect, rtol, atol, output_format, **options):
    """Check gradients: against finite differences, or against --expect. Exit 3 on disagreement.

    \b
    Examples:
      gradcli check model.txt
      gradcli check model.txt --expect expected.json --rtol 1e-6
    """
    from gradcli import workflow

    program, request = _load(file, limits, **options)
    if expect is None:
        result = workflow.check_finite_differences(program, request, rtol, atol)
    else:
        expected, order = workflow.expected_map(read_json(expect))
        result = workflow.check_expected(program, request, expected, rtol, atol, order)
    _emit(output_format, "check", result)
    if not result.ok:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


@cli.command()
@file_argument
@of_option
@wrt_option
@stop_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "dot", "mermaid"]),
    default="text",
    show_default=True,
    help="A tree for the terminal, Graphviz source, or a Mermaid flowchart.",
)
@limit_option
@_with_limits
def graph(file, limits, of, wrt, stop, output_format):
    """The dataflow graph from the targets to the outputs, with every blocked edge marked.

    \b
    Examples:
      gradcli graph model.txt
      gradcli graph model.txt --format dot | dot -Tsvg > graph.svg
    """
    from gradcli import api, graphview

    program = read_program(file, limits)
    request = _request(limits, of, wrt, (), stop, "none")
    outputs, targets = api.resolve_names(program, request)
    view = graphview.build(program, outputs, targets, request.stop)
    if output_format == "text":
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(graphview.tree(view))
    else:
        click.echo(getattr(graphview, output_format)(view))


@cli.command()
@file_argument
@click.option("--wrt", required=True, metavar="NAME", help="The scalar variable along which to plot.")
@click.option("--range", "span", metavar="A:B", help="The interval (default: the value ± 2).")
@click.option("--order", type=int, default=1, show_default=True, help="Highest derivative drawn.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write a PNG or SVG file instead.")
@click.option("--size", default="800x500", show_default=True, metavar="WxH", help="Pixels of --output.")
@of_option
@at_option
@stop_option
@grad_ys_option
@limit_option
@_with_limits
def plot(file, limits, wrt, span, order, output, size, of, at, stop, grad_ys):
    """L and its derivatives up to --order along one scalar variable.

    \b
    Examples:
      gradcli plot samples/seed6_square.txt --wrt a --order 2
      gradcli plot samples/seed6_square.txt --wrt a --order 2 --output square.png
    """
    from gradcli import plot as plotting

    low, high = _range(span)
    width, height = _size(size)
    if output and not output.lower().endswith((".png", ".svg")):
        raise GradcliError(f"--output {output}: write a .png or .svg file")
    program = read_program(file, limits)
    request = _request(limits, of, wrt, at, stop, "none", grad_ys=grad_ys, order=order)
    curves = plotting.sample(program, request, low, high)
    if output:
        plotting.save(curves, output, width, height)
        click.echo(f"wrote {output} ({width}x{height})", err=True)
    else:
        click.echo(plotting.terminal(curves))


def _range(span: str | None) -> tuple[float | None, float | None]:

    if span is None:
        return None, None
    low, sep, high = span.partition(":")
    try:
        return float(low), float(high)
    except ValueError:
        raise GradcliError(f"--range {span!r}: expected A:B, e.g. --range -2:3") from None


def _size(size: str) -> tuple[int, int]:

    width, sep, height = size.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or not (
        16 <= int(width) <= 8000 and 16 <= int(height) <= 8000
    ):
        raise GradcliError(f"--size {size!r}: expected WIDTHxHEIGHT in pixels, e.g. 800x500")
    return int(width), int(height)


@cli.command()
@file_argument
@click.option(
    "--lang",
    type=click.Choice([lang.value for lang in Language]),
    required=True,
    help="The language to write.",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file (default: stdout).")
@of_option
@wrt_option
@stop_option
@grad_ys_option
@limit_option
@_with_limits
def export(file, limits, lang, output, of, wrt, stop, grad_ys):
    """Write self-contained code that computes L and the gradients (common subexpressions shared).

    \b
    Examples:
      gradcli export model.txt --lang numpy --output model_grad.py
      gradcli export model.txt --lang c --output model_grad.c && cc -c model_grad.c
    """
    from gradcli import export as exporting
    from gradcli import numpy_export, rewrite

    program = read_program(file, limits)
    request = _request(limits, of, wrt, (), stop, "none", grad_ys=grad_ys)
    write = numpy_export.numpy_module if Language(lang) is Language.NUMPY else exporting.c_source
    source = write(program, request)
    if output:
        rewrite.write_atomically(output, source.encode("utf-8"))
    else:
        click.echo(source, nl=False)


@cli.command()
@file_argument
@of_option
@wrt_option
@grad_ys_option
@at_option
@stop_option
@format_option
@limit_option
@_with_limits
def backward(file, limits, of, wrt, grad_ys, at, stop, output_format):
    """The backward program: the forward definitions, then one adjoint per step, in the language.

    Feeding it to `gradcli eval --of d_W1,...` gives the values `grad` gives.

    \b
    Examples:
      gradcli backward samples/mlp.txt
      gradcli backward samples/mlp.txt --format json
    """
    from gradcli import whole

    program = read_program(file, limits)
    request = _request(limits, of, wrt, at, stop, "none", grad_ys=grad_ys)
    result = whole.backward_program(program, request)
    if output_format == OutputFormat.JSON.value:
        from gradcli import render

        click.echo(render.to_json(render.backward_document(result)))
    else:
        click.echo(result.program, nl=False)


@cli.command(name="eval")
@file_argument
@of_option
@at_option
@format_option
@limit_option
@_with_limits
def eval_command(file, limits, of, at, output_format):
    """The values of the definitions (default: every definition): the forward pass.

    \b
    Examples:
      gradcli eval samples/mlp.txt --of hidden,loss
      gradcli eval samples/mlp.txt --format json
    """
    from gradcli import whole

    program = read_program(file, limits)
    request = _request(limits, of, None, at, None, "none")
    result = whole.evaluate(program, request)
    if output_format == OutputFormat.JSON.value:
        from gradcli import render

        click.echo(render.to_json(render.eval_document(result)))
        return
    from rich.console import Console

    from gradcli import terminal

    Console(highlight=False, soft_wrap=True).print(terminal.eval_text(result))


def read_json(path: str):

    try:
        data = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        return json.loads(data)
    except OSError as error:
        raise GradcliError(f"cannot read {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GradcliError(f"{path} is not valid JSON: {error}") from None


def main() -> None:
    cli(prog_name="gradcli")
