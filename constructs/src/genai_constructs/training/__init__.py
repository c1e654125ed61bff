"""The fine-tuning recipe FineTuningPipeline uploads: the entry points of its SageMaker jobs
(data preparation, LoRA or QLoRA training, the merge of the adapter, evaluation) and the
packages their image must hold. Shipped with the library; run by the jobs, not by the CDK app.
"""

from __future__ import annotations

from pathlib import Path

RECIPE = Path(__file__).resolve().parent
