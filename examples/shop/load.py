"""A steady load on the shop, so SLIs have traffic: `python -m examples.shop.load --orders-url URL`.

Open-loop at a fixed rate (a slow shop does not slow the load down, as with real customers), with a
cap on requests in flight so a hung shop cannot make it grow without bound.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter

import httpx

CARDS = ("4242424242424242", "5555555555554444", "378282246310005")


async def _one(client: httpx.AsyncClient, base: str, outcomes: Counter) -> None:
    customer = f"customer-{random.randrange(500)}"
    try:
        if random.random() < 0.7:
            response = await client.post(f"{base}/orders", json={
                "customer_id": customer, "items": random.sample(["rice", "kimchi", "tea", "noodles", "tofu"], 2),
                "amount_cents": random.randrange(500, 9000), "card_number": random.choice(CARDS)})
        else:
            response = await client.get(f"{base}/orders", params={"limit": 10})
        outcomes[f"{response.status_code // 100}xx"] += 1
    except httpx.HTTPError:
        outcomes["error"] += 1


async def run(orders_url: str, rate: float, duration: float | None, max_in_flight: int = 200) -> Counter:
    outcomes: Counter = Counter()
    in_flight: set[asyncio.Task] = set()
    started = time.monotonic()
    next_report = started + 10
    async with httpx.AsyncClient(timeout=10.0) as client:
        sent = 0
        while duration is None or time.monotonic() - started < duration:
            due = started + sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent += 1
            if len(in_flight) >= max_in_flight:
                outcomes["shed"] += 1
                continue
            task = asyncio.create_task(_one(client, orders_url.rstrip("/"), outcomes))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            if time.monotonic() >= next_report:
                print(f"load: {dict(sorted(outcomes.items()))}", flush=True)
                next_report += 10
        await asyncio.gather(*in_flight, return_exceptions=True)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-url", default="http://127.0.0.1:8081")
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=None, help="seconds; default: until stopped")
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be above 0")
    try:
        outcomes = asyncio.run(run(args.orders_url, args.rate, args.duration))
    except KeyboardInterrupt:
        return 0
    print(f"load: done {dict(sorted(outcomes.items()))}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
