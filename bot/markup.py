"""Whose text is it: Steward's own markup (trusted) or what a person typed (shown literally, always).

Reply text is neutral markup (`**bold**`, `_italic_`, `` `code` ``, `[label](url)`, `- ` lists). Only
`Markup` values are markup: Steward's templates and what it builds from them. Everything filled into a
`Markup` (`format`, `join`, `+`, and so every `ctx._(…, name=value)`) is untrusted by default: a person's
message, display name, title, agenda item, survey answer or kudos reason is wrapped in a *literal span*,
two private-use characters around it, which each adapter renders as plain text escaped for its platform:
never markup, never a link, never a ping. A literal span cannot be closed from inside (the markers are
removed from every value), and a plain `str` never passes for `Markup` (mypy checks every reply's text).

Adapters read a text with `hold`: each literal span becomes a numbered hole, the markup around it is
rendered, then `Held.fill` puts each span back escaped. Links render only to http(s) URLs (`web_url`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

OPEN, CLOSE = "\ue000", "\ue001"  # around a literal span in neutral text
_HOLE_OPEN, _HOLE_CLOSE = "\ue002", "\ue003"  # around a span's number while an adapter renders
_PRIVATE = (OPEN, CLOSE, _HOLE_OPEN, _HOLE_CLOSE)
_HOLE = re.compile(f"{_HOLE_OPEN}(\\d+){_HOLE_CLOSE}")
_WEB_URL = re.compile(r"https?://[^\s<>\"'`|\\^{}\x00-\x1f\x7f]+", re.IGNORECASE)


class Markup(str):
    """Neutral markup Steward wrote itself; whatever is combined with it is quoted as a literal span."""

    __slots__ = ()

    def __add__(self, other: str, /) -> Markup:
        return Markup(str.__add__(self, quote(other)))

    def __radd__(self, other: str, /) -> Markup:
        return Markup(str.__add__(quote(other), self))

    def join(self, items: Iterable[object], /) -> Markup:
        """Join with this markup between the items; items that are not `Markup` become literal spans."""
        return Markup(str.join(self, [str(_param(i)) for i in items]))

    def format(self, *args: object, **kwargs: object) -> Markup:
        """Fill the placeholders; values that are not `Markup` (or numbers) become literal spans."""
        return Markup(str.format(self, *map(_param, args), **{k: _param(v) for k, v in kwargs.items()}))


def literal(value: object) -> Markup:
    """`value` as a literal span: shown exactly as typed, never as markup, a link or a ping."""
    text = _without_markers(str(value))
    return Markup(f"{OPEN}{text}{CLOSE}") if text else Markup()


def _without_markers(text: str) -> str:
    """`text` without the private characters that delimit spans: typed text can never open or close one.

    A search and `replace` per marker, not `str.translate`: translate maps every character through a table
    (about 20 times slower on a reply-sized text, and every span of every reply passes here)."""
    for marker in _PRIVATE:
        if marker in text:
            text = text.replace(marker, "")
    return text


def quote(value: object) -> Markup:
    """`Markup` stays markup; anything else becomes a literal span."""
    return value if isinstance(value, Markup) else literal(value)


def _param(value: object) -> object:
    # Numbers hold no markup and keep their format specs (`{n:.1f}`); everything else is quoted.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return quote(value)


def plain(text: str) -> str:
    """The text as a reader sees it, markers removed (for logs and plain-text fields such as button labels)."""
    return _without_markers(text)


@dataclass(frozen=True, slots=True)
class Held:
    """A text whose literal spans wait in numbered holes while the markup around them is rendered."""

    text: str
    spans: tuple[str, ...]

    def reveal(self, fragment: str) -> str:
        """The fragment with its holes given back as typed (e.g. a link target, checked afterwards)."""
        return _HOLE.sub(lambda m: self.spans[int(m.group(1))], fragment)

    def fill(self, rendered: str, escape: Callable[[str], str]) -> str:
        """The rendered text with each hole replaced by its span, escaped for the platform."""
        if _HOLE_OPEN not in rendered:
            return rendered
        first, *parts = rendered.split(_HOLE_OPEN)
        out = [first]
        spans = self.spans
        for part in parts:  # a split rather than a regex with a callback: a long help text has dozens of holes
            number, close, rest = part.partition(_HOLE_CLOSE)
            if close and number.isdecimal() and int(number) < len(spans):
                out.append(escape(spans[int(number)]))  # not `+ rest`: a Markup would quote what is added to it
                out.append(rest)
            else:  # not a hole after all (hold() never makes one): left as it was
                out.append(_HOLE_OPEN + part)
        return "".join(out)


def hold(text: str) -> Held:
    """Put each literal span of `text` aside (stray markers are dropped, an unclosed span runs to the end)."""
    cleaned = text.replace(_HOLE_OPEN, "").replace(_HOLE_CLOSE, "")
    if OPEN not in cleaned:
        return Held(cleaned.replace(CLOSE, ""), ())
    # Each OPEN starts a span that runs to its CLOSE, else to the next OPEN or the end; CLOSEs outside
    # spans are dropped. No marker is left in a span: it stops at the first CLOSE, and `cleaned` has no hole markers.
    first, *parts = cleaned.split(OPEN)
    out, spans = [first.replace(CLOSE, "")], []
    for number, part in enumerate(parts):
        span, _, rest = part.partition(CLOSE)
        spans.append(span)
        out.append(f"{_HOLE_OPEN}{number}{_HOLE_CLOSE}{rest.replace(CLOSE, '')}")
    return Held("".join(out), tuple(spans))


def web_url(target: str) -> str | None:
    """`target` when it is an http(s) URL a link may point to, else None (no `javascript:`, no `!channel`)."""
    target = target.strip()
    return target if _WEB_URL.fullmatch(target) else None
