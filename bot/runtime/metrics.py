"""Prometheus metrics (prometheus-client), one registry per process (or per test)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.dns import Outcome

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Every metric deskguard exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.verifications = Counter(
            "deskguard_verifications",
            "Verifications by verdict and source",
            ["verdict", "source"],
            registry=r,
        )
        self.dns_latency = Histogram(
            "deskguard_dns_lookup_seconds",
            "DNS look-up latency by type and outcome",
            ["rdtype", "outcome"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.slack_errors = Counter(
            "deskguard_slack_api_errors", "Slack Web API calls that failed", ["method"], registry=r
        )
        self.queue_depth = Gauge(
            "deskguard_queue_depth", "Inbound messages not yet processed", registry=r
        )
        self.queue_age = Gauge(
            "deskguard_queue_oldest_age_seconds", "Age of the oldest queued message", registry=r
        )
        self.queue_processed = Counter(
            "deskguard_queue_processed", "Inbound messages processed", ["outcome"], registry=r
        )
        self.queue_dead_letters = Gauge(
            "deskguard_queue_dead_letters",
            "Inbound messages given up on (deskguard queue dead-letters)",
            registry=r,
        )
        self.slack_connect_retries = Counter(
            "deskguard_slack_connect_retries",
            "Start-up attempts to reach Slack that failed and were retried",
            registry=r,
        )
        self.approval_transitions = Counter(
            "deskguard_approval_transitions",
            "Approval transitions by event and outcome",
            ["event", "outcome"],
            registry=r,
        )
        self.registry_reloads = Counter(
            "deskguard_registry_reloads", "Registry reloads by outcome", ["outcome"], registry=r
        )

    def observe_dns(self, rdtype: str, seconds: float, outcome: Outcome) -> None:
        """The DNS resolver's observer hook."""
        self.dns_latency.labels(rdtype, outcome.value).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
