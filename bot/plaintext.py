"""Block Kit as a person reads it in a terminal (for `carebot demo` and `carebot digest --dry-run`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# *bold*, _italic_, ~strike~ around a run of text (not a lone * in "3*4"): Slack's emphasis, dropped in a terminal
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^\n]*?\S)\1(?![\w*_~])")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")


def _mrkdwn(text: str, names: Mapping[str, str]) -> str:
    text = re.sub(r"<@([A-Z0-9]+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _EMPHASIS.sub(lambda m: m.group(2), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: list[dict[str, Any]], names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = block["text"]["text"]
            lines += [title, "=" * max(len(title) * 2, 10)]
        elif kind == "section":
            lines.append(_mrkdwn(block.get("text", {}).get("text", ""), names))
            lines.append("")
        elif kind == "context":
            lines += [_mrkdwn(e.get("text", ""), names) for e in block.get("elements", [])] + [""]
        elif kind == "divider":
            lines.append("-" * 40)
    return "\n".join(lines).rstrip() + "\n"
