"""What a command takes from the outside world: the :class:`Runtime`, and the streams and config
it reads through.

A :class:`Runtime` is Typer's context object: :func:`~gh_year_end.cli.app.main` builds it from
the process; a test hands in its own (environment, folder, collector, terminal, sleep, clock)
instead of patching anything.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO, cast

import orjson
from rich.console import Console

from gh_year_end.collect.events import CollectResult, EventSink
from gh_year_end.config import Config, load_config
from gh_year_end.errors import ConfigNotFound

if TYPE_CHECKING:
    from gh_year_end.collect.run import CollectRequest
    from gh_year_end.collect.start import StartDecision

CONFIG_ENV: Final = "GHYE_CONFIG"
DEFAULT_CONFIG_PLACES: Final = (Path("config.yaml"), Path("config") / "config.yaml")

log = logging.getLogger(__name__)


class CollectFunction(Protocol):
    """The collector's entry point (``gh_year_end.collect.run.run_collect``)."""

    def __call__(
        self,
        config: Config,
        request: CollectRequest,
        *,
        environ: Mapping[str, str],
        events: EventSink,
        command: str,
        install_signals: bool = True,
        confirm: Callable[[StartDecision], bool] | None = None,
    ) -> CollectResult:
        """Run a collect or resume."""
        ...


# --- streams whose reader may go away --------------------------------------------------------

_GONE_READER: Final = frozenset({errno.EPIPE, errno.EIO})


class ReaderSafeStream:
    """A text stream whose reader may go away: ``ghye status | head -1``, a closed terminal.

    When a write or flush fails because nobody reads any more (EPIPE, or EIO from a hung-up
    terminal), the descriptor is pointed at /dev/null and every later write succeeds quietly:
    the command finishes its work (a collect keeps collecting) and exits with its own code,
    instead of a bug's exit 1 from a BrokenPipeError.
    """

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.reader_gone = False

    def write(self, text: str) -> int:
        """Write, unless the reader is gone."""
        if not self.reader_gone:
            try:
                return self._inner.write(text)
            except OSError as exc:
                self._gone(exc)
        return len(text)

    def flush(self) -> None:
        """Flush, unless the reader is gone."""
        if not self.reader_gone:
            try:
                self._inner.flush()
            except OSError as exc:
                self._gone(exc)

    def isatty(self) -> bool:
        """Whether the stream is a terminal (False once its reader is gone)."""
        try:
            return not self.reader_gone and self._inner.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        """The underlying descriptor."""
        return self._inner.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _gone(self, exc: OSError) -> None:
        if exc.errno not in _GONE_READER:
            raise exc
        self.reader_gone = True
        try:  # later writes, and the interpreter's own flush at exit, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._inner.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError):
            pass


def safe_stdout() -> TextIO:
    """The current sys.stdout, reader-safe."""
    return _safe(sys.stdout)


def safe_stderr() -> TextIO:
    """The current sys.stderr, reader-safe."""
    return _safe(sys.stderr)


def _safe(stream: TextIO) -> TextIO:
    """``stream`` wrapped (looked up by the caller each time: test runners swap the streams).

    No state is shared between wrappers: once one found the reader gone, the descriptor points
    at /dev/null and every later write through any of them succeeds.
    """
    # It has every method a TextIO consumer here calls (write, flush, isatty, fileno, …).
    return cast("TextIO", ReaderSafeStream(stream))


# --- the runtime -----------------------------------------------------------------------------


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@dataclass
class Runtime:
    """Everything a command takes from the outside world; built by ``main()``, or by a test."""

    environ: Mapping[str, str]
    cwd: Path
    collect: CollectFunction | None = None  # None → the real collector, imported when needed
    interactive: Callable[[], bool] = _stdin_is_terminal  # may a command ask a question?
    force_terminal: bool | None = None  # None → Rich decides from stdout
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    progress_interval: float = 5.0
    install_signals: bool = True
    verbose: bool = False
    quiet: bool = False

    @classmethod
    def from_process(cls) -> Runtime:
        """The real process: its environment and current folder."""
        return cls(environ=os.environ, cwd=Path.cwd())

    def stdout(self) -> Console:
        """A console on the current stdout (looked up now: test runners swap it)."""
        return Console(file=safe_stdout(), force_terminal=self.force_terminal, highlight=False)

    def stderr(self) -> Console:
        """A console on the current stderr (for what must stay off stdout, e.g. with --json)."""
        return Console(file=safe_stderr(), highlight=False)

    def write_json(self, data: Mapping[str, Any]) -> None:
        """``data`` as one line of JSON on stdout, flushed (a ``--json`` command's only output)."""
        stream = safe_stdout()
        stream.write(orjson.dumps(data).decode() + "\n")
        stream.flush()

    def confirm(self, question: str, *, on_stderr: bool = False) -> bool:
        """Ask ``question [y/N]`` and read the answer from stdin (no, unless y or yes).

        ``on_stderr``: every character of the question on stderr, none on stdout (``--json``).
        End of input is "no"; Ctrl+C is KeyboardInterrupt (nothing was done: exit 130), not
        click's Abort, which would end as exit 1, a bug's code.
        """
        stream = safe_stderr() if on_stderr else safe_stdout()
        stream.write(f"{question} [y/N]: ")
        stream.flush()
        return sys.stdin.readline().strip().lower() in {"y", "yes"}

    def run_collect(self) -> CollectFunction:
        """The collector to call."""
        if self.collect is not None:
            return self.collect
        from gh_year_end.collect.run import run_collect  # noqa: PLC0415 — keeps --help fast

        return run_collect

    def load_config(self, explicit: Path | None) -> Config:
        """The config a command uses: located (:func:`locate_config`), read and validated."""
        path = locate_config(explicit, environ=self.environ, cwd=self.cwd)
        log.debug("config: %s", path)
        return load_config(path, cwd=self.cwd)


def locate_config(explicit: Path | None, *, environ: Mapping[str, str], cwd: Path) -> Path:
    """``--config``, else $GHYE_CONFIG, else ./config.yaml, else ./config/config.yaml."""
    if explicit is not None:
        return explicit if explicit.is_absolute() else cwd / explicit
    from_env = environ.get(CONFIG_ENV, "").strip()
    if from_env:
        try:
            path = Path(from_env).expanduser()
        except RuntimeError:  # ~someone with no such user, or ~ with no home folder at all
            raise ConfigNotFound(
                f"${CONFIG_ENV} is '{from_env}', whose home folder cannot be found — "
                "set it to the full path of the YAML file"
            ) from None
        return path if path.is_absolute() else cwd / path
    for place in DEFAULT_CONFIG_PLACES:
        if (cwd / place).is_file():
            return cwd / place
    looked = ", ".join(f"./{p.as_posix()}" for p in DEFAULT_CONFIG_PLACES)
    raise ConfigNotFound(
        f"no config file found — looked at --config (not given), ${CONFIG_ENV} (not set), {looked} "
        f"in {cwd}; copy config/config.example.yaml to ./config.yaml, or pass --config PATH"
    )
