"""Changes to one repository's items (:class:`.repos.RepoData`), each as GitHub makes it: an
edit, an item added, an item deleted — all at one moment ``now``, later than every timestamp in
the data, so that row order stays creation order and ids keep growing with time.

:mod:`.mutate` chooses what to change and reports it; this module does it:

* **edit** — tickets (issues and pull requests), issue comments and review comments get
  ``updated_at = now`` (they move in every list sorted by update time, and ``since=`` finds
  them) and a revision their title and body show (:func:`.render.revised`); a review has no
  ``updated_at`` in REST: its body changes, and GraphQL's ``updatedAt`` with it.
* **add** — the next row of its table: the next id of its id space, for a ticket the next
  number (a pull request also the next pull id); created and updated (a review: submitted, a
  commit: committed) ``now``. A comment goes to an existing ticket (an issue comment: any; a
  review comment: a pull request) and bumps that ticket's ``updated_at`` and, for an issue
  comment, its ``comments`` count, as a new comment does on GitHub. A review goes to a pull
  request (appended to :attr:`.RepoData.rv_more`, chronological after its others); whether it
  bumps the pull request is the caller's choice (:meth:`RepoChanges.bump`). A commit heads the
  default branch (newest first in /commits, GraphQL's head and history).
* **delete** — the row joins :attr:`.RepoData.gone` and leaves every list, count and expected
  id set; an issue takes its comments with it, a deleted issue comment lowers its ticket's
  ``comments``. Pull requests and commits are not deleted here (see :mod:`.mutate`).

Nothing is ever removed from the columns or renumbered: ids are never reused.
"""

from __future__ import annotations

import random
from array import array

from gh_year_end.testing.fakegithub.repos import RepoData, Table
from gh_year_end.testing.fakegithub.settings import MAX_PER_REPO


class RepoChanges:
    """Edits, adds and deletes on one repo's columns at the moment ``now`` (authors of new
    items drawn from ``rng`` among ``n_users``)."""

    def __init__(self, d: RepoData, now: int, rng: random.Random, n_users: int) -> None:
        self.d = d
        self.now = now
        self.rng = rng
        self.n_users = n_users
        self._next_pull_rank = max(d.t_pull_rank, default=-1) + 1

    # --- what there is to change ---------------------------------------------------------

    def size(self, table: Table) -> int:
        """The rows of ``table``, deleted ones included."""
        d = self.d
        columns = {"t": d.t_created, "ic": d.ic_created, "rc": d.rc_created, "rv": d.rv_submitted}
        return len(columns[table])

    def alive(self, table: Table) -> list[int]:
        """The rows of ``table`` not deleted, in row order."""
        gone = self.d.gone.get(table, ())
        return [r for r in range(self.size(table)) if r not in gone]

    def tickets(self, *, pulls: bool) -> list[int]:
        """The ticket rows of the pull requests (``pulls``) or of the issues, not deleted."""
        rank = self.d.t_pull_rank
        return [r for r in self.alive("t") if (rank[r] >= 0) == pulls]

    def room(self, table: Table, more: int) -> None:
        """ValueError unless ``table`` can take ``more`` rows with ids inside its id space."""
        if self.size(table) + more > MAX_PER_REPO:
            raise ValueError(f"a repo holds at most {MAX_PER_REPO} rows per kind of item")

    # --- edits --------------------------------------------------------------------------------

    def edit(self, table: Table, row: int) -> None:
        """Edit ``row``: one more revision, and its ``updated_at`` now (a review has none)."""
        d = self.d
        revision = d.revision(table, row)[0] + 1
        d.edits.setdefault(table, {})[row] = (revision, self.now)
        updated = {"t": d.t_updated, "ic": d.ic_updated, "rc": d.rc_updated}.get(table)
        if updated is not None:
            updated[row] = self.now

    def bump(self, ticket: int) -> None:
        """Ticket ``ticket`` updated now (activity on it: a comment, a review)."""
        self.d.t_updated[ticket] = self.now

    # --- adds ---------------------------------------------------------------------------------

    def _author(self) -> int:
        return int(self.rng.random() * self.n_users)

    def add_ticket(self, *, pull: bool) -> int:
        """A new open issue or pull request; its row (its number is the row + 1)."""
        d, now = self.d, self.now
        for column, value in (
            (d.t_created, now),
            (d.t_updated, now),
            (d.t_closed, 0),
            (d.t_merged, 0),
            (d.t_pull_rank, self._next_pull_rank if pull else -1),
            (d.t_comments, 0),
            (d.t_author, self._author()),
        ):
            column.append(value)
        self._next_pull_rank += pull
        return d.tickets - 1

    def _add_comment(self, columns: tuple[array[int], ...], parent: int) -> int:
        created, updated, parents, authors = columns
        created.append(self.now)
        updated.append(self.now)
        parents.append(parent)
        authors.append(self._author())
        self.bump(parent)
        return len(created) - 1

    def add_issue_comment(self, parent: int) -> int:
        """A new comment on ticket ``parent`` (bumped, its count up); its row."""
        d = self.d
        d.t_comments[parent] += 1
        return self._add_comment((d.ic_created, d.ic_updated, d.ic_parent, d.ic_author), parent)

    def add_review_comment(self, parent: int) -> int:
        """A new review comment on pull request ``parent`` (bumped); its row."""
        d = self.d
        return self._add_comment((d.rc_created, d.rc_updated, d.rc_parent, d.rc_author), parent)

    def add_review(self, parent: int) -> int:
        """A new review of pull request ``parent``, submitted now, with the next review id (the
        PR is not bumped here: see :meth:`bump`); its row."""
        d = self.d
        row = len(d.rv_submitted)
        d.rv_submitted.append(self.now)
        d.rv_parent.append(parent)
        d.rv_rank.append(row)  # ranks are a permutation of the rows: the new one is the highest
        d.rv_author.append(self._author())
        d.rv_more.setdefault(parent, []).append(row)
        return row

    def add_commit(self) -> int:
        """A new commit on the default branch, committed now (authored up to a day before)."""
        d = self.d
        d.cm_date.append(self.now)
        d.cm_delta.append(self.rng.randint(0, 86_400))
        d.cm_author.append(self._author())
        return len(d.cm_date) - 1

    # --- deletes ------------------------------------------------------------------------------

    def delete(self, table: Table, row: int) -> None:
        """Delete ``row`` of ``table`` (an issue comment also leaves its ticket's count)."""
        d = self.d
        d.gone.setdefault(table, set()).add(row)
        if table == "ic":
            d.t_comments[d.ic_parent[row]] -= 1

    def delete_issue(self, row: int) -> list[int]:
        """Delete issue ``row`` and its comments; the comment rows deleted with it."""
        d = self.d
        if d.t_pull_rank[row] >= 0:
            raise ValueError("a pull request cannot be deleted")
        comments = [r for r in self.alive("ic") if d.ic_parent[r] == row]
        for r in comments:
            self.delete("ic", r)
        self.delete("t", row)
        return comments
