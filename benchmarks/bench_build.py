"""How long `bongsu build` takes for a large catalog: 1,000 services x 2 SLOs (availability, latency).

Run: .venv/bin/python benchmarks/bench_build.py [--services 1000] [--rounds 5]

Times, interleaved round by round so machine noise hits both alike:
- `alerting`: the alerting generator alone (rules, routing, promtool tests, Kubernetes objects);
- `bongsu build`: the whole CLI in a fresh process (every registered generator, interpreter start included).
Prints medians, the ratio, and the number of rules per SLO and in total.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bongsu.build import BuildOptions
from bongsu.catalog import load_catalog
from alert_rules import generate

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


def rule_counts(out: Path) -> tuple[int, int, int]:
    """(recording rules, alerting rules, SLO groups) in the generated rule files."""
    records = alerts = slo_groups = 0
    for path in (out / "prometheus" / "rules").glob("bongsu-*.yaml"):
        for group in yaml.load(path.read_text(), Loader=yaml.CSafeLoader)["groups"]:
            slo_groups += group["name"].startswith("bongsu-slo-")
            for rule in group["rules"]:
                records += "record" in rule
                alerts += "alert" in rule
    return records, alerts, slo_groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bongsu-bench-") as scratch:
        folder = Path(scratch)
        catalog_file = folder / "catalog.yaml"
        catalog_file.write_text(catalog_text(args.services))
        catalog = load_catalog(catalog_file)
        timings: dict[str, list[float]] = {"alerting": [], "bongsu build": []}
        for round_ in range(args.rounds):
            out = folder / f"alerting-{round_}"
            started = time.perf_counter()
            generate(catalog, BuildOptions(out=out, webhook_token="bench"))
            timings["alerting"].append(time.perf_counter() - started)
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "bongsu", "build", "--catalog", str(catalog_file),
                                     "--out", str(folder / f"full-{round_}")], capture_output=True, text=True)
            timings["bongsu build"].append(time.perf_counter() - started)
            if result.returncode != 0:
                sys.exit(f"bongsu build failed:\n{result.stdout}{result.stderr}")
        records, alerts, slo_groups = rule_counts(folder / "alerting-0")
        symptom = 2 * args.services
        per_slo = (records + alerts - symptom) / slo_groups
        files = sum(1 for p in (folder / "alerting-0").rglob("*") if p.is_file())
        size = sum(p.stat().st_size for p in (folder / "alerting-0").rglob("*") if p.is_file()) / 2**20
    print(f"catalog: {args.services} services x 2 SLOs = {slo_groups} SLOs, {TEAMS} teams; {args.rounds} rounds")
    print(f"rules: {records} recording + {alerts} alerting = {records + alerts} "
          f"({per_slo:g} per SLO: 7 error ratios + 7 request rates + 4 burn-rate tiers; "
          f"+2 symptom alerts per service)")
    print(f"alerting output: {files} files, {size:.1f} MiB")
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, values in timings.items():
        print(f"{name:>13}: median {medians[name]:.2f}s  (runs: {', '.join(f'{v:.2f}' for v in values)})")
    print(f"alerting share of the full build: {medians['alerting'] / medians['bongsu build']:.2f}")


if __name__ == "__main__":
    main()
