"""`/healthz`, `/readyz` and `/metrics` for an orchestrator and a Prometheus server.

- `/healthz`: the process answers (its event loop turns). Nothing else: a database that is away must not
  get a live process restarted.
- `/readyz`: ready to serve: the database answers and its schema is this version's; each adapter is
  connected or retrying in the background; a ritual leader is known (this process or another). 503 with the
  failing checks otherwise, as JSON.
- `/metrics`: Prometheus text format (bot/metrics.py), with the outbox and inbound counts read at scrape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from bot.core import Steward
from bot.metrics import EVENTS_WAITING, REGISTRY, REPLIES_PENDING
from storage.inbound import count_waiting
from storage.outbox import count_pending

CHECK_TIMEOUT = 2.0


class Leadership(Protocol):
    """What /readyz asks the ritual scheduler."""

    async def leader_known(self) -> bool:
        """True when some process (this one or another) leads the scheduler."""
        ...


def health_routes(steward: Steward, leadership: Leadership | None) -> list[web.RouteDef]:
    """The three endpoints, bound to this process's Steward and scheduler."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_request: web.Request) -> web.Response:
        checks = await readiness(steward, leadership)
        ready = all(ok for ok, _ in checks.values())
        body = {"ready": ready, "checks": {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}}
        return web.Response(status=200 if ready else 503, text=json.dumps(body) + "\n", content_type="application/json")

    async def metrics(_request: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                async with steward.db.reader() as conn:
                    EVENTS_WAITING.set(await count_waiting(conn))
                    REPLIES_PENDING.set(await count_pending(conn))
        except Exception:  # the counters still tell a lot while the database is away
            EVENTS_WAITING.set(float("nan"))
            REPLIES_PENDING.set(float("nan"))
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]


async def readiness(steward: Steward, leadership: Leadership | None) -> dict[str, tuple[bool, str]]:
    """Each readiness check: (ok, what was found)."""
    from app.cli_db import head_revision

    checks: dict[str, tuple[bool, str]] = {}
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            async with steward.db.reader() as conn:
                revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        head = head_revision()
        checks["database"] = (True, "reachable")
        checks["migrations"] = (revision == head, f"schema {revision}, this version's {head}")
    except Exception as err:
        checks["database"] = (False, f"not reachable ({type(err).__name__})")
    for platform in steward.adapters:
        status = steward.adapter_status.get(platform, "starting")
        checks[f"adapter:{platform}"] = (status in ("connected", "retrying"), status)
    if leadership is not None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                known = await leadership.leader_known()
        except Exception as err:
            known, why = False, f"cannot tell ({type(err).__name__})"
        else:
            why = "a leader runs the rituals" if known else "no process leads the rituals yet"
        checks["scheduler"] = (known, why)
    return checks

