"""Stages an open-weights model: copies its files (a SageMaker processing input, read from the
organization's approved source) to the job's output (``models/<id>/base/`` of the LOB's
artifacts zone) and writes ``manifest.json``: where the files came from, each file's size and
SHA-256, and one digest over them all, which the fine-tuning run and its model card cite.

Standard library only: the job runs with network isolation, on the SageMaker SDK's
scikit-learn image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

MANIFEST = "manifest.json"
CHUNK = 8 * 1024 * 1024
# Formats that run code when they are loaded (Python pickles): weights are staged as
# safetensors only.
PICKLED = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")


class UnfitSource(Exception):
    """What makes the source unfit to stage: said on stderr, exit 2."""


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as reader:
        for chunk in iter(lambda: reader.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_digest(files: list[dict[str, object]]) -> str:
    """One SHA-256 over every file's digest and path (sorted): the model's fingerprint."""
    lines = "".join(f"{entry['sha256']}  {entry['path']}\n" for entry in files)
    return hashlib.sha256(lines.encode()).hexdigest()


def import_model(
    source: Path,
    destination: Path,
    *,
    model_id: str,
    origin: str,
    hf_model_id: str | None,
    expected: str | None = None,
) -> dict[str, object]:
    """Check every file under ``source`` (no pickles; the digest ``expected``, when given),
    then copy them to ``destination`` and write the manifest there: nothing is written for a
    source that fails a check."""
    files = sorted(path for path in source.rglob("*") if path.is_file())
    if not files:
        raise UnfitSource(f"{origin} holds no files: nothing to stage for {model_id}")
    names = [path.relative_to(source).as_posix() for path in files]
    if MANIFEST in names:
        raise UnfitSource(
            f"{origin} holds a {MANIFEST} of its own; the import writes that name, so it "
            "cannot stage the source as it is"
        )
    pickled = [name for name in names if name.lower().endswith(PICKLED)]
    if pickled:
        raise UnfitSource(
            f"{origin} holds pickled files ({', '.join(pickled)}), which run code when loaded; "
            "allowed: weights as safetensors"
        )
    entries: list[dict[str, object]] = [
        {"path": name, "bytes": path.stat().st_size, "sha256": file_digest(path)}
        for path, name in zip(files, names, strict=True)
    ]
    found = weights_digest(entries)
    if expected is not None and found != expected:
        raise UnfitSource(
            f"{origin} has the digest {found}, not the approved {expected}: it changed since "
            "it was approved"
        )
    for path, name in zip(files, names, strict=True):
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination / name)
    manifest: dict[str, object] = {
        "model_id": model_id,
        "source": origin,
        "hf_model_id": hf_model_id,
        "files": entries,
        "sha256": found,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/opt/ml/processing/input/weights"))
    parser.add_argument("--destination", type=Path, default=Path("/opt/ml/processing/output"))
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--origin", required=True, help="the S3 URI the weights came from")
    parser.add_argument("--hf-model-id")
    parser.add_argument("--expected-sha256", help="the approved digest of the whole model")
    args = parser.parse_args(argv)
    try:
        manifest = import_model(
            args.source,
            args.destination,
            model_id=args.model_id,
            origin=args.origin,
            hf_model_id=args.hf_model_id,
            expected=args.expected_sha256,
        )
    except UnfitSource as error:
        print(f"import_model: {error}", file=sys.stderr)
        return 2
    count = len(list(manifest["files"]))  # type: ignore[call-overload]
    print(f"staged {count} file(s) of {args.model_id}: sha256 {manifest['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
