"""The tags of the assembly's resources, found by however a request names the resource.

A request names a resource by its template's ARN (a symbol with atoms) or by a literal ARN.
A literal ARN is equal to a literal key with the same text and to no other literal, so only
the keys with atoms need comparing, and of those only the ones whose literal start (partition,
service, region, account) agrees with the resource's; every answer is remembered (the world
does not change while questions are asked). At a hundred LOBs this replaces a scan of every
tagged resource for each question.
"""

from __future__ import annotations

from blueprint.assembly.access.symbols import UNKNOWN, Symbol, Tri, arn_start, equals

Tags = dict[str, Symbol]


class ResourceTags:
    """Tags by resource ARN (``tagged``), asked by any symbol."""

    def __init__(self, tagged: dict[Symbol, Tags]) -> None:
        self._tagged = tagged
        self._by_text: dict[str, Tags] = {}
        # Keys with atoms, by the ARN's literal start up to the resource part (None: the
        # atoms begin before it).
        self._symbolic: dict[str | None, list[tuple[Symbol, Tags]]] = {}
        for arn, tags in tagged.items():
            if arn.text is None:
                self._symbolic.setdefault(arn_start(arn), []).append((arn, tags))
            else:
                self._by_text.setdefault(arn.text, tags)
        self._answers: dict[Symbol, Tags] = {}

    def of(self, resource: Symbol) -> Tags:
        """The tags of the resource ``resource`` names; where it may or may not be one of the
        tagged resources, every tag key they carry has an unknown value."""
        exact = self._tagged.get(resource)
        if exact is not None:
            return exact
        if resource not in self._answers:
            self._answers[resource] = self._compare(resource)
        return self._answers[resource]

    def _compare(self, resource: Symbol) -> Tags:
        if resource.text is not None:
            literal = self._by_text.get(resource.text)
            if literal is not None:
                return literal
            candidates = self._candidates(resource)
        else:
            candidates = [
                *self._candidates(resource),
                *((arn, tags) for arn, tags in self._tagged.items() if arn.text is not None),
            ]
        found: Tags = {}
        for arn, tags in candidates:
            same = equals(arn, resource)
            if same is Tri.YES:
                return tags
            if same is Tri.UNKNOWN:
                found |= {key: UNKNOWN for key in tags}
        return found

    def _candidates(self, resource: Symbol) -> list[tuple[Symbol, Tags]]:
        """The keys with atoms that may equal ``resource``: literal starts that differ make
        two ARNs differ whatever their atoms stand for."""
        start = arn_start(resource)
        if start is None:
            return [pair for pairs in self._symbolic.values() for pair in pairs]
        return [*self._symbolic.get(start, ()), *self._symbolic.get(None, ())]
