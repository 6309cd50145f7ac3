"""Tokens for the diff engine: word tokens for similarity, lossless tokens for word-level spans.

Three views of a text, all Unicode-aware and linear (one compiled regex each):

- :func:`split_words` — the tokens similarity is measured on: runs of word characters, single
  punctuation/symbol characters, whitespace dropped. Han, kana and Bopomofo characters are one
  token each (those scripts do not put spaces between words).
- :func:`tokenize` — the same tokens *plus* the whitespace runs between them, so
  ``"".join(tokenize(text)) == text``. Word-level highlight spans are built on these.
- :func:`word_count` — what a person calls the length of an answer: whitespace-separated words,
  each CJK character counting as one word (CJK punctuation counts as none).

A token never splits a user-perceived character: combining marks (accents, Indic vowel signs,
Hebrew points, variation selectors), emoji skin-tone modifiers and tag sequences, zero-width
joiner sequences (👨‍👩‍👧) and regional-indicator pairs (flags) stay with the character they
extend. So a highlight span never cuts an ``é`` written as ``e`` + U+0301 in half. (A mark
right after whitespace, a defective sequence, is a token of its own: whitespace tokens stay pure
whitespace so that ignoring whitespace never drops a mark.)

Pure-ASCII text (most English output) takes a simpler regex that gives the same tokens ~2x faster.
"""

from __future__ import annotations

import re

from reviewer.diff._fast import on_first_use

__all__ = ["split_words", "tokenize", "word_count"]

# Every code point of general category M (Mn, Mc, Me) in Unicode 14.0 (Python 3.11's
# ``unicodedata``) as regex class ranges, split at U+FFFF because ``re`` tests a class of BMP
# characters with a bitmap but a class with astral ranges range by range (3x slower per word).
# Python's ``re`` has no ``\p{M}``, and computing these at import costs ~12 ms, so they are written
# out; tests/test_align.py checks them against ``unicodedata``. Regenerate with
#     [c for c in range(0x110000) if unicodedata.category(chr(c))[0] == "M"]
_MARKS_BMP = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1-\u05c2\u05c4-\u05c5\u05c7\u0610-\u061a"
    "\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7-\u06e8\u06ea-\u06ed\u0711\u0730-\u074a"
    "\u07a6-\u07b0\u07eb-\u07f3\u07fd\u0816-\u0819\u081b-\u0823\u0825-\u0827\u0829-\u082d"
    "\u0859-\u085b\u0898-\u089f\u08ca-\u08e1\u08e3-\u0903\u093a-\u093c\u093e-\u094f\u0951-\u0957"
    "\u0962-\u0963\u0981-\u0983\u09bc\u09be-\u09c4\u09c7-\u09c8\u09cb-\u09cd\u09d7\u09e2-\u09e3"
    "\u09fe\u0a01-\u0a03\u0a3c\u0a3e-\u0a42\u0a47-\u0a48\u0a4b-\u0a4d\u0a51\u0a70-\u0a71\u0a75"
    "\u0a81-\u0a83\u0abc\u0abe-\u0ac5\u0ac7-\u0ac9\u0acb-\u0acd\u0ae2-\u0ae3\u0afa-\u0aff"
    "\u0b01-\u0b03\u0b3c\u0b3e-\u0b44\u0b47-\u0b48\u0b4b-\u0b4d\u0b55-\u0b57\u0b62-\u0b63\u0b82"
    "\u0bbe-\u0bc2\u0bc6-\u0bc8\u0bca-\u0bcd\u0bd7\u0c00-\u0c04\u0c3c\u0c3e-\u0c44\u0c46-\u0c48"
    "\u0c4a-\u0c4d\u0c55-\u0c56\u0c62-\u0c63\u0c81-\u0c83\u0cbc\u0cbe-\u0cc4\u0cc6-\u0cc8"
    "\u0cca-\u0ccd\u0cd5-\u0cd6\u0ce2-\u0ce3\u0d00-\u0d03\u0d3b-\u0d3c\u0d3e-\u0d44\u0d46-\u0d48"
    "\u0d4a-\u0d4d\u0d57\u0d62-\u0d63\u0d81-\u0d83\u0dca\u0dcf-\u0dd4\u0dd6\u0dd8-\u0ddf"
    "\u0df2-\u0df3\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u0f18-\u0f19"
    "\u0f35\u0f37\u0f39\u0f3e-\u0f3f\u0f71-\u0f84\u0f86-\u0f87\u0f8d-\u0f97\u0f99-\u0fbc\u0fc6"
    "\u102b-\u103e\u1056-\u1059\u105e-\u1060\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d"
    "\u108f\u109a-\u109d\u135d-\u135f\u1712-\u1715\u1732-\u1734\u1752-\u1753\u1772-\u1773"
    "\u17b4-\u17d3\u17dd\u180b-\u180d\u180f\u1885-\u1886\u18a9\u1920-\u192b\u1930-\u193b"
    "\u1a17-\u1a1b\u1a55-\u1a5e\u1a60-\u1a7c\u1a7f\u1ab0-\u1ace\u1b00-\u1b04\u1b34-\u1b44"
    "\u1b6b-\u1b73\u1b80-\u1b82\u1ba1-\u1bad\u1be6-\u1bf3\u1c24-\u1c37\u1cd0-\u1cd2\u1cd4-\u1ce8"
    "\u1ced\u1cf4\u1cf7-\u1cf9\u1dc0-\u1dff\u20d0-\u20f0\u2cef-\u2cf1\u2d7f\u2de0-\u2dff"
    "\u302a-\u302f\u3099-\u309a\ua66f-\ua672\ua674-\ua67d\ua69e-\ua69f\ua6f0-\ua6f1\ua802\ua806"
    "\ua80b\ua823-\ua827\ua82c\ua880-\ua881\ua8b4-\ua8c5\ua8e0-\ua8f1\ua8ff\ua926-\ua92d"
    "\ua947-\ua953\ua980-\ua983\ua9b3-\ua9c0\ua9e5\uaa29-\uaa36\uaa43\uaa4c-\uaa4d\uaa7b-\uaa7d"
    "\uaab0\uaab2-\uaab4\uaab7-\uaab8\uaabe-\uaabf\uaac1\uaaeb-\uaaef\uaaf5-\uaaf6\uabe3-\uabea"
    "\uabec-\uabed\ufb1e\ufe00-\ufe0f\ufe20-\ufe2f"
)
_MARKS_ASTRAL = (
    "\U000101fd\U000102e0\U00010376-\U0001037a\U00010a01-\U00010a03\U00010a05-\U00010a06"
    "\U00010a0c-\U00010a0f\U00010a38-\U00010a3a\U00010a3f\U00010ae5-\U00010ae6"
    "\U00010d24-\U00010d27\U00010eab-\U00010eac\U00010f46-\U00010f50\U00010f82-\U00010f85"
    "\U00011000-\U00011002\U00011038-\U00011046\U00011070\U00011073-\U00011074"
    "\U0001107f-\U00011082\U000110b0-\U000110ba\U000110c2\U00011100-\U00011102"
    "\U00011127-\U00011134\U00011145-\U00011146\U00011173\U00011180-\U00011182"
    "\U000111b3-\U000111c0\U000111c9-\U000111cc\U000111ce-\U000111cf\U0001122c-\U00011237"
    "\U0001123e\U000112df-\U000112ea\U00011300-\U00011303\U0001133b-\U0001133c"
    "\U0001133e-\U00011344\U00011347-\U00011348\U0001134b-\U0001134d\U00011357"
    "\U00011362-\U00011363\U00011366-\U0001136c\U00011370-\U00011374\U00011435-\U00011446"
    "\U0001145e\U000114b0-\U000114c3\U000115af-\U000115b5\U000115b8-\U000115c0"
    "\U000115dc-\U000115dd\U00011630-\U00011640\U000116ab-\U000116b7\U0001171d-\U0001172b"
    "\U0001182c-\U0001183a\U00011930-\U00011935\U00011937-\U00011938\U0001193b-\U0001193e"
    "\U00011940\U00011942-\U00011943\U000119d1-\U000119d7\U000119da-\U000119e0\U000119e4"
    "\U00011a01-\U00011a0a\U00011a33-\U00011a39\U00011a3b-\U00011a3e\U00011a47"
    "\U00011a51-\U00011a5b\U00011a8a-\U00011a99\U00011c2f-\U00011c36\U00011c38-\U00011c3f"
    "\U00011c92-\U00011ca7\U00011ca9-\U00011cb6\U00011d31-\U00011d36\U00011d3a"
    "\U00011d3c-\U00011d3d\U00011d3f-\U00011d45\U00011d47\U00011d8a-\U00011d8e"
    "\U00011d90-\U00011d91\U00011d93-\U00011d97\U00011ef3-\U00011ef6\U00016af0-\U00016af4"
    "\U00016b30-\U00016b36\U00016f4f\U00016f51-\U00016f87\U00016f8f-\U00016f92\U00016fe4"
    "\U00016ff0-\U00016ff1\U0001bc9d-\U0001bc9e\U0001cf00-\U0001cf2d\U0001cf30-\U0001cf46"
    "\U0001d165-\U0001d169\U0001d16d-\U0001d172\U0001d17b-\U0001d182\U0001d185-\U0001d18b"
    "\U0001d1aa-\U0001d1ad\U0001d242-\U0001d244\U0001da00-\U0001da36\U0001da3b-\U0001da6c"
    "\U0001da75\U0001da84\U0001da9b-\U0001da9f\U0001daa1-\U0001daaf\U0001e000-\U0001e006"
    "\U0001e008-\U0001e018\U0001e01b-\U0001e021\U0001e023-\U0001e024\U0001e026-\U0001e02a"
    "\U0001e130-\U0001e136\U0001e2ae\U0001e2ec-\U0001e2ef\U0001e8d0-\U0001e8d6"
    "\U0001e944-\U0001e94a\U000e0100-\U000e01ef"
)

#: Scripts written without spaces between words, tokenized one character at a time: CJK radicals,
#: iteration marks (々〆〇), Hangzhou numerals, kana, Bopomofo, Han ideographs (BMP and planes 2-3),
#: compatibility ideographs, halfwidth katakana, kana supplement. Hangul is spaced, so not here.
_CJK = (
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3040-\u30ff"
    "\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
    "\U0001b000-\U0001b16f\U00020000-\U0003134f"
)
#: CJK punctuation (、。「」, fullwidth ！？，：): not words for :func:`word_count`.
_CJK_PUNCT = "\u3000-\u3004\u3008-\u3020\u3030\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"

#: What extends the character before it: a combining mark, an emoji modifier or tag character,
#: or a zero-width (non-)joiner together with the character it joins. The astral class is only
#: tried on an astral character (the lookahead is one cheap range test).
_EXT = (
    "(?:[" + _MARKS_BMP + "]"
    "|(?=[^\x00-\uffff])[" + _MARKS_ASTRAL + "\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
    "|[\u200c\u200d]\\S?)"
)
_WORD_CHAR = "[^\\W" + _CJK + "]"
_TOKEN = (
    _WORD_CHAR + "+(?:" + _EXT + "+" + _WORD_CHAR + "*)*"  # a word, marks and joiners inside it
    "|[" + _CJK + "]" + _EXT + "*"  # one CJK character
    "|[\U0001f1e6-\U0001f1ff]{1,2}" + _EXT + "*"  # a flag: a pair of regional indicators
    "|[^\\w\\s]" + _EXT + "*"  # one punctuation mark or symbol (emoji with its modifiers)
)
#: The same tokens for ASCII text, where no mark, joiner or CJK character can occur.
_ASCII_TOKEN = "[A-Za-z0-9_]+|[^A-Za-z0-9_\\s]"

# The Unicode patterns cost ~30 ms to compile (the mark and CJK classes); they are compiled on
# the first non-ASCII text, so that importing the engine (``reviewer diff`` of two small files)
# does not pay for them. The ASCII ones are cheap and compiled now.
_WORDS = on_first_use(globals(), "_WORDS", lambda: re.compile(_TOKEN).findall)
_TOKENS = on_first_use(globals(), "_TOKENS", lambda: re.compile(_TOKEN + "|\\s+").findall)
_ASCII_WORDS = re.compile(_ASCII_TOKEN).findall
_ASCII_TOKENS = re.compile(_ASCII_TOKEN + "|\\s+").findall
_HAS_CJK = on_first_use(globals(), "_HAS_CJK", lambda: re.compile("[" + _CJK + "]").search)
_COUNTED = on_first_use(globals(), "_COUNTED", lambda: re.compile("[" + _CJK + "]|[^\\s" + _CJK + _CJK_PUNCT + "]+").findall)

#: Byte → 1 for the ASCII characters ``str.split()`` splits on (\t \n \v \f \r, \x1c-\x1f and
#: the space), 0 for any other.
_ASCII_SPACE = bytes(1 if b < 128 and chr(b).isspace() else 0 for b in range(256))


def _ascii_word_count(text: str) -> int:
    """``len(text.split())`` for ASCII ``text`` without building the list (twice as fast on a
    2 kB answer). With byte i of ``x`` set where ``text[i]`` is whitespace, ``x ^ (x >> 8)`` marks
    each place where a space run and a word meet (B of them, within the text) and, at the top,
    the last character when it is a space: ``P = B + last``. The runs alternate, so the words are
    ``(B + first_is_word + last_is_word) / 2`` = ``(P + 2 - first - 2 * last) / 2`` (two big-int
    operations, one fewer than masking the word starts)."""
    marks = text.encode("ascii").translate(_ASCII_SPACE)
    if not marks:
        return 0
    x = int.from_bytes(marks, "little")
    return ((x ^ (x >> 8)).bit_count() + 2 - marks[0] - 2 * marks[-1]) >> 1


def split_words(text: str) -> list[str]:
    """Word tokens of ``text`` for similarity: word runs, single punctuation, CJK characters one
    each; whitespace dropped.

    >>> split_words("Hello, wörld! 你好")
    ['Hello', ',', 'wörld', '!', '你', '好']
    """
    return _ASCII_WORDS(text) if text.isascii() else _WORDS(text)


def tokenize(text: str) -> list[str]:
    """Lossless tokens: the :func:`split_words` tokens and the whitespace runs between them, so
    ``"".join(tokenize(text)) == text``.

    >>> tokenize("a  b, c")
    ['a', '  ', 'b', ',', ' ', 'c']
    """
    return _ASCII_TOKENS(text) if text.isascii() else _TOKENS(text)


def score_words(text: str) -> list[str]:
    """The words a change score compares: whitespace-separated words, punctuation staying on its
    word (git --word-diff's default notion of a word), except in text with CJK, which has no
    spaces between words and gets :func:`split_words`.

    4× cheaper than :func:`split_words` (a C split instead of a regex), which matters when 10,000
    cases × several samples are scored; a score needs no token boundaries for highlighting.

    >>> score_words("Refunds take 5 days.")
    ['Refunds', 'take', '5', 'days.']
    """
    if text.isascii() or _HAS_CJK(text) is None:
        return text.split()
    return split_words(text)


def score_words_counted(text: str) -> tuple[list[str], int]:
    """:func:`score_words` and :func:`word_count` of ``text`` from one split (the common case: no
    CJK, where both are the whitespace words): the engine tokenizes each output once."""
    words = score_words(text)
    if text.isascii() or _HAS_CJK(text) is None:
        return words, len(words)
    return words, word_count(text)


def word_count(text: str) -> int:
    """Whitespace-separated words; each CJK character counts as one word.

    >>> word_count("The answer is 42.")
    4
    >>> word_count("答案是 42。")
    4
    """
    if text.isascii():
        return _ascii_word_count(text)
    if _HAS_CJK(text) is None:
        return len(text.split())
    return len(_COUNTED(text))
