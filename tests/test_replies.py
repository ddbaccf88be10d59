"""Neutral message links become each platform's URL, and only them."""

from __future__ import annotations

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
