"""Many acceptable changes (or improvements) are grouped by tag and by note, with ids collapsed,
instead of one bullet per case; a few are still listed one per line. Checked on a real store and
by parsing the Markdown (markdown-it), so grouping cannot open structure either."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from test_export import ADA, BOB, NOW

from reviewer.analysis import assess_comparison
from reviewer.export.changelog import build_changelog, render_json, render_markdown
from reviewer.store import Output, Store
from reviewer.suite import load_suite

MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
HOSTILE_NOTE = "# fine <b>really</b> | [x](https://evil.example)"


def comparison(tmp_path: Path, groups: dict[str, tuple[str | None, int]], verdict: str = "acceptable"):
    """``groups``: id prefix -> (tag or None, number of cases). Every case changes; every case is
    labelled ``verdict``, with a note that depends on its prefix."""
    lines = ["suite: many", "cases:"]
    ids: list[tuple[str, str | None]] = []
    for prefix, (tag, n) in groups.items():
        for i in range(1, n + 1):
            cid = f"{prefix}-{i:02d}"
            ids.append((cid, prefix))
            tags = f", tags: [{tag}]" if tag else ""
            lines.append(f"  - {{id: {cid}, prompt: 'q {cid}'{tags}}}")
    suite = tmp_path / "many.yaml"
    suite.write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "many.db")
    sid = store.upsert_suite(load_suite(suite))
    b = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
    c = store.create_run(suite_id=sid, provider="openai", model="m", base_url=None, params={}, samples=1)
    store.save_outputs(b, [Output(cid, 0, text=f"Short answer for {cid}.") for cid, _ in ids])
    refusal = "I'm sorry, but I can't help with that."  # the refund cases turn into refusals: a flag
    store.save_outputs(c, [Output(cid, 0, text=refusal if prefix == "refund" else f"A much longer and rather different "
                                  f"answer for {cid}, with more words than before, as the refresh does.")
                           for cid, prefix in ids])  # fmt: skip
    cid_ = store.create_comparison(suite_id=sid, baseline_run_id=b, candidate_run_id=c, name=None, status="complete")
    notes = {"refund": "Matches the new refund policy.", "faq": "Longer but correct.", "misc": None, "odd": HOSTILE_NOTE}
    for cid, prefix in ids:
        who = BOB if prefix == "odd" else ADA
        store.set_label(cid_, cid, who, verdict, note=notes.get(prefix), at="2025-03-13T11:00:00.000Z")
    data = store.load_comparison(cid_)
    return build_changelog(data, assess_comparison(store, data), store.labels(cid_), generated_at=NOW, generated_by=ADA)


def section(md: str, title: str) -> str:
    return md.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_sixty_acceptable_changes_are_grouped_by_tag_and_note(tmp_path):
    cl = comparison(tmp_path, {"refund": ("billing", 12), "faq": ("faq", 40), "misc": (None, 6), "odd": ("ops", 2)})
    md = render_markdown(cl)
    sec = section(md, "Acceptable changes")
    bullets = [ln for ln in sec.splitlines() if ln.startswith("- ")]
    assert len(bullets) <= 10, sec  # not 60
    assert sec.startswith("\n60 cases labelled acceptable, grouped")
    tag_lines = {re.match(r"- (\S+) \((\d+)\)", ln).group(1): ln for ln in bullets[:4]}
    assert list(tag_lines) == ["`faq`", "`billing`", "`ops`", "untagged"]  # most cases first, untagged last
    assert re.fullmatch(r"- `billing` \(12\): `refund-\d\d`, `refund-\d\d`, `refund-\d\d` … \+9 more · refusal flip 12",
                        tag_lines["`billing`"]), tag_lines  # fmt: skip
    assert re.fullmatch(r"- `ops` \(2\): `odd-0\d`, `odd-0\d`( · .*)?", tag_lines["`ops`"])
    assert "- Ada Lovelace: Longer but correct. (40: `faq-" in sec and "… +37 more)" in sec
    assert "- Ada Lovelace: Matches the new refund policy. (12: `refund-" in sec
    assert "- 6 cases without a note" in sec
    # every grouped id is still in the JSON, with its note
    assert render_json(cl).count('"verdict": "acceptable"') >= 60


def test_grouping_keeps_the_document_structure_and_model_text_out(tmp_path):
    cl = comparison(tmp_path, {"refund": ("billing", 12), "odd": ("ops", 2)})
    md = render_markdown(cl)
    tokens = MD.parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert "fine <b>really</b>" not in md and not any("fine" in h for h in headings)
    links = [c.attrs.get("href") for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "link_open"]
    assert "https://evil.example" not in links
    html = [c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "html_inline"]
    assert all(h == "<br>" for h in html), html
    # ids (suite text) and tags only appear as code spans
    spans = {c.content for t in tokens if t.type == "inline" for c in t.children or [] if c.type == "code_inline"}
    assert {"billing", "ops", "refund-01", "odd-01"} <= spans


def test_a_few_are_still_listed_one_per_line(tmp_path):
    cl = comparison(tmp_path, {"refund": ("billing", 3), "misc": (None, 2)}, verdict="improvement")
    sec = section(render_markdown(cl), "Improvements")
    bullets = [ln for ln in sec.splitlines() if ln.startswith("- ")]
    assert len(bullets) == 5 and "grouped" not in sec
    assert any(ln.startswith("- `refund-0") and ln.endswith("· Ada Lovelace: Matches the new refund policy.") for ln in bullets)


def test_many_improvements_are_grouped_too(tmp_path):
    cl = comparison(tmp_path, {"faq": ("faq", 11)}, verdict="improvement")
    sec = section(render_markdown(cl), "Improvements")
    assert sec.startswith("\n11 cases labelled improvement, grouped")
    assert re.search(r"^- `faq` \(11\): `faq-\d\d`, `faq-\d\d`, `faq-\d\d` … \+8 more", sec, re.MULTILINE)
