"""The platform-neutral mention and kudos parser."""

from __future__ import annotations

import pytest

from bot.reputation.mentions import Kudos, mentions, parse_kudos, thanks_in_message


@pytest.mark.parametrize(("text", "people", "reason"), [
    ("<@U1> for the helm chart tip", ("U1",), "the helm chart tip"),  # Slack
    ("<@U1|ana> <@U2> and <@U3> for the review!", ("U1", "U2", "U3"), "the review"),  # several, with labels
    ("@ana:example.org, @bruno:matrix.org: for the ingress fix", ("@ana:example.org", "@bruno:matrix.org"),
     "the ingress fix"),  # Matrix ids
    ('<a href="https://matrix.to/#/@ana:example.org">Ana</a> for the pill', ("@ana:example.org",), "the pill"),
    ("@ana @bruno pour l'aide sur helm", ("ana", "bruno"), "l'aide sur helm"),  # console, French
    ("@ana", ("ana",), ""),
    ("@ana @ana for twice", ("ana",), "twice"),
    ("for nobody", (), "for nobody"),
])
def test_kudos_forms(text: str, people: tuple[str, ...], reason: str) -> None:
    assert parse_kudos(text) == Kudos(people, reason)


def test_mentions_anywhere_in_order() -> None:
    assert mentions("ask <@U9> or @eve:example.org, or even @zoe") == ["U9", "@eve:example.org", "zoe"]


@pytest.mark.parametrize(("text", "people"), [
    ("thanks @ana for the tip", ("ana",)),
    ("Thank you <@U1> <@U2>!", ("U1", "U2")),
    ("merci à @ana pour helm", ("ana",)),
    ("kudos to @bruno:example.org", ("@bruno:example.org",)),
    ("no thanks @ana", None),
    ("thanks to the docs", None),
    ("thanks!", None),
])
def test_thanks_in_ordinary_messages(text: str, people: tuple[str, ...] | None) -> None:
    found = thanks_in_message(text)
    assert (found.people if found else None) == people
