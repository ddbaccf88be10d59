"""Emoji ↔ Slack-style names, so features see `white_check_mark` whichever platform a reaction came from."""

from __future__ import annotations

VARIATION_SELECTOR = "\ufe0f"

NAMES: dict[str, str] = {
    "✅": "white_check_mark", "✔": "heavy_check_mark", "☑": "ballot_box_with_check",
    "👍": "+1", "👎": "-1", "🙏": "pray", "❤": "heart", "🎉": "tada", "🙌": "raised_hands",
    "👏": "clap", "💯": "100", "🔥": "fire", "🚀": "rocket", "👀": "eyes", "🤔": "thinking_face",
    "😂": "joy", "😄": "smile", "😃": "smiley", "🙂": "slightly_smiling_face", "😍": "heart_eyes",
    "😢": "cry", "😮": "open_mouth", "👋": "wave", "❌": "x", "⭐": "star", "💡": "bulb",
    "❓": "question", "❗": "exclamation", "🆗": "ok", "👌": "ok_hand", "💪": "muscle",
    "🤝": "handshake", "📌": "pushpin", "📝": "memo", "🐛": "bug", "⚠": "warning", "➕": "heavy_plus_sign",
    "✨": "sparkles", "🌟": "star2", "🏆": "trophy", "🎯": "dart",
    "1⃣": "one", "2⃣": "two", "3⃣": "three", "4⃣": "four", "5⃣": "five",
    "6⃣": "six", "7⃣": "seven", "8⃣": "eight", "9⃣": "nine", "🔟": "keycap_ten",
}
EMOJI: dict[str, str] = {name: emoji for emoji, name in NAMES.items()}
# The glyphs clients draw best carry the variation selector.
for _name in ("heart", "heavy_check_mark", "warning", "ballot_box_with_check"):
    EMOJI[_name] += VARIATION_SELECTOR
NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "keycap_ten")
for _i, _name in enumerate(NUMBERS[:9], start=1):
    EMOJI[_name] = f"{_i}{VARIATION_SELECTOR}\u20e3"


def emoji_name(key: str) -> str:
    """The Slack-style name of a reaction key; unknown emoji are kept as they are."""
    bare = key.replace(VARIATION_SELECTOR, "").strip()
    if len(bare) > 2 and bare.startswith(":") and bare.endswith(":"):
        return bare[1:-1]  # some clients send `:shortcode:` keys
    return NAMES.get(bare, bare)


def emoji_for(name: str) -> str:
    """The emoji to send for a Slack-style name (a raw emoji passes through)."""
    return EMOJI.get(name.strip(":"), name)


def number_emoji(index: int) -> str:
    """The keycap emoji of option `index` (0 → 1️⃣)."""
    return emoji_for(NUMBERS[index])


def number_index(name: str) -> int | None:
    """The option index a keycap reaction stands for, or None."""
    return NUMBERS.index(name) if name in NUMBERS else None
