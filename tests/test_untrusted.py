"""The one sanitiser: no hidden, reordering or control character survives, printable text is
untouched, and offsets map onto the shown text."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.untrusted import TAB, has_special, make_visible, stand_in, visible

TAGS = "".join(chr(c) for c in range(0xE0000, 0xE0080))
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def hidden(ch: str) -> bool:
    """The issue's definition, written independently of the module's tables."""
    if ch in "\t\n":
        return False
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or 0xE0000 <= ord(ch) <= 0xE007F


def lone_vs(text: str) -> bool:
    """A variation selector not directly after an ordinary character."""
    for i, ch in enumerate(text):
        if 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            prev = text[i - 1] if i else ""
            if not prev or prev.isspace() or hidden(prev) or 0xFE00 <= ord(prev) <= 0xFE0F or 0xE0100 <= ord(prev) <= 0xE01EF:
                return True
    return False


def survivors(shown: str) -> list[str]:
    """Hidden characters left in shown text (joiners between two non-ASCII letters are allowed)."""
    out = []
    for i, ch in enumerate(shown):
        if not hidden(ch):
            continue
        if ch in "\u200c\u200d" and 0 < i < len(shown) - 1:
            prev, nxt = shown[i - 1], shown[i + 1]
            if not prev.isascii() and not nxt.isascii() and not hidden(prev) and not hidden(nxt):
                continue
        out.append(ch)
    return out


any_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=80)
nasty = st.text(
    alphabet=st.sampled_from(TAGS + BIDI + "\u200b\u00ad\u180e\ufeff\x1b\x07\x9b\r\u2028\ufe0f" + "ab é中😀"), max_size=60
)


@settings(max_examples=400)
@given(any_text)
def test_no_hidden_character_survives(text: str) -> None:
    shown = visible(text)
    assert survivors(shown) == []
    assert not lone_vs(shown)


@settings(max_examples=400)
@given(nasty)
def test_no_hidden_character_survives_in_dense_attacks(text: str) -> None:
    shown = visible(text)
    assert survivors(shown) == []
    assert not lone_vs(shown)
    assert not has_special(shown)


@settings(max_examples=300)
@given(st.text(alphabet=st.characters(codec=None), max_size=80))
def test_identity_on_printable_text(text: str) -> None:
    if (
        any(hidden(c) for c in text)
        or lone_vs(text)
        or any(c in "\u200c\u200d\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0" for c in text)
    ):
        return
    assert visible(text) == text
    assert make_visible(text).specials == ()


def test_ascii_smuggling_is_shown() -> None:
    secret = "".join(chr(0xE0000 + ord(c)) for c in "ignore previous")
    shown = visible(f"Refunds take 5 days.{secret}")
    assert shown.startswith("Refunds take 5 days.⟨U+E0069⟩⟨U+E0067⟩")
    assert "\U000e0069" not in shown


def test_stand_ins() -> None:
    assert visible("a\x1b]0;pwned\x07b") == "a␛]0;pwned␇b"
    assert visible("x\u200by") == "x⟨U+200B⟩y"
    assert visible("\ufeffhi") == "⟨U+FEFF⟩hi"
    assert visible("co\u00adop") == "co⟨U+00AD⟩op"
    assert visible("a\u180eb") == "a⟨U+180E⟩b"
    assert visible("\u202eevil") == "⟨U+202E⟩evil"
    assert stand_in("\x7f") == "␡"
    assert visible("tab\there\nnext") == "tab\there\nnext"


def test_variation_selectors_one_after_a_base_is_kept_runs_are_shown() -> None:
    assert visible("❤\ufe0f") == "❤\ufe0f"
    assert visible("😀\ufe0f\ufe01") == "😀\ufe0f⟨U+FE01⟩"
    assert visible("\ufe0f") == "⟨U+FE0F⟩"
    assert visible(" \U000e0100") == " ⟨U+E0100⟩"


def test_joiners_kept_in_scripts_and_emoji_shown_between_ascii() -> None:
    assert visible("👩\u200d💻") == "👩\u200d💻"
    assert visible("می\u200cخواهم") == "می\u200cخواهم"
    assert visible("a\u200cb") == "a⟨U+200C⟩b"
    assert visible("中\u200d\u200d中") == "中⟨U+200D⟩⟨U+200D⟩中"


def test_offsets_map_onto_the_shown_text() -> None:
    v = make_visible("a\u200bbc\x1bd")
    assert v.text == "a⟨U+200B⟩bc␛d"
    assert v.text[v.offset(2)] == "b"
    assert v.text[v.offset(5)] == "d"
    assert v.offset(6) == len(v.text)
    assert [v.text[s:e] for s, e in v.specials] == ["⟨U+200B⟩", "␛"]


def test_app_options_tab_and_newline() -> None:
    v = make_visible("a\tb\nc", tab=TAB, newline=False)
    assert v.text == f"a{TAB}b␊c"


def test_a_megabyte_of_text() -> None:
    text = ("Die Antwort ist 42. 中文内容。Ответ — да. " * 30_000)[:1_000_000]
    assert visible(text) == text
    shown = visible("word \u200b" * 100_000)
    assert "\u200b" not in shown and shown.count("⟨U+200B⟩") == 100_000


# ---------------------------------------------------------------------------------------------
# Every surface: the CLI printers, the Markdown changelog's escapers, `reviewer diff` end to end
# ---------------------------------------------------------------------------------------------

hostile_piece = st.text(
    alphabet=st.one_of(st.characters(codec=None), st.sampled_from(TAGS + BIDI + "\u200b\u00ad\u180e\ufeff\x1b\x07\x9b\ufe0f")),
    max_size=40,
)


def _clean(shown: str) -> bool:
    return survivors(shown) == [] and not lone_vs(shown)


@settings(max_examples=200)
@given(hostile_piece)
def test_every_markdown_and_cli_surface_shows_hidden_characters(text: str) -> None:
    from reviewer.commands._common import visible as cli_visible
    from reviewer.export.mdescape import code, fenced, one_line, prose

    for surface in (cli_visible, fenced, code, prose, one_line):
        shown = surface(text)
        # the surfaces add their own delimiters and escapes, never a hidden character
        assert _clean(shown), (surface.__name__, text, shown)


@settings(max_examples=25, deadline=None)
@given(hostile_piece, hostile_piece)
def test_reviewer_diff_prints_no_hidden_character(tmp_path_factory, old: str, new: str) -> None:
    import contextlib
    import io

    from reviewer.cli import main

    d = tmp_path_factory.mktemp("diff")
    (d / "a.txt").write_text(old, encoding="utf-8", errors="surrogatepass")
    (d / "b.txt").write_text(new, encoding="utf-8", errors="surrogatepass")
    for extra in (["--width", "60"], ["--width", "200"], ["--json"]):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(["diff", str(d / "a.txt"), str(d / "b.txt"), *extra])
        printed = out.getvalue()
        if extra == ["--json"]:
            assert printed.isascii() or _clean(printed)  # JSON escapes; the exact text is kept
        else:
            assert _clean(printed), (extra, old, new, printed)
