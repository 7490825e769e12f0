"""compose/docker-compose.yml: the schema, pinned images, health gating, volumes, secrets, addresses,
and the generated Prometheus and Alertmanager configs as the containers mount them (real promtool and
amtool). Each check is also shown failing on a broken copy, so none of them can pass vacuously."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bongsu.binaries import MissingBinary, find
from bongsu.build import check_compose
from bongsu.catalog import parse_catalog
from bongsu.deploy import compose_checks as checks
from bongsu.deploy.schemas import compose_problems, compose_text

from tests.deploy.conftest import COMPOSE, REPO


@pytest.fixture(scope="module")
def compose(compose_out: Path) -> checks.ComposeFile:
    return checks.ComposeFile(COMPOSE / "docker-compose.yml", compose_out)


def _tool(name: str) -> Path:
    try:
        return find(name)
    except MissingBinary as exc:
        pytest.fail(str(exc), pytrace=False)


# ---- the Compose Specification ------------------------------------------------------------------

def test_compose_file_matches_the_compose_specification(compose):
    assert compose_problems(compose.path.read_text()) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["services"]["grafana"].update(restart_policy="always"), "restart_policy"),
    (lambda d: d["services"]["prometheus"].update(restart="sometimes"), "unknown variant `sometimes`"),
    (lambda d: d["services"]["notifier"]["depends_on"]["prometheus"].update(condition="service_happy"),
     "unknown variant `service_happy`"),
])
def test_schema_check_names_what_is_wrong_and_where(edit, expected):
    document = yaml.safe_load((COMPOSE / "docker-compose.yml").read_text())
    edit(document)
    problems = "\n".join(compose_problems(compose_text(document)))
    assert expected in problems


# ---- images ---------------------------------------------------------------------------------------

def test_images_are_pinned_to_versions(compose):
    assert checks.image_problems(compose) == []
    for name, service in compose.services.items():
        assert service.get("image"), f"{name} has no image name (built images are tagged too)"


@pytest.mark.parametrize("image, expected", [
    ("grafana/grafana:latest", "not a version"),
    ("grafana/grafana", "no tag"),
    ("localhost:5000/grafana", "no tag"),
])
def test_unpinned_images_are_reported(compose_copy, image, expected):
    path = compose_copy(lambda d: d["services"]["grafana"].update(image=image))
    assert any(expected in p and "grafana" in p for p in checks.image_problems(checks.ComposeFile(path)))


def test_dockerfile_base_image_is_pinned(compose_copy):
    path = compose_copy()
    dockerfile = path.parent / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("FROM python:3.11.11-slim-bookworm", "FROM python"))
    assert any("FROM python" in p for p in checks.image_problems(checks.ComposeFile(path)))


# ---- healthchecks and depends_on ---------------------------------------------------------------

def test_health_gating_is_consistent(compose):
    assert checks.health_problems(compose) == []
    gated = {target for s in compose.services.values() for target in s.get("depends_on", {})}
    assert {"config", "prometheus", "alertmanager", "payments", "orders"} <= gated


def test_services_without_healthcheck_say_why(compose):
    unexplained = [name for name, s in compose.services.items()
                   if "healthcheck" not in s and s.get("restart") != "no" and not s.get(checks.NO_HEALTHCHECK)]
    assert unexplained == []


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["services"]["prometheus"].pop("healthcheck"), "services.prometheus: no healthcheck"),
    (lambda d: d["services"]["orders"].update(depends_on=["payments"]), "use the long form"),
    (lambda d: d["services"]["orders"]["depends_on"]["payments"].pop("condition"), "no condition"),
    (lambda d: d["services"]["grafana"]["depends_on"]["loki"].update(condition="service_healthy"),
     "loki has no healthcheck"),
    (lambda d: d["services"]["orders"]["depends_on"]["payments"].update(condition="service_started"),
     "wait for service_healthy"),
    (lambda d: d["services"]["prometheus"]["depends_on"]["config"].update(condition="service_healthy"),
     "config has no healthcheck"),
    (lambda d: d["services"]["orders"]["depends_on"].update(inventory={"condition": "service_started"}),
     "'inventory' is not a service"),
])
def test_health_gating_mistakes_are_reported(compose_copy, edit, expected):
    problems = checks.health_problems(checks.ComposeFile(compose_copy(edit)))
    assert any(expected in p for p in problems), problems


# ---- volumes ----------------------------------------------------------------------------------------

def test_state_lives_in_named_volumes(compose):
    assert checks.volume_problems(compose) == []
    declared = set(compose.document["volumes"])
    assert {"prometheus-data", "alertmanager-data", "grafana-data", "notifier-state", "loki-data",
            "tempo-data", "generated"} <= declared


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["services"]["loki"]["volumes"].append("/var/lib/extra"), "anonymous volume"),
    (lambda d: d["services"]["loki"]["volumes"].append("scratch:/scratch"), "'scratch' is not declared"),
    (lambda d: d["volumes"].update(unused=None), "volumes.unused: declared but never mounted"),
    (lambda d: d["services"]["tempo"]["volumes"].append("./tempo-data:/var/tempo/extra"), "does not exist"),
    (lambda d: d["services"]["tempo"]["volumes"].append("./tempo.yaml:/etc/tempo2.yaml"), "is writable"),
])
def test_volume_mistakes_are_reported(compose_copy, edit, expected):
    problems = checks.volume_problems(checks.ComposeFile(compose_copy(edit)))
    assert any(expected in p for p in problems), problems


# ---- secrets ----------------------------------------------------------------------------------------

def test_secrets_come_only_from_dot_env(compose):
    assert checks.secret_problems(compose, COMPOSE / ".env.example") == []
    assert compose.services["notifier"]["environment"]["SLACK_BOT_TOKEN"].startswith("${SLACK_BOT_TOKEN")


def test_dot_env_is_ignored_by_git_and_only_the_example_is_committed():
    ignored = subprocess.run(["git", "check-ignore", "-q", "compose/.env"], cwd=REPO)
    assert ignored.returncode == 0, "compose/.env must be git-ignored"
    tracked = subprocess.run(["git", "ls-files", "compose"], cwd=REPO, capture_output=True, text=True).stdout
    assert "compose/.env\n" not in tracked


def test_secret_mistakes_are_reported(compose_copy):
    path = compose_copy(lambda d: d["services"]["notifier"]["environment"].update(
        SLACK_BOT_TOKEN="xoxb-literal", EXTRA="${NOT_DOCUMENTED:-x}"))
    example = path.parent / ".env.example"
    example.write_text(example.read_text().replace("GRAFANA_ADMIN_PASSWORD=", "GRAFANA_ADMIN_PASSWORD=hunter2"))
    problems = "\n".join(checks.secret_problems(checks.ComposeFile(path), example))
    assert "services.notifier.environment.SLACK_BOT_TOKEN" in problems
    assert "${NOT_DOCUMENTED} is used but not listed" in problems
    assert "GRAFANA_ADMIN_PASSWORD has a value" in problems


# ---- addresses --------------------------------------------------------------------------------------

def test_every_address_names_a_defined_service_and_port(compose):
    assert checks.reachability_problems(compose) == []


def test_reachability_covers_environment_static_and_generated_configs(compose, catalog):
    seen = {(r.service, r.host, r.port) for r in checks.references(compose)}
    for service in catalog.services:  # generated prometheus.yml, as prometheus mounts it
        assert ("prometheus", service.name, 8000) in seen
    assert ("alertmanager", "notifier", 9099) in seen  # generated alertmanager.yml
    assert ("orders", "payments", 8000) in seen  # PAYMENTS_URL
    assert ("otel-collector", "tempo", 4317) in seen  # compose/otel-collector.yaml
    assert ("fluent-bit", "loki", 3100) in seen  # compose/fluent-bit.yaml (host/port keys)
    assert {("grafana", "tempo", 3200), ("grafana", "loki", 3100)} <= seen  # generated data sources


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d["services"]["orders"]["environment"].update(PAYMENTS_URL="http://payment:8000"),
     "no service is named 'payment'"),
    (lambda d: d["services"]["orders"]["environment"].update(PAYMENTS_URL="http://payments:8080"),
     "payments exposes [8000]"),
    (lambda d: d["services"]["loki"].update(expose=["3101"]), "compose/fluent-bit.yaml: fluent-bit reaches loki:3100"),
])
def test_wrong_addresses_are_reported(compose_copy, compose_out, edit, expected):
    problems = checks.reachability_problems(checks.ComposeFile(compose_copy(edit), compose_out))
    assert any(expected in p for p in problems), problems


def test_a_catalog_service_without_a_compose_service_is_reported(tmp_path, catalog, compose_copy):
    """The catalog and the compose file drift apart: Prometheus would scrape a host that is not there."""
    data = yaml.safe_load((REPO / "examples" / "shop" / "catalog.yaml").read_text())
    data["services"].append({"name": "inventory", "team": "storefront"})
    extended = parse_catalog(yaml.safe_dump(data), "catalog.yaml")
    findings = {f.check: f for f in check_compose(extended, compose_copy(), tmp_path / "out")}
    finding = next(f for name, f in findings.items() if "every address" in name)
    assert not finding.ok and "no service is named 'inventory'" in finding.detail


def test_each_runnable_catalog_service_runs_in_compose_as_itself(compose, catalog):
    """The demo shop's services (those with a module in examples/shop/) run as the catalog names them."""
    from bongsu.stack import shop_services

    runnable = shop_services(catalog)
    assert runnable
    for name in runnable:
        service = compose.services[name]
        assert service["command"][:2] == ["uvicorn", f"examples.shop.{name.replace('-', '_')}:app"]
        assert service["command"][service["command"].index("--port") + 1] == "8000"
        assert service["environment"]["OTEL_SERVICE_NAME"] == name
        assert service["environment"]["BONGSU_FAULT_TOKEN"].startswith("${BONGSU_FAULT_TOKEN")


# ---- generated configs, as mounted, with the real tools ---------------------------------------------

def test_prometheus_config_as_mounted_passes_promtool(compose, catalog):
    config = checks.config_flag(compose, "prometheus")
    assert config == compose.generated / "prometheus" / "prometheus.yml"
    result = subprocess.run([str(_tool("promtool")), "check", "config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    rule_files = len(list((config.parent / "rules").glob("*.yaml")))
    assert rule_files >= len(catalog.services) and f"{rule_files} rule files found" in result.stdout
    scraped = {job["job_name"]: job["static_configs"][0]["targets"]
               for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    for service in catalog.services:
        assert scraped[service.name] == [f"{service.name}:8000"]


def test_alertmanager_config_as_mounted_passes_amtool(compose):
    config = checks.config_flag(compose, "alertmanager")
    assert config == compose.generated / "alertmanager" / "alertmanager.yml"
    result = subprocess.run([str(_tool("amtool")), "check-config", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "http://notifier:9099/alertmanager" in config.read_text()


def test_broken_generated_configs_fail_the_tool_checks(catalog, tmp_path):
    findings = check_compose(catalog, COMPOSE / "docker-compose.yml", tmp_path)
    assert all(f.ok for f in findings), [f for f in findings if not f.ok]
    (tmp_path / "prometheus" / "prometheus.yml").write_text("global:\n  scrape_interval: often\n")
    (tmp_path / "alertmanager" / "alertmanager.yml").write_text("route:\n  receiver: nobody\n")
    compose = checks.ComposeFile(COMPOSE / "docker-compose.yml", tmp_path)
    from bongsu.deploy.validation import _tool as tool_finding
    assert not tool_finding(compose, "prometheus", "promtool", ["check", "config"]).ok
    assert not tool_finding(compose, "alertmanager", "amtool", ["check-config"]).ok


def test_every_file_a_service_reads_from_its_mounts_exists(compose):
    assert checks.mounted_path_problems(compose) == []


def test_a_missing_mounted_file_is_reported(compose_copy, compose_out):
    path = compose_copy(lambda d: d["services"]["prometheus"]["command"].__setitem__(
        0, "--config.file=/etc/bongsu/prometheus.yaml"))
    problems = checks.mounted_path_problems(checks.ComposeFile(path, compose_out))
    assert any("/etc/bongsu/prometheus.yaml" in p for p in problems), problems


# ---- Grafana's data sources link traces, logs and exemplars ------------------------------------------

def test_grafana_data_sources_link_exemplars_traces_and_logs(compose_out):
    sources = yaml.safe_load((compose_out / "compose" / "grafana" / "datasources" / "bongsu.yaml").read_text())
    by_type = {s["type"]: s for s in sources["datasources"]}
    prometheus, tempo, loki = by_type["prometheus"], by_type["tempo"], by_type["loki"]
    assert prometheus["jsonData"]["exemplarTraceIdDestinations"] == [{"name": "trace_id", "datasourceUid": tempo["uid"]}]
    assert tempo["jsonData"]["tracesToLogsV2"]["datasourceUid"] == loki["uid"]
    assert loki["jsonData"]["derivedFields"][0]["datasourceUid"] == tempo["uid"]
    assert [s.get("isDefault") for s in sources["datasources"]].count(True) == 1


def test_dashboards_name_only_provisioned_data_sources(compose_out):
    sources = yaml.safe_load((compose_out / "compose" / "grafana" / "datasources" / "bongsu.yaml").read_text())
    uids = {s["uid"] for s in sources["datasources"]}
    boards = list((compose_out / "grafana" / "dashboards").glob("*.json"))
    assert boards, "the dashboards generator wrote no dashboards"
    named = set()
    for board in boards:
        named |= {m for m in _datasource_uids(yaml.safe_load(board.read_text()))}
    assert named - {"-- Grafana --", "${datasource}", "$datasource"} <= uids


def _datasource_uids(value):
    if isinstance(value, dict):
        source = value.get("datasource")
        if isinstance(source, dict) and isinstance(source.get("uid"), str):
            yield source["uid"]
        for item in value.values():
            yield from _datasource_uids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _datasource_uids(item)


# ---- the command line -------------------------------------------------------------------------------

def test_bongsu_deploy_check_passes_on_the_repository(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bongsu", "deploy", "check",
                             "--compose-file", str(COMPOSE / "docker-compose.yml")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 9 checks passed" in result.stdout


def test_bongsu_deploy_compose_reports_a_bad_catalog_without_traceback(tmp_path):
    bad = tmp_path / "catalog.yaml"
    bad.write_text("slack: {default_channel: '#alerts'}\nteams: []\nservices:\n  - name: x\n    team: nobody\n")
    result = subprocess.run([sys.executable, "-m", "bongsu", "deploy", "compose", "--out", str(tmp_path / "o"),
                             "--catalog", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "services[0].team" in result.stderr and "Traceback" not in result.stderr


# ---- the image holds what its commands need ----------------------------------------------------------

# Top-level modules only the `dev` and `chaos` extras bring; compose/Dockerfile installs
# `.[notifier,dashboards,shop]`, so its commands must run without them.
NOT_IN_IMAGE = ["jsonschema", "pytest", "flask", "psutil", "chaoslib", "chaostoolkit", "chaosaddons",
                "prometheus_fastapi_instrumentator"]
IMAGE_SCRIPT = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from typer.testing import CliRunner
from bongsu.cli import app
result = CliRunner().invoke(app, ["deploy", "compose", "--out", {out!r}])
assert result.exit_code == 0, (result.output, result.exception)
import notifier.app, examples.shop.payments, examples.shop.orders, examples.shop.load
print("image ok")
"""


def test_the_image_commands_run_with_only_the_image_extras(tmp_path):
    assert 'pip install -c constraints.txt -e ".[notifier,dashboards,shop]"' in (COMPOSE / "Dockerfile").read_text()
    script = IMAGE_SCRIPT.format(blocked=NOT_IN_IMAGE, out=str(tmp_path / "generated"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=180,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BONGSU_WEBHOOK_TOKEN": "t"})
    assert result.returncode == 0 and "image ok" in result.stdout, result.stdout + result.stderr
    assert (tmp_path / "generated" / "prometheus" / "prometheus.yml").is_file()
