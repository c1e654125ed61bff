"""Runs a JSONata state machine definition here, for tests: the states the platform's
definitions use (Map over literal items, Task, Choice, Succeed), every ``{% %}`` expression
evaluated by jsonata-python with ``$states`` bound as Step Functions binds it, and each Task's
service call answered by a function of the test."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonata

Json = dict[str, Any]
Service = Callable[[Json], Json]


def _evaluate(value: Any, states: Json) -> Any:
    if isinstance(value, str) and value.startswith("{%") and value.endswith("%}"):
        return jsonata.Jsonata(value[2:-2].strip()).evaluate(None, {"states": states})
    if isinstance(value, dict):
        return {key: _evaluate(item, states) for key, item in value.items()}
    if isinstance(value, list):
        return [_evaluate(item, states) for item in value]
    return value


def run(
    definition: Json,
    services: Mapping[str, Service],
    *,
    start_time: str,
    state_input: Any = None,
) -> list[str]:
    """Run ``definition``; the names of the states entered, in order."""
    context = {"Execution": {"StartTime": start_time}}
    visited: list[str] = []
    _run_states(definition, state_input, services, context, visited)
    return visited


def _run_states(
    machine: Json,
    state_input: Any,
    services: Mapping[str, Service],
    context: Json,
    visited: list[str],
) -> Any:
    name = machine["StartAt"]
    value = state_input
    while True:
        state = machine["States"][name]
        visited.append(name)
        states = {"input": value, "context": context}
        kind = state["Type"]
        if kind == "Succeed":
            return value
        if kind == "Map":
            items = _evaluate(state["Items"], states)
            value = [
                _run_states(state["ItemProcessor"], item, services, context, visited)
                for item in items
            ]
        elif kind == "Task":
            arguments = _evaluate(state.get("Arguments", {}), states)
            result = services[state["Resource"]](arguments)
            value = _evaluate(
                state.get("Output", "{% $states.result %}"), {**states, "result": result}
            )
        elif kind == "Choice":
            chosen = next(
                (c["Next"] for c in state["Choices"] if _evaluate(c["Condition"], states) is True),
                state["Default"],
            )
            name = chosen
            continue
        else:
            raise ValueError(f"state {name}: type {kind} is not run here")
        if state.get("End"):
            return value
        name = state["Next"]
