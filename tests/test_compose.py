"""compose.yaml, as an operator runs it: what it needs is documented, no secret is committed, its checks probe
endpoints that exist. (No container runs here: `make image` builds and starts the image itself.)"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_wires_steward_to_postgres_with_secrets_from_an_uncommitted_env_file() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    steward, postgres = compose["services"]["steward"], compose["services"]["postgres"]
    assert steward["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert steward["env_file"] == ".env" and "/healthz" in " ".join(steward["healthcheck"]["test"])
    assert set(compose["volumes"]) == {"pgdata", "steward-data"}
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert needed and all(re.search(rf"^{name}=", example, re.M) for name in needed)
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, ".env must be ignored by git: it holds the secrets"
    assert "STEWARD_DATABASE_URL" in steward["environment"] and "postgres:5432" in steward["environment"][
        "STEWARD_DATABASE_URL"]


def test_the_health_check_probes_a_route_steward_serves() -> None:
    from app.health import health_routes

    paths = {route.path for route in health_routes(None, None)}  # type: ignore[arg-type]
    assert {"/healthz", "/readyz", "/metrics"} <= paths
