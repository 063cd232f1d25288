"""The ``ghye`` Typer app: global options, the commands, and the one place errors are caught.

Errors are caught once, here (:class:`_Group`): a :class:`GhyeError` becomes one red line on
stderr and its exit code; anything else is a bug — one line, exit 1, the traceback with
``--verbose``. The ``--help`` epilog is rendered from :data:`gh_year_end.errors.EXIT_TABLE`.
"""

from __future__ import annotations

import textwrap
import traceback
from collections.abc import Sequence
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from gh_year_end import __version__
from gh_year_end.cli.commands import COMMANDS
from gh_year_end.cli.logs import configure_logging
from gh_year_end.cli.options import QuietOption, VerboseOption
from gh_year_end.cli.runtime import Runtime, safe_stderr
from gh_year_end.errors import EXIT_BUG, EXIT_OK, EXIT_SIGINT, EXIT_TABLE, GhyeError, Interrupted

HELP_WIDTH: Final = 76  # click indents the epilog by 2: 78 columns in all
_CODE_COLUMN: Final = 5  # "129  ": a code this wide or less shares its line with the meaning


def exit_codes_help(table: Sequence[tuple[str, str]] = EXIT_TABLE) -> str:
    """The ``--help`` epilog: the exit-code table, kept as laid out (click's ``\\b``)."""
    lines = ["\b", "Exit codes:"]
    hang = " " * (2 + _CODE_COLUMN)
    for code, meaning in table:
        if len(code) < _CODE_COLUMN:
            first = f"  {code:<{_CODE_COLUMN}}"
        else:  # a long code (129 / 130 / 143) gets a line of its own
            lines.append(f"  {code}")
            first = hang
        lines.extend(
            textwrap.wrap(
                meaning,
                width=HELP_WIDTH,
                initial_indent=first,
                subsequent_indent=hang,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines) + "\n"


# --- error handling: once, here -------------------------------------------------------------


class _Group(TyperGroup):
    """Turns every exception of a command into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map errors to exit codes."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # Typer's own: usage errors (exit 2), explicit exits, a closed pipe
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_SIGINT) from None
        except GhyeError as exc:
            verbose = _verbose(ctx)
            if verbose:
                _print_traceback(exc)
            _error_line(f"error: {exc}")
            code = exc.signal_exit_code if isinstance(exc, Interrupted) else exc.exit_code
            raise typer.Exit(code) from None
        except Exception as exc:  # noqa: BLE001 — the one place a bug becomes exit 1
            verbose = _verbose(ctx)
            if verbose:
                _print_traceback(exc)
                _error_line(f"internal error: {type(exc).__name__}: {exc}")
            else:
                _error_line(
                    f"internal error: {type(exc).__name__}: {exc} — "
                    "rerun with --verbose for the traceback"
                )
            raise typer.Exit(EXIT_BUG) from None


def _verbose(ctx: Any) -> bool:
    obj = getattr(ctx, "obj", None)
    return isinstance(obj, Runtime) and obj.verbose


def _error_line(text: str) -> None:
    Console(file=safe_stderr(), highlight=False).print(Text(text, style="red"), soft_wrap=True)


def _print_traceback(exc: BaseException) -> None:
    safe_stderr().write("".join(traceback.format_exception(exc)))


# --- the app --------------------------------------------------------------------------------

app = typer.Typer(
    name="ghye",
    cls=_Group,
    help="Collect a GitHub organization's (or user's) year of activity into JSONL files — "
    "resumable at the exact page after any interruption.",
    epilog=exit_codes_help(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ghye {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Collect a GitHub organization's (or user's) year of activity into JSONL files."""
    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime.from_process()
    ctx.obj = runtime
    runtime.verbose = runtime.verbose or verbose
    runtime.quiet = runtime.quiet or quiet
    configure_logging(ctx, runtime.verbose)


for _command in COMMANDS:
    app.command()(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """The ``ghye`` console script (also ``python -m gh_year_end``)."""
    app(args=list(argv) if argv is not None else None, prog_name="ghye", obj=Runtime.from_process())
