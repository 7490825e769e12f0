"""The local stack deploys a build for real and `bongsu rollback` takes it back, on a real stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from bongsu import observe
from bongsu.catalog import load_catalog
from bongsu.stack import Stack, StackSettings
from examples.shop.releases import build
from tests.conftest import require_binaries

pytestmark = pytest.mark.e2e
BONGSU = str(Path(sys.executable).parent / "bongsu")
AMEX = "378282246310005"


def _build_info(url: str) -> str:
    return next(line for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines()
                if line.startswith("bongsu_build_info{"))


def _charge(url: str, card: str) -> int:
    return httpx.post(f"{url}/charges", json={"order_id": 1, "amount_cents": 1000, "card_number": card},
                      timeout=5).status_code


def test_deploy_and_rollback_restart_payments_on_each_build(tmp_path: Path) -> None:
    require_binaries()
    settings = StackSettings(catalog=load_catalog(), run_dir=tmp_path / "run", load_rate=0, history=None)
    with Stack(settings, Console(stderr=True)) as stack:
        payments, stack_file = stack.urls["payments"], stack.run_dir / "stack.json"
        good, bad = build("payments", "1.4.2"), build("payments", "1.5.0")
        assert good.revision != bad.revision and good.package != bad.package
        assert f'revision="{good.revision}"' in _build_info(payments)
        assert _charge(payments, AMEX) in (201, 402)
        pid = stack.children["payments"].process.pid
        # Rollback finds the previous build in Prometheus: it must have scraped 1.4.2 before the deploy.
        observe.wait_for(lambda: observe.query(stack.urls["prometheus"],
                                               'bongsu_build_info{job="payments",version="1.4.2"}'),
                         60, "Prometheus scraping payments 1.4.2")

        done = subprocess.run([BONGSU, "stack", "deploy", "payments", "1.5.0", "--stack", str(stack_file)],
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        info = _build_info(payments)
        assert 'version="1.5.0"' in info and f'revision="{bad.revision}"' in info and bad.package in info
        assert stack.children["payments"].process.pid != pid  # a real restart
        assert json.loads(stack_file.read_text())["builds"]["payments"]["version"] == "1.5.0"
        assert _charge(payments, AMEX) == 500  # the bug: Amex is missing from the fee table
        assert _charge(payments, "4242424242424242") in (201, 402)

        observe.wait_for(lambda: observe.query(stack.urls["prometheus"],
                                               'bongsu_build_info{job="payments",version="1.5.0"}'),
                         60, "Prometheus scraping payments 1.5.0")
        done = subprocess.run([BONGSU, "rollback", "payments", "--prometheus", stack.urls["prometheus"]],
                              capture_output=True, text=True, timeout=180,
                              env={"BONGSU_STACK": str(stack_file), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stdout + done.stderr
        assert "from 1.5.0 to 1.4.2" in done.stdout
        assert f'revision="{good.revision}"' in _build_info(payments)
        assert _charge(payments, AMEX) in (201, 402)

        refused = subprocess.run([BONGSU, "stack", "deploy", "payments", "9.9.9", "--stack", str(stack_file)],
                                 capture_output=True, text=True, timeout=180)
        assert refused.returncode == 1 and "no build '9.9.9'" in refused.stderr
