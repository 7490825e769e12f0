"""One way to configure: every part's settings class reads the variables named in bongsu.conventions,
treats an empty value as unset, and keeps secrets out of repr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bongsu import conventions
from bongsu.settings import BongsuSettings, SpineSettings
from chaos.settings import ChaosSettings

REPO = Path(__file__).resolve().parents[2]


def _settings_in(env: dict[str, str]) -> dict[str, object]:
    """Both settings classes and BuildOptions' defaults, read in a fresh process with exactly `env`."""
    code = ("import json; from pathlib import Path; from bongsu.settings import SpineSettings; "
            "from chaos.settings import ChaosSettings; from bongsu.generator import BuildOptions; "
            "o = BuildOptions(out=Path('x')); c = ChaosSettings(); "
            "print(json.dumps({'notifier_url': o.notifier_url, 'webhook_token': o.webhook_token, "
            "'stack': str(c.stack) if c.stack else None, 'fault_token': c.fault_token, 'repr': repr(c)}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BONGSU_", "PROMETHEUS_", "SLACK_"))}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                            cwd=REPO, check=True)
    return json.loads(result.stdout)


def test_variables_named_in_conventions_are_read() -> None:
    seen = _settings_in({conventions.NOTIFIER_URL: "http://notifier:1/alertmanager",
                         conventions.WEBHOOK_TOKEN: "hook-secret-1", conventions.STACK: "/run/stack.json",
                         conventions.FAULT_TOKEN: "fault-secret-2"})
    assert seen["notifier_url"] == "http://notifier:1/alertmanager"
    assert seen["webhook_token"] == "hook-secret-1"
    assert seen["stack"] == "/run/stack.json" and seen["fault_token"] == "fault-secret-2"
    assert "secret" not in str(seen["repr"])


def test_empty_means_unset_and_defaults_apply() -> None:
    seen = _settings_in({conventions.NOTIFIER_URL: "", conventions.WEBHOOK_TOKEN: "", conventions.STACK: ""})
    assert seen["notifier_url"] == "http://127.0.0.1:9099/alertmanager"
    assert seen["webhook_token"] is None and seen["stack"] is None


def test_every_settings_field_names_a_documented_variable() -> None:
    documented = {var.name for var in conventions.ENV_VARS}
    for settings in (SpineSettings, ChaosSettings):
        assert issubclass(settings, BongsuSettings)
        for name, field in settings.model_fields.items():
            assert field.validation_alias in documented, f"{settings.__name__}.{name}"
