"""Runbook coverage: every alert has `runbooks/<AlertName>.md` with the four sections, and no runbook is orphaned.

The runbooks are written by people from `runbooks/TEMPLATE.md`; `runbook_url` annotations point at
the published copy (`links.runbook_base_url`). Set BONGSU_RUNBOOKS_DIR to check another folder (a
catalog kept outside this repository keeps its runbooks beside it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bongsu import conventions

RUNBOOKS = Path(__file__).resolve().parent.parent / "runbooks"
SECTIONS = ("Meaning", "Impact", "Diagnosis", "Mitigation")
NOT_RUNBOOKS = {"README.md", "TEMPLATE.md"}


def folder() -> Path:
    return Path(os.environ[conventions.RUNBOOKS_DIR]) if os.environ.get(conventions.RUNBOOKS_DIR) else RUNBOOKS


def problems(alerts: list[str], where: Path) -> list[str]:
    """Missing runbooks, runbooks without an alert, and runbooks lacking a section, one line each."""
    if not where.is_dir():
        return [f"runbook folder {where} does not exist (set BONGSU_RUNBOOKS_DIR to your runbooks/ folder)"]
    present = {path.stem: path for path in where.glob("*.md") if path.name not in NOT_RUNBOOKS}
    found = [f"alert {name} has no runbook: write {where.name}/{name}.md from {where.name}/TEMPLATE.md"
             for name in alerts if name not in present]
    found += [f"runbook {where.name}/{path.name} has no alert of that name: rename or delete it"
              for stem, path in sorted(present.items()) if stem not in set(alerts)]
    for name in alerts:
        if name in present:
            headings = set(re.findall(r"^##\s+(\w+)", present[name].read_text(encoding="utf-8"), re.M))
            missing = [s for s in SECTIONS if s not in headings]
            if missing:
                found.append(f"runbook {where.name}/{name}.md lacks section(s): {', '.join(missing)}")
    return found
