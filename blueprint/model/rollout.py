"""How the delivery pipelines roll the LOB environments out within CodePipeline's quotas.

Pure planning, no CDK: waves of LOB environments (interactive, then nonprod, then a manual
approval and prod), each LOB environment its own pipeline stage, split so that no CodePipeline
stage holds more than 50 actions and no pipeline more than 50 stages (nor more LOB
environments than its template and role policy can hold).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from blueprint.model.fields import EnvironmentName
from blueprint.model.plan import Placement, Plan

MAX_STAGES = 50  # CodePipeline quota: stages per pipeline
MAX_ACTIONS_PER_STAGE = 50  # CodePipeline quota: actions per stage
# Source, Build (synth), UpdatePipeline (self-mutation), Assets (one publisher per asset type).
FIXED_STAGES = 4
LOB_STACKS = 5  # security, foundation, data, genai, ml
SMOKE_ACTIONS = 1  # the post-deploy smoke check of each LOB environment
RAG_GATE_ACTIONS = 1  # the RAG release gate of a nonprod environment with evaluations
APPROVAL_ACTIONS = 2  # the prod diff and the manual approval before prod
# LOB environments per pipeline. Each adds ~7 kB to the (minified) pipeline template
# (CloudFormation allows 1 MB) and ~80 characters to the pipeline role's inline policy
# (IAM allows 10,240 per role).
MAX_LOB_STAGES_PER_PIPELINE = 75
PIPELINE_NAME = "platform-pipeline"
# The manual approval of a prod release, an action of the first stage of each prod wave.
APPROVAL_ACTION = "ApproveProd"


def actions_per_lob_stage(stacks: int = LOB_STACKS, *, gated: bool = True) -> int:
    """CloudFormation change set create and execute per stack, the smoke check and (where
    ``gated``, the default for quota planning) the RAG release gate."""
    return 2 * stacks + SMOKE_ACTIONS + (RAG_GATE_ACTIONS if gated else 0)


@dataclass(frozen=True)
class Wave:
    """One CodePipeline stage: LOB environments of one kind deployed side by side."""

    name: str
    environment: EnvironmentName
    placements: tuple[Placement, ...]
    approval: bool = False


@dataclass(frozen=True)
class Rollout:
    """One pipeline: its stack name and its waves in order."""

    name: str
    waves: tuple[Wave, ...]

    @property
    def lobs(self) -> list[str]:
        return sorted({p.lob.name for wave in self.waves for p in wave.placements if p.lob})


def plan_rollout(plan: Plan, stage_actions: int | None = None) -> list[Rollout]:
    """Pipelines for every LOB environment of ``plan``; LOBs fill pipelines in file order.

    Filling (not balancing) keeps an LOB in its pipeline when LOBs are appended to the file.
    """
    per_stage = stage_actions or actions_per_lob_stage()
    if per_stage + APPROVAL_ACTIONS > MAX_ACTIONS_PER_STAGE:
        raise ValueError(f"one LOB stage needs {per_stage} actions; a stage allows 50")
    lobs = [lob.name for lob in plan.config.lobs]
    groups: list[list[str]] = []
    while len(lobs) > sum(map(len, groups)):
        start = sum(map(len, groups))
        size = _largest_group(plan, lobs[start:], per_stage)
        groups.append(lobs[start : start + size])
    names = [PIPELINE_NAME] + [f"{PIPELINE_NAME}-{i}" for i in range(2, len(groups) + 1)]
    return [
        Rollout(name, tuple(_waves(plan, set(group), per_stage)))
        for name, group in zip(names, groups, strict=True)
    ]


def stage_count(rollout: Rollout) -> int:
    return FIXED_STAGES + len(rollout.waves)


def _largest_group(plan: Plan, lobs: list[str], per_stage: int) -> int:
    for size in range(len(lobs), 0, -1):
        waves = _waves(plan, set(lobs[:size]), per_stage)
        lob_stages = sum(len(wave.placements) for wave in waves)
        if FIXED_STAGES + len(waves) <= MAX_STAGES and lob_stages <= MAX_LOB_STAGES_PER_PIPELINE:
            return size
    raise ValueError("a single LOB needs more CodePipeline stages than a pipeline allows")


def _waves(plan: Plan, lobs: set[str], per_stage: int) -> list[Wave]:
    waves: list[Wave] = []
    for environment in EnvironmentName:
        placements = [
            p
            for p in plan.lob_environments()
            if p.environment is environment and p.lob and p.lob.name in lobs
        ]
        approval = environment is EnvironmentName.PROD
        # The approval sits in the first prod wave; every wave keeps room for it (simpler, and
        # a later wave never holds more LOBs than the first).
        capacity = (MAX_ACTIONS_PER_STAGE - APPROVAL_ACTIONS) // per_stage
        chunks = ceil(len(placements) / capacity)
        for index in range(chunks):
            name = environment.value if chunks == 1 else f"{environment.value}-{index + 1}"
            part = tuple(placements[index * capacity : (index + 1) * capacity])
            waves.append(Wave(name, environment, part, approval=approval and index == 0))
    return waves


def approval_actions(rollouts: list[Rollout]) -> list[str]:
    """``<pipeline>/<stage>/<action>`` of every manual approval of ``rollouts``."""
    return [
        f"{rollout.name}/{wave.name}/{APPROVAL_ACTION}"
        for rollout in rollouts
        for wave in rollout.waves
        if wave.approval
    ]
