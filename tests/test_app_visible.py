"""Untrusted text is shown literally: control, escape, zero-width, bidi and tag characters become
visible stand-ins, and offsets into the original text still land on the same characters."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from reviewer.app.visible import TAB, has_special, make_visible, stand_in


def test_plain_text_is_returned_untouched():
    text = "Hello [bold]world[/bold] — café 中文 😀"
    v = make_visible(text)
    assert v.text == text
    assert v.specials == ()
    assert v.offset(5) == 5


def test_escape_sequences_are_shown_not_interpreted():
    v = make_visible("\x1b[2J\x1b[31mred\x1b[0m")
    assert "\x1b" not in v.text
    assert v.text == "␛[2J␛[31mred␛[0m"
    assert [v.text[s:e] for s, e in v.specials] == ["␛", "␛", "␛"]


def test_c1_csi_and_del_and_bell():
    v = make_visible("a\x9b31mb\x7fc\x07")
    assert v.text == "a⟨U+009B⟩31mb␡c␇"


def test_zero_width_bidi_and_tag_characters_are_visible():
    text = "zero\u200bwidth \u202eevil\u202c \u2066iso\u2069 tag\U000e0041 bom\ufeff shy\u00ad lrm\u200e"
    v = make_visible(text)
    for cp in ("200B", "202E", "202C", "2066", "2069", "E0041", "FEFF", "00AD", "200E"):
        assert f"⟨U+{cp}⟩" in v.text
    assert not has_special(v.text)


def test_every_format_and_control_character_is_caught():
    """Every Unicode Cc and Cf character (except the line feed, split off earlier, and the soft
    ones that are visible glyphs) is replaced: none can hide or reorder text."""
    missed = []
    for cp in range(0x110000):
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Cf") and not has_special(ch):
            missed.append(f"U+{cp:04X} {unicodedata.name(ch, '?')}")
    # Cf characters that render as visible glyphs in every terminal (Arabic number signs etc.)
    visible_glyphs = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
    missed = [m for m in missed if int(m.split()[0][2:], 16) not in visible_glyphs]
    assert missed == []


def test_tab_has_a_fixed_width():
    v = make_visible("a\tb")
    assert v.text == "a" + TAB + "b"
    assert v.offset(2) == 1 + len(TAB)


def test_lone_surrogate_is_shown():
    assert make_visible("x\ud800y").text == "x⟨U+D800⟩y"


def test_stand_in_names_code_point():
    assert stand_in("\u200b") == "⟨U+200B⟩"
    assert stand_in("\x00") == "␀"


@given(st.text(alphabet=st.sampled_from(["a", "b", " ", "\x1b", "\u200b", "\t", "中", "\u202e", "\x00", "é"]), max_size=40))
def test_offsets_map_each_original_character_to_its_shown_form(text):
    v = make_visible(text)
    pos = 0
    for i, ch in enumerate(text):
        start = v.offset(i)
        assert start == pos
        shown = stand_in(ch) if has_special(ch) else ch
        assert v.text[start : start + len(shown)] == shown
        pos += len(shown)
    assert v.offset(len(text)) == len(v.text)


def test_the_app_shows_what_the_one_sanitiser_shows():
    """Private-use and unassigned code points, a lone variation selector and a joiner between
    ASCII letters (which the app's own old table let through) are shown as stand-ins, as on every
    other surface; a selector after an emoji and a joiner inside an emoji sequence are kept."""
    v = make_visible("pua\ue000 unassigned\U000e0080 lone \ufe0f a\u200db ok😀\ufe0f 👩\u200d💻")
    assert v.text == "pua⟨U+E000⟩ unassigned⟨U+E0080⟩ lone ⟨U+FE0F⟩ a⟨U+200D⟩b ok😀\ufe0f 👩\u200d💻"


@given(st.text(max_size=60))
def test_apart_from_tabs_and_newlines_the_app_is_the_sanitiser(text):
    from reviewer import untrusted

    plain = text.replace("\t", "").replace("\n", "")
    assert make_visible(plain) == untrusted.make_visible(plain)
    assert make_visible(text).text == untrusted.make_visible(text, tab=TAB, newline=False).text
