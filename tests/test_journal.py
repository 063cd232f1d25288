"""The journal file's own promises: an append is whole or absent, even after failed syncs."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from gh_year_end.errors import StorageError
from gh_year_end.storage.checkpoint import journal as journal_module
from gh_year_end.storage.checkpoint.journal import Journal


def _failing_sync(fd: int) -> None:
    raise OSError(errno.EIO, "Input/output error")


def test_a_failed_append_after_a_truncate_whose_sync_failed_leaves_no_line_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoint.journal"
    journal = Journal(path)
    journal.append(b'{"seq":1}\n')
    journal.append(b'{"seq":2}\n')
    with monkeypatch.context() as patch:
        # The fold empties the journal: the cut lands, its sync fails (a failing disk).
        patch.setattr(journal_module, "datasync", _failing_sync)
        with pytest.raises(StorageError):
            journal.truncate(0)
        # The next append fails too: its undo must cut back to the file's real end.
        with pytest.raises(StorageError):
            journal.append(b'{"seq":3}\n')
    assert path.read_bytes() == b""  # no failed line, no NUL padding
    journal.append(b'{"seq":3}\n')
    assert path.read_bytes() == b'{"seq":3}\n'
