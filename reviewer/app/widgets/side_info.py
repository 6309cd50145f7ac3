"""Each side's provenance above the diff (run, model, fingerprint, latency, tokens, finish reason,
error, refusal, how the text declines), and the JSON view's path changes. Widgets render
themselves from what they are shown, with the stylesheet's :class:`~.info.Palette`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .case_info import run_name
from .info import BOLD, DIM, InfoStatic, Palette, join, one_line, vis

if TYPE_CHECKING:
    from reviewer.diff.jsondiff import PathChange
    from reviewer.diff.signals import OutputSignals
    from reviewer.session.session import Provenance
    from reviewer.store import Output, Run

__all__ = ["JsonChanges", "SideInfo", "json_changes_text", "provenance_warnings", "side_text"]


def side_text(
    title: str,
    run: Run,
    output: Output | None,
    sample: int,
    samples: int,
    provenance: Provenance | None,
    signals: OutputSignals | None = None,
    p: Palette | None = None,
) -> Text:
    p = p or Palette()
    sp = p.special
    t = Text(end="", no_wrap=True, overflow="ellipsis")
    t.append(title, BOLD)
    t.append(" ")
    t.append_text(vis(run_name(run), special=sp))
    if samples > 1:
        t.append(f"  sample {sample + 1}/{samples}", p.sample)
    t.append("\n")
    if output is None:
        t.append("no output recorded for this case", p.warn)
        return t
    parts: list[Text] = []
    if output.resolved_model:
        parts.append(Text.assemble(("→ ", DIM), vis(output.resolved_model, limit=60, special=sp)))
    if output.system_fingerprint:
        parts.append(vis(output.system_fingerprint, DIM, limit=40, special=sp))
    if output.latency_ms is not None:
        parts.append(Text(f"{output.latency_ms:,.0f} ms", DIM))
    if output.input_tokens is not None or output.output_tokens is not None:
        parts.append(
            Text(
                f"{output.input_tokens if output.input_tokens is not None else '?'}→{output.output_tokens if output.output_tokens is not None else '?'} tok",
                DIM,
            )
        )
    if output.finish_reason:
        reason = output.finish_reason
        parts.append(
            vis(reason, p.warn if reason.lower() not in ("stop", "end_turn", "stop_sequence") else DIM, limit=30, special=sp)
        )
    t.append_text(join(parts) if parts else Text("no metadata", DIM))
    if output.error:
        t.append("\n")
        t.append("error: ", p.bad)
        status = f"{output.error_status} " if output.error_status else ""
        t.append_text(vis(status + one_line(output.error), limit=200, special=sp))
    if output.refusal:
        t.append("\n")
        t.append("refusal: ", p.warn)
        t.append_text(vis(one_line(output.refusal), limit=200, special=sp))
    decline = getattr(signals, "decline", None) if signals is not None and not output.error else None
    if decline is not None:
        t.append("\n")
        t.append(f"declines ({decline.kind.replace('_', '-')}, {decline.source}", p.warn)
        source = getattr(signals, "refusal_source", None)
        if source and source != decline.source:
            t.append(f"; refusal from {source}", p.warn)
        t.append("): ", p.warn)
        t.append_text(vis(one_line(decline.matched), p.decline, limit=120, special=sp))
    for w in provenance_warnings(output, provenance):
        t.append("\n")
        t.append("⚠ ", p.warn)
        t.append_text(vis(w, p.warn, special=sp))
    return t


def provenance_warnings(output: Output | None, provenance: Provenance | None) -> list[str]:
    """Why this answer's provenance deserves a look: it came from another model or fingerprint
    than most of its run's answers. (That the run mixes them at all is said once, in the top bar.)"""
    if provenance is None or output is None:
        return []
    out = []
    usual_model, usual_fp = provenance.usual()
    if provenance.model_changed and output.resolved_model and output.resolved_model != usual_model:
        out.append(f"answered by {output.resolved_model}, not {usual_model} like most of this run")
    if provenance.fingerprint_changed and output.system_fingerprint and output.system_fingerprint != usual_fp:
        out.append(f"fingerprint {output.system_fingerprint}, not {usual_fp} like most of this run")
    return out


class SideInfo(InfoStatic):
    """``show(title, run, output, sample, samples, provenance, signals)``."""

    def build(self, *args: Any) -> Text:
        title, run, output, sample, samples, provenance, signals = args
        return side_text(title, run, output, sample, samples, provenance, signals, p=self.palette)


# ---------------------------------------------------------------------------------------------
# JSON path changes
# ---------------------------------------------------------------------------------------------


def _short_json(value: Any, limit: int = 40) -> str:
    try:
        s = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        s = repr(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def json_changes_text(left_shape: str, right_shape: str, changes: Sequence[PathChange], p: Palette | None = None) -> Text:
    p = p or Palette()
    marks = {
        "added": ("+", p.good), "removed": ("-", p.bad), "renamed": ("~", p.warn),
        "type_changed": ("!", p.bad), "value_changed": ("~", p.warn), "reordered": ("↕", p.warn),
    }  # fmt: skip
    t = Text(end="")
    t.append("JSON ", BOLD)
    t.append(
        f"{left_shape} → {right_shape}" if left_shape != right_shape else left_shape, p.warn if left_shape != right_shape else DIM
    )
    t.append(
        f" · {len(changes)} path change{'s' if len(changes) != 1 else ''}" if changes else " · same structure and values", DIM
    )
    for ch in changes:
        mark, style = marks.get(ch.kind, ("?", p.warn))
        t.append("\n")
        t.append(f"{mark} ", style)
        t.append(f"{ch.kind.replace('_', ' '):<13} ", DIM)
        t.append_text(vis(ch.path, special=p.special))
        if ch.kind == "renamed" and ch.new_path:
            t.append(" → ", DIM)
            t.append_text(vis(ch.new_path, special=p.special))
        elif ch.kind in ("value_changed", "type_changed"):
            t.append("  ")
            t.append_text(vis(_short_json(ch.old), p.old, special=p.special))
            t.append(" → ", DIM)
            t.append_text(vis(_short_json(ch.new), p.new, special=p.special))
        elif ch.kind in ("added", "removed"):
            t.append("  ")
            t.append_text(
                vis(
                    _short_json(ch.new if ch.kind == "added" else ch.old),
                    p.new if ch.kind == "added" else p.old,
                    special=p.special,
                )
            )
    return t


class JsonChanges(InfoStatic):
    """``show(json_view)``: the shapes and path changes of the JSON view."""

    def build(self, jv: Any) -> Text:
        return json_changes_text(jv.left_shape, jv.right_shape, jv.changes, self.palette)
