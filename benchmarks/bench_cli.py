"""How fast the `bongsu` command answers: whole-process runs of `bongsu --help` and `bongsu check --help`,
side by side with the interpreter alone and, with --baseline REF, the same commands from another commit.

Run: .venv/bin/python benchmarks/bench_cli.py [--rounds 15] [--baseline 1dc486b]

Every round runs each variant once, in turn (interleaved), so machine noise hits all alike; the table
shows medians, the spread (quartiles) and the ratio to this checkout. The baseline's files come from
`git archive REF` into a scratch folder and run with the same interpreter and installed packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {"bongsu --help": ["--help"], "bongsu check --help": ["check", "--help"]}


def run_once(argv: list[str], source: Path) -> float:
    """Seconds from process start to exit, for `python -m bongsu ARGV` run from `source` (`-m` puts the
    working directory first on the path, so that tree's code runs)."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bongsu", *argv], env=env, cwd=source, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def interpreter_once() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--baseline", help="a git ref to compare with (e.g. the commit before lazy imports)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        sources = {"this checkout": REPO}
        if args.baseline:
            sources[f"at {args.baseline}"] = extract(args.baseline, Path(scratch))
        variants = {"python -c pass": interpreter_once}
        mine: dict[str, str] = {"python -c pass": "python -c pass"}  # variant -> what its ratio divides by
        for label, source in sources.items():
            for name, argv in COMMANDS.items():
                variants[f"{name} ({label})"] = lambda argv=argv, source=source: run_once(argv, source)
                mine[f"{name} ({label})"] = f"{name} (this checkout)"
        for run in variants.values():  # warm the file cache once
            run()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                times[name].append(run())
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds, interleaved; load average {load:.1f}; {os.cpu_count()} cores")
    print(f"{'variant':<44} {'median':>8} {'q1':>7} {'q3':>7} {'ratio':>7}")
    for name, values in times.items():
        q1, median, q3 = statistics.quantiles(values, n=4)
        ratio = median / statistics.median(times[mine[name]])
        print(f"{name:<44} {median * 1000:>6.0f}ms {q1 * 1000:>5.0f}ms {q3 * 1000:>5.0f}ms {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
