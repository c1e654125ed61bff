"""Every policy of the assembly, and every question of the access catalog, checked against
AWS's Service Authorization Reference: actions that exist, resources of a type the action
takes, condition keys that are current and apply to the actions.

The reference is a pinned snapshot (``reference.json``, written by ``generate.mjs`` from the
services in ``services.txt``), so the check needs no network and no npm package.
"""
