"""The configuration file: parsed from TOML, checked key by key, refused with a message naming the key.

Secrets never live here: tokens and passwords come from the environment (see `SECRET_ENV`).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from bot.errors import NOT_SHOWN, ConfigError
from bot.i18n import normalise_locale
from bot.types import SUPPORTED_LOCALES

SECRET_WORDS = ("token", "password", "secret", "passphrase")
PLATFORMS = ("console", "slack", "matrix")
KEYS: dict[str, set[str]] = {  # every key the file may hold, by table (config.example.toml documents each)
    "": {"steward", "community", "slack", "matrix"},
    "steward": {"data_dir", "locale", "timezone", "log_level", "misfire_grace_time", "index_follow_seconds",
                "http", "public_url"},
    "community": {"slug", "name", "locale", "timezone", "founded", "channels", "coordinators", "sponsors",
                  "purpose", "intros", "explore", "rituals", "kudos_reactions", "leaderboard",
                  "survey_min_answers", "quotes", "core_threshold", "kudos_max_people", "kudos_per_hour"},
    "community.rituals": {"kind", "title", "schedule", "channel", "announce_days", "reminders", "followup_hours"},
    "slack": {"transport", "host", "port", "api_url"},
    "matrix": {"homeserver", "user_id", "device_name", "allowed_inviters", "encryption"},
}


@dataclass(frozen=True)
class RitualConfig:
    """A ritual declared in the config file (same meaning as `schedule meetup …` in chat)."""

    kind: str  # meetup | reminder
    title: str
    schedule: str  # e.g. "every 2nd tuesday at 16:00 America/Montreal"
    channel: str = ""  # "platform:id"; default: the community's first channel
    announce_days: int = 7
    reminders: tuple[float, ...] = (24.0, 1.0)  # hours before
    followup_hours: float = 2.0


@dataclass(frozen=True)
class CommunityConfig:
    """One community of practice and where it lives."""

    slug: str
    name: str = ""
    locale: str = "en"
    timezone: str = "UTC"
    founded: date | None = None
    channels: tuple[str, ...] = ()  # "slack:C0123", "matrix:!room:example.org"
    coordinators: tuple[str, ...] = ()  # "slack:U0123", "matrix:@ana:example.org", "console:ana"
    sponsors: tuple[str, ...] = ()
    purpose: str = ""  # told to newcomers in the welcome message
    intros: bool = False  # introduce each newcomer to someone of the core group
    explore: str = "every 3 months on the 1st at 10:00"  # "what should we explore next?" prompt
    rituals: tuple[RitualConfig, ...] = ()
    kudos_reactions: tuple[str, ...] = ("pray",)  # reactions that thank a message's author
    leaderboard: str = "off"  # off | levels | ranks
    survey_min_answers: int = 5  # k: survey results and stance counts are shown from k answers on (never < 3)
    quotes: bool = False  # members' default for "may Steward quote me to sponsors?" (`quotes on|off`)
    core_threshold: int = 8  # digest: messages + contributions in a month that make a member "core"
    kudos_max_people: int = 5  # people thanked by one message at most (the first ones; one DM each)
    kudos_per_hour: int = 10  # kudos (so DMs) one member may give in an hour

    def __post_init__(self) -> None:
        if self.survey_min_answers < 3:  # below 3, an aggregate can give away who answered what
            raise ConfigError(f"community {self.slug}: survey_min_answers", self.survey_min_answers,
                              "a whole number of at least 3")


@dataclass(frozen=True)
class SlackConfig:
    """The Slack app; tokens come from SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN."""

    transport: str = "http"  # http | socket
    host: str = "127.0.0.1"
    port: int = 3000
    api_url: str = ""  # the Web API's base URL; "" is Slack's own (https://slack.com/api/)


@dataclass(frozen=True)
class MatrixConfig:
    """The Matrix bot account; MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD come from the environment."""

    homeserver: str
    user_id: str
    device_name: str = "steward"
    allowed_inviters: tuple[str, ...] = ()  # user ids or server names
    encryption: bool | None = None  # None: on when matrix-nio[e2e] is installed


@dataclass(frozen=True)
class Config:
    """Everything Steward reads from its config file."""

    data_dir: Path
    locale: str = "en"
    timezone: str = "UTC"
    log_level: str = "INFO"
    misfire_grace_time: int = 3600  # seconds: a ritual step missed by less still fires (once)
    index_follow_seconds: float = 2.0  # between two reads of the changes other processes stored
    http: str = "127.0.0.1:8080"  # health, metrics and calendars when no Slack HTTP endpoint carries them
    public_url: str = ""  # where members reach Steward's HTTP server (calendar links); "" when unknown
    communities: tuple[CommunityConfig, ...] = ()
    slack: SlackConfig | None = None
    matrix: MatrixConfig | None = None
    source: Path | None = field(default=None, compare=False)

    def community(self, slug: str) -> CommunityConfig | None:
        """The community configured under `slug`."""
        return next((c for c in self.communities if c.slug == slug), None)


def default_data_dir() -> Path:
    """STEWARD_DATA_DIR, else the per-user data directory (e.g. ~/.local/share/steward)."""
    env = os.environ.get("STEWARD_DATA_DIR")
    return Path(env).expanduser() if env else Path(platformdirs.user_data_dir("steward"))


def load_config(path: Path | None) -> Config:
    """Read and check a config file; None gives the defaults (the embedded console setup)."""
    if path is None:
        return Config(data_dir=default_data_dir())
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError("--config", str(path), "an existing file (copy config.example.toml)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", str(path), f"valid TOML: {exc}") from exc
    return parse_config(raw, source=path)


def parse_config(raw: Mapping[str, Any], source: Path | None = None) -> Config:
    """Build a `Config` from parsed TOML, refusing unknown keys, wrong types and inline secrets."""
    _refuse_secrets(raw, "")
    _known(raw, "", KEYS[""])
    steward = _table(raw, "steward")
    _known(steward, "steward", KEYS["steward"])
    data_dir = Path(_str(steward, "steward.data_dir", str(default_data_dir()))).expanduser()
    locale = _locale(steward, "steward.locale", "en")
    tz = _timezone(steward, "steward.timezone", "UTC")
    level = _str(steward, "steward.log_level", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("steward.log_level", level, "one of DEBUG, INFO, WARNING, ERROR")
    grace = steward.get("misfire_grace_time", 3600)
    if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= 7 * 86400:
        raise ConfigError("steward.misfire_grace_time", grace, "seconds between 0 and 604800, e.g. 3600")
    follow = steward.get("index_follow_seconds", 2.0)
    if not isinstance(follow, int | float) or isinstance(follow, bool) or not 0.1 <= follow <= 3600:
        raise ConfigError("steward.index_follow_seconds", follow, "seconds between 0.1 and 3600, e.g. 2")
    http = _str(steward, "steward.http", Config.http)
    host, _, port = http.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("steward.http", http, "host:port to serve /healthz, /readyz and /metrics on, e.g. "
                          "\"127.0.0.1:8080\" (\"0.0.0.0:8080\" in a container)")
    communities = tuple(_community(c, i, locale, tz) for i, c in enumerate(_array(raw, "community")))
    slugs = [c.slug for c in communities]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise ConfigError("community.slug", slug, "each community to have its own slug")
    _one_community_per_channel(communities)
    return Config(data_dir=data_dir, locale=locale, timezone=tz, log_level=level, misfire_grace_time=grace,
                  index_follow_seconds=float(follow), http=http, public_url=_public_url(steward),
                  communities=communities,
                  slack=_slack(raw), matrix=_matrix(raw), source=source)


def _one_community_per_channel(communities: tuple[CommunityConfig, ...]) -> None:
    """A channel belongs to one community: declared in two, which one it answers for would be a silent guess."""
    owner: dict[str, str] = {}
    for index, community in enumerate(communities):
        for ref in community.channels:
            first = owner.setdefault(ref, community.slug)
            if first != community.slug:
                raise ConfigError(f"community[{index}].channels", ref,
                                  f"a channel of this community only, but {ref} is declared in both communities "
                                  f"\"{first}\" and \"{community.slug}\": keep it in one of them")


def _public_url(steward: Mapping[str, Any]) -> str:
    """`[steward] public_url`, without a trailing `/`; "" when absent."""
    if "public_url" not in steward:
        return ""
    value = _str(steward, "steward.public_url", None)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError("steward.public_url", value, "the http(s) address where members reach Steward's HTTP "
                          "server, e.g. https://steward.example.org")
    return value.rstrip("/")


def _community(raw: Any, index: int, locale: str, tz: str) -> CommunityConfig:
    key = f"community[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, "a table ([[community]])")
    _known(raw, key, KEYS["community"])
    slug = _str(raw, f"{key}.slug", None)
    if not slug.replace("-", "").replace("_", "").isalnum() or len(slug) > 64:
        raise ConfigError(f"{key}.slug", slug, "letters, digits, - or _ (at most 64), e.g. \"k8s\"")
    founded = raw.get("founded")
    if founded is not None and not isinstance(founded, date):
        raise ConfigError(f"{key}.founded", founded, "a TOML date such as 2024-03-12 (no quotes)")
    refs = {name: _refs(raw, f"{key}.{name}") for name in ("channels", "coordinators", "sponsors")}
    intros = raw.get("intros", False)
    if not isinstance(intros, bool):
        raise ConfigError(f"{key}.intros", intros, "true or false")
    community_tz = _timezone(raw, f"{key}.timezone", tz)
    explore = _str(raw, f"{key}.explore", CommunityConfig.explore)
    _check_schedule(f"{key}.explore", explore, community_tz)
    rituals = tuple(_ritual(r, f"{key}.rituals[{i}]", community_tz) for i, r in enumerate(_array(raw, "rituals")))
    k = raw.get("survey_min_answers", 5)
    if not isinstance(k, int) or isinstance(k, bool) or not 3 <= k <= 1000:
        raise ConfigError(f"{key}.survey_min_answers", k, "a whole number of at least 3 (anonymity needs a crowd), "
                          "e.g. 5")
    quotes = raw.get("quotes", False)
    if not isinstance(quotes, bool):
        raise ConfigError(f"{key}.quotes", quotes, "true or false")
    core = raw.get("core_threshold", 8)
    if not isinstance(core, int) or isinstance(core, bool) or not 1 <= core <= 10_000:
        raise ConfigError(f"{key}.core_threshold", core, "a whole number of messages and contributions per month, "
                          "e.g. 8")
    kudos_max = _count(raw, f"{key}.kudos_max_people", CommunityConfig.kudos_max_people, 1, 50)
    kudos_hour = _count(raw, f"{key}.kudos_per_hour", CommunityConfig.kudos_per_hour, 1, 1000)
    return CommunityConfig(slug=slug, name=_str(raw, f"{key}.name", slug),
                           locale=_locale(raw, f"{key}.locale", locale), timezone=community_tz, founded=founded,
                           purpose=raw.get("purpose", "") and _str(raw, f"{key}.purpose", ""), intros=intros,
                           explore=explore, rituals=rituals, kudos_reactions=_reactions(raw, f"{key}.kudos_reactions"),
                           leaderboard=_leaderboard(raw, f"{key}.leaderboard"), survey_min_answers=k,
                           quotes=quotes, core_threshold=core, kudos_max_people=kudos_max,
                           kudos_per_hour=kudos_hour, **refs)


def _count(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key.rpartition(".")[2], default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(key, value, f"a whole number from {low} to {high}, e.g. {default}")
    return value


def _reactions(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get("kudos_reactions", ["pray"])
    names = [v.strip().strip(":") for v in value] if isinstance(value, list) and all(
        isinstance(v, str) for v in value) else None
    if names is None or not all(re.fullmatch(r"[a-z0-9_+\-']{1,100}", n) for n in names):
        raise ConfigError(key, value, "a list of reaction names, e.g. [\"pray\", \"raised_hands\"] ([] for none)")
    return tuple(names)


def _leaderboard(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get("leaderboard", "off")
    if value not in ("off", "levels", "ranks"):
        raise ConfigError(key, value, "\"off\" (default), \"levels\" (Contributor, Regular, Mentor, Steward) "
                          "or \"ranks\" (a ranked list with scores)")
    return str(value)


def _check_schedule(key: str, text: str, tz: str) -> None:
    from bot.errors import InputError
    from bot.schedule import parse_schedule

    try:
        parse_schedule(text, default_tz=tz, today=date.today())
    except InputError as err:
        raise ConfigError(key, text, f"a schedule such as \"every 2nd tuesday at 16:00 America/Montreal\" "
                          f"({err.params.get('problem', '')})") from None


def _ritual(raw: Any, key: str, tz: str) -> RitualConfig:
    if not isinstance(raw, Mapping):
        raise ConfigError(key, raw, "a table ([[community.rituals]])")
    _known(raw, key, KEYS["community.rituals"])
    kind = _str(raw, f"{key}.kind", "meetup")
    if kind not in ("meetup", "reminder"):
        raise ConfigError(f"{key}.kind", kind, "\"meetup\" or \"reminder\"")
    schedule = _str(raw, f"{key}.schedule", None)
    _check_schedule(f"{key}.schedule", schedule, tz)
    channel = raw.get("channel", "")
    if channel:
        _refs({"channel": [channel]}, f"{key}.channel")
    days = raw.get("announce_days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
        raise ConfigError(f"{key}.announce_days", days, "a number of days between 0 and 60")
    reminders = raw.get("reminders", [24, 1])
    if not isinstance(reminders, list) or not all(
            isinstance(h, int | float) and not isinstance(h, bool) and 0 < h <= 24 * 30 for h in reminders):
        raise ConfigError(f"{key}.reminders", reminders, "a list of hours before the meetup, e.g. [24, 1]")
    followup = raw.get("followup_hours", 2)
    if not isinstance(followup, int | float) or isinstance(followup, bool) or not 0 <= followup <= 24 * 7:
        raise ConfigError(f"{key}.followup_hours", followup, "hours after the start, e.g. 2")
    return RitualConfig(kind=kind, title=_str(raw, f"{key}.title", None), schedule=schedule, channel=channel,
                        announce_days=days, reminders=tuple(float(h) for h in reminders),
                        followup_hours=float(followup))


def _slack(raw: Mapping[str, Any]) -> SlackConfig | None:
    if "slack" not in raw:
        return None
    table = _table(raw, "slack")
    _known(table, "slack", KEYS["slack"])
    transport = _str(table, "slack.transport", "http")
    if transport not in ("http", "socket"):
        raise ConfigError("slack.transport", transport, "\"http\" (Events API) or \"socket\" (Socket Mode)")
    port = table.get("port", 3000)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError("slack.port", port, "a port number between 1 and 65535")
    return SlackConfig(transport=transport, host=_str(table, "slack.host", "127.0.0.1"), port=port,
                       api_url=_api_url(table))


def _api_url(table: Mapping[str, Any]) -> str:
    """`[slack] api_url`, ending with `/` as slack_sdk appends the method name to it; "" when absent."""
    if "api_url" not in table:
        return ""
    value = _str(table, "slack.api_url", None)
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError("slack.api_url", value, "an http(s) URL of the Slack Web API, such as "
                          "https://slack.com/api/ (the default; set it only for a proxy or a test double)")
    return value if value.endswith("/") else value + "/"


def _matrix(raw: Mapping[str, Any]) -> MatrixConfig | None:
    if "matrix" not in raw:
        return None
    table = _table(raw, "matrix")
    _known(table, "matrix", KEYS["matrix"])
    homeserver = _str(table, "matrix.homeserver", None)
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError("matrix.homeserver", homeserver, "a URL such as https://matrix.example.org")
    user_id = _str(table, "matrix.user_id", None)
    if not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("matrix.user_id", user_id, "a full Matrix id such as @steward:example.org")
    encryption = table.get("encryption")
    if encryption is not None and not isinstance(encryption, bool):
        raise ConfigError("matrix.encryption", encryption, "true or false")
    inviters = table.get("allowed_inviters", [])
    if not isinstance(inviters, list) or not all(isinstance(i, str) for i in inviters):
        raise ConfigError("matrix.allowed_inviters", inviters,
                          "a list of user ids or server names, e.g. [\"@ana:example.org\", \"example.org\"]")
    return MatrixConfig(homeserver=homeserver.rstrip("/"), user_id=user_id,
                        device_name=_str(table, "matrix.device_name", "steward"),
                        allowed_inviters=tuple(inviters), encryption=encryption)


def _refuse_secrets(raw: Mapping[str, Any], prefix: str) -> None:
    for key, value in raw.items():
        path = f"{prefix}.{key}" if prefix else key
        if any(word in key.lower() for word in SECRET_WORDS):
            raise ConfigError(path, NOT_SHOWN, "no secret in the config file: set it in the environment "
                              "(SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, MATRIX_ACCESS_TOKEN "
                              "or MATRIX_PASSWORD)")
        if isinstance(value, Mapping):
            _refuse_secrets(value, path)


def _known(raw: Mapping[str, Any], prefix: str, allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "one of " + ", ".join(sorted(allowed))
            raise ConfigError(f"{prefix}.{key}" if prefix else key, NOT_SHOWN, f"a known key: {hint}")


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, f"a table ([{key}])")
    return value


def _array(raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(key, value, f"an array of tables ([[{key}]])")
    return value


def _str(raw: Mapping[str, Any], key: str, default: str | None) -> str:
    name = key.rsplit(".", 1)[-1]
    if name not in raw:
        if default is None:
            raise ConfigError(key, None, "a value (this key is required)")
        return default
    value = raw[name]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "a non-empty string")
    return value.strip()


def _locale(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = _str(raw, key, default)
    locale = normalise_locale(value)
    if locale is None:
        raise ConfigError(key, value, "one of " + ", ".join(f'"{loc}"' for loc in SUPPORTED_LOCALES))
    return locale


def _timezone(raw: Mapping[str, Any], key: str, default: str) -> str:
    value = _str(raw, key, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(key, value, "an IANA time zone such as \"Europe/Paris\" or \"UTC\"") from exc
    return value


def _refs(raw: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = raw.get(key.rsplit(".", 1)[-1], [])
    if not isinstance(value, list):
        raise ConfigError(key, value, "a list of \"platform:id\" strings, e.g. [\"slack:C0123\"]")
    for ref in value:
        platform, _, ident = ref.partition(":") if isinstance(ref, str) else ("", "", "")
        if platform not in PLATFORMS or not ident:
            raise ConfigError(key, ref, "\"platform:id\" with platform one of " + ", ".join(PLATFORMS)
                              + ", e.g. \"slack:C0123\" or \"matrix:!room:example.org\"")
    return tuple(value)
