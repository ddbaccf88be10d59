"""Neutral replies → Matrix event contents."""

from __future__ import annotations

import pytest

from adapters.matrix.render import POLL_START, plain, render, to_html
from bot.errors import Unsupported
from bot.replies import AskChoice, DirectMessage, Ephemeral, Option, Post, React, ReplyInThread


def test_markup_becomes_escaped_html_and_readable_text() -> None:
    text = ("**Tip** for _you_: run `kubectl get <pods> && echo **no**`\n"
            "- see [the docs & more](https://k8s.io/?a=1&b=2)\n- not a [link](javascript:alert(1))\n"
            "snake_case_name stays <b>plain</b>")
    assert to_html(text) == (
        "<strong>Tip</strong> for <em>you</em>: run <code>kubectl get &lt;pods&gt; &amp;&amp; echo **no**</code><br>"
        '<ul><li>see <a href="https://k8s.io/?a=1&amp;b=2">the docs &amp; more</a></li>'
        "<li>not a [link](javascript:alert(1))</li></ul>"
        "snake_case_name stays &lt;b&gt;plain&lt;/b&gt;")
    assert plain("see [the docs](https://k8s.io) or [https://x.org](https://x.org)") == \
        "see the docs (https://k8s.io) or https://x.org"


def test_posts_threads_reactions() -> None:
    post = render(Post(channel="!r", text="**hi**"))
    assert (post.room, post.event_type) == ("!r", "m.room.message")
    assert post.content == {"msgtype": "m.notice", "body": "**hi**", "format": "org.matrix.custom.html",
                            "formatted_body": "<strong>hi</strong>", "m.mentions": {}}
    threaded = render(ReplyInThread(channel="!r", thread="$root", text="ok")).content["m.relates_to"]
    assert threaded == {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
                        "m.in_reply_to": {"event_id": "$root"}}
    react = render(React(channel="!r", message_id="$m", emoji="white_check_mark"))
    assert react.event_type == "m.reaction" and react.content["m.relates_to"]["key"] == "✅"


def test_private_replies_go_to_the_dm() -> None:
    assert render(DirectMessage(user="@ana:x", text="hi")).room is None  # the DM is created on send
    dm = render(DirectMessage(user="@ana:x", text="hi"), dm_room="!dm")
    assert (dm.room, dm.user) == ("!dm", "@ana:x")
    eph = render(Ephemeral(channel="!public", user="@ana:x", text="only you", thread="$t"), dm_room="!dm")
    assert eph.room == "!dm" and "m.relates_to" not in eph.content


def test_choices_are_polls_with_a_numbered_fallback() -> None:
    ask = AskChoice(channel="!r", text="Forget **you**?", key="forget:confirm", thread="$t",
                    options=(Option(id="yes", label="Yes"), Option(id="no", label="Cancel")))
    out = render(ask)
    assert out.event_type == POLL_START and out.room == "!r" and out.poll is not None
    assert (out.poll.key, out.poll.options, out.poll.user) == ("forget:confirm", ("yes", "no"), None)
    poll = out.content[POLL_START]
    assert [a["id"] for a in poll["answers"]] == ["yes", "no"] and poll["max_selections"] == 1
    assert out.content["m.poll"]["answers"][1] == {"m.id": "no", "m.text": [{"body": "Cancel"}]}
    assert out.content["body"] == "Forget **you**?\n1️⃣ Yes\n2️⃣ Cancel"
    assert out.content["m.relates_to"]["event_id"] == "$t"
    private = render(AskChoice(channel="!r", text="?", key="k", user="@ana:x", options=ask.options))
    assert (private.room, private.user) == (None, "@ana:x")
    with pytest.raises(Unsupported):
        render(AskChoice(channel="!r", text="?", key="k", options=tuple(Option(id=str(i), label="x")
                                                                         for i in range(11))))
