"""Property: whatever the interleaving of page commits and wherever a crash cuts in, the
reloaded checkpoint describes an exact prefix of every unit's file, and reopening the file
with that commit leaves exactly the committed records.

Crashes are simulated by abandoning the manager and writers (no save, no flush) and leaving the
files as a crash at that step would: data flushed (or only partly) but not committed; a journal
line half written; a new snapshot written to its temp file but not renamed; renamed but the
journal not truncated.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from gh_year_end.config import Config, parse_config
from gh_year_end.storage import CheckpointManager, CheckpointStatus, JSONLWriter

UNITS = [("acme/a", "pulls"), ("acme/a", "issues"), ("acme/b", "pulls")]
MOMENT = datetime(2026, 1, 1, tzinfo=UTC)


def clock() -> datetime:
    return MOMENT


CONFIG: Config = parse_config(
    "github:\n  target: {mode: org, name: acme}\n  windows: {year: 2025}\n", source="prop"
)


def envelope(repo: str, endpoint: str, page: int, index: int) -> bytes:
    """The line the writer produces (the contract's envelope, fixed clock)."""
    record = {
        "timestamp": "2026-01-01T00:00:00Z",
        "source": "prop",
        "endpoint": endpoint,
        "repo": repo,
        "page": page,
        "request_id": None,
        "data": {"id": f"{repo}|{endpoint}|{page}|{index}"},
    }
    return orjson.dumps(record) + b"\n"


@dataclass
class World:
    """The files, the live manager/writers, and the model of what is committed."""

    root: Path
    manager: CheckpointManager = field(init=False)
    writers: dict[tuple[str, str], JSONLWriter] = field(default_factory=dict)
    pages: dict[tuple[str, str], list[int]] = field(default_factory=lambda: {u: [] for u in UNITS})
    complete: dict[tuple[str, str], bool] = field(
        default_factory=lambda: dict.fromkeys(UNITS, False)
    )
    crashes: int = 0

    def __post_init__(self) -> None:
        self.manager = CheckpointManager(self.cp_path, compact_every=4, clock=clock)
        self.manager.create_new(CONFIG)
        self.manager.update_repos(
            [{"full_name": "acme/a"}, {"full_name": "acme/b"}], endpoints=["pulls", "issues"]
        )

    @property
    def cp_path(self) -> Path:
        return self.root / "checkpoint.json"

    @property
    def journal(self) -> Path:
        return self.root / "checkpoint.journal"

    def data_path(self, unit: tuple[str, str]) -> Path:
        return self.root / unit[1] / f"{unit[0].replace('/', '__')}.jsonl"

    def writer(self, unit: tuple[str, str]) -> JSONLWriter:
        if unit not in self.writers:
            state = self.manager.get_endpoint(*unit)
            self.writers[unit] = JSONLWriter(
                self.data_path(unit),
                repo=unit[0],
                committed_offset=state.offset,
                committed_lines=state.lines,
                clock=clock,
            )
        return self.writers[unit]

    def crash_and_reload(self) -> None:
        """The process dies here: nothing is flushed or folded; then a new run loads."""
        for writer in self.writers.values():
            writer.discard()
            writer.close()
        self.writers.clear()
        self.manager._release_resources()  # only closes the journal fd; the state is dropped
        self.crashes += 1
        self.manager = CheckpointManager(self.cp_path, compact_every=4, clock=clock)
        self.manager.load()
        self.check()

    def expected(self, unit: tuple[str, str]) -> bytes:
        return b"".join(
            envelope(unit[0], unit[1], page, i)
            for page, count in enumerate(self.pages[unit], start=1)
            for i in range(count)
        )

    def check(self) -> None:
        """The invariant, for every unit."""
        for unit in UNITS:
            state = self.manager.get_endpoint(*unit)
            expected = self.expected(unit)
            committed = self.pages[unit]
            assert state.offset == len(expected)
            assert state.lines == expected.count(b"\n") == state.records_collected
            assert state.pages_collected == state.last_page_written == len(committed)
            resume_at = f"p{len(committed) + 1}" if committed and not self.complete[unit] else None
            assert state.next_url == resume_at
            assert (state.status is CheckpointStatus.COMPLETE) == self.complete[unit]
            path = self.data_path(unit)
            on_disk = path.read_bytes() if path.exists() else b""
            assert on_disk[: len(expected)] == expected  # an exact prefix...
            self.writer(unit)  # ...and reopening cuts the file to exactly it
            assert path.read_bytes() == expected

    # --- operations -------------------------------------------------------------------------

    def commit(self, unit: tuple[str, str], count: int, crash: str, fraction: float) -> None:
        if self.complete[unit]:
            return
        page = len(self.pages[unit]) + 1
        writer = self.writer(unit)
        for i in range(count):
            writer.write(
                source="prop",
                endpoint=unit[1],
                data={"id": f"{unit[0]}|{unit[1]}|{page}|{i}"},
                page=page,
            )
        if crash == "data_not_committed":
            before = writer.offset
            after, _ = writer.flush()
            # Not fsynced yet at the crash: any part of the new bytes may survive.
            with self.data_path(unit).open("r+b") as handle:
                handle.truncate(before + int(fraction * (after - before)))
            self.crash_and_reload()
            return
        offset, lines = writer.flush()
        journal_before = self.journal.read_bytes() if self.journal.exists() else b""
        self.manager.update_progress(
            unit[0], unit[1], page, count, next_url=f"p{page + 1}", offset=offset, lines=lines
        )
        journal_after = self.journal.read_bytes()
        if crash == "journal_line_torn" and len(journal_after) > len(journal_before):
            # The commit's line was being written: keep a strict prefix of it (never its newline).
            line = len(journal_after) - len(journal_before)
            with self.journal.open("r+b") as handle:
                handle.truncate(len(journal_before) + int(fraction * (line - 1)))
            self.crash_and_reload()
            return
        self.pages[unit].append(count)  # the line is complete (or folded): committed
        if crash == "after_commit":
            self.crash_and_reload()

    def fold(self, crash: str, fraction: float) -> None:
        snapshot_before = self.cp_path.read_bytes()
        journal_before = self.journal.read_bytes() if self.journal.exists() else b""
        self.manager.save()
        if crash == "temp_not_renamed":
            new = self.cp_path.read_bytes()
            self.cp_path.write_bytes(snapshot_before)
            self.journal.write_bytes(journal_before)
            (self.root / ".checkpoint_crash1.tmp").write_bytes(new[: int(fraction * len(new))])
            self.crash_and_reload()
            assert not (self.root / ".checkpoint_crash1.tmp").exists()
        elif crash == "renamed_not_truncated":
            self.journal.write_bytes(journal_before)
            self.crash_and_reload()

    def finish(self, unit: tuple[str, str], crash: bool) -> None:
        self.manager.mark_repo_endpoint_complete(*unit)
        self.complete[unit] = True
        if crash:
            self.crash_and_reload()


unit_index = st.integers(min_value=0, max_value=len(UNITS) - 1)
operation = st.one_of(
    st.tuples(
        st.just("commit"),
        unit_index,
        st.integers(min_value=0, max_value=3),
        st.sampled_from(
            ["none", "none", "data_not_committed", "journal_line_torn", "after_commit"]
        ),
        st.floats(min_value=0, max_value=1),
    ),
    st.tuples(
        st.just("fold"),
        st.sampled_from(["none", "temp_not_renamed", "renamed_not_truncated"]),
        st.floats(min_value=0, max_value=1),
    ),
    st.tuples(st.just("finish"), unit_index, st.booleans()),
    st.tuples(st.just("crash")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, min_size=3, max_size=30))
def test_checkpoint_and_files_stay_consistent_through_any_crash(
    operations: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory(prefix="ghye-prop-") as tmp:
        world = World(Path(tmp))
        try:
            for op in operations:
                kind = op[0]
                if kind == "commit":
                    _, index, count, crash, fraction = op
                    world.commit(UNITS[int(index)], int(count), str(crash), float(fraction))
                elif kind == "fold":
                    _, crash, fraction = op
                    world.fold(str(crash), float(fraction))
                elif kind == "finish":
                    _, index, crash = op
                    world.finish(UNITS[int(index)], bool(crash))
                else:
                    world.crash_and_reload()
            world.crash_and_reload()  # and a final crash anywhere after the last step
        finally:
            for writer in world.writers.values():
                writer.close()
            world.manager.close()
