"""Steward's Prometheus metrics, in a registry of their own (`/metrics` serves it).

Only counts and durations: never a person's id, a channel, or a text in a label, so the metrics hold
nothing `forget me` would have to erase. Gauges that the database knows (events waiting, replies
pending) are read when scraped, not kept here (see app/health.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter("steward_events_handled", "Events handled by the core, by kind, platform and outcome",
                 ["kind", "platform", "outcome"], registry=REGISTRY)
HANDLER_SECONDS = Histogram("steward_event_handler_seconds", "Time from dispatch to commit of one event",
                            ["kind"], registry=REGISTRY,
                            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
REPLIES_SENT = Counter("steward_replies_sent", "Replies sent, by platform", ["platform"], registry=REGISTRY)
REPLIES_RETRIED = Counter("steward_replies_retried", "Replies sent again after a passing failure or taken over "
                          "from a stopped process, by platform and why", ["platform", "why"], registry=REGISTRY)
RATE_LIMITED = Counter("steward_rate_limited", "429 answers from a platform, by platform and method",
                       ["platform", "method"], registry=REGISTRY)
SCHEDULER_LATENESS = Histogram("steward_scheduler_lateness_seconds", "How late a ritual step fired after its time",
                               registry=REGISTRY, buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600))
INDEX_SECONDS = Histogram("steward_index_seconds", "Expertise index work, by phase (build, load, catch_up)", ["phase"],
                          registry=REGISTRY, buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300))

# Read from the database when /metrics is scraped (app/health.py).

EVENTS_WAITING = Gauge("steward_events_waiting", "Deliveries acknowledged and not handled yet (inbound ledger)",
                       registry=REGISTRY)
REPLIES_PENDING = Gauge("steward_replies_pending", "Replies kept in the outbox and not sent yet", registry=REGISTRY)
