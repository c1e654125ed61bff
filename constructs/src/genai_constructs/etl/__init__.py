"""The ETL of one LOB environment: the raw zone's datasets into the curated zone, checked by
Glue Data Quality, catalogued, alarmed.

A state machine (run on request, or on a schedule) stages each dataset with a function
(``handlers/curate``) under ``staging/`` of the curated zone, which only the ETL's role reads,
evaluates the dataset's Glue Data Quality ruleset on the staged table, and publishes the
staged objects to the dataset's table only when every rule passes; a dataset whose rules do
not all pass fails the run, which raises the alarm, and its table keeps what it had. The state
machine, the function and the quality runs all run as one role, the environment's ingestion
role (the only writer of the zones in operational environments).

Why a function and not a Glue job: the datasets an LOB curates for GenAI (labelled examples,
claim records, document metadata) are small, the function runs in the environment's VPC
behind its endpoints like the platform's other functions, and its transform is tested on a
small file; the quality rules run in Glue, serverless, on the catalogued table. An object
larger than the function's memory belongs in a Glue job in its place.

Each dataset (``datasets``), the state machine of a run (``workflow``) and the construct with
its function, tables, rulesets, grants and alarms (``data_etl``).
"""

from genai_constructs.etl.data_etl import DataEtl
from genai_constructs.etl.datasets import DatasetSpec

__all__ = ["DataEtl", "DatasetSpec"]
