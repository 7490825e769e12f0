"""`bongsu check` for alerting: run the built files through the real promtool and amtool, and lint them.

Every finding names the file or alert to fix. Missing binaries are a failed finding with the install
command, never a skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from bongsu.binaries import MissingBinary, find
from bongsu.catalog import Catalog, recording_windows
from bongsu.generator import BuildOptions, Finding
from bongsu.shapes import shape_groups

from alert_rules import buckets, custom, runbooks
from alert_rules.rules import alert_names

# libyaml's parser: the pure-Python one takes tens of seconds for a 1,000-service build's rule files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

REQUIRED_LABELS = ("severity",)
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
TIMEOUT_S = 600
# promtool takes about 1.5 s of CPU per generated test file (11 scenarios per SLO): a 1,000-service
# catalog needs minutes, so the files are split over the cores and the time allowed grows with them.
TEST_FILE_TIMEOUT_S = 10


def _run(argv: Sequence[str], timeout: float = TIMEOUT_S) -> tuple[bool, str]:
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"{Path(argv[0]).name} {argv[1]} {argv[2]} did not finish within {timeout:.0f}s"
    return result.returncode == 0, (result.stdout + result.stderr).strip()


def _test_rules(promtool: Path, test_files: list[str]) -> tuple[bool, str]:
    """`promtool test rules` over the files, in one process per core."""
    workers = max(1, min(os.cpu_count() or 1, len(test_files)))
    chunks = [test_files[index::workers] for index in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(lambda chunk: _run([str(promtool), "test", "rules", *chunk],
                                                   TIMEOUT_S + TEST_FILE_TIMEOUT_S * len(chunk)), chunks))
    return all(ok for ok, _ in results), "\n".join(detail for _, detail in results)


def _tool(name: str, check: str) -> tuple[Path | None, list[Finding]]:
    try:
        return find(name), []
    except MissingBinary as exc:
        return None, [Finding(check, False, str(exc))]


def promtool_findings(out: Path, catalog: Catalog | None = None) -> list[Finding]:
    """`promtool check rules` on every rule file; `promtool test rules` on every test file, or with
    `catalog` on those of one service per shape (`tested_files`)."""
    rule_files = sorted(str(p) for p in (out / "prometheus" / "rules").glob("*.yaml"))
    every_test = sorted(str(p) for p in (out / "prometheus" / "tests").glob("*.yaml"))
    test_files, alike = (every_test, 0) if catalog is None else tested_files(catalog, out, every_test)
    promtool, missing = _tool("promtool", "promtool check rules")
    if promtool is None:
        return missing
    ok, detail = _run([str(promtool), "check", "rules", *rule_files])
    findings = [Finding(f"promtool check rules ({len(rule_files)} files)", ok, "" if ok else detail)]
    ok, detail = _test_rules(promtool, test_files)
    what = f"{len(test_files)} files" + (f"; one service per shape, {alike} more services' tests are the same "
                                         "with other names" if alike else "")
    findings.append(Finding(f"promtool test rules ({what})", ok, "" if ok else _failed_files(detail)))
    return findings


def tested_files(catalog: Catalog, out: Path, every_test: list[str]) -> tuple[list[str], int]:
    """The test files of the first service of every shape, and the hand-written ones; and how many
    services are left out. A shape's rule and test files are rendered once and only the names differ
    (bongsu/shapes.py; tests/build/test_shapes.py proves the text equal to a full rendering), so
    promtool would run the same tests again: about 3.4 s of CPU per service with SLOs."""
    alike = [service for group in shape_groups(catalog) for service in group[1:]]
    left_out = {str(out / "prometheus" / "tests" / f"bongsu-{service.name}{suffix}")
                for service in alike for suffix in (".test.yaml", ".slos.test.yaml")}
    return [path for path in every_test if path not in left_out], len(alike)


def _failed_files(output: str, limit: int = 6000) -> str:
    """promtool reports every file; keep the ones that failed (their first `limit` characters)."""
    blocks = ["Unit Testing:" + block for block in output.split("Unit Testing:")[1:]]
    failed = [block.strip() for block in blocks if "SUCCESS" not in block]
    text = "\n".join(failed) or output
    return text if len(text) <= limit else text[:limit] + "\n[... cut; run promtool test rules on the file]"


def amtool_findings(out: Path) -> list[Finding]:
    config = out / "alertmanager" / "alertmanager.yml"
    amtool, missing = _tool("amtool", "amtool check-config")
    if amtool is None:
        return missing
    ok, detail = _run([str(amtool), "check-config", str(config)])
    findings = [Finding("amtool check-config", ok, "" if ok else detail)]
    cases = yaml.safe_load((out / "alertmanager" / "route-tests.yaml").read_text())
    for case in cases:
        labels = [f"{key}={value}" for key, value in case["labels"].items()]
        ok, detail = _run([str(amtool), "config", "routes", "test", f"--config.file={config}",
                           f"--verify.receivers={case['receiver']}", *labels])
        findings.append(Finding(f"amtool route: {case['why']} ({case['receiver']})", ok, "" if ok else detail))
    return findings


def rule_lint(out: Path) -> list[Finding]:
    """Every alert, generated or hand-written, carries what routing and the on-call need."""
    problems: list[str] = []
    for path in sorted((out / "prometheus" / "rules").glob("*.yaml")):
        for group in (yaml.load(path.read_text(), Loader=_LOADER) or {}).get("groups", []):
            for rule in group.get("rules", []):
                if "alert" not in rule:
                    continue
                labels, annotations = rule.get("labels", {}), rule.get("annotations", {})
                lacking = [f"label {k}" for k in REQUIRED_LABELS if k not in labels]
                lacking += [f"annotation {k}" for k in REQUIRED_ANNOTATIONS if k not in annotations]
                if labels.get("severity") not in (None, "page", "ticket"):
                    lacking.append(f"severity page|ticket (has {labels['severity']!r})")
                if lacking:
                    problems.append(f"{path.name}: {rule['alert']} lacks {', '.join(lacking)}")
    return [Finding("alert labels and annotations", not problems, "\n".join(problems))]


def scrape_interval_finding(catalog: Catalog, options: BuildOptions) -> list[Finding]:
    """rate() over the shortest window needs several scrapes in it, or the fast page tier is blind."""
    shortest = (recording_windows(catalog) or recording_windows())[0]
    ok = shortest.ms >= 4 * options.scrape_interval.ms
    detail = "" if ok else (f"the shortest SLO window {shortest} holds fewer than 4 scrapes at scrape_interval "
                            f"{options.scrape_interval}: rate() there is empty or noisy and the "
                            f"{shortest} tier cannot fire; scrape at least every "
                            f"{shortest.seconds / 4:g}s")
    return [Finding("SLO windows hold enough scrapes", ok, detail)]


def runbook_findings(catalog: Catalog) -> list[Finding]:
    names = alert_names(catalog) + custom.load().alert_names()
    where = runbooks.folder()
    problems = runbooks.problems(names, where)
    return [Finding(f"runbooks for {len(names)} alerts", not problems, "\n".join(problems))]


def run_all(catalog: Catalog, options: BuildOptions) -> list[Finding]:
    out = options.out
    return [*promtool_findings(out, catalog), *amtool_findings(out), *rule_lint(out), *scrape_interval_finding(catalog, options),
            *runbook_findings(catalog), *buckets.findings(catalog)]
