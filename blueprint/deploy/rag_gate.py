"""Release gate: run the RAG evaluations of a nonprod LOB environment, fail if any misses a
threshold (run by the delivery pipeline before the prod wave; boto3 only).

    python3 -m blueprint.deploy.rag_gate --region eu-west-1 \\
        --role-arn arn:aws:iam::555555555555:role/genai-rag-release-gate \\
        --parameters /genai-platform/claims/nonprod/rag-evaluations/claims-assistant/function-arn

Each parameter holds an evaluation function's ARN (published by the GenAI stack). The gate
assumes the environment's gate role, invokes each function and prints its scores; it exits 1
when one fails its thresholds or cannot run, so the prod wave does not start.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from blueprint.deploy.smoke import session_for

# An evaluation runs up to the function's 15 minutes: wait that long for its answer, and never
# invoke it twice (its reserved concurrency is one).
LAMBDA_CONFIG = Config(read_timeout=960, connect_timeout=10, retries={"max_attempts": 1})


def evaluate(ssm: Any, lambda_client: Any, parameter: str) -> tuple[bool, str]:
    """Run the evaluation named by ``parameter``: whether it passed, and what to print."""
    try:
        function_arn = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
        response = lambda_client.invoke(FunctionName=function_arn, Payload=b"{}")
    except (ClientError, BotoCoreError) as error:
        return False, f"{parameter}: could not run: {error}"
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(payload, dict):
        message = payload.get("errorMessage") if isinstance(payload, dict) else payload
        return False, f"{parameter}: the evaluation failed: {message}"
    scores = ", ".join(
        f"{name} {value:.3f} (threshold {payload['thresholds'][name]:.2f})"
        for name, value in sorted(payload["scores"].items())
    )
    where = f"{payload['questions']} questions; report {payload['report']}"
    if payload["passed"]:
        return True, f"{parameter}: passed: {scores}; {where}"
    failed = ", ".join(payload["failed_metrics"])
    return False, f"{parameter}: FAILED on {failed}: {scores}; {where}"


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--role-arn", required=True, help="the environment's gate role")
    parser.add_argument(
        "--parameters", required=True, help="comma-separated SSM parameters of the evaluations"
    )
    args = parser.parse_args(argv)
    account = args.role_arn.split(":")[4]
    session = session or session_for(account, args.region, args.role_arn, "rag-release-gate")
    ssm, lambda_client = session.client("ssm"), session.client("lambda", config=LAMBDA_CONFIG)
    results = [
        evaluate(ssm, lambda_client, parameter)
        for parameter in args.parameters.split(",")
        if parameter
    ]
    for _, line in results:
        print(line)
    if all(passed for passed, _ in results):
        print(f"RAG release gate passed ({len(results)} evaluation(s))")
        return 0
    print("RAG release gate FAILED: the prod wave does not start", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
