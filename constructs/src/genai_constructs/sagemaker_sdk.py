"""The SageMaker Python SDK (v2, pinned), imported quietly where a construct needs it.

The SDK announces its v2 -> v3 migration with a warning and logs where it looked for config
files at import; neither says anything about the app being built, so both are silenced here,
when the SDK is first used, rather than at import of this library.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_sdk() -> Iterator[None]:
    """Import or call the SDK without its migration notices and config-file INFO lines."""
    for logger in ("sagemaker", "sagemaker.config"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*SageMaker Python SDK v2")
        warnings.filterwarnings("ignore", message="Running within a PipelineSession")
        # A Lambda step names an existing function (ours, deployed by CDK): nothing to update.
        warnings.filterwarnings("ignore", message="Lambda function won't be updated")
        yield


def require_sdk() -> None:
    """Fail with the fix when the SageMaker SDK (the ``sagemaker`` extra) is missing."""
    if importlib.util.find_spec("sagemaker") is None:
        raise ImportError(
            "genai_constructs needs the SageMaker Python SDK for SageMaker images and "
            "pipelines: pip install 'genai-constructs[sagemaker]'"
        )


def image_uri(framework: str, region: str, **options: str) -> str:
    """An image URI from ``sagemaker.image_uris.retrieve`` (no AWS call)."""
    require_sdk()
    with quiet_sdk():
        from sagemaker import image_uris

        return str(image_uris.retrieve(framework, region, **options))
