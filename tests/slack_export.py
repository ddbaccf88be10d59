"""A small seeded Slack export written by the tests themselves (no file outside the repository needed).

The layout is Slack's: `users.json`, `channels.json`, and one `<channel>/<YYYY-MM-DD>.json` per day. Activity is
skewed (a few people write most), questions get threaded replies, and reactions come from random members,
so an import exercises members, messages, threads, reactions and mentions as a real export does.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = ("helm", "chart", "upgrade", "vault", "token", "ingress", "terraform", "state", "lock", "deploy",
         "rollback", "cluster", "node", "pod", "secret", "policy", "cache", "build", "pipeline", "review")


def write_export(root: Path, *, members: int = 40, channels: int = 3, days: int = 20, per_day: int = 50,
                 seed: int = 7, start: datetime = datetime(2024, 1, 1, tzinfo=UTC)) -> Path:
    """Write an export under `root/export` and return that folder."""
    rng = random.Random(seed)
    export = root / "export"
    export.mkdir(parents=True)
    users = [f"U{i:07d}" for i in range(members)]
    weights = [1.0 / (rank + 1) for rank in range(members)]  # Zipf-like: the first few write most
    (export / "users.json").write_text(json.dumps([
        {"id": u, "name": f"member{i}", "real_name": f"Member {i}", "deleted": False, "is_bot": False,
         "profile": {"display_name": f"member{i}", "real_name": f"Member {i}"}} for i, u in enumerate(users)]))
    names = [f"topic-{c}" for c in range(channels)]
    (export / "channels.json").write_text(json.dumps([
        {"id": f"C{c:06d}", "name": name, "created": int(start.timestamp()), "creator": users[0],
         "is_archived": False, "is_general": c == 0} for c, name in enumerate(names)]))
    for c, name in enumerate(names):
        folder = export / name
        folder.mkdir()
        for d in range(days):
            day = start + timedelta(days=d)
            messages: list[dict[str, object]] = []
            root_ts: str | None = None
            for n in range(per_day):
                at = day.timestamp() + 60 * n + c  # distinct per channel; threads below reuse root ts
                ts = f"{int(at)}.{n:06d}"
                author = rng.choices(users, weights)[0]
                message: dict[str, object] = {"type": "message", "user": author, "ts": ts,
                                              "text": " ".join(rng.choices(WORDS, k=rng.randint(4, 12)))}
                if root_ts is not None and rng.random() < 0.6:
                    message["thread_ts"] = root_ts  # a reply in the last question's thread
                else:
                    root_ts = ts
                    message["text"] = f"how do I {message['text']}?"
                if rng.random() < 0.3:
                    fans = rng.sample(users, rng.randint(1, 3))
                    message["reactions"] = [{"name": "+1", "users": fans, "count": len(fans)}]
                messages.append(message)
            (folder / f"{day:%Y-%m-%d}.json").write_text(json.dumps(messages))
    return export
