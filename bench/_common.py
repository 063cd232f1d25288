"""What the benchmark rows share: the fake GitHub as its own process, and measured subprocesses.

The fake runs as a separate process (``python -m gh_year_end.testing.fakegithub``) so that its
CPU time is never taken from the measured process (its own core, its own GIL). A measured
process is started with ``Popen`` and reaped with ``os.wait4``, which hands back the rusage of
that one child: CPU seconds and peak RSS (``ru_maxrss``, KiB on Linux) of exactly the process
measured, nothing else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
# The harness (configs, ghye subprocesses, dataset checks) lives beside the tests, not in the
# wheel: every bench script imports this module first, which puts it on the path.
sys.path.insert(0, str(REPO_ROOT / "tests"))

from harness import TEST_TOKEN  # noqa: E402 — after the path above


class FakeProcess:
    """The fake GitHub in a subprocess on 127.0.0.1 (``with FakeProcess(folder, *cli_args)``)."""

    def __init__(self, folder: Path, *args: str, token: str = TEST_TOKEN) -> None:
        self.folder = folder
        self.args = [*args, "--token", token]
        self.base_url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> FakeProcess:
        """Start the server and wait (up to 30 s) for its port file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        port_file = self.folder / "fake.url"
        port_file.unlink(missing_ok=True)
        log = (self.folder / "fake.log").open("wb")
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gh_year_end.testing.fakegithub",
                "--port",
                "0",
                "--port-file",
                str(port_file),
                *self.args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = (self.folder / "fake.log").read_text(errors="replace")
                raise RuntimeError(f"the fake GitHub did not start: {text[-2000:]}")
            time.sleep(0.05)
        self.base_url = port_file.read_text(encoding="utf-8").strip()
        return self

    def stop(self) -> None:
        """SIGTERM the server (this process only) and reap it."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid

    def _get(self, path: str) -> Any:
        response = httpx.get(self.base_url + path, timeout=60)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict[str, Any]:
        """GET /_fake/stats."""
        result: dict[str, Any] = self._get("/_fake/stats")
        return result

    def log(self) -> list[dict[str, Any]]:
        """GET /_fake/log (the last 10,000 data requests)."""
        result: list[dict[str, Any]] = self._get("/_fake/log")
        return result

    def reset_stats(self) -> None:
        """POST /_fake/reset-stats."""
        httpx.post(self.base_url + "/_fake/reset-stats", timeout=10).raise_for_status()

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Measured:
    """One finished subprocess: wall and CPU seconds, peak RSS, exit status, its output."""

    wall: float
    user: float
    system: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    rss_samples: tuple[tuple[float, float], ...] = ()
    """(seconds since start, VmRSS MB) every ``sample_every`` seconds, when asked for."""
    steal: float = 0.0
    """CPU seconds stolen from this machine by its hypervisor while the process ran."""

    @property
    def cpu(self) -> float:
        """user + system CPU seconds."""
        return self.user + self.system


def measure_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    folder: Path,
    name: str,
    timeout: float = 600,
    sample_every: float | None = None,
) -> Measured:
    """Run ``argv`` to its end; wall time from spawn to reap, rusage of that child only.

    ``sample_every``: also read the child's VmRSS from /proc that often (a timeline).
    """
    folder.mkdir(parents=True, exist_ok=True)
    out_path, err_path = folder / f"{name}.stdout", folder / f"{name}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        steal_before = machine_steal()
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=dict(env), stdout=out, stderr=err, cwd=REPO_ROOT)
        # A blocking wait4 costs no CPU while the measured process runs; a timer ends a hang.
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        samples: list[tuple[float, float]] = []
        done = threading.Event()
        sampler = None
        if sample_every is not None:
            sampler = threading.Thread(
                target=_sample_rss, args=(proc.pid, started, sample_every, samples, done)
            )
            sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
        wall = time.perf_counter() - started
        steal = machine_steal() - steal_before
        if sampler is not None:
            sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Measured(
        wall=wall,
        user=usage.ru_utime,
        system=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        rss_samples=tuple(samples),
        steal=steal,
    )


def machine_steal() -> float:
    """CPU seconds the hypervisor gave to others, summed over this machine's CPUs (0 if unknown).

    The "steal" column of /proc/stat's ``cpu`` line: time a virtual CPU wanted to run and could
    not. A round that saw much of it ran on a slower machine than the others.
    """
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _sample_rss(
    pid: int, started: float, every: float, out: list[tuple[float, float]], done: threading.Event
) -> None:
    status = Path(f"/proc/{pid}/status")
    while not done.wait(every):
        try:
            text = status.read_text()
        except OSError:  # gone (or a zombie being reaped)
            return
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                out.append((time.perf_counter() - started, int(line.split()[1]) / 1024))


def ghye_argv(*args: str) -> list[str]:
    """argv of the real CLI (``python -m gh_year_end``) with this interpreter."""
    return [sys.executable, "-m", "gh_year_end", *args]


def count_records(folder: Path) -> int:
    """Records in the endpoint JSONL files under a target folder (one line per record)."""
    total = 0
    for path in folder.glob("*/*.jsonl"):
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                total += chunk.count(b"\n")
    return total
