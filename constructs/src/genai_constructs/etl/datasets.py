"""What the ETL curates: each dataset (``DatasetSpec``) and the table its objects are staged in
for the quality rules (``staged_table``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: ``columns`` are (name, Glue type); ``quality_rules`` DQDL rules."""

    name: str
    table_name: str
    raw_format: str
    columns: tuple[tuple[str, str], ...]
    quality_rules: tuple[str, ...]

    @property
    def ruleset(self) -> str:
        rules = ",\n".join(f"    {rule}" for rule in self.quality_rules)
        return f"Rules = [\n{rules}\n]"


def staged_table(dataset: DatasetSpec) -> str:
    return f"{dataset.table_name}_staged"
