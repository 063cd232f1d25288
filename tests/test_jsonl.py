"""JSONL writers: envelope, durable flush offsets, truncate-to-commit on reopen, mismatches."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gh_year_end.errors import DataFileMismatch, StorageError
from gh_year_end.storage import AsyncJSONLWriter, JSONLWriter

MOMENT = datetime(2026, 11, 26, 10, 2, 3, 123456, tzinfo=UTC)


def clock() -> datetime:
    return MOMENT


def unit_file(tmp_path: Path) -> Path:
    return tmp_path / "pulls" / "acme__widgets.jsonl"


def write_page(writer: JSONLWriter, page: int, count: int) -> tuple[int, int]:
    for i in range(count):
        writer.write(source="github_rest", endpoint="pulls", data={"id": page * 100 + i}, page=page)
    return writer.flush()


def test_one_compact_envelope_line_per_record(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    with JSONLWriter(path, repo="acme/widgets", clock=clock) as writer:
        writer.write(
            source="github_rest",
            endpoint="pulls",
            data={"id": 7, "title": "é"},
            page=3,
            request_id="ABCD:1",
        )
        writer.write(source="github_rest", endpoint="pulls", data={"id": 8}, repo="acme/other")
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert orjson.loads(lines[0]) == {
        "timestamp": "2026-11-26T10:02:03.123456Z",
        "source": "github_rest",
        "endpoint": "pulls",
        "repo": "acme/widgets",
        "page": 3,
        "request_id": "ABCD:1",
        "data": {"id": 7, "title": "é"},
    }
    assert b": " not in lines[0]
    assert b", " not in lines[0]
    second = orjson.loads(lines[1])
    assert second["repo"] == "acme/other"
    assert second["page"] is None
    assert second["request_id"] is None


def test_nothing_reaches_the_file_before_flush(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    writer = JSONLWriter(path, committed_offset=0)
    writer.write(source="s", endpoint="pulls", data={"id": 1})
    assert writer.pending == 1
    assert path.read_bytes() == b""
    writer.discard()
    writer.close()
    assert path.read_bytes() == b""


def test_flush_returns_durable_offset_and_line_count(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    with JSONLWriter(path, committed_offset=0) as writer:
        offset, lines = write_page(writer, 1, 3)
        assert (offset, lines) == (path.stat().st_size, 3)
        assert writer.flush() == (offset, lines)  # nothing new: unchanged
        offset2, lines2 = write_page(writer, 2, 2)
        assert offset2 == path.stat().st_size > offset
        assert lines2 == 5
        assert (writer.offset, writer.lines) == (offset2, lines2)


def test_reopen_cuts_the_uncommitted_tail_and_continues(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    with JSONLWriter(path, committed_offset=0, clock=clock) as writer:
        committed, committed_lines = write_page(writer, 1, 2)
        write_page(writer, 2, 2)  # flushed but never committed: a crash before the commit
    kept = path.read_bytes()[:committed]
    with path.open("ab") as handle:
        handle.write(b'{"half a li')  # and a torn write after it
    writer = JSONLWriter(path, committed_offset=committed, committed_lines=committed_lines)
    assert path.read_bytes() == kept
    assert (writer.offset, writer.lines) == (committed, 2)
    assert write_page(writer, 2, 1) == (path.stat().st_size, 3)
    writer.close()
    ids = [orjson.loads(line)["data"]["id"] for line in path.read_bytes().splitlines()]
    assert ids == [100, 101, 200]


def test_missing_file_with_zero_offset_is_created_with_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "issues" / "acme__x.jsonl"
    JSONLWriter(path, committed_offset=0).close()
    assert path.read_bytes() == b""


def test_shorter_file_than_committed_is_a_mismatch_naming_the_reset(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"a":1}\n')
    with pytest.raises(DataFileMismatch) as info:
        JSONLWriter(path, committed_offset=20)
    assert str(info.value) == (
        f"{path} is shorter than the checkpoint says (8 < 20 bytes) — it was changed outside "
        "ghye; run `ghye reset --repo acme/widgets --endpoint pulls` to collect that unit again"
    )
    assert path.read_bytes() == b'{"a":1}\n'  # never modified


def test_missing_file_with_committed_bytes_is_a_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "commits" / "acme__gone.jsonl"
    with pytest.raises(DataFileMismatch) as info:
        JSONLWriter(path, committed_offset=5, repo="acme/gone", endpoint="commits")
    assert str(info.value) == (
        f"{path} is missing but the checkpoint says it holds 5 bytes — it was changed outside "
        "ghye; run `ghye reset --repo acme/gone --endpoint commits` to collect that unit again"
    )
    assert not path.exists()


def test_committed_offset_inside_a_line_is_a_mismatch(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    with pytest.raises(DataFileMismatch, match="does not end a line at the committed offset 10"):
        JSONLWriter(path, committed_offset=10)
    assert path.read_bytes() == b'{"a":1}\n{"b":2}\n'


def test_plain_append_keeps_existing_content(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"old":1}\n')
    with JSONLWriter(path) as writer:
        assert writer.offset == 10
        writer.write(source="s", endpoint="pulls", data={"id": 1})
    assert path.read_bytes().startswith(b'{"old":1}\n{"timestamp":')


def test_exit_on_exception_drops_the_incomplete_page(tmp_path: Path) -> None:
    path = unit_file(tmp_path)

    def collect() -> None:
        with JSONLWriter(path, committed_offset=0) as writer:
            write_page(writer, 1, 1)
            writer.write(source="s", endpoint="pulls", data={"id": 999})
            raise RuntimeError("fetch failed mid-page")

    with pytest.raises(RuntimeError):
        collect()
    assert [orjson.loads(x)["data"]["id"] for x in path.read_bytes().splitlines()] == [100]


def test_close_flushes_and_later_use_is_refused(tmp_path: Path) -> None:
    path = unit_file(tmp_path)
    writer = JSONLWriter(path)
    writer.write(source="s", endpoint="pulls", data={"id": 1})
    writer.close()
    writer.close()  # idempotent
    assert writer.closed
    assert len(path.read_bytes().splitlines()) == 1
    with pytest.raises(ValueError, match="closed"):
        writer.write(source="s", endpoint="pulls", data={"id": 2})
    with pytest.raises(ValueError, match="closed"):
        writer.flush()


def test_disk_full_on_flush_is_a_storage_error_and_drops_the_page() -> None:
    # /dev/full accepts the open and fails every write with ENOSPC.
    writer = JSONLWriter(Path("/dev/full"))
    writer.write(source="s", endpoint="pulls", data={"id": 1})
    with pytest.raises(StorageError) as info:
        writer.flush()
    assert str(info.value) == (
        "disk full while writing /dev/full — free space, then run `ghye resume`; "
        "nothing committed was lost"
    )
    assert writer.pending == 0
    assert (writer.offset, writer.lines) == (0, 0)
    writer.close()


def test_async_writer_has_the_same_behaviour(tmp_path: Path) -> None:
    path = unit_file(tmp_path)

    async def main() -> tuple[int, int]:
        async with AsyncJSONLWriter(path, repo="acme/widgets", committed_offset=0) as writer:
            await writer.write(source="github_rest", endpoint="pulls", data={"id": 1}, page=1)
            assert writer.pending == 1
            result = await writer.flush()
            assert (writer.offset, writer.lines) == result
            await writer.write(source="github_rest", endpoint="pulls", data={"id": 2}, page=2)
            return result

    offset, lines = asyncio.run(main())
    assert lines == 1
    data = path.read_bytes()
    assert len(data.splitlines()) == 2  # exit flushed the second line
    assert data[:offset].count(b"\n") == 1


@settings(max_examples=40, deadline=None)
@given(
    pages=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=6),
    committed_pages=st.integers(min_value=0, max_value=6),
    tail=st.binary(max_size=60),
)
def test_reopen_always_restores_exactly_the_committed_prefix(
    tmp_path_factory: pytest.TempPathFactory, pages: list[int], committed_pages: int, tail: bytes
) -> None:
    path = tmp_path_factory.mktemp("prop") / "pulls" / "acme__p.jsonl"
    commits: list[tuple[int, int]] = [(0, 0)]
    with JSONLWriter(path, committed_offset=0, clock=clock) as writer:
        for number, count in enumerate(pages, start=1):
            commits.append(write_page(writer, number, count))
    offset, lines = commits[min(committed_pages, len(commits) - 1)]
    expected = path.read_bytes()[:offset]
    with path.open("ab") as handle:
        handle.write(tail)  # whatever a crash left after the commit
    with JSONLWriter(path, committed_offset=offset, committed_lines=lines) as writer:
        assert (writer.offset, writer.lines) == (offset, lines)
    assert path.read_bytes() == expected
    assert expected.count(b"\n") == lines


def _synced_dirs(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every folder os.fsync is called on from here, by path."""
    synced: list[Path] = []
    real = os.fsync

    def spy(fd: int) -> None:
        target = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if target.is_dir():
            synced.append(target)
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    return synced


def test_a_file_a_killed_run_left_has_its_folder_entries_synced_before_the_first_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run created the folder and the file, then died before it fsynced either folder.
    folder = tmp_path / "target" / "commits"
    folder.mkdir(parents=True)
    path = folder / "acme__web.jsonl"
    path.write_bytes(b"")
    synced = _synced_dirs(monkeypatch)
    JSONLWriter(path, committed_offset=0).close()
    assert folder in synced  # the file's name in its folder
    assert folder.parent in synced  # the folder's name in the target folder


def test_a_unit_with_commits_reopens_without_syncing_folders_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "issues" / "acme__web.jsonl"
    with JSONLWriter(path, committed_offset=0) as writer:
        writer.write(source="github_rest", endpoint="issues", data={"id": 1})
        offset, _ = writer.flush()
    synced = _synced_dirs(monkeypatch)
    JSONLWriter(path, committed_offset=offset, committed_lines=1).close()
    assert synced == []  # its first commit already made both names durable
