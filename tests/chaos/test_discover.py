"""`chaos discover` finds the extension's probes and actions (via the tiny chaostoolkit-bongsu
distribution in chaos/extension, installed here into a scratch folder so the test needs nothing else)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from chaos import actions, probes

EXTENSION = Path(__file__).resolve().parents[2] / "chaos" / "extension"
BIN = Path(sys.executable).parent


def test_chaos_discover_lists_every_activity(tmp_path: Path) -> None:
    target, source = tmp_path / "site", tmp_path / "extension"
    shutil.copytree(EXTENSION, source)  # pip builds in the source folder; keep the repository clean
    install = subprocess.run([str(BIN / "pip"), "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(target), str(source)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(EXTENSION.parents[1])])}
    found = tmp_path / "discovery.json"
    result = subprocess.run([str(BIN / "chaos"), "--no-log-file", "discover", "--no-system-info", "--no-install",
                             "--discovery-path", str(found), "chaostoolkit-bongsu"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    discovered = json.loads(found.read_text())["activities"]
    assert sorted(a["name"] for a in discovered if a["type"] == "probe") == sorted(probes.__all__)
    assert sorted(a["name"] for a in discovered if a["type"] == "action") == sorted(actions.__all__)
    routed = next(a for a in discovered if a["name"] == "alert_routed")
    assert routed["return_type"] == "mapping"
    assert [a["name"] for a in routed["arguments"]][:2] == ["alertname", "receiver"]
