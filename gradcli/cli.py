"""The command line: click commands over the library; the one place that prints errors and exits."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import enum
import errno
import functools
import gc
import math
import os
import re
import shlex
import sys

import click

from gradcli import deadline, files
from gradcli.errors import GradcliError, LimitError
from gradcli.model import FUNCTIONS, Language, Limits  # cheap to import, unlike the maths

EXIT_INPUT_ERROR = 1
EXIT_DISCONNECTED_OR_MISMATCH = 3
EXIT_BUG = 4
EXPRESSION_NAME = "<expr>"  # the file name of an -e program in messages and JSON
SOURCE_WINDOW = 100  # characters of a long source line shown around an error
RECURSION_LIMIT = 20_000  # deep but bounded (--limit depth) expressions recurse in Lark and SymPy
ENCODING_FALLBACK = "gradcli-fallback"  # the codecs error handler of stdout and stderr (main())
ASCII_FALLBACKS = {  # for terminals whose encoding lacks the symbols gradcli prints
    **{"…": "...", "⋮": ":", "✓": "+", "✗": "x", "⊘": "(/)", "±": "+/-", "─": "-", "│": "|"},
    **dict.fromkeys("┌┐└┘├┤┬┴┼", "+"),  # the frame of a plotext plot
    **dict.fromkeys("▀▄▌▐█▖▗▘▙▚▛▜▝▞▟", "*"),  # plotext's markers
}


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


def _report(text: str) -> None:
    """Write a message (an error or a warning) to stderr; if even that fails, no one is left to tell."""
    with contextlib.suppress(OSError):
        write(text + "\n", err=True)


class GradcliGroup(click.Group):
    """Turns every GradcliError into one located message and exit 1, and a bug into exit 4."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GradcliError as error:
            _report(format_error(error))
            ctx.exit(error.exit_code)
        except deadline.TimeLimitExceeded as error:
            _report(format_error(LimitError(str(error))))
            ctx.exit(EXIT_INPUT_ERROR)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, BrokenPipeError):
            raise  # click's main() ends a closed pipe quietly with exit 1
        except RecursionError:
            _report("gradcli: error: the input is nested too deeply to process")
            ctx.exit(EXIT_INPUT_ERROR)
        except MemoryError:
            _report("gradcli: error: out of memory; the input is too large")
            ctx.exit(EXIT_INPUT_ERROR)
        except Exception:
            if ctx.params.get("debug"):
                import traceback  # here only: `gradcli --help` starts faster without it

                traceback.print_exc()
            _report(
                "gradcli: internal error (a bug in gradcli); please report it with the input "
                "file and command line (run again with --debug for the traceback)"
            )
            ctx.exit(EXIT_BUG)


@dataclasses.dataclass(frozen=True)
class Session:
    """How gradcli runs: `process` when main() runs it as its own process (then a watchdog may end
    the process at the time limit), not when a host program such as pytest invokes `cli`."""

    process: bool = False


@click.group(
    cls=GradcliGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Functions: " + ", ".join(sorted(FUNCTIONS)) + ". A method is the function with the "
    "array first: x.sum(axis=0) is sum(x, axis=0); np., jnp. and numpy. name the same functions. "
    "Casts: x.astype(float), np.float64(x), float(s) (derivative 1); x.astype(int), np.int64(x), "
    "int(s) (truncation, derivative 0).",
)
@click.version_option(None, "-V", "--version", package_name="gradcli")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an internal error.")
def cli(debug):
    """Exact symbolic and numeric derivatives of small NumPy-like programs.

    Each command reads a program from FILE ('-' reads standard input) or from -e 'PROGRAM'
    (statements separated by ';', undeclared names are scalar variables, a bare last
    expression is the output). `gradcli COMMAND --help` describes a command.

    \b
    Examples:
      gradcli grad -e 'sin(x) * y' --at x=1 --at y=2
      gradcli hessian -e 'x**2 * y'
      gradcli grad samples/seed3_stop_blocks.txt --format json
      printf 'var x = 3\\ny = x ** 2\\n' | gradcli grad -

    \b
    Shell completion: add to ~/.bashrc (zsh: zsh_source in ~/.zshrc; fish: fish_source)
      eval "$(_GRADCLI_COMPLETE=bash_source gradcli)"
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


def read_program(path: str, limits=None):
    """Read and parse FILE ('-' is standard input). Raises GradcliError."""
    return parse_program(files.read_bounded(path, files.MAX_PROGRAM_BYTES), path, limits)


def parse_expression(text: str, limits=None):
    """Parse an -e program (its undeclared names are scalar variables). Raises GradcliError."""
    from gradcli.parser import parse

    if not text.strip():
        raise GradcliError("-e: the program is empty; e.g. gradcli grad -e 'sin(x) * y'")
    if len(text) > files.MAX_PROGRAM_BYTES:
        raise GradcliError(f"-e: the program is longer than {files.MAX_PROGRAM_BYTES} characters")
    return parse(text, EXPRESSION_NAME, limits, expression=True)


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a command's program comes from: FILE ('-': standard input) or -e PROGRAM."""

    path: str | None = None
    expr: str | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The file the program is read from, which no output may replace."""
        return () if self.path is None else (self.path,)

    def read(self, limits=None):
        """The parsed program. Raises GradcliError."""
        return read_program(self.path, limits) if self.expr is None else parse_expression(self.expr, limits)


def parse_program(data: bytes, path: str, limits=None):
    """Parse the bytes of a program file. Raises GradcliError."""
    from gradcli.parser import parse

    filename = "<stdin>" if path == "-" else path
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


def _names(option: str, values: tuple[str, ...]) -> tuple[str, ...]:
    """The names of a repeatable option, each value a comma-separated list (--of a,b --of c)."""
    names: tuple[str, ...] = ()
    for value in values:
        listed = tuple(n.strip() for n in value.split(","))
        if any(not n for n in listed):
            raise GradcliError(f"{option} {value!r}: an empty name; separate names with commas")
        names += listed
    return names


_NEXT_ASSIGNMENT = re.compile(r",\s*(?=[A-Za-z_]\w*\s*=)")  # the ",y=" of "--at x=1,y=2"


def _assignments(option: str, items: tuple[str, ...], memory_mib: int = Limits.memory) -> dict:
    """NAME=LITERAL options; with --at and --vector, NAME=@PATH reads the value from a file."""
    from gradcli.parser import parse_literal

    result = {}
    for item in items:
        name, sep, literal = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise GradcliError(f"{option} {item!r}: expected NAME=LITERAL, e.g. {option} 'w=[1, 2]'")
        if _NEXT_ASSIGNMENT.search(literal):
            repeated = " ".join(f"{option} {shlex.quote(part)}" for part in _NEXT_ASSIGNMENT.split(item))
            raise GradcliError(f"{option} {item!r}: one NAME=VALUE per {option}; repeat it: {repeated}")
        if name in result:
            raise GradcliError(f"{option} {name} is given twice")
        if option in ("--at", "--vector") and literal.startswith("@"):
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


def _with_source(command):
    """FILE or -e PROGRAM, exactly one, as the command's `source` (a Source)."""

    @functools.wraps(command)
    def run(*args, file=None, expr=None, **kwargs):
        if (file is None) == (expr is None):
            both = ", not both" if file is not None else ""
            raise click.UsageError(
                f"give the program as FILE or as -e 'PROGRAM'{both}", ctx=click.get_current_context()
            )
        return command(*args, source=Source(file, expr), **kwargs)

    return run


source_arguments = _option_group(
    click.argument("file", type=click.Path(allow_dash=True), required=False),
    click.option(
        "-e",
        "--expr",
        metavar="PROGRAM",
        help="The program on the command line instead of FILE: ';' between statements, undeclared "
        "names are scalar variables, a bare last expression is the output.",
    ),
    _with_source,
)
of_option = click.option(
    "--of",
    "of",
    metavar="NAMES",
    multiple=True,
    help="Outputs (default: the last definition); a,b or --of repeated.",
)
wrt_option = click.option(
    "--wrt", metavar="NAMES", multiple=True, help="Target variables (default: every var); a,b or repeated."
)
at_option = click.option(
    "--at",
    "at",
    metavar="NAME=LIT",
    multiple=True,
    help="A variable's value; one --at per name (--at x=1 --at 'w=[1,2]'); NAME=@FILE reads a .npy, "
    ".npz, .csv or .json file.",
)
stop_option = click.option(
    "--stop",
    "stop",
    metavar="NAMES",
    multiple=True,
    help="Treat these definitions as constants; a,b or repeated.",
)
limit_option = click.option(
    "--limit",
    "limit",
    metavar="NAME=N",
    multiple=True,
    help="Raise a limit (repeatable). Defaults: "
    + ", ".join(f"{name}={getattr(Limits, name)}" for name in Limits.names())
    + " (time in seconds, memory in MiB).",
)
target_options = _option_group(
    source_arguments,
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
    "--grad-ys", "grad_ys", metavar="NAME=LIT", multiple=True, help="Weights of an output; one per output."
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
    """Parse --limit once, and run the command under its time limit (deadline.py), with the
    backstop when gradcli runs as its own process (Session)."""

    @functools.wraps(command)
    def run(*args, limit=(), **kwargs):
        limits = parse_limits(limit)
        sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))
        digits = int(limits.bits * 0.30103) + 2  # an exact result within --limit bits prints in full
        current = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0
        if 0 < current < digits:  # 0: Python converts any length already
            sys.set_int_max_str_digits(digits)
        session = click.get_current_context().find_object(Session) or Session()
        backstop = format_error(LimitError(deadline.message(limits.time))) if session.process else None
        with deadline.enforced(deadline.Deadline(limits.time), backstop):
            return command(*args, limits=limits, **kwargs)

    return run


def _load(source: Source, limits, **options):
    """The program and the request the options describe."""
    return source.read(limits), _request(limits, **options)


# ---- output: the one way to stdout and stderr --------------------------------------------------


@contextlib.contextmanager
def _output(err: bool = False):
    """Stdout (or stderr) to write a result to, once the work is done (the time limit no longer
    cuts in). A stream that cannot be written (closed, a full disk) is an input-style error (exit 1);
    a closed pipe (`gradcli ... | head`) propagates as BrokenPipeError, which click ends quietly."""
    if not err:
        deadline.finish()
    stream = sys.stderr if err else sys.stdout
    name = "standard error" if err else "standard output"
    if stream is None:
        raise GradcliError(f"cannot write to {name}: it is closed")
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise GradcliError(f"cannot write to {name}: {error.strerror or error}") from None


def write(text: str, err: bool = False) -> None:
    """Write `text` in full: encoded as the stream's text layer would, then written to its binary
    layer until every byte is taken (with PYTHONUNBUFFERED that layer may take part of a write)."""
    with _output(err) as stream:
        binary = getattr(stream, "buffer", None)
        if binary is None:
            stream.write(text)
            return
        stream.flush()
        data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
        while data:
            written = binary.write(data)
            if not written:
                raise OSError(errno.EAGAIN, "the stream takes no more")
            data = data[written:]


def _print(renderable) -> None:
    """A Rich renderable on stdout; Rich decides width, colour and ASCII-only for stdout."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    with _output(), console.capture() as capture:
        console.print(renderable)
    write(capture.get())


def _emit(output_format: str, result, document, text, latex=None) -> None:
    """Print `result`: JSON of `document(result)` (render.py), `latex(result)` (latex.py) or the
    Rich renderable `text(result)` (terminal.py)."""
    if output_format == OutputFormat.JSON.value:
        from gradcli import render

        write(render.to_json(document(result)) + "\n")
    elif output_format == OutputFormat.LATEX.value:
        write(latex(result) + "\n")
    else:
        _print(text(result))


def _terminal():
    """terminal.py (and Rich) only when text is printed: JSON output does without them."""
    from gradcli import terminal

    return terminal


def _finish(disconnected: dict, strict: bool) -> None:
    if strict and disconnected:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


# ---- commands ----------------------------------------------------------------------------


@cli.command()
@target_options
@grad_ys_option
@click.option("--order", type=int, default=1, show_default=True, help="Derivative order N >= 1.")
@display_options
@click.option("--points", type=click.Path(), help="Evaluate at every point of a CSV or NPZ file.")
@click.option("--output", type=click.Path(), help="With --points: the CSV or NPZ to write.")
@_with_limits
def grad(source, limits, output_format, strict, points, output, **options):
    """Gradient (or N-th derivative) of the outputs with respect to the targets, and L itself.

    \b
    Examples:
      gradcli grad -e 'sin(x) * y' --at x=1 --at y=2
      gradcli grad model.txt --wrt w1,w2 --grad-ys 'y=[1.,2.]' --format json
      gradcli grad model.txt --points points.npz --output gradients.npz
    """
    from gradcli import api, latex, render

    if output is not None and points is None:
        raise GradcliError("--output goes with --points; for one point the result is printed")
    if output is not None:
        files.output_path(output, inputs=(*source.inputs, points))  # refused now, before the work
    program, request = _load(source, limits, **options)
    if points is not None:
        _grad_at_points(program, request, points, output, strict)
        return
    result = api.gradient(program, request)
    weighted = bool(options["grad_ys"])
    _emit(
        output_format,
        result,
        render.grad_document,
        lambda r: _terminal().grad_text(r),
        lambda r: latex.grad_latex(r, weighted),
    )
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

        job = evaluate_points(program, request, points, output, write, track)
    for name, reason in job.disconnected.items():
        _report(
            f"gradcli: warning: {name} is disconnected ({reason}); its columns are "
            + ("zeros" if job.zeros else "empty")
        )
    _finish(job.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@display_options
@click.option(
    "--vector",
    "vector",
    metavar="NAME=LIT",
    multiple=True,
    help="The Hessian times this vector instead of the Hessian (one part per target, like --at; "
    "a target without one contributes zeros): never forms the Hessian.",
)
@_with_limits
def hessian(source, limits, output_format, strict, vector, **options):
    """Full Hessian of L over every element of every target, cross blocks included.

    \b
    Examples:
      gradcli hessian -e 'x**2 * y'
      gradcli hessian model.txt --at 'x=[1.,2.]' --symbolic full
      gradcli hessian model.txt --at w=@w.npy --vector w=@v.npy
    """
    from gradcli import api, latex, render

    program, request = _load(source, limits, **options)
    weighted = bool(options["grad_ys"])
    if vector:
        if output_format == OutputFormat.LATEX.value:
            raise GradcliError("--vector gives numbers, not formulas: use --format text or json")
        vectors = _assignments("--vector", vector, limits.memory)
        product = api.hessian_vector_product(program, request, vectors)
        _emit(output_format, product, render.grad_document, lambda r: _terminal().grad_text(r))
        _finish(product.disconnected, strict)
        return
    text = output_format == OutputFormat.TEXT.value
    result = api.hessian(program, request, formulas_with_values=not text)
    _emit(
        output_format,
        result,
        render.matrix_document,
        lambda r: _terminal().matrix_text(r, options["symbolic"]),
        lambda r: latex.matrix_latex(r, weighted),
    )
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@display_options
@_with_limits
def jacobian(source, limits, output_format, strict, **options):
    """Derivative of every output element with respect to every target element.

    \b
    Example:
      gradcli jacobian model.txt --of y --wrt x
    """
    from gradcli import api, latex, render

    result = api.jacobian(*_load(source, limits, **options))
    text = lambda r: _terminal().matrix_text(r, options["symbolic"])  # noqa: E731
    _emit(output_format, result, render.matrix_document, text, latex.matrix_latex)
    _finish(result.disconnected, strict)


@cli.command()
@target_options
@grad_ys_option
@click.option("--lr", type=float, required=True, help="Learning rate.")
@click.option("--steps", type=int, default=1, show_default=True, help="Number of steps.")
@format_option
@click.option(
    "--write", "write_back", is_flag=True, help="Write the new values into FILE's var declarations."
)
@_with_limits
def step(source, limits, lr, steps, output_format, write_back, **options):
    """Plain gradient descent: every target w becomes w - LR * dL/dw, STEPS times.

    \b
    Example:
      gradcli step model.txt --lr 0.1 --steps 100 --write
    """
    from gradcli import render, rewrite

    if not write_back:
        result = _descend(source.read(limits), _request(limits, **options), lr, steps, output_format)
    elif source.path in (None, "-"):
        raise GradcliError("--write needs a file, not " + ("-e" if source.path is None else "standard input"))
    else:  # read, step and write under a lock, so that concurrent runs each build on the last
        with files.updating(source.path) as update:
            program = parse_program(update.data, source.path, limits)
            result = _descend(program, _request(limits, **options), lr, steps, output_format)
            changed = {k: v for k, v in result.values.items() if k not in result.unchanged}
            update.replace(rewrite.rewrite_bytes(update.data, program, changed))
    _emit(output_format, result, render.step_document, lambda r: _terminal().step_text(r))


def _descend(program, request, lr: float, steps: int, output_format: str):
    from gradcli import workflow

    with _progress_bar(output_format == OutputFormat.TEXT.value and steps >= 20) as progress:
        task = progress.add_task("stepping", total=steps)
        return workflow.step(program, request, lr, steps, lambda done: progress.update(task, completed=done))


@cli.command()
@target_options
@grad_ys_option
@click.option(
    "--expect",
    type=click.Path(allow_dash=True),
    help="JSON of expected gradients: grad's output or a map {name: value}.",
)
@click.option("--rtol", type=float, default=1e-7, show_default=True)
@click.option("--atol", type=float, default=1e-9, show_default=True)
@format_option
@_with_limits
def check(source, limits, expect, rtol, atol, output_format, **options):
    """Check gradients: against finite differences, or against --expect. Exit 3 on disagreement.

    \b
    Examples:
      gradcli check model.txt
      gradcli check model.txt --expect expected.json --rtol 1e-6
    """
    from gradcli import render, workflow

    if expect == "-" and source.path == "-":
        raise GradcliError("the program and --expect cannot both be standard input")
    program, request = _load(source, limits, **options)
    if expect is None:
        result = workflow.check_finite_differences(program, request, rtol, atol)
    else:
        expected, order = workflow.expected_map(read_json(expect))
        result = workflow.check_expected(program, request, expected, rtol, atol, order)
    _emit(output_format, result, render.check_document, lambda r: _terminal().check_text(r))
    if not result.ok:
        sys.exit(EXIT_DISCONNECTED_OR_MISMATCH)


@cli.command()
@source_arguments
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
def graph(source, limits, of, wrt, stop, output_format):
    """The dataflow graph from the targets to the outputs, with every blocked edge marked.

    \b
    Examples:
      gradcli graph model.txt
      gradcli graph model.txt --format dot | dot -Tsvg > graph.svg
    """
    from gradcli import api, graphview

    program = source.read(limits)
    request = _request(limits, of, wrt, (), stop, "none")
    outputs, targets = api.resolve_names(program, request)
    view = graphview.build(program, outputs, targets, request.stop)
    pictures = {"dot": graphview.dot, "mermaid": graphview.mermaid}
    if output_format == "text":
        _print(graphview.tree(view))
    else:
        write(pictures[output_format](view) + "\n")


@cli.command()
@source_arguments
@click.option("--wrt", required=True, metavar="NAME", help="The scalar variable along which to plot.")
@click.option("--range", "span", metavar="A:B", help="The interval (default: the value +/- 2).")
@click.option("--order", type=int, default=1, show_default=True, help="Highest derivative drawn.")
@click.option("--output", type=click.Path(), help="Write a PNG or SVG file instead.")
@click.option("--size", default="800x500", show_default=True, metavar="WxH", help="Pixels of --output.")
@of_option
@at_option
@stop_option
@grad_ys_option
@limit_option
@_with_limits
def plot(source, limits, wrt, span, order, output, size, of, at, stop, grad_ys):
    """L and its derivatives up to --order along one scalar variable.

    \b
    Examples:
      gradcli plot samples/seed6_square.txt --wrt a --order 2
      gradcli plot samples/seed6_square.txt --wrt a --order 2 --output square.png
    """
    from gradcli import plot as plotting

    low, high = _range(span)
    width, height = _size(size)
    if output:
        if not output.lower().endswith((".png", ".svg")):
            raise GradcliError(f"--output {output}: write a .png or .svg file")
        files.output_path(output, inputs=source.inputs)  # refused now, before the work
    program = source.read(limits)
    request = _request(limits, of, (wrt,), at, stop, "none", grad_ys=grad_ys, order=order)
    curves = plotting.sample(program, request, low, high)
    if output:
        image = plotting.image(curves, output.rsplit(".", 1)[-1].lower(), width, height)
        files.write_atomically(output, image, inputs=source.inputs)
        _report(f"wrote {output} ({width}x{height})")
    else:
        write(plotting.terminal(curves) + "\n")


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
@source_arguments
@click.option(
    "--lang",
    type=click.Choice([lang.value for lang in Language]),
    required=True,
    help="The language to write.",
)
@click.option("--output", type=click.Path(), help="Write to this file (default: stdout).")
@of_option
@wrt_option
@stop_option
@grad_ys_option
@limit_option
@_with_limits
def export(source, limits, lang, output, of, wrt, stop, grad_ys):
    """Write self-contained code that computes L and the gradients (common subexpressions shared).

    \b
    Examples:
      gradcli export model.txt --lang numpy --output model_grad.py
      gradcli export model.txt --lang c --output model_grad.c && cc -c model_grad.c
    """
    from gradcli import export as exporting
    from gradcli import numpy_export

    if output:
        files.output_path(output, inputs=source.inputs)  # refused now, before the work
    program = source.read(limits)
    request = _request(limits, of, wrt, (), stop, "none", grad_ys=grad_ys)
    generate = numpy_export.numpy_module if Language(lang) is Language.NUMPY else exporting.c_source
    code = generate(program, request)
    if output:
        files.write_atomically(output, code.encode("utf-8"), inputs=source.inputs)
    else:
        write(code)


@cli.command()
@source_arguments
@of_option
@wrt_option
@grad_ys_option
@at_option
@stop_option
@format_option
@limit_option
@_with_limits
def backward(source, limits, of, wrt, grad_ys, at, stop, output_format):
    """The backward program: the forward definitions, then one adjoint per step, in the language.

    Feeding it to `gradcli eval --of d_W1,...` gives the values `grad` gives.

    \b
    Examples:
      gradcli backward samples/mlp.txt
      gradcli backward samples/mlp.txt --format json
    """
    from gradcli import whole

    program = source.read(limits)
    request = _request(limits, of, wrt, at, stop, "none", grad_ys=grad_ys)
    result = whole.backward_program(program, request)
    if output_format == OutputFormat.JSON.value:
        from gradcli import render

        write(render.to_json(render.backward_document(result)) + "\n")
    else:
        write(result.program)


@cli.command(name="eval")
@source_arguments
@of_option
@at_option
@format_option
@limit_option
@_with_limits
def eval_command(source, limits, of, at, output_format):
    """The values of the definitions (default: every definition): the forward pass.

    \b
    Examples:
      gradcli eval samples/mlp.txt --of hidden,loss
      gradcli eval samples/mlp.txt --format json
    """
    from gradcli import whole

    program = source.read(limits)
    request = _request(limits, of, (), at, (), "none")
    result = whole.evaluate(program, request)
    from gradcli import render

    _emit(output_format, result, render.eval_document, lambda r: _terminal().eval_text(r))


def read_json(path: str):
    """The JSON document in `path` ('-': standard input), at most files.MAX_DOCUMENT_BYTES."""
    import json  # here only: `gradcli --help` starts faster without it

    data = files.read_bounded(path, files.MAX_DOCUMENT_BYTES)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise GradcliError(f"{path} is not valid JSON: not UTF-8 ({error.reason})") from None
    except ValueError as error:  # JSONDecodeError, or an integer of more than 4300 digits
        raise GradcliError(f"{path} is not valid JSON: {error}") from None


# ---- the process ------------------------------------------------------------------------------


def _ascii_fallback(error: UnicodeError) -> tuple[str, int]:
    """A codecs error handler: a symbol the terminal's encoding lacks becomes ASCII
    (ASCII_FALLBACKS), anything else '?' (one character for one, so carets stay aligned)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    unencodable = error.object[error.start : error.end]
    return "".join(ASCII_FALLBACKS.get(c, "?") for c in unencodable), error.end


# Python's collector runs after every 700 new containers; the expression graphs of one run make
# hundreds of thousands and hold no cycles, so its passes were ~8% of a run (42 ms of a Rosenbrock
# gradient, 59 ms of its Hessian; none with these). Cycles are still collected: mypy's setting.
_GC_THRESHOLDS = (200_000, 30, 30)


def main() -> None:
    """The `gradcli` command: output in any terminal encoding, then the click group."""
    _choose_blas_threads(sys.argv[1:], os.environ)
    gc.set_threshold(*_GC_THRESHOLDS)
    codecs.register_error(ENCODING_FALLBACK, _ascii_fallback)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=ENCODING_FALLBACK)
    try:
        cli(prog_name="gradcli", obj=Session(process=True))
    except OSError as error:  # click's own output (--help, --version, usage) could not be written
        _report(f"gradcli: error: cannot write the output: {error.strerror or error}")
        sys.exit(EXIT_INPUT_ERROR)
    finally:
        _discard_unwritable_output()


_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _choose_blas_threads(args: list[str], environment) -> None:
    """One BLAS thread (set before NumPy starts OpenBLAS) where every matrix is small: starting
    OpenBLAS's threads costs more than they save (60-80 ms of each run here, see bench/README.md).
    All threads where a value is read from a file (NAME=@FILE: big matmuls) and for a Hessian
    shown as text (its eigenvalue summary decomposes an n x n matrix). A count the user set is kept."""
    if any(name in environment for name in _BLAS_THREAD_VARIABLES):
        return
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if any("=@" in arg for arg in args) or (command == "hessian" and _output_format(args) == "text"):
        return
    environment["OPENBLAS_NUM_THREADS"] = "1"


def _output_format(args: list[str]) -> str:
    """The --format a command line asks for (the last one given; text by default)."""
    chosen = "text"
    for i, arg in enumerate(args):
        if arg == "--format" and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--format="):
            chosen = arg.removeprefix("--format=")
    return chosen


def _discard_unwritable_output() -> None:
    """If stdout cannot take what is left in its buffer (a full disk: the error is reported
    already), send it to the null device, so that Python's final flush does not fail again."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stdout.fileno())
            os.close(null)
