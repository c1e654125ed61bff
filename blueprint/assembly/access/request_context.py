"""A request's condition keys, with the resource's tags read only when a condition asks.

Finding a resource's tags means comparing its ARN with the tagged resources' (deploy-time
names compare unknown); most requests meet no condition on ``aws:ResourceTag``, so the
tags are looked up on the first question about one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from blueprint.assembly.access.symbols import Symbol

RESOURCE_TAG = "aws:resourcetag/"


class RequestContext(Mapping[str, tuple[Symbol, ...]]):
    """``known`` keys, and ``aws:resourcetag/<key>`` for each of ``tags()`` that ``known``
    does not already set (a request's own context wins)."""

    def __init__(
        self, known: dict[str, tuple[Symbol, ...]], tags: Callable[[], Mapping[str, Symbol]]
    ) -> None:
        self._known = known
        self._tags: Callable[[], Mapping[str, Symbol]] | None = tags

    def __getitem__(self, key: str) -> tuple[Symbol, ...]:
        if key.startswith(RESOURCE_TAG):
            self._read_tags()
        return self._known[key]

    def __iter__(self) -> Iterator[str]:
        self._read_tags()
        return iter(self._known)

    def __len__(self) -> int:
        self._read_tags()
        return len(self._known)

    def _read_tags(self) -> None:
        if self._tags is None:
            return
        tags, self._tags = self._tags(), None
        for key, value in tags.items():
            self._known.setdefault(f"{RESOURCE_TAG}{key}".lower(), (value,))
