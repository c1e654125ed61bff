"""Tooling of the GenAI platform blueprint, one subpackage per job.

``model`` reads the organization file and plans placements; ``assembly`` reads a synthesized
cloud assembly (lint, audit, cost, replacement guard); ``deploy`` deploys one (local emulator,
Pulumi); ``cli`` is the command line. Dependencies point one way: cli -> deploy -> assembly ->
model (tests/test_architecture.py enforces it).
"""
