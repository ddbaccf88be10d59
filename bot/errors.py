"""The exceptions Steward raises, as a small tree.

    StewardError
    ├── ConfigError          a config key is wrong (names the key, the value, what is expected)
    ├── InputError           a member typed something we cannot use (carries a message and the right form)
    └── AdapterError         a platform call failed
        ├── RateLimited      the platform asked us to slow down (retry_after seconds)
        ├── NotPermitted     the member or the bot lacks the right
        ├── Unsupported      the platform lacks the capability; the feature falls back
        └── Transient        worth retrying (network loss, 5xx)
"""

from __future__ import annotations


class StewardError(Exception):
    """Base of every error Steward raises on purpose."""


NOT_SHOWN = object()  # a ConfigError value never echoed (an unknown key may hold a misplaced secret)


class ConfigError(StewardError):
    """The configuration is refused; the message names the key and what is expected."""

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key, self.value, self.expected = key, value, expected
        shown = "" if value is NOT_SHOWN else f" = {value!r}"
        super().__init__(f"config key `{key}`{shown}: expected {expected}")


class Msgid(str):
    """A message parameter that is itself a msgid, translated when the message is shown."""

    __slots__ = ()


class Detail:
    """A translatable fragment with placeholders of its own, e.g. the precise problem inside a message.

    It reads as English where no member is around (logs, the CLI); `Context._` translates it.
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid, self.params = msgid, params

    def __str__(self) -> str:
        return self.msgid.format(**self.params)

    def __repr__(self) -> str:
        return f"Detail({str(self)!r})"


class InputError(StewardError):
    """Member input we cannot use, answered with `msgid` translated for the member.

    `params` fill its placeholders (a `Msgid` or `Detail` value is translated too); `usage_key` names
    the command whose usage in the member's language fills `{usage}`.
    """

    def __init__(self, msgid: str, *, usage_key: str | None = None, **params: object) -> None:
        self.msgid, self.params, self.usage_key = msgid, params, usage_key
        super().__init__(msgid.format(usage=usage_key or "", **params) if "{" in msgid else msgid)


class AdapterError(StewardError):
    """A platform call failed."""


class RateLimited(AdapterError):
    """The platform asked us to wait `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "") -> None:
        self.retry_after = retry_after
        super().__init__(f"rate limited, retry after {retry_after:.1f}s {detail}".strip())


class NotPermitted(AdapterError):
    """The member (or the bot) is not allowed to do this."""


class Unsupported(AdapterError):
    """The platform cannot do this; callers fall back to something simpler."""


class Transient(AdapterError):
    """A passing failure (network, 5xx): retry later."""
