"""What the plan hands each stack of a placement: narrow, typed inputs.

Stacks receive these and never the plan or the organization file, so that what a stack
depends on shows in its signature, and every placement decision (which personas, which
models, which knowledge bases, which environment gets Studio, pipelines or endpoints) is
taken here, from the config, once.

One module per module of ``stacks`` (``security``, ``foundation``, ``data``, ``genai``,
``ml``, ``governance``, ``budgets``, ``organization``, ``compliance``): its stack's input
dataclasses and the builders that translate the plan into them. ``shared`` holds what
several of them read: an LOB environment's LOB and environment, and the cross-account
wiring of its stores.
"""
