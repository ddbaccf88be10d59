"""Neutral replies → Block Kit, validated by slack_sdk's models."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackObjectFormationError

from adapters.slack import render
from adapters.slack.render import FormField
from bot.replies import AskChoice, Option


def test_markup_becomes_mrkdwn() -> None:
    text = "**Hi** see [the docs](https://x.org/a?b=1&c=2)\n- one\n  - two\n1 < 2 & `code`"
    assert render.mrkdwn(text) == ("*Hi* see <https://x.org/a?b=1&amp;c=2|the docs>\n• one\n  • two\n"
                                   "1 &lt; 2 &amp; `code`")


def test_long_text_is_split_into_sections_and_keeps_a_fallback() -> None:
    lines = "\n".join(f"- item {i} " + "x" * 80 for i in range(100))
    args = render.message(lines)
    assert len(args["blocks"]) > 1
    assert all(len(b["text"]["text"]) <= render.SECTION_LIMIT for b in args["blocks"])
    assert args["text"].startswith("• item 0")


def test_choice_has_one_button_per_option() -> None:
    ask = AskChoice(channel="C1", text="Forget you?", key="forget:confirm", user="UANA",
                    options=(Option(id="yes", label="Yes, forget me " + "!" * 100), Option(id="no", label="Cancel")))
    args = render.choice(ask)
    buttons = args["blocks"][-1]["elements"]
    assert [b["value"] for b in buttons] == ["yes", "no"]
    assert len(buttons[0]["text"]["text"]) <= render.BUTTON_TEXT_LIMIT
    assert args["text"] == "Forget you?"


def test_modal_round_trips_its_key_and_place() -> None:
    view = render.modal(key="survey:3", title="Quarterly survey, a long title", intro="**Two** minutes",
                        fields=(FormField(id="answer", label="What helped you most?", multiline=True),),
                        channel="C1", thread="1.1")
    assert view["type"] == "modal" and view["callback_id"] == "form|survey:3"
    assert len(view["title"]["text"]) <= 24
    assert json.loads(view["private_metadata"]) == {"channel": "C1", "thread": "1.1"}
    assert view["blocks"][-1]["block_id"] == "answer"


def test_limits_are_enforced_by_slack_sdk() -> None:
    with pytest.raises(SlackObjectFormationError):
        render.modal(key="k" * 300, title="t", fields=(FormField(id="a", label="a"),))


@pytest.mark.parametrize("text", [
    "**Hi**", "", " ", "- a\n- b\n  - c\n\n- d", "x\n" * 2000, "word " * 1000, "a\n- b",
    "- first item\n\n  -  indented\n-no space\n\t- tab", "1 < 2 & @channel `code` [x](https://e.org)"])
def test_text_messages_are_what_slack_sdk_s_models_give(text: str) -> None:
    """`message` writes its sections by hand, for speed: they must be exactly what the models make."""
    args = render.message(text)
    rendered = render.mrkdwn(text)
    assert args["blocks"] == [b.to_dict() for b in render.text_blocks(text, rendered)]
    assert args["text"] == render._fit(rendered, render.TEXT_LIMIT)


def test_list_items_become_bullets_only_at_a_line_start() -> None:
    assert render.mrkdwn("- a\n  - b\n\t- c\nx - d\n-e\n\n- f") == "• a\n  • b\n\t• c\nx - d\n-e\n\n• f"
