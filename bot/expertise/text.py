"""Tokenisation of chat messages into index terms (Slack markup stripped, English and French)."""

from __future__ import annotations

import re

# Slack markup: user/channel mentions and special commands carry no topic, links keep their label.
_LINK_LABEL = re.compile(r"<(?:https?|mailto):[^>|]*\|([^>]*)>")
_MARKUP = re.compile(r"<[@#!][^>]*>|<(?:https?|mailto):[^>]*>|:[a-z0-9_+\-']+:")
# Words are runs of letters, digits and underscores (so snake_case names stay whole); "c++", "c#"
# and "f#" keep their suffix, "k8s" is one word.
_WORD = re.compile(r"\w+[+#]*")

STOP_WORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being below
    between both but by can could did do does doing don down during each else etc even ever few for
    from further get got had has have having he her here hers herself him himself his how however i
    if in into is it its itself just let ll me might more most much must my myself no nor not now of
    off on once only or other our ours ourselves out over own re s same shall she should so some such
    t than that the their theirs them themselves then there these they this those through to too
    under until up us ve very was way we were what when where which while who whom why will with
    would yet you your yours yourself yourselves m d
    thanks thank hi hello hey please anyone someone something anything know like need want use using
    ai au aux avec ce ces cet cette dans de des du elle elles en est et être eu il ils je la le les
    leur leurs lui ma mais me mes moi mon même ne nos notre nous on ont ou où par pas pour qu que
    qui sa se ses son sont sur ta te tes toi ton tu un une vos votre vous y c j l n qu été était sont
    fait faire bonjour merci quelqu quelque chose comment est-ce avoir
    """.split()
)


def strip_markup(text: str) -> str:
    """Return the text with Slack mentions, bare links and :emoji: removed and link labels kept."""
    return _MARKUP.sub(" ", _LINK_LABEL.sub(r" \1 ", text))


def tokens(text: str) -> list[str]:
    """Return the index terms of a message, in order, duplicates kept."""
    if "<" in text or ":" in text:
        text = strip_markup(text)
    return [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and not (w.isdigit() and len(w) < 4)]


def overlap(a: str, b: str) -> float:
    """How much two texts say the same: the Dice coefficient of their index terms (0 to 1)."""
    x, y = set(tokens(a)), set(tokens(b))
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0
