"""Notifier benchmark (issues 4 and 12): end-to-end latency of two replicas on PostgreSQL against
Alertmanager's native Slack sender, sustained durable intake, and takeover time after kill -9.

    .venv/bin/python benchmarks/bench_notifier.py [--samples 40] [--seconds 5] [--rounds 3] [--takeovers 3]

A throwaway PostgreSQL (tests/postgres_server.py) holds the shared outbox of two real
`bongsu notifier serve --store postgresql://...` replicas. One real Alertmanager routes every test
alert to both paths at once (a `continue: true` route): the notifier receiver has one webhook per
replica (both replicas get every notification, as behind an HA pair, and de-duplicate it), and a
native `slack_configs` receiver, all against the same local Slack-compatible server
(tests/slack_server.py). Each alert is measured on both paths side by side, from
`POST /api/v2/alerts` to the Slack server recording the message, on one clock.
Throughput: distinct group states posted straight to both replicas' `/alertmanager` (each committed
to PostgreSQL before the 2xx) while their delivery loops run, in rounds interleaved with a bare
Starlette endpoint that only reads the body (the ceiling of this machine and client).
Takeover: a group's post reaches Slack but its answer is lost, the lane's owner is killed with
SIGKILL, and the time until the other replica has looked the post up and finished the delivery is
measured. Prints a JSON summary; the figures in docs/benchmarks.md come from it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import socket
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bongsu.processes import Child, alertmanager, free_port  # noqa: E402 - imported after sys.path names the repository
from tests.postgres_server import PostgresServer  # noqa: E402 - imported after sys.path names the repository
from tests.slack_server import SlackServer  # noqa: E402 - imported after sys.path names the repository

TOKEN, SLACK_TOKEN = "bench-webhook-token", "xoxb-bench"
BONGSU = Path(sys.executable).parent / "bongsu"


def notifier(workdir: Path, slack: SlackServer, name: str, store: str) -> tuple[Child, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    child = Child(name, [str(BONGSU), "notifier", "serve", "--listen", f"127.0.0.1:{port}",
                         "--state", str(workdir / name / "state.sqlite"), "--store", store], workdir / f"{name}.log",
                  health_url=f"{url}/readyz",
                  env={"BONGSU_WEBHOOK_TOKEN": TOKEN, "SLACK_BOT_TOKEN": SLACK_TOKEN, "SLACK_API_URL": slack.url,
                       "PROMETHEUS_URL": "", "ALERTMANAGER_URL": ""})
    child.start()
    child.wait_healthy(timeout=90)
    return child, url


def am_config(notifier_urls: list[str], slack: SlackServer) -> dict:
    timers = {"group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s", "repeat_interval": "1h"}
    return {
        "route": {"receiver": "native", **timers, "routes": [
            {"receiver": "notifier", "continue": True, **timers},
            {"receiver": "native", **timers}]},
        "receivers": [
            {"name": "notifier", "webhook_configs": [{
                "url": f"{url}/alertmanager", "send_resolved": False,
                "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}}} for url in notifier_urls]},
            {"name": "native", "slack_configs": [{
                "api_url": slack.webhook_url, "channel": "#bench-native", "send_resolved": False,
                "title": "{{ .CommonLabels.alertname }}", "text": "{{ .CommonAnnotations.summary }}"}]},
        ],
    }


def end_to_end(am_url: str, slack: SlackServer, samples: int) -> dict:
    notifier_ms, native_ms, ratios = [], [], []
    for index in range(samples):
        name = f"BenchLatency{index:03d}"
        now = datetime.now(timezone.utc)
        alert = {"labels": {"alertname": name, "severity": "page", "slack_channel": f"#bench-{index % 8}"},
                 "annotations": {"summary": f"{name} fired"}, "startsAt": now.isoformat(),
                 "endsAt": (now + timedelta(hours=1)).isoformat(), "generatorURL": "http://127.0.0.1:9/graph"}
        sent = time.time()
        httpx.post(f"{am_url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
        slack.wait_for(lambda s: any(name in m["text"] for m in s.messages())
                       and any(name in json.dumps(n["payload"]) for n in s.native()), 30, name)
        ours = next(m for m in slack.messages() if name in m["text"])
        native = next(n for n in slack.native() if name in json.dumps(n["payload"]))
        ours_ms = (ours["at"] - sent) * 1000
        native_ms_one = (native["at"] - sent) * 1000
        notifier_ms.append(ours_ms)
        native_ms.append(native_ms_one)
        ratios.append(ours_ms / native_ms_one)
        time.sleep(0.2)
    return {
        "samples": samples,
        "notifier_ms": {"p50": _q(notifier_ms, 50), "p90": _q(notifier_ms, 90)},
        "native_ms": {"p50": _q(native_ms, 50), "p90": _q(native_ms, 90)},
        "ratio_of_medians": round(statistics.median(notifier_ms) / statistics.median(native_ms), 3),
        "median_of_paired_ratios": round(statistics.median(ratios), 3),
    }


def _q(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(percentile / 100 * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


def load_body(n: int, started_at: str) -> bytes:
    labels = {"alertname": f"BenchLoad{n}", "severity": "ticket", "slack_channel": "#bench-load"}
    return json.dumps({
        "version": "4", "groupKey": f'{{}}:{{alertname="BenchLoad{n}"}}', "truncatedAlerts": 0,
        "status": "firing", "receiver": "notifier", "groupLabels": {"alertname": f"BenchLoad{n}"},
        "commonLabels": labels, "commonAnnotations": {"summary": "load"}, "externalURL": "http://127.0.0.1:9",
        "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": "load"},
                    "startsAt": started_at, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
                    "fingerprint": f"{n:016x}"}]}).encode()


async def throughput(ports: list[int], seconds: float, concurrency: int) -> dict:
    """Keep-alive HTTP/1.1 over raw asyncio streams: a client cheap enough not to be the bottleneck."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    started_at = datetime.now(timezone.utc).isoformat()
    deadline = time.monotonic() + seconds

    async def worker(port: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while time.monotonic() < deadline:
                body = load_body(next(counter), started_at)
                request = (f"POST /alertmanager HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
                start = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors += 1
        finally:
            writer.close()

    began = time.monotonic()
    await asyncio.gather(*(worker(ports[i % len(ports)]) for i in range(concurrency)))
    elapsed = time.monotonic() - began
    return {"concurrency": concurrency, "seconds": round(elapsed, 2), "accepted": len(latencies), "errors": errors,
            "groups_per_second": round(len(latencies) / elapsed, 1),
            "requests_per_second": round(len(latencies) / elapsed, 1),
            "accept_ms": {"p50": _q(latencies, 50), "p99": _q(latencies, 99)}}


def sequential_accept(url: str, count: int) -> dict:
    latencies = []
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            labels = {"alertname": f"BenchOne{n}", "slack_channel": "#bench-load"}
            payload = {"version": "4", "groupKey": f"seq-{n}", "status": "firing", "commonLabels": labels,
                       "alerts": [{"status": "firing", "labels": labels, "fingerprint": f"s{n}",
                                   "startsAt": datetime.now(timezone.utc).isoformat()}]}
            start = time.perf_counter()
            answer = client.post(f"{url}/alertmanager", json=payload, headers={"Authorization": f"Bearer {TOKEN}"})
            latencies.append((time.perf_counter() - start) * 1000)
            answer.raise_for_status()
    return {"requests": count, "accept_ms": {"p50": _q(latencies, 50), "p99": _q(latencies, 99)}}


BARE_SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def accept(request):
    await request.body()
    return JSONResponse({"status": "accepted"})

uvicorn.run(Starlette(routes=[Route("/alertmanager", accept, methods=["POST"])]), host="127.0.0.1",
            port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def bare_server(workdir: Path) -> tuple[Child, int]:
    port = free_port()
    child = Child("bare", [sys.executable, "-c", BARE_SERVER, str(port)], workdir / "bare.log",
                  health_url=f"http://127.0.0.1:{port}/alertmanager")
    child.start()
    child.wait_healthy(timeout=60)
    return child, port


def interleaved_throughput(notifier_ports: list[int], bare_port: int, rounds: int, seconds: float,
                           concurrency: int) -> dict:
    runs: dict[str, list[dict]] = {"notifier": [], "bare": []}
    for _ in range(rounds):
        runs["notifier"].append(asyncio.run(throughput(notifier_ports, seconds, concurrency)))
        runs["bare"].append(asyncio.run(throughput([bare_port], seconds, concurrency)))
    median = lambda key, path: statistics.median(_dig(r, path) for r in runs[key])  # noqa: E731 - a named one-line poll for wait_for
    return {
        "rounds": rounds, "seconds_each": seconds, "concurrency": concurrency,
        "notifier_groups_per_second": [r["groups_per_second"] for r in runs["notifier"]],
        "bare_requests_per_second": [r["requests_per_second"] for r in runs["bare"]],
        "notifier_median_groups_per_second": median("notifier", ("groups_per_second",)),
        "bare_median_requests_per_second": median("bare", ("requests_per_second",)),
        "notifier_share_of_bare": round(median("notifier", ("groups_per_second",))
                                        / median("bare", ("requests_per_second",)), 3),
        "notifier_accept_ms_under_load": {"p50": median("notifier", ("accept_ms", "p50")),
                                          "p99": median("notifier", ("accept_ms", "p99"))},
        "errors": sum(r["errors"] for r in runs["notifier"]),
    }


def _dig(data: dict, path: tuple[str, ...]) -> float:
    for key in path:
        data = data[key]
    return data


def _lane_owner(store: str, lane: str) -> str | None:
    import psycopg

    with psycopg.connect(store) as conn:
        row = conn.execute("SELECT owner FROM leases WHERE lane=%s AND expires_at > now()", (lane,)).fetchone()
    return row[0] if row else None


def takeover(replicas: list[tuple[Child, str]], slack: SlackServer, store: str, trials: int) -> dict:
    """kill -9 the lane's owner while Slack's answer to its post is lost; time until a survivor finished."""
    seconds: list[float] = []
    for trial in range(trials):
        channel, name = f"#bench-takeover-{trial}", f"BenchTakeover{trial}"
        slack.hang(120, count=1, methods={"chat.postMessage"}, after_record=True)
        labels = {"alertname": name, "severity": "page", "slack_channel": channel}
        body = json.dumps({"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing",
                           "receiver": "notifier", "groupLabels": {"alertname": name}, "commonLabels": labels,
                           "alerts": [{"status": "firing", "labels": labels, "fingerprint": f"t{trial}",
                                       "startsAt": datetime.now(timezone.utc).isoformat()}]})
        httpx.post(f"{replicas[0][1]}/alertmanager", content=body, timeout=10,
                   headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
        slack.wait_for(lambda s: len(s.roots(channel)) == 1, 60, f"{name} recorded by Slack")
        owner = _lane_owner(store, channel)
        victim = next(r for r in replicas if owner and f"-{r[0].process.pid}-" in owner)
        survivor = next(r for r in replicas if r is not victim)
        victim[0].kill()
        killed = time.monotonic()
        while True:
            found = [d for d in httpx.get(f"{survivor[1]}/api/deliveries", params={"all": "1"}, timeout=10,
                                          headers={"Authorization": f"Bearer {TOKEN}"}).json()
                     if d.get("alerts") and d["alerts"][0]["labels"]["alertname"] == name]
            if found and found[0]["state"] == "delivered":
                break
            if time.monotonic() - killed > 120:
                raise RuntimeError(f"no takeover of {channel} within 120 s")
            time.sleep(0.05)
        seconds.append(time.monotonic() - killed)
        if len(slack.roots(channel)) != 1:
            raise RuntimeError(f"{channel}: {len(slack.roots(channel))} messages after the takeover")
        victim[0].start()
        victim[0].wait_healthy(timeout=90)
    return {"trials": trials, "seconds": [round(x, 2) for x in seconds],
            "median_s": round(statistics.median(seconds), 2), "max_s": round(max(seconds), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40, help="alerts for the end-to-end comparison")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved throughput rounds per server")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--takeovers", type=int, default=3, help="kill -9 trials")
    args = parser.parse_args()
    results: dict = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="bench-notifier-") as scratch, PostgresServer() as pg, \
            SlackServer(token=SLACK_TOKEN, rate_limit_per_channel=1000) as slack:
        workdir = Path(scratch)
        store = pg.create_database("bench")
        children: list[Child] = []
        try:
            replicas = [notifier(workdir, slack, f"notifier-{i}", store) for i in range(2)]
            children += [child for child, _ in replicas]
            config = workdir / "alertmanager.yml"
            config.write_text(json.dumps(am_config([url for _, url in replicas], slack)))
            am_port = free_port()
            am = alertmanager(config, am_port, workdir / "am-data", workdir / "alertmanager.log")
            children.append(am.start())
            am.wait_healthy(timeout=60)
            results["end_to_end"] = end_to_end(f"http://127.0.0.1:{am_port}", slack, args.samples)
            print(json.dumps(results["end_to_end"]), file=sys.stderr)
            am.stop()

            results["takeover"] = takeover(replicas, slack, store, args.takeovers)
            print(json.dumps(results["takeover"]), file=sys.stderr)

            results["accept_sequential"] = sequential_accept(replicas[0][1], 200)
            bare, bare_port = bare_server(workdir)
            children.append(bare)
            results["throughput"] = interleaved_throughput([int(url.rsplit(":", 1)[1]) for _, url in replicas],
                                                           bare_port, args.rounds, args.seconds, args.concurrency)
        finally:
            for child in reversed(children):
                child.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
