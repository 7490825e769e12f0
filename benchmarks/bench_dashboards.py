"""How long the dashboards generator and its check take for a large catalog, and why queries are parsed
in-process with promql-parser rather than by asking Prometheus.

Run: .venv/bin/python benchmarks/bench_dashboards.py [--services 500] [--rounds 3] [--queries 300]

Interleaved round by round so machine noise hits all alike:
- `generate`: every dashboard for N services x 2 SLOs (50 teams, one experiment per 10 services) built
  with grafanalib and written as JSON, plus provisioning files;
- `check`: the dashboards part of `bongsu check` over those files (variables filled in, every query
  parsed, every metric name looked up, every linked UID resolved);
- `parse (promql-parser)` vs `parse (Prometheus API)`: the same sample of expanded queries parsed
  in-process, and sent one by one to a real Prometheus' `/api/v1/format_query` (its own parser; the
  alternative design). Both must accept every query.
Prints medians per round, ratios, and the counts behind them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from bongsu.build import BuildOptions
from bongsu.catalog import parse_catalog
from bongsu.processes import free_port, prometheus
from dashboards import build
from dashboards.promql import Interval, expand, metric_names, panel_queries, variable_values

TEAMS = 50


def catalog_text(services: int) -> str:
    names = [f"svc-{i:04d}" for i in range(services)]
    return yaml.safe_dump({
        "slack": {"default_channel": "#alerts"},
        "teams": [{"name": f"team-{t}", "slack_channel": f"#team-{t}-oncall"} for t in range(TEAMS)],
        "services": [{
            "name": name, "team": f"team-{i % TEAMS}",
            "slos": [
                {"name": "availability", "sli": "http_availability", "objective": 99.9, "window": "30d"},
                {"name": "latency", "sli": "http_latency", "threshold": "250ms", "objective": 99, "window": "30d"},
            ]} for i, name in enumerate(names)],
        "experiments": [{"name": f"exp-{i}", "service": names[i], "variants": ["control", "treatment"]}
                        for i in range(0, services, 10)],
    }, sort_keys=False)


def sample_queries(out: Path, count: int) -> list[str]:
    interval = Interval(step_s=15, range_s=3600, scrape_interval_s=15)
    found: list[str] = []
    for path in sorted((out / "grafana" / "dashboards").glob("*.json")):
        model = json.loads(path.read_text())
        values = variable_values(model)
        found += [expand(target["expr"], values, interval) for _, target in panel_queries(model)]
    step = max(1, len(found) // count)
    return found[::step][:count]


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    catalog = parse_catalog(catalog_text(args.services), "bench")
    work = Path(tempfile.mkdtemp(prefix="bench-dashboards-"))
    options = BuildOptions(out=work / "out")
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "15s"}, "scrape_configs": []}))
    port = free_port()
    server = prometheus(config, port, work / "data", work / "prometheus.log").start()
    times: dict[str, list[float]] = {k: [] for k in ("generate", "check", "parse (promql-parser)",
                                                     "parse (Prometheus API)")}
    try:
        server.wait_healthy(timeout=60)
        api = f"http://127.0.0.1:{port}/api/v1/format_query"
        with httpx.Client(timeout=30) as client:
            for _ in range(args.rounds):
                written = []
                times["generate"].append(timed(lambda: written.extend(build.generate(catalog, options))))
                findings: list = []
                times["check"].append(timed(lambda: findings.extend(build.check(catalog, options))))
                failed = [f for f in findings if not f.ok]
                assert not failed, failed[:3]
                queries = sample_queries(options.out, args.queries)
                times["parse (promql-parser)"].append(timed(lambda: [metric_names(q) for q in queries]))

                def ask_prometheus() -> None:
                    for query in queries:
                        answer = client.post(api, data={"query": query})
                        assert answer.status_code == 200, (query, answer.text)

                times["parse (Prometheus API)"].append(timed(ask_prometheus))
    finally:
        server.stop()
    dashboards = len(list((options.out / "grafana" / "dashboards").glob("*.json")))
    checked = sum(int(f.check.split(": ")[2].split()[0]) for f in findings if "queries parse" in f.check)
    print(f"{args.services} services, {dashboards} dashboards, {checked} queries checked, "
          f"{len(queries)} sampled for the parser comparison, {args.rounds} rounds")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"  {name:<24} median {value:8.3f} s   rounds {', '.join(f'{v:.3f}' for v in times[name])}")
    print(f"  check per query: {medians['check'] / checked * 1e6:.0f} us; "
          f"Prometheus API / promql-parser: {medians['parse (Prometheus API)'] / medians['parse (promql-parser)']:.1f}x")


if __name__ == "__main__":
    main()
