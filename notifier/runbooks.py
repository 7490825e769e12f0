"""The first lines of `runbooks/<alertname>.md`, so the on-call sees what to do without a click; and the
whole runbook as a page (`GET /runbooks/<alertname>.md`), so the local stack's runbook links open."""

from __future__ import annotations

import re
from pathlib import Path

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_:.-]{1,200}$")


def runbook_excerpt(folder: Path, alertname: str, max_lines: int = 3, max_chars: int = 500) -> str | None:
    """The first prose lines of the alert's runbook; None when there is none (yet) or it is unreadable."""
    if not _SAFE_NAME.match(alertname) or alertname.startswith("."):
        return None  # label values come from outside: never let one walk out of the folder
    try:
        text = (folder / f"{alertname}.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines: list[str] = []
    in_front_matter = text.startswith("---")
    for index, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if in_front_matter:
            in_front_matter = not (index > 0 and line == "---")
            continue
        if line.startswith("## ") and lines:
            break  # the opening lines say what broke and what to do first; sections follow
        if not line or line.startswith(("#", "<!--", "```")) or set(line) <= set("-=*_ "):
            continue
        lines.append(line)
        if len(lines) == max_lines:
            break
    excerpt = "\n".join(lines)
    if len(excerpt) > max_chars:
        excerpt = excerpt[: max_chars - 1].rstrip() + "…"
    return excerpt or None


def runbook_page(folder: Path, filename: str) -> str | None:
    """`<alertname>.md` rendered as a small HTML page (raw HTML in the Markdown is escaped, not passed
    through); None when there is no such runbook."""
    from markdown_it import MarkdownIt  # only when a runbook is opened

    alertname = filename.removesuffix(".md")
    if not filename.endswith(".md") or not _SAFE_NAME.match(alertname) or alertname.startswith("."):
        return None
    try:
        text = (folder / filename).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    body = MarkdownIt("commonmark", {"html": False}).render(text)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Runbook: {alertname}</title>"
            "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em;line-height:1.5}"
            "pre,code{background:#f4f4f4}pre{padding:.5em;overflow:auto}</style></head>"
            f"<body>{body}</body></html>")
