"""Loop detection: a list whose next link leads back to a page already read fails, after at
most one repeated request, instead of running for ever.

URLs are compared as the client actually fetched them (``Page.meta.url``, normalized by httpx):
``https://API.github.com:443/x`` and ``https://api.github.com/x`` are the same page.
"""

from __future__ import annotations

from gh_year_end.errors import LoopingList

UNIT_ADVICE = "the list loops, so this unit stops here; `ghye resume --retry-failed` tries it again"


class LoopGuard:
    """The pages read in one pass over one list."""

    def __init__(self, what: str = "GitHub's next link", advice: str = UNIT_ADVICE) -> None:
        self._seen: set[str] = set()
        self._what, self._advice = what, advice

    def arrived(self, url: str) -> None:
        """Note the page fetched at ``url``; LoopingList when it was read before in this pass."""
        if url in self._seen:
            raise LoopingList(
                f"{self._what} leads back to a page already read ({url}) — {self._advice}",
                url=url,
            )
        self._seen.add(url)

    def clear(self) -> None:
        """A new pass begins (the same list from its front again, or another list)."""
        self._seen.clear()
