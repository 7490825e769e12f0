"""The notifier's own metrics (names fixed in docs/contracts.md), on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bongsu import conventions
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.received = Counter(conventions.NOTIFIER_WEBHOOKS_RECEIVED, "Webhooks received, by outcome.",
                                ["outcome"], registry=self.registry)
        self.delivered = Counter(conventions.NOTIFIER_DELIVERIES, "Calls that reached Slack (or the terminal).",
                                 ["method"], registry=self.registry)
        self.retries = Counter(conventions.NOTIFIER_DELIVERY_RETRIES, "Delivery attempts that will be retried.",
                               ["reason"], registry=self.registry)
        self.failures = Counter(conventions.NOTIFIER_DELIVERY_FAILURES,
                                "Permanent delivery errors (including those rerouted to the default channel).",
                                ["error"], registry=self.registry)
        self.queue_depth = Gauge(conventions.NOTIFIER_QUEUE_DEPTH, "Accepted notifications not yet delivered.",
                                 registry=self.registry)
        self.latency = Histogram(conventions.NOTIFIER_DELIVERY_LATENCY,
                                 "Accepted webhook to Slack's answer for its message.",
                                 buckets=LATENCY_BUCKETS, registry=self.registry)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
