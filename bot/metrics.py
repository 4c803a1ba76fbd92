"""Prometheus metrics of one process: updates, handler latency, events, verifications."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The process's metrics, in a registry of their own (no global state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "permit_bot_updates_total",
            "Telegram updates handled, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "permit_bot_handler_seconds",
            "Time from receiving an update to the end of its handlers",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.events = Counter(
            "permit_events_total",
            "Records-system events, by outcome (accepted, duplicate, rejected_<status>)",
            ["outcome"],
            registry=self.registry,
        )
        self.verifications = Counter(
            "permit_verifications_total",
            "Verification page checks, by verdict",
            ["verdict"],
            registry=self.registry,
        )

        self.send_wait_seconds = Histogram(
            "permit_bot_send_wait_seconds",
            "Time a message waited for the send scheduler, by lane (interactive, bulk)",
            ["lane"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "permit_bot_telegram_429_total",
            "Telegram answers 429 Too Many Requests",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
