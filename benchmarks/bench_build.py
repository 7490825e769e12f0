"""How long `bongsu build` takes for a large catalog: 1,000 services x 2 SLOs (availability, latency).

Run: .venv/bin/python benchmarks/bench_build.py [--services 1000] [--rounds 3]
     .venv/bin/python benchmarks/bench_build.py --growth 100,1000,5000 [--rounds 3]

Times, interleaved round by round so machine noise hits all alike:
- `alerting generate`: the alerting generator alone, end to end (rules, routing, promtool tests,
  Kubernetes objects, files written);
- `emit (ours)` vs `emit (PyYAML C)`: writing the same rule and test documents as YAML with
  alert_rules/render.py and with PyYAML's CSafeDumper, the reason render.py exists;
- `bongsu build`: the whole CLI in a fresh process (every registered generator, interpreter start
  included); a failure of another generator is reported, not hidden.
Prints medians, ratios, and the number of rules per SLO and in total.

--growth: only the whole `bongsu build` (fresh process) for catalogs of each size, sizes interleaved
round by round; wall-clock medians, and CPU seconds (user + system, the process and its children),
which a busy shared machine disturbs far less than wall time.

--check: one `bongsu check` of the catalog (fresh process, promtool and amtool included), with the
runbooks drafted by `bongsu runbooks scaffold` into a scratch folder (BONGSU_RUNBOOKS_DIR) plus the
repository's runbooks for Bongsu's own alerts; wall and CPU seconds and the verdict.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bongsu.build import BuildOptions
from bongsu.catalog import Catalog, load_catalog
from alert_rules import generate, render, rule_tests, rules

TEAMS = 50


def catalog_text(services: int) -> str:
    data = {
        "slack": {"default_channel": "#alerts"},
        "teams": [{"name": f"team-{t}", "slack_channel": f"#team-{t}-oncall"} for t in range(TEAMS)],
        "services": [{
            "name": f"svc-{i:04d}", "team": f"team-{i % TEAMS}",
            "slos": [
                {"name": "availability", "sli": "http_availability", "objective": 99.9, "window": "30d"},
                {"name": "latency", "sli": "http_latency", "threshold": "250ms", "objective": 99, "window": "30d"},
            ]} for i in range(services)],
    }
    return yaml.safe_dump(data, sort_keys=False)


def rule_counts(out: Path) -> tuple[int, int, int, int]:
    """(recording rules, alerting rules, SLO groups, symptom rules) in the generated rule files."""
    records = alerts = slo_groups = symptoms = 0
    for path in (out / "prometheus" / "rules").glob("bongsu-*.yaml"):
        for group in yaml.load(path.read_text(), Loader=yaml.CSafeLoader)["groups"]:
            slo = group["name"].startswith("bongsu-slo-")
            slo_groups += slo
            symptoms += 0 if slo else len(group["rules"])
            for rule in group["rules"]:
                records += "record" in rule
                alerts += "alert" in rule
    return records, alerts, slo_groups, symptoms


class _PyYamlDumper(yaml.CSafeDumper):
    pass


_PyYamlDumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def documents(catalog: Catalog) -> list[dict]:
    found: list[dict] = []
    for service in catalog.services:
        found.append({"groups": rules.service_groups(catalog, service)})
        found.append(rule_tests.service_tests(catalog, service, f"../rules/bongsu-{service.name}.yaml"))
        slo_tests = rule_tests.slo_test_file(catalog, service, f"../rules/bongsu-{service.name}.yaml")
        if slo_tests is not None:
            found.append(slo_tests)
    return found


def whole_build(catalog_file: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `bongsu build` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bongsu", "build", "--catalog", str(catalog_file), "--out", str(out)],
                   check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def growth(sizes: list[int], rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bongsu-bench-") as scratch:
        folder = Path(scratch)
        for size in sizes:
            (folder / f"catalog-{size}.yaml").write_text(catalog_text(size))
        results: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}
        for round_ in range(rounds):
            for size in sizes:
                results[size].append(whole_build(folder / f"catalog-{size}.yaml", folder / f"out-{size}-{round_}"))
        outputs = {size: (sum(1 for p in (folder / f"out-{size}-0").rglob("*") if p.is_file()),
                          max(p.stat().st_size for p in (folder / f"out-{size}-0/grafana/dashboards").glob("*.json")))
                   for size in sizes}
    print(f"whole `bongsu build`, {rounds} rounds interleaved, {TEAMS} teams, 2 SLOs per service; "
          f"load average {os.getloadavg()[0]:.1f}")
    for size in sizes:
        walls, cpus = zip(*results[size])
        files, biggest = outputs[size]
        print(f"{size:>6} services: wall median {statistics.median(walls):6.2f}s "
              f"(runs {', '.join(f'{w:.2f}' for w in walls)}), CPU median {statistics.median(cpus):6.2f}s; "
              f"{files} files, largest dashboard {biggest / 2**20:.2f} MiB")


def check_once(services: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bongsu-bench-") as scratch:
        folder = Path(scratch)
        catalog_file = folder / "catalog.yaml"
        catalog_file.write_text(catalog_text(services))
        runbooks = folder / "runbooks"
        runbooks.mkdir()
        for own in (Path(__file__).resolve().parent.parent / "runbooks").glob("Bongsu*.md"):
            shutil.copy(own, runbooks)
        env = {**os.environ, "BONGSU_RUNBOOKS_DIR": str(runbooks)}
        bongsu = [sys.executable, "-m", "bongsu"]
        subprocess.run([*bongsu, "runbooks", "scaffold", "--catalog", str(catalog_file)], env=env, check=True,
                       capture_output=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run([*bongsu, "check", "--catalog", str(catalog_file)], env=env, capture_output=True,
                                text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = result.stdout.strip().splitlines()
    failed = [line for line in lines if not line.startswith("ok")]
    print(f"bongsu check, {services} services: {wall:.1f}s wall, {cpu:.1f}s CPU (with promtool and amtool), "
          f"exit {result.returncode}; load average {os.getloadavg()[0]:.1f}")
    for line in [*(line for line in lines if "promtool" in line), *failed[-5:], *result.stderr.splitlines()[-5:]]:
        print("  " + line[:300])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--growth", help="comma-separated catalog sizes: time only the whole build for each")
    parser.add_argument("--check", action="store_true", help="time one `bongsu check` of the catalog instead")
    args = parser.parse_args()
    if args.check:
        check_once(args.services)
        return
    if args.growth:
        growth([int(size) for size in args.growth.split(",")], args.rounds)
        return
    with tempfile.TemporaryDirectory(prefix="bongsu-bench-") as scratch:
        folder = Path(scratch)
        catalog_file = folder / "catalog.yaml"
        catalog_file.write_text(catalog_text(args.services))
        catalog = load_catalog(catalog_file)
        docs = documents(catalog)
        timings: dict[str, list[float]] = {"alerting generate": [], "emit (ours)": [], "emit (PyYAML C)": []}
        for round_ in range(args.rounds):
            started = time.perf_counter()
            generate(catalog, BuildOptions(out=folder / f"alerting-{round_}", webhook_token="bench"))
            timings["alerting generate"].append(time.perf_counter() - started)
            started = time.perf_counter()
            for doc in docs:
                render.dump(doc)
            timings["emit (ours)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            for doc in docs:
                yaml.dump(doc, Dumper=_PyYamlDumper, sort_keys=False, width=120)
            timings["emit (PyYAML C)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        full = subprocess.run([sys.executable, "-m", "bongsu", "build", "--catalog", str(catalog_file),
                               "--out", str(folder / "full")], capture_output=True, text=True)
        full_seconds = time.perf_counter() - started
        records, alerts, slo_groups, symptom = rule_counts(folder / "alerting-0")
        per_slo = (records + alerts - symptom) / slo_groups
        files = sum(1 for p in (folder / "alerting-0").rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in (folder / "alerting-0").rglob("*") if p.is_file()) / 2**20
    print(f"catalog: {args.services} services x 2 SLOs = {slo_groups} SLOs, {TEAMS} teams; {args.rounds} rounds")
    print(f"rules: {records} recording + {alerts} alerting = {records + alerts} "
          f"({per_slo:g} per SLO: 7 error ratios + 7 request rates + 4 burn-rate tiers + SLO-window ratio, "
          f"remaining budget, BudgetExhausted; + {symptom / args.services:g} symptom rules per service)")
    print(f"alerting output: {files} files, {size:.1f} MiB")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        print(f"{name:>18}: median {medians[name]:.2f}s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"PyYAML / ours for the same documents: {medians['emit (PyYAML C)'] / medians['emit (ours)']:.1f}x")
    outcome = "ok" if full.returncode == 0 else "FAILED: " + (full.stdout + full.stderr).strip().splitlines()[-1]
    print(f"bongsu build (all generators, one run): {full_seconds:.2f}s, {outcome}")

if __name__ == "__main__":
    main()
