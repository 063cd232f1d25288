"""The options several commands share, and the Runtime a command gets with them folded in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gh_year_end.cli.logs import configure_logging
from gh_year_end.cli.runtime import Runtime

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="The YAML config. Default: $GHYE_CONFIG, else ./config.yaml, "
        "else ./config/config.yaml.",
        show_default=False,
        dir_okay=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Debug logging, and tracebacks with errors.")
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress display (errors and the summary still print)."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="One JSON object (schema in docs/cli.md), nothing else.")
]
CollectJsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Instead of progress and the summary, one JSON object with the run's result "
        "(schema in docs/cli.md), nothing else; the exit code is the same.",
    ),
]


def command_runtime(ctx: typer.Context, *, verbose: bool = False, quiet: bool = False) -> Runtime:
    """The context's Runtime, with a command's own --verbose/--quiet folded in."""
    runtime = ctx.obj
    if not isinstance(runtime, Runtime):  # a command invoked outside the group (not via ghye)
        runtime = Runtime.from_process()
        ctx.obj = runtime
    if verbose and not runtime.verbose:
        runtime.verbose = True
        configure_logging(ctx, True)
    runtime.quiet = runtime.quiet or quiet
    return runtime
