"""What the demo needs to run ghye as a user would and watch it: a subprocess whose output is
shown as it comes (on a terminal through a pseudo-terminal, so ghye's live display shows) and
kept, and a gauge of the records a collect has written so far."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from gh_year_end.endpoints import ENDPOINT_NAMES

_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


class Shown:
    """A process whose stdout and stderr are copied to ours as they come, and kept."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.signalled = False
        self._chunks: list[bytes] = []
        terminal = sys.stdout.isatty()
        if terminal:
            import pty  # noqa: PLC0415 - Unix only, and only on a terminal

            source, sink = pty.openpty()
            _copy_window_size(sink)
            out: int = sink
        else:
            source, out = os.pipe()
        try:
            self.proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=dict(env)
            )
        finally:
            os.close(out)
        self._reader = threading.Thread(target=self._copy, args=(source,), daemon=True)
        self._reader.start()

    def _copy(self, source: int) -> None:
        try:
            while True:
                try:
                    data = os.read(source, 65536)
                except OSError:  # EIO: the pseudo-terminal's last writer is gone
                    break
                if not data:
                    break
                self._chunks.append(data)
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
        finally:
            os.close(source)

    def alive(self) -> bool:
        """Whether the process still runs."""
        return self.proc.poll() is None

    def send(self, signum: int) -> None:
        """Signal the process (as Ctrl+C would, for SIGINT)."""
        self.signalled = True
        self.proc.send_signal(signum)

    def wait(self) -> int:
        """Its exit code, once it ended and its output is shown."""
        try:
            code = self.proc.wait()
        except KeyboardInterrupt:  # Ctrl+C reached it too: let it save its progress
            self.proc.wait()
            raise
        self._reader.join(timeout=5)
        return code

    def text(self) -> str:
        """What it wrote, without terminal control sequences."""
        return _ANSI.sub("", b"".join(self._chunks).decode("utf-8", "replace"))


def _copy_window_size(fd: int) -> None:
    """Give the pseudo-terminal our terminal's size (ghye's display fits its width)."""
    import fcntl  # noqa: PLC0415
    import termios  # noqa: PLC0415

    with contextlib.suppress(OSError):
        size = fcntl.ioctl(sys.stdout.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, size)


class RecordGauge:
    """Counts the records (lines) in a target folder's JSONL files, reading only what was
    appended since the last count (a file that shrank is counted again)."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._seen: dict[str, tuple[int, int]] = {}  # path: (bytes counted, lines in them)

    def count(self) -> int:
        """Records on disk now."""
        total = 0
        for endpoint in ENDPOINT_NAMES:
            try:
                entries = list(os.scandir(self.target / endpoint))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.endswith(".jsonl"):
                    total += self._lines(entry.path)
        return total

    def _lines(self, path: str) -> int:
        counted, lines = self._seen.get(path, (0, 0))
        try:
            with open(path, "rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < counted:
                    counted, lines = 0, 0
                file.seek(counted)
                new = file.read(size - counted)
        except FileNotFoundError:
            self._seen.pop(path, None)
            return 0
        self._seen[path] = (counted + len(new), lines + new.count(b"\n"))
        return lines + new.count(b"\n")
