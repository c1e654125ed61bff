"""An architecture diagram of a cloud assembly as inline SVG: accounts, their stacks, and
the resource counts that matter to an auditor. Plain boxes and lines, no libraries."""

from __future__ import annotations

from html import escape
from typing import Any

Json = dict[str, Any]
KEY_TYPES = {
    "AWS::EC2::VPCEndpoint": "endpoints",
    "AWS::S3::Bucket": "buckets",
    "AWS::IAM::Role": "roles",
    "AWS::KMS::Key": "keys",
    "AWS::Bedrock::Guardrail": "guardrails",
    "AWS::SageMaker::Endpoint": "SM endpoints",
}
ACCOUNT_WIDTH, STACK_WIDTH, STACK_HEIGHT, GAP, ROW = 200, 190, 64, 16, 100


def _text(x: float, y: float, content: str, size: int = 11, weight: str = "normal") -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" '
        f'font-family="sans-serif">{escape(content)}</text>'
    )


def _box(x: float, y: float, width: float, height: float, fill: str) -> str:
    return (
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="6" '
        f'fill="{fill}" stroke="#445" stroke-width="1"/>'
    )


def key_counts(by_type: dict[str, int]) -> str:
    parts = [f"{by_type[t]} {label}" for t, label in KEY_TYPES.items() if by_type.get(t)]
    return ", ".join(parts)


def _stack_box(stack: Json, x: float, y: float) -> list[str]:
    counts = key_counts(stack["by_type"])
    return [
        _box(x, y, STACK_WIDTH, STACK_HEIGHT, "#eef5ff"),
        _text(x + 8, y + 16, stack["stack"], 11, "bold"),
        _text(x + 8, y + 32, f"{stack['resources']} resources"),
        _text(x + 8, y + 48, counts[:34]),
        _text(x + 8, y + 60, counts[34:68], 10),
    ]


def _account_row(account: Json, y: float) -> list[str]:
    middle = y + STACK_HEIGHT / 2
    parts = [
        _box(10, y, ACCOUNT_WIDTH, STACK_HEIGHT, "#fff4e0"),
        _text(20, y + 22, f"account {account['account']}", 12, "bold"),
        _text(20, y + 40, ", ".join(account["regions"])),
        _text(20, y + 56, f"{account['resources']} resources"),
    ]
    for index, stack in enumerate(account["stacks"]):
        x = 10 + ACCOUNT_WIDTH + GAP * 3 + index * (STACK_WIDTH + GAP)
        parts.append(
            f'<line x1="{10 + ACCOUNT_WIDTH}" y1="{middle}" x2="{x}" y2="{middle}" '
            'stroke="#889" stroke-width="1"/>'
            if index == 0
            else f'<line x1="{x - GAP}" y1="{middle}" x2="{x}" y2="{middle}" '
            'stroke="#889" stroke-width="1"/>'
        )
        parts.extend(_stack_box(stack, x, y))
    return parts


def architecture_svg(inventory: Json) -> str:
    """Accounts (rows) -> their stacks (boxes) with key resource counts."""
    accounts = inventory["accounts"]
    widest = max((len(a["stacks"]) for a in accounts), default=0)
    width = 10 + ACCOUNT_WIDTH + GAP * 3 + widest * (STACK_WIDTH + GAP)
    height = 20 + len(accounts) * ROW
    body = [part for i, a in enumerate(accounts) for part in _account_row(a, 10 + i * ROW)]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="architecture">'
        + "".join(body)
        + "</svg>"
    )
