"""An LOB's data section: the datasets its ETL curates, their columns and Glue Data
Quality rules, and when it runs."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from blueprint.model.fields import Model, described, matching
from blueprint.model.sections.values import Schedule, Slug


class ColumnType(StrEnum):
    """The types a curated table's column may have (Glue catalog types)."""

    STRING = "string"
    BIGINT = "bigint"
    DOUBLE = "double"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


class RawFormat(StrEnum):
    """How the objects landed in the raw zone are written: CSV with a header row, or JSON
    Lines (one object per line)."""

    CSV = "csv"
    JSON_LINES = "jsonl"


class DatasetColumn(Model):
    name: Annotated[
        str,
        matching(
            r"^[a-z_][a-z0-9_]{0,127}$",
            "a column name (lower-case letters, digits and '_', starting with a letter or '_')",
        ),
    ]
    """The column."""
    type: ColumnType = ColumnType.STRING
    """Its type in the catalog."""


# Glue Data Quality rule types (DQDL) a dataset's rules may use: those of the table alone,
# those whose first argument is a column, and those of two columns.
TABLE_RULES = frozenset({"RowCount", "ColumnCount"})
COLUMN_RULES = frozenset(
    {
        "ColumnDataType",
        "ColumnExists",
        "ColumnLength",
        "ColumnValues",
        "Completeness",
        "DataFreshness",
        "DistinctValuesCount",
        "Entropy",
        "IsComplete",
        "IsPrimaryKey",
        "IsUnique",
        "Mean",
        "StandardDeviation",
        "Sum",
        "UniqueValueRatio",
        "Uniqueness",
    }
)
PAIR_RULES = frozenset({"ColumnCorrelation"})
QUALITY_RULE = re.compile(r"^(?P<type>[A-Za-z]+)(?P<rest>(?:\s.*)?)$")


def _quality_rule(value: str) -> str:
    match = QUALITY_RULE.match(value)
    known = sorted(TABLE_RULES | COLUMN_RULES | PAIR_RULES)
    if match is None or match["type"] not in known:
        raise ValueError(
            f"'{value}' is not a Glue Data Quality rule this platform runs; allowed: a rule "
            f"starting with one of {', '.join(known)} (DQDL)"
        )
    if value.count('"') % 2 or "\n" in value or ("[" in value and "]" not in value):
        raise ValueError(f"'{value}' has an unclosed quote or bracket, or a line break")
    return value


QualityRule = Annotated[
    str,
    Field(min_length=3, max_length=500),
    AfterValidator(_quality_rule),
    described(
        "^(" + "|".join(sorted(TABLE_RULES | COLUMN_RULES | PAIR_RULES)) + r")(\s.*)?$",
        'a Glue Data Quality rule (DQDL) of a type the platform runs, e.g. IsComplete "id"',
        minLength=3,
        maxLength=500,
    ),
]


def rule_columns(rule: str) -> list[str]:
    """The columns a quality rule names: its first quoted argument (two for a pair rule)."""
    match = QUALITY_RULE.match(rule)
    if match is None or match["type"] in TABLE_RULES:
        return []
    quoted = re.findall(r'"([^"]*)"', match["rest"])
    return quoted[: 2 if match["type"] in PAIR_RULES else 1]


class DatasetConfig(Model):
    """A table of the curated zone that the LOB's ETL makes from the objects landed under
    ``datasets/<name>/`` of the raw zone, and checks with Glue Data Quality rules (DQDL, each
    rule one string, e.g. ``IsComplete "claim_id"``)."""

    name: Slug
    """The dataset; its objects land under datasets/<name>/ of the raw zone."""
    format: RawFormat = RawFormat.CSV
    """How the landed objects are written."""
    columns: Annotated[list[DatasetColumn], Field(min_length=1, max_length=200)]
    """The curated table's columns, each once."""
    quality_rules: Annotated[list[QualityRule], Field(min_length=1, max_length=100)]
    """Glue Data Quality rules (DQDL, not CustomSql), each naming columns of the dataset."""

    @property
    def table_name(self) -> str:
        return self.name.replace("-", "_")

    @model_validator(mode="after")
    def _known_columns(self) -> DatasetConfig:
        columns = [column.name for column in self.columns]
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if repeated:
            raise ValueError(
                f"columns repeat the name {', '.join(repeated)}; allowed: each column once"
            )
        for index, rule in enumerate(self.quality_rules):
            unknown = [name for name in rule_columns(rule) if name not in columns]
            if unknown:
                raise ValueError(
                    f"quality_rules[{index}] '{rule}' names the column {unknown[0]}, which the "
                    f"dataset does not have; allowed: {', '.join(columns)}"
                )
        return self


class DataConfig(Model):
    """The LOB's ETL: the datasets it curates in every environment, and when it runs
    (besides on request)."""

    datasets: Annotated[list[DatasetConfig], Field(max_length=20)] = []
    """The datasets the ETL curates, each name once."""
    etl_schedule: Schedule | None = None
    """When the ETL runs besides on request; needs a dataset."""

    @model_validator(mode="after")
    def _unique_datasets(self) -> DataConfig:
        names = [dataset.name for dataset in self.datasets]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"datasets repeat the name {', '.join(repeated)}; allowed: one dataset per name"
            )
        if self.etl_schedule and not self.datasets:
            raise ValueError("etl_schedule is set but there is no dataset; allowed: datasets first")
        return self
