"""Neutral message links become each platform's URL, and only them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.markup import CLOSE, OPEN, hold
from bot.replies import AskChoice, Option, Post, React, message_link, parse_message_link, resolve_links


def test_neutral_links_round_trip_and_resolve() -> None:
    link = message_link("C1", "1700000000.000100")
    assert parse_message_link(link) == ("C1", "1700000000.000100")
    assert parse_message_link("https://example.org/x") is None
    reply = Post(channel="C1", text=f"see [the thread]({link}) and [docs](https://docs.example.org)")
    resolved = resolve_links(reply, lambda c, m: f"https://chat.example.org/{c}/{m}")
    assert resolved.text == ("see [the thread](https://chat.example.org/C1/1700000000.000100) "  # type: ignore[union-attr]
                             "and [docs](https://docs.example.org)")
    room_link = message_link("!room:example.org", "$event/with:colons")
    assert parse_message_link(room_link) == ("!room:example.org", "$event/with:colons")


def test_replies_without_links_are_untouched() -> None:
    react = React(channel="C1", message_id="1.2", emoji="+1")
    assert resolve_links(react, lambda c, m: "x") is react
    ask = AskChoice(channel="C1", text="pick", options=(Option(id="a", label="A"),), key="k")
    assert resolve_links(ask, lambda c, m: "x") is ask


def test_a_channel_link_is_the_channel_on_slack_and_its_name_elsewhere() -> None:
    """Slack shows `<#C2>` as the channel's current name to every reader (even one Steward never learned); the
    terminal and Matrix show the label. Only a Slack conversation id goes inside `<#…>`: a typed value cannot
    become a broadcast or another mention."""
    from adapters.console.render import render_text
    from adapters.matrix import render as matrix
    from adapters.slack.render import mrkdwn
    from bot.markup import Markup
    from bot.replies import channel_link, parse_channel_link

    where = Markup("Posts in {channel}.").format(channel=channel_link("#helm-clinic", "C2"))
    assert parse_channel_link("steward://channel/C2") == "C2" and parse_channel_link("https://x.org") is None
    assert mrkdwn(where) == "Posts in <#C2>."
    assert render_text(where, color=False) == "Posts in #helm-clinic."
    assert matrix.plain(where) == "Posts in #helm-clinic." and matrix.to_html(where) == "Posts in #helm-clinic."
    typed = Markup("Posts in {channel}.").format(channel=channel_link("@channel <b>", "C2|@channel> <!channel"))
    slack = mrkdwn(typed)
    assert "<!channel" not in slack and "<#C2|" not in slack and "@\u2060channel" in slack, slack
    assert "<b>" not in matrix.to_html(typed)



# The span grammar, written as a regex: the reference `hold` (a split, for speed) must agree with.
_REFERENCE_SPAN = re.compile(f"{OPEN}([^{OPEN}{CLOSE}]*)(?:{CLOSE}|(?={OPEN})|$)")
_MARKED = st.text(alphabet=st.sampled_from(["a", " ", "*", "[", "]", "(", ")", "@", "\n", "7", OPEN, CLOSE,
                                            "\ue002", "\ue003"]), max_size=60)


@settings(max_examples=400, deadline=None)
@given(_MARKED)
def test_hold_follows_the_span_grammar(text: str) -> None:
    cleaned = text.replace("\ue002", "").replace("\ue003", "")  # the hole markers never survive `hold`
    held = hold(text)
    assert list(held.spans) == [m.group(1) for m in _REFERENCE_SPAN.finditer(cleaned)]
    # every hole, and only them, filled in order; the stray CLOSEs outside spans dropped
    expected = _REFERENCE_SPAN.sub(lambda m: f"<{m.group(1)}>", cleaned).replace(CLOSE, "")
    assert held.fill(held.text, lambda span: f"<{span}>") == expected


def test_fill_puts_spans_back_as_they_are_escaped_even_as_markup() -> None:
    """An escape that returns `Markup` (as `literal` does) must not quote the text after the span."""
    from bot.markup import Markup, literal

    held = hold(Markup("a {x} b [l]({y}) c").format(x="1", y="https://e.org"))
    assert held.fill(held.text, literal) == f"a {OPEN}1{CLOSE} b [l]({OPEN}https://e.org{CLOSE}) c"
