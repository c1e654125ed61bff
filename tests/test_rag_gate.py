"""The RAG release gate script: SSM and Lambda are real boto3 clients wrapped in Stubbers."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from blueprint.deploy import rag_gate

PARAMETER = "/genai-platform/claims/nonprod/rag-evaluations/claims-assistant/function-arn"
FUNCTION = "arn:aws:lambda:eu-west-1:555555555555:function:claims-assistant-evaluation"
THRESHOLDS = {"answer_relevance": 0.3, "context_precision": 0.5, "faithfulness": 0.7}
ARGS = ["--region", "eu-west-1", "--role-arn", "arn:aws:iam::555555555555:role/g"]


class Session:
    """A session handing out the stubbed clients, recording the configuration asked for."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients
        self.configs: dict[str, Any] = {}

    def client(self, name: str, config: Any = None) -> Any:
        self.configs[name] = config
        return self.clients[name]


def result(passed: bool, **scores: float) -> dict[str, Any]:
    values = {"answer_relevance": 0.41, "context_precision": 0.8, "faithfulness": 0.9, **scores}
    return {
        "passed": passed,
        "scores": values,
        "thresholds": THRESHOLDS,
        "failed_metrics": [m for m, v in values.items() if v < THRESHOLDS[m]],
        "questions": 40,
        "report": "s3://artifacts/rag-evaluations/claims-assistant/20261127T230000Z.json",
    }


def stubbed(payload: Any, function_error: str | None = None) -> tuple[Session, list[Stubber]]:
    ssm = boto3.client("ssm", region_name="eu-west-1")
    lambda_client = boto3.client("lambda", region_name="eu-west-1")
    ssm_stub, lambda_stub = Stubber(ssm), Stubber(lambda_client)
    ssm_stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": PARAMETER, "Value": FUNCTION}},
        {"Name": PARAMETER},
    )
    body = json.dumps(payload).encode()
    response: dict[str, Any] = {
        "StatusCode": 200,
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
    }
    if function_error:
        response["FunctionError"] = function_error
    lambda_stub.add_response("invoke", response, {"FunctionName": FUNCTION, "Payload": b"{}"})
    return Session(ssm=ssm, **{"lambda": lambda_client}), [ssm_stub, lambda_stub]


def run(session: Session, stubs: list[Stubber]) -> int:
    for stub in stubs:
        stub.activate()
    code = rag_gate.main([*ARGS, "--parameters", PARAMETER], session=session)
    for stub in stubs:
        stub.assert_no_pending_responses()
    return code


def test_a_passing_evaluation_opens_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    session, stubs = stubbed(result(True))
    assert run(session, stubs) == 0
    # An evaluation may run 15 minutes: the gate waits for it and never invokes it twice.
    config = session.configs["lambda"]
    assert config.read_timeout >= 900
    assert config.retries == {"max_attempts": 1}
    out = capsys.readouterr().out
    assert "faithfulness 0.900 (threshold 0.70)" in out
    assert "RAG release gate passed (1 evaluation(s))" in out


def test_a_score_below_its_threshold_closes_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*stubbed(result(False, faithfulness=0.52))) == 1
    captured = capsys.readouterr()
    assert f"{PARAMETER}: FAILED on faithfulness: " in captured.out
    assert "the prod wave does not start" in captured.err


def test_an_evaluation_that_cannot_run_closes_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    error = {"errorMessage": "line 3: 'question' is missing", "errorType": "QuestionSetError"}
    assert run(*stubbed(error, function_error="Unhandled")) == 1
    assert "the evaluation failed: line 3: 'question' is missing" in capsys.readouterr().out


def test_an_evaluation_that_outlasts_the_wait_closes_the_gate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session, stubs = stubbed(result(True))
    lambda_client = session.clients["lambda"]

    def timed_out(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="https://lambda.eu-west-1.amazonaws.com")

    lambda_client.invoke = timed_out
    stubs[0].activate()
    assert rag_gate.main([*ARGS, "--parameters", PARAMETER], session=session) == 1
    assert "could not run: Read timeout" in capsys.readouterr().out


def test_an_unpublished_evaluation_closes_the_gate(capsys: pytest.CaptureFixture[str]) -> None:
    ssm = boto3.client("ssm", region_name="eu-west-1")
    stub = Stubber(ssm)
    stub.add_client_error("get_parameter", "ParameterNotFound", expected_params={"Name": PARAMETER})
    session = Session(ssm=ssm, **{"lambda": boto3.client("lambda", region_name="eu-west-1")})
    assert run(session, [stub]) == 1
    assert "could not run" in capsys.readouterr().out
