"""CDK entry point: read the settings and one organization file, and build it.

With ``-c pipeline=true`` (and ``platform.pipeline`` set) the LOB environments are deployed by
delivery pipelines in the tooling account instead (stacks/pipeline.py). Otherwise the LOBs
whose inputs are unchanged since the last run in the output directory are read back from it,
and the others are shared with worker processes on the other cores (stacks/reuse.py).
"""

import os
import sys
import time
from pathlib import Path

from blueprint.jsii_kernel import talk_to_kernel_directly

talk_to_kernel_directly()  # before the CDK is imported: importing it starts the jsii kernel

from aws_cdk import App, Stack

from blueprint.collector import collect_less
from blueprint.model.fingerprint import cdk_context, code_fingerprint, lob_fingerprints
from blueprint.model.loader import load_config_or_exit
from blueprint.model.placing import plan_for
from blueprint.model.settings import Settings
from stacks import build_platform, synthesize
from stacks.compliance import app_props
from stacks.pipeline import build_delivery
from stacks.reuse import begin, forget, merge, plan_synthesis, read_previous, stop

HERE = Path(__file__).resolve().parent
# What the templates are made by: the app, its stacks, the construct library (the fine-tuning
# recipe and the handlers included) and the CDK's settings.
CODE = [HERE / "blueprint", HERE / "stacks", HERE / "constructs" / "src"]
CODE_FILES = [HERE / "app.py", HERE / "cdk.json", HERE / "cdk.context.json"]

collect_less()
app = App(**app_props())
settings = Settings.from_process(os.environ, app.node.try_get_context)
config = load_config_or_exit(settings.org_file)
if settings.worker_lobs is not None:
    build_platform(
        app,
        config,
        training_code=settings.training_code,
        lob_environments=settings.worker_lobs,
        platform=False,
    )
    app.synth()
    sys.exit(0)
if not settings.org_given:
    print(
        f"ORG is not set: this is the example organization ({settings.org_file}), whose "
        "accounts are fictional; set ORG=path/to/your-org.yaml for yours "
        "(make diff and make deploy require it)",
        file=sys.stderr,
    )
started = time.monotonic()
if settings.pipeline:
    forget(Path(app.outdir))
    build_delivery(app, config, settings)
    synthesize(app)
    sys.exit(0)
plan = plan_for(config)
outdir = Path(app.outdir)
synthesis = plan_synthesis(
    plan,
    outdir,
    code=code_fingerprint(CODE, CODE_FILES, cdk_context(os.environ)),
    lobs=lob_fingerprints(plan, settings.training_code),
    full=settings.full,
    cores=os.cpu_count() or 1,
)
previous = read_previous(outdir)
workers = begin(synthesis, outdir, Path(__file__))
try:
    build_platform(
        app,
        config,
        training_code=settings.training_code,
        lob_environments=synthesis.build,
        plan=plan,
    )
    stacks = sum(1 for child in app.node.children if Stack.is_stack(child))
    print(
        f"synthesizing {stacks} stacks of {settings.org_file} ({len(synthesis.workers)} "
        f"worker(s) building {sum(map(len, synthesis.workers))} more LOBs, "
        f"{len(synthesis.reuse)} LOBs unchanged since the last run), each through the four "
        "cdk-nag packs and the platform's pack ...",
        file=sys.stderr,
        flush=True,
    )
    synthesize(app, complete=lambda out: merge(plan, out, synthesis, workers, previous))
finally:
    stop(workers)
print(f"synthesized in {time.monotonic() - started:.0f} s", file=sys.stderr)
