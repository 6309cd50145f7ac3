"""The side-by-side painter: wrapping by cells, panes level and exactly as wide as asked,
highlights on the right characters, untrusted text never reaching the terminal raw."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.style import Style

from reviewer.app.diffrender import DiffStyles, SideBySide, wrap_offsets
from reviewer.diff.align import align

#: coloured like the app's stylesheet, so each part is told apart by its background
STYLES = DiffStyles(
    delete_line=Style(bgcolor="#3a1e22"), delete_word=Style(bgcolor="#8b2f3a", bold=True),
    insert_line=Style(bgcolor="#1c3524"), insert_word=Style(bgcolor="#2e7a45", bold=True),
    moved=Style(bgcolor="#2a2446"), search=Style(bgcolor="#875f00", color="#ffffff"),
)  # fmt: skip


def chunks(text: str, width: int) -> list[str]:
    offs = [0, *wrap_offsets(text, width), len(text)]
    return [text[a:b] for a, b in pairwise(offs)]


def test_wrap_breaks_after_the_last_space_that_fits():
    assert chunks("the quick brown fox", 10) == ["the quick ", "brown fox"]
    assert chunks("short", 10) == ["short"]
    assert chunks("", 10) == [""]


def test_wrap_folds_a_word_longer_than_the_width():
    assert chunks("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_wrap_counts_cells_not_characters():
    # each CJK character and the emoji take two cells
    assert chunks("中文字符测试", 4) == ["中文", "字符", "测试"]
    assert chunks("ab 😀😀 cd", 5) == ["ab ", "😀😀 ", "cd"]


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from([*list("ab  ,."), "中", "😀", "é", "e\u0301", "ｗ"]), max_size=80).map("".join),
    st.integers(min_value=2, max_value=30),
)
def test_wrap_keeps_every_character_and_fits_the_width(text, width):
    parts = chunks(text, width)
    assert "".join(parts) == text
    for p in parts:
        assert cell_len(p) <= width
    assert all(p for p in parts) or text == ""


def lines(model: SideBySide, width: int) -> list[str]:
    return [model.plain_line(y, width) for y in range(model.height(width))]


def segments_with(model: SideBySide, width: int, style: Style, styles: DiffStyles = STYLES) -> list[str]:
    out = []
    for y in range(model.height(width)):
        for seg in model.line(y, width, styles):
            if seg.style is not None and seg.style.bgcolor == style.bgcolor and seg.style.bold == style.bold:
                out.append(seg.text)
    return out


LEFT = "Refunds are accepted within 30 days.\nShipping is free.\n\x1b[31mred\x1b[0m stays\n中文字符测试 😀 ok\nkept"
RIGHT = "Refunds are accepted within 14 days.\nShipping is free.\nA new line.\n中文字符测试 😀 ok!\nkept"


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=30, max_value=140))
def test_every_line_is_exactly_the_width_and_the_panes_stay_level(width):
    model = SideBySide(align(LEFT, RIGHT))
    left_pane, _ = model.pane_widths(width)
    for y in range(model.height(width)):
        segs = model.line(y, width, STYLES)
        text = "".join(s.text for s in segs)
        assert cell_len(text) == width
        # the separator sits at the same cell on every line
        col = 0
        for s in segs:
            if s.text == "│":
                break
            col += cell_len(s.text)
        assert col == left_pane


def test_word_changes_are_highlighted_on_the_changed_words():
    model = SideBySide(align(LEFT, RIGHT))
    deleted = segments_with(model, 120, STYLES.delete_word)
    inserted = segments_with(model, 120, STYLES.insert_word)
    assert "30" in "".join(deleted)
    assert "14" in "".join(inserted)
    assert "Refunds" not in "".join(deleted)


def test_the_layout_styles_no_cell_and_new_styles_restyle_the_painted_ones():
    """Heights read only each cell's shown text (a 20k-char diff wraps every row on each key;
    styling every row as well took ~30 ms of it); a cell's spans are made when it is painted,
    in the styles it is painted with, and again after the styles change."""
    model = SideBySide(align(LEFT, RIGHT))
    height = model.height(120)
    assert all(c is None or c.spans is None for c in model._cells.values())
    assert "30" in "".join(segments_with(model, 120, STYLES.delete_word))
    other = DiffStyles(delete_word=Style(bgcolor="magenta", bold=True))
    assert model.height(120) == height
    assert "30" in "".join(segments_with(model, 120, other.delete_word, other))
    assert not segments_with(model, 120, STYLES.delete_word, other)  # nothing left in the old style


def test_spans_after_control_characters_still_land_on_their_words():
    left = "\x1b[1m\u200bbold old word"
    right = "\x1b[1m\u200bbold new word"
    model = SideBySide(align(left, right))
    assert "".join(segments_with(model, 100, STYLES.delete_word)).strip() == "old"
    assert "".join(segments_with(model, 100, STYLES.insert_word)).strip() == "new"


def test_untrusted_text_never_reaches_the_terminal_raw():
    hostile = "[bold red]x[/] \x1b[2J\x07 \u202eabc \u200b \x9b31m"
    model = SideBySide(align("safe", hostile))
    out = lines(model, 100)
    joined = "".join(out)
    for raw in ("\x1b", "\x07", "\u202e", "\u200b", "\x9b"):
        assert raw not in joined
    assert "[bold red]x[/]" in joined
    assert "␛[2J" in joined and "⟨U+202E⟩" in joined


def test_filler_rows_have_nothing_on_the_missing_side():
    model = SideBySide(align("a\nb\nc", "a\nc"))
    out = lines(model, 60)
    deleted = next(line for line in out if " b" in line.split("│")[0])
    assert set(deleted.split("│")[1]) == {"╱"}


def test_long_lines_wrap_inside_their_pane():
    long = " ".join(f"word{i}" for i in range(80))
    model = SideBySide(align(long, long + " extra"))
    width = 80
    assert model.height(width) > 5
    text_w, _ = model.text_widths(width)
    for y in range(model.height(width)):
        left = model.plain_line(y, width).split("│")[0]
        assert cell_len(left) == model.pane_widths(width)[0]
    # every word is shown somewhere, in order
    shown = " ".join(model.plain_line(y, width).split("│")[0][model.gutter() :] for y in range(model.height(width)))
    assert " ".join(shown.split()) == long
    assert text_w == model.pane_widths(width)[0] - model.gutter()


def test_search_matches_are_highlighted():
    model = SideBySide(align("find the Needle here", "no needle"), search="needle")
    found = segments_with(model, 80, STYLES.search)
    assert [f.lower() for f in found] == ["needle", "needle"]


def test_hunk_starts_point_at_changed_runs():
    left = "\n".join(f"line {i}" for i in range(30))
    right = left.replace("line 5", "line five").replace("line 20", "line twenty")
    model = SideBySide(align(left, right))
    starts = model.hunk_starts(100)
    assert [model.locate(y, 100)[0] for y in starts] == [5, 20]


def test_moved_lines_are_marked():
    left = "alpha\nbeta\ngamma\ndelta\nepsilon moved line\nzeta"
    right = "epsilon moved line\nalpha\nbeta\ngamma\ndelta\nzeta"
    model = SideBySide(align(left, right))
    out = lines(model, 80)
    assert any("↷" in line for line in out) and any("↶" in line for line in out)


def test_every_segment_carries_the_pane_background():
    """No segment falls back to the terminal's default colours (Text.render drops the base style
    of a text without spans; filler must sit on the view's background too)."""
    styles = DiffStyles(base=Style(color="#dddddd", bgcolor="#121212"))
    model = SideBySide(align("same\nold line here\n" + "long words " * 30, "same\nnew line here\n" + "long words " * 31))
    for y in range(model.height(90)):
        for seg in model.line(y, 90, styles):
            assert seg.style is not None and seg.style.bgcolor is not None, (y, seg)
