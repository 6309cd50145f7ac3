"""The Markdown export's diff excerpts made by a forked child while the changelog's sums are
still being made (:class:`ExcerptsAhead`): the same document, and nothing left behind, whether
the child succeeds, dies, or is never asked."""

from __future__ import annotations

import os
import signal
import tempfile

import pytest
from test_export import ADA, BOB, NOW
from test_export_speed_json import HOSTILE, children, linux_only, small_store  # noqa: F401  (children: a fixture)

from reviewer.diff.excerpt import diff_excerpt
from reviewer.export.changelog import ExcerptsAhead, load_changelog, render_markdown


def labelled_store(tmp_path):
    """A few regressions with texts (their excerpts are what the child makes), hostile notes."""
    store, cid = small_store(tmp_path)
    for i, c in enumerate(store.load_comparison(cid).suite.suite.cases[1:4]):
        store.set_label(cid, c.id, BOB, "regression", severity=2, note=HOSTILE[i], at=f"2025-03-13T11:1{i}:00.000Z")
    return store, cid


@linux_only
def test_excerpts_made_ahead_are_the_same_document(tmp_path, monkeypatch, children):  # noqa: F811
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store, cid = labelled_store(tmp_path)
    serial = render_markdown(load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True))
    with ExcerptsAhead(fork_from=1) as ahead:
        cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ahead)
        assert len(children()) == 1  # started inside the build
        made = ahead.excerpts(cl.cases)
    store.close()
    shown = [c for c in cl.cases if c.texts is not None]
    assert len(shown) >= 3 and made == {c.id: diff_excerpt(*c.texts) for c in shown}
    assert render_markdown(cl, excerpts=made) == serial
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))


class FailingExcerpts(ExcerptsAhead):
    """A child that fails at its work (what a crash or a kill leaves): real fork, real exit code."""

    def __call__(self, cases, digest=None):
        self._start(cases, lambda out: out.write(str(1 / 0)))


@linux_only
@pytest.mark.parametrize("how", ["failed", "killed", "never asked"])
def test_a_child_that_fails_dies_or_is_not_asked_leaves_no_trace(tmp_path, monkeypatch, children, how):  # noqa: F811
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    store, cid = labelled_store(tmp_path)
    serial = render_markdown(load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True))
    with (FailingExcerpts if how == "failed" else ExcerptsAhead)(fork_from=1) as ahead:
        cl = load_changelog(store, cid, generated_at=NOW, generated_by=ADA, allow_unreviewed=True, cases_ready=ahead)
        (pid,) = children()
        if how != "never asked":
            if how == "killed":
                os.kill(pid, signal.SIGKILL)  # (it may have finished already: either way the same document)
            made = ahead.excerpts(cl.cases)
            if how == "failed":
                assert made is None  # the renderer makes them
            assert render_markdown(cl, excerpts=made) == serial
    store.close()
    assert not children() and not list(tmp_path.glob("reviewer-export-*"))
