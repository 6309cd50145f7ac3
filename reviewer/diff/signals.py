"""Signals of one output (JSON shape, refusal, truncation, length, Markdown structure) and of a
baseline/candidate pair (format drift, length ratio, refusal and truncation flips).

These are the changes a provider's refresh makes that a similarity score under-weights: JSON that
starts arriving in a code fence, bullets that become a numbered list, answers that grow 30%,
refusals that appear. Pure functions over text and the provider's metadata.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from reviewer.diff._fast import compiled, frozen_builder
from reviewer.diff.jsonextract import FENCE_RE, ExtractedJson, JsonShape, extract_json, has_fence_marker
from reviewer.diff.tokens import word_count

__all__ = [
    "REFUSAL_PHRASES",
    "TRUNCATION_REASONS",
    "Decline",
    "DeclineKind",
    "MarkdownShape",
    "OutputSignals",
    "PairSignals",
    "classify_decline",
    "find_refusal",
    "lead_in",
    "markdown_shape",
    "output_signals",
    "pair_signals",
    "schema_error",
]

# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------

#: Openings of a refusal. Matched case-insensitively in the first :data:`REFUSAL_WINDOW`
#: characters, with any apostrophe (' ’ ʼ), any run of whitespace, commas optional.
REFUSAL_PHRASES: tuple[str, ...] = (
    "I can't help with",
    "I cannot help with",
    "I can't help you with",
    "I can't assist with",
    "I cannot assist with",
    "I can't assist you with",
    "I'm not able to help with",
    "I am not able to help with",
    "I'm unable to help with",
    "I am unable to help with",
    "I'm not able to provide",
    "I am not able to provide",
    "I'm unable to provide",
    "I am unable to provide",
    "I can't provide",
    "I cannot provide",
    "I can't comply",
    "I cannot comply",
    "I can't fulfill",
    "I cannot fulfill",
    "I can't do that",
    "I cannot do that",
    "I won't be able to help",
    "I will not be able to help",
    "I won't help with",
    "I will not help with",
    "I must decline",
    "I have to decline",
    "I'm sorry, but I can't",
    "I'm sorry, but I cannot",
    "I am sorry, but I cannot",
    "I apologize, but I can't",
    "I apologize, but I cannot",
    "I'm not comfortable",
    "As an AI language model, I can't",
    "As an AI language model, I cannot",
    "against my guidelines",
    "I can't engage in",
    "I cannot engage in",
)
#: Refusals come first; a later "I can't provide" inside a long answer is usually not one.
REFUSAL_WINDOW = 600


def _fold(s: str) -> str:
    """Lower case, one apostrophe, no commas, single spaces: the form phrases are matched in."""
    s = s.lower().replace(",", "")
    if not s.isascii():
        s = s.replace("\u2019", "'").replace("\u02bc", "'").replace("\u2018", "'")
    return " ".join(s.split())


#: Folded phrases grouped by their first two words: a phrase is only looked for when its stem
#: occurs in the window, which most answers' openings never contain.
_BY_STEM: dict[str, list[tuple[str, str]]] = {}
for _p in REFUSAL_PHRASES:
    _f = _fold(_p)
    _BY_STEM.setdefault(" ".join(_f.split()[:2]), []).append((_f, _p))
del _p, _f


def _find_phrase(text: str) -> str | None:
    """The earliest :data:`REFUSAL_PHRASES` entry in the first :data:`REFUSAL_WINDOW` characters of
    ``text`` (on word boundaries), or None."""
    window = _fold(text[:REFUSAL_WINDOW])
    best: tuple[int, str] | None = None
    for stem, phrases in _BY_STEM.items():
        if stem not in window:
            continue
        for folded, phrase in phrases:
            at = window.find(folded)
            while at >= 0:
                end = at + len(folded)
                if (at == 0 or not window[at - 1].isalnum()) and (end == len(window) or not window[end].isalnum()):
                    if best is None or at < best[0]:
                        best = (at, phrase)
                    break
                at = window.find(folded, at + 1)
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------
# Declines: refusals, partial compliance, non-answers
# ---------------------------------------------------------------------------------------------

DeclineKind = Literal["refusal", "partial", "non_answer"]


@dataclass(frozen=True, slots=True)
class Decline:
    """How an output declines: ``refusal`` (declines and gives nothing of what was asked),
    ``partial`` (declines a part, then answers with substantial content) or ``non_answer`` (a
    deflection that answers nothing: "this is subjective", "as an AI I have no opinions").
    ``span`` is the ``[start, end)`` of ``matched`` in the text; ``source`` where it came from."""

    kind: DeclineKind
    span: tuple[int, int]
    matched: str
    source: str = "text"


_Q = "['\u2019\u02bc]"  # any apostrophe
# An apology or regret that opens a decline; never a decline on its own ("Sorry for the confusion").
_APOLOGY = (
    rf"(?:I{_Q}m|I\s+am)\s+(?:really\s+|so\s+|very\s+|truly\s+)?(?:sorry|afraid)|sorry|(?:my\s+)?apologies|I\s+apologi[sz]e"
    r"|unfortunately|regrettably|regretfully|es\s+tut\s+mir\s+(?:sehr\s+)?leid|entschuldigung|leider"
    r"|(?:je\s+suis\s+)?d[ée]sol[ée]e?|toutes\s+mes\s+excuses|je\s+regrette|malheureusement"
    r"|lo\s+(?:siento|lamento)|disculpa|perd[oó]n|desafortunadamente|lamentablemente"
    r"|mi\s+dispiace|purtroppo|desculpe|infelizmente|het\s+spijt\s+me|извините|к\s+сожалению"
    r"|as\s+an?\s+(?:ai|artificial\s+intelligence|language\s+model)"  # a disclaimer leads the span too
)
#: First-person declining, followed (in Python) by the verb it declines.
_EN_CORE = (
    rf"\bI(?:\s+(?:really|truly|just|simply|honestly|also))?\s*(?:"
    rf"can{_Q}?t|can\s*not|won{_Q}t|will\s+not|(?:would|could)(?:n{_Q}t|\s+not)"
    rf"|(?:must|have\s+to|need\s+to|am\s+going\s+to\s+have\s+to|{_Q}m\s+going\s+to\s+have\s+to)\s+(?:respectfully\s+)?(?:decline|pass|turn)"
    rf"|(?:{_Q}m|\s+am)\s+(?:not\s+(?:able|allowed|permitted|going|comfortable|in\s+a\s+position|willing)|unable)"
    rf"|refuse|do(?:n{_Q}t|\s+not)\s+(?:think\s+I\s+should|feel\s+comfortable|create|write|generate|produce|provide|make|help|engage|assist|share)"
    r")(?=[\s.,!;:)\u2014\u2013]|$)"
)
_EN_OTHER = (
    # "That's not something I can help with", "Writing ransomware isn't something I'm able to …"
    rf"(?:is\s+not|isn{_Q}t|{_Q}s\s+not)\s+something\s+(?:that\s+)?I(?:{_Q}m|\s+am)?\s+(?:can|able|will|going|allowed|comfortable)"
    # "It is not appropriate for me to", "It would not be ethical for me to"
    rf"|\b(?:it\s+(?:is|would|would\s+not|wouldn{_Q}t)|it{_Q}s|it{_Q}d)\s+(?:not\s+)?(?:be\s+)?(?:not\s+)?(?:appropriate|ethical|safe|responsible|right)\s+for\s+me\s+to"
    rf"|\bI\s+(?:cannot|can{_Q}t)\s+in\s+good\s+conscience"
    # policy
    r"|(?:goes|go|is|falls?)\s+(?:against|outside(?:\s+of)?)\s+(?:my|our|the|openai{Q}s|its)\s+(?:usage\s+|content\s+|ethical\s+|safety\s+)?(?:policies|policy|guidelines|principles|rules|terms)".replace(
        "{Q}", _Q
    )
    + r"|violat\w*\s+(?:my|our|the|openai\S*)\s+(?:usage\s+|content\s+|use-case\s+)?(?:policies|policy|guidelines)"
    + r"|falls?\s+outside\s+of\s+them|would\s+go\s+against\s+that|(?:a\s+)?request\s+I\s+have\s+to\s+turn\s+down"
)
_ML_CORE = (
    # de
    r"\b(?:ich\s+(?:kann|darf|werde|möchte)|(?:kann|darf|werde)\s+ich)\b[^.!?\n]{0,80}?\b(?:nicht|keine[nmrs]?)\b"
    r"|(?:ist|wäre)\s+mir\s+(?:leider\s+)?nicht\s+möglich|wäre\s+nicht\s+angemessen|verstößt\s+gegen\s+meine\s+richtlinien"
    # fr
    r"|\bje\s+(?:ne\s+(?:peux|pourrai|vais|saurais|puis)\s+pas|ne\s+suis\s+pas\s+(?:en\s+mesure|autoris[ée]e?)|refuse\s+de)"
    r"|\bil\s+ne\s+serait\s+pas\s+(?:appropri[ée]|[ée]thique)"
    # es
    r"|\bno\s+(?:puedo|podr[ée]|estoy\s+en\s+condiciones|me\s+es\s+posible|voy\s+a\s+(?:ayudar|escribir|crear))|\bme\s+niego"
    r"|\bno\s+ser[ií]a\s+(?:[ée]tico|apropiado|adecuado)"
    # it, pt, nl, ru
    r"|\bnon\s+(?:posso|sono\s+in\s+grado|riesco)|\bnão\s+(?:posso|consigo|sou\s+capaz)"
    r"|\bkan\s+ik\s+(?:je|u)\s+niet|\bik\s+kan\s+(?:je|u)?\s*(?:daar\s+)?niet"
    r"|не\s+могу|не\s+смогу"
    # ja, zh, ko
    r"|(?:お手伝い|お応え|お答え|回答|対応|提供|作成|お伝え|ご協力|サポート|アドバイス|診断|実行|ご案内)"
    r"(?:(?:する|いたす)?こと)?(?:は|が|を)?(?:でき(?:ません|かねます|ない)|いたしかねます|致しかねます)"
    r"|お断り(?:します|いたします|させていただきます)|(?:それ|これ|その件)は(?:お受け)?できません"
    r"|(?:我)?(?:无法|不能)(?:帮助|提供|协助|完成|回答|满足)|도와드릴\s*수\s*없|할\s*수\s*없습니다|제공할\s*수\s*없"
)
_EN_CORE_RE = compiled(globals(), "_EN_CORE_RE", "I(?<![\\w]I)(?i:" + _EN_CORE[len(r"\bI") :] + ")")
_OTHER_RE = compiled(globals(), "_OTHER_RE", rf"(?P<other>{_EN_OTHER})|(?P<ml>{_ML_CORE})", re.IGNORECASE)


def _words(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: word lists stay readable as prose."""
    return frozenset(text.split())


#: Words one of which every pattern but the English first person needs: texts without any skip
#: the patterns (each costs ~20 µs on an opening; this gate costs ~3).
_TRIGGER_TOKENS = _words(
    """something appropriate ethical safe responsible policies guidelines principles against outside violates
    violate violating conscience subjective depends depend personal taste comes boils wrong simple definitive
    universally objective correct single impossible hard difficult opinion opinions preference preferences
    belief beliefs feelings views emotions favorite favourite stance capable vote rank sides neutral nuanced valid
    perspectives vary varies differ beauty matters productive constructive encourage variables
    ich kann darf werde möchte mir wäre verstößt subjektiv hängt kommt pauschal keine je il est dépend pas d'opinion
    es depende tengo hay puedo podré podre estoy posible voy niego sería seria subjetiva respuesta è non não kan ik"""
)
#: …and the same words with the punctuation that ends a word, so that ``str.split`` is the tokenizer
#: (three times cheaper than a regex).
_TRIGGER_SPLIT = frozenset(w + p for w in _TRIGGER_TOKENS for p in ("", ".", ",", ";", ":", "!", "?", ")", '"', "\u201d"))
_NON_LATIN_RE = compiled(globals(), "_NON_LATIN_RE", "[\u0400-\u04ff\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]")
_APOLOGY_RE = compiled(globals(), "_APOLOGY_RE", rf"(?:{_APOLOGY})(?!\w)", re.IGNORECASE)
# A generic inability after an apology ("Sorry, I can't." "ごめんなさい、それはできません。")
_JA_APOLOGY = compiled(
    globals(), "_JA_APOLOGY", r"^\s*(?:申し訳(?:ありません|ございません)|ごめんなさい|すみません|恐れ入りますが)"
)

#: Words between "I can't" and the verb it declines.
_FILLER = _words(
    "to be able and will not won't cannot in good conscience really possibly ever just simply actually personally "
    "directly ethically legally currently i am i'm going have help you with that this"
)
_IDIOM = _words("wait stress believe thank imagine overstate emphasize emphasise lie complain agree express")
_OPINION = _words("choose pick select rate rank decide judge vote endorse prefer favor favour")
_HEDGE = _words("browse taste eat confirm verify check guarantee")
_WORD_RE = compiled(globals(), "_WORD_RE", "[\\w'\u2019\u02bc%]+")
_SAY_WHICH = compiled(
    globals(),
    "_SAY_WHICH",
    r"\s*(?:(?:say|tell\s+you|state|determine)\s+(?:for\s+sure\s+)?(?:which|who|whether|what(?:\s+is|'s)?\s+(?:better|best|right))|take\s+(?:a\s+)?sides?|side\s+with)",
    re.I,
)
_BE_SURE = compiled(
    globals(),
    "_BE_SURE",
    r"\s*be\s+(?:\d+\s*%\s+|completely\s+|entirely\s+|absolutely\s+|totally\s+)?(?:sure|certain|positive)",
    re.I,
)

_NON_ANSWER_RE = compiled(
    globals(),
    "_NON_ANSWER_RE",
    r"\b(?:is|it{Q}s|that{Q}s|are)\s+(?:a\s+|an\s+)?(?:highly\s+|very\s+|inherently\s+|deeply\s+|purely\s+|largely\s+|really\s+)?(?:subjective|personal\s+(?:decision|choice|matter|question)|matter\s+of\s+(?:personal\s+)?(?:preference|taste|opinion))"
    r"|\b(?:it|that|this)\s+(?:really\s+|all\s+)?depends\b|\bthat\s+really\s+depends|depends\s+on\s+(?:many|several|various|a\s+(?:lot|variety|number)\s+of|numerous)\s+(?:personal\s+)?(?:factors|things|variables)"
    r"|\b(?:answer|choice|decision|best\s+\w+)\s+(?:(?:will|would|may|can)\s+)?(?:depends?|var(?:y|ies)|differ)|(?:comes|boils)\s+down\s+to\s+(?:personal|your|individual|what)"
    r"|\bdepends\s+on\s+(?:your|the\s+individual|one{Q}s|individual|personal|each)|\bdepends\s+on\s+the\s+context"
    r"|\bthere{Q}?s?\s+(?:is\s+)?(?:no|isn{Q}t\s+(?:a|an|one))\s+(?:single\s+|simple\s+|definitive\s+|universally\s+|objective\s+|one\s+)?(?:right|wrong|correct|simple|definitive|objective|universal|single|clear)?\s*(?:or\s+wrong\s+)?(?:answer|right\s+answer)"
    r"|\bno\s+(?:right|wrong)\s+or\s+(?:wrong|right)\s+answer|\bno\s+wrong\s+answer|too\s+many\s+variables|impossible\s+to\s+say|hard\s+to\s+say|difficult\s+to\s+say"
    r"|\b(?:I|AI)\s+(?:do\s+not|don{Q}t)\s+(?:have|hold)\s+(?:any\s+)?(?:personal\s+|religious\s+|political\s+)?(?:opinions?|preferences?|beliefs?|feelings|views?|emotions|a\s+(?:personal\s+)?(?:favou?rite|stance|preference|opinion|view))"
    r"|\bnot\s+capable\s+of\s+having\s+(?:opinions|preferences)|\bI\s+(?:do\s+not|don{Q}t)\s+(?:vote|rank|take\s+sides|hold\s+political)"
    r"|\b(?:not\s+my\s+place|remain\s+neutral|complex\s+and\s+nuanced|valid\s+arguments\s+on|(?:perspectives|opinions|views)\s+(?:on\s+this\s+(?:topic\s+)?)?(?:vary|differ)|opinions\s+on\s+this\s+vary"
    r"|beauty\s+is\s+in\s+the\s+eye|only\s+you\s+can\s+(?:decide|weigh)|can{Q}t\s+go\s+wrong\s+with\s+either|both\s+perspectives\s+are\s+valid|what\s+matters\s+most\s+to\s+you"
    r"|approach\s+questions\s+like\s+this|more\s+(?:productive|constructive)\s+to|encourage\s+(?:you\s+to\s+)?(?:look|consult|consider)\w*\s+(?:at\s+)?(?:a\s+range|multiple|a\s+variety|various|different))"
    # de fr es it pt ja
    r"|\bist\s+subjektiv|hängt\s+(?:\w+\s+){0,6}ab\b|kommt\s+(?:ganz\s+)?darauf\s+an|nicht\s+pauschal|keine\s+persönliche\s+meinung"
    r"|\best\s+subjective|\bd[ée]pend\s+(?:de|des|du)\b|pas\s+d{Q}opinion|pas\s+de\s+bonne\s+ou\s+de\s+mauvaise"
    r"|\bes\s+subjetiva|\bdepende\s+de|no\s+tengo\s+opiniones|no\s+hay\s+una\s+respuesta"
    r"|\bè\s+soggettiva|主観的|意見はありません|一概には言えません|人によって異なり|によって異なります|好みによ".replace(
        "{Q}", _Q
    ),
    re.IGNORECASE,
)
#: An answer that picks, despite a deflection ("I don't have preferences, but I'd pick B").
_PICK_RE = compiled(
    globals(),
    "_PICK_RE",
    r"\b(?:I{Q}d|I\s+would|I{Q}ll)\s+(?:(?:still|probably|definitely)\s+)?(?:pick|choose|go\s+with|recommend|say|lean|vote|opt|suggest)"
    r"|\bif\s+I\s+had\s+to\s+(?:choose|pick)|\bmy\s+(?:honest\s+)?(?:pick|choice|recommendation|vote|answer)\b|\bI\s+recommend|\bthe\s+answer\s+is\b"
    r"|^\s*[A-E1-5]\s*(?:[).:—-]|$)|\b(?:most|many)\s+(?:historians|experts|economists|people)\s+(?:rank|consider|agree|prefer)"
    r"|based\s+on\s+popularity|\bchoose\s+the\b|\bgive\s+you\s+a\s+straight\s+answer|\bpick\s+\w+\.|おすすめ|を選びます|würde\s+mich\s+für|je\s+choisirais|mi\s+elecci[oó]n".replace(
        "{Q}", _Q
    ),
    re.IGNORECASE | re.MULTILINE,
)
_CLOSING_DEFLECTION = compiled(
    globals(),
    "_CLOSING_DEFLECTION",
    r"\b(?:ultimately|in\s+the\s+end),?\s+(?:the\s+(?:right|best)\s+(?:choice|answer|option|decision)|it|this|that)\s+(?:really\s+)?(?:depends|comes\s+down|boils\s+down)",
    re.IGNORECASE,
)
#: What turns a decline into partial compliance: a pivot to content.
_PIVOT_RE = compiled(
    globals(),
    "_PIVOT_RE",
    r"\b(?:but|however|though|that\s+said|instead|in\s+general|generally|what\s+I\s+can\s+do|here{Q}s(?!\s+why)|here\s+(?:is|are)|"
    r"aber|allerdings|mais|voici|pero|sin\s+embargo|ただ|ですが|しかし)\b|できませんが|ませんが、|^が、".replace("{Q}", _Q),
    re.IGNORECASE,
)
_SENTENCE_END = compiled(globals(), "_SENTENCE_END", r"[.!?](?=[\s\"'”»)\]]|$)|[。！？]|\n\s*\n")
_QUOTES_OPEN = '"“«„「『'
_DIALOGUE_START = compiled(globals(), "_DIALOGUE_START", r"^\s*(?:[\"“«„「『]|[—–]\s*\S)")
#: How much text after the decline makes it partial compliance (UTF-8 bytes, so a CJK
#: character weighs like three Latin letters).
PARTIAL_MIN_BYTES = 120
#: Declines open an output: only the first :data:`REFUSAL_WINDOW` characters and
#: :data:`DECLINE_SENTENCES` sentences are read.
DECLINE_SENTENCES = 3


def _opening_end(head: str) -> int:
    for n, m in enumerate(_SENTENCE_END.finditer(head), start=1):
        if n == DECLINE_SENTENCES:
            return m.end()
    return len(head)


def _in_quote(head: str, at: int) -> bool:
    """Whether ``head[at]`` lies inside quoted speech opened on its own line."""
    line_start = head.rfind("\n", 0, at) + 1
    seg = head[line_start:at]
    straight = seg.count('"')
    return (
        straight % 2 == 1
        or seg.count("“") > seg.count("”")
        or seg.count("«") > seg.count("»")
        or seg.count("„") > seg.count("“")
        or ("「" in seg and "」" not in seg)
    )


def _verb_kind(text: str, end: int) -> str:
    """What the first-person decline ending at ``end`` declines: "idiom" (can't wait), "hedge"
    (can't be sure), "opinion" (can't choose), "decline"."""
    rest = text[end : end + 80]
    if _BE_SURE.match(rest):
        return "hedge"
    if _SAY_WHICH.match(rest):
        return "opinion"
    low = rest.lower()
    if low.lstrip().startswith("help but") or low.lstrip().startswith("help falling"):
        return "idiom"
    for w in _WORD_RE.findall(low)[:6]:
        w = w.replace("\u2019", "'")
        if w in _FILLER:
            continue
        if w in _IDIOM or " enough" in low[: low.find(".") if "." in low else 80]:
            return "idiom"
        if w in _OPINION:
            return "opinion"
        if w in _HEDGE:
            return "hedge"
        if w in ("say", "tell") and _SAY_WHICH.match(rest):
            return "opinion"
        return "decline"
    return "decline"  # "I can't." / "I won't help you."


def _span(text: str, start: int, end: int) -> tuple[int, int]:
    """The decline's span, extended back to an apology that opens its sentence."""
    sent_start = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        sent_start = m.end()
    lead = text[sent_start:start]
    a = _APOLOGY_RE.search(lead)
    if a and len(lead) - a.start() < 60:
        start = sent_start + a.start()
    while start < end and text[start].isspace():
        start += 1
    return start, end


def _content_after(text: str, at: int) -> bool:
    """Whether a pivot to real content follows the decline ending at ``at``."""
    window = text[at : at + 260]
    m = _PIVOT_RE.search(window)
    if m is None:
        return False
    return len(text[at + m.start() :].encode("utf-8")) >= PARTIAL_MIN_BYTES


def _make(kind: DeclineKind, text: str, start: int, end: int) -> Decline:
    start, end = _span(text, start, end)
    return Decline(kind, (start, end), text[start:end])


def classify_decline(text: str) -> Decline | None:
    """Whether ``text`` declines, and how: a refusal, partial compliance or a non-answer, with the
    span that says so; None for an answer. Only the opening is read (the first
    :data:`REFUSAL_WINDOW` characters, :data:`DECLINE_SENTENCES` sentences): a refusal comes
    first, and a "cannot" deep in an answer is part of the answer."""
    head = text[:REFUSAL_WINDOW]
    low = head.lower()
    # the cheap gate: most answers hold none of the words the patterns need
    gated = (head.isascii() or not _NON_LATIN_RE.search(head)) and _TRIGGER_SPLIT.isdisjoint(low.split())
    closing = "ultimately" in low or "in the end" in low or "ultimately" in text[-400:].lower()
    if gated and not closing and ("I" not in head or _EN_CORE_RE.search(head) is None):
        # Only the English first person can match here, and it matches nowhere in the head, so
        # not in the opening (a prefix of it) either: skip finding the opening's sentences.
        return None
    opening = head[: _opening_end(head)]
    dialogue = bool(_DIALOGUE_START.match(opening))
    cores = list(_EN_CORE_RE.finditer(opening))
    if not gated:
        cores += _OTHER_RE.finditer(opening)
        cores.sort(key=lambda m: m.start())
    for m in cores:
        if dialogue or _in_quote(opening, m.start()):
            continue
        kind = _verb_kind(text, m.end()) if m.re is _EN_CORE_RE else "decline"
        if kind == "idiom":
            continue
        if kind == "hedge":
            continue
        if kind == "opinion":
            if _PICK_RE.search(text[:2000]):
                return None
            if _content_after(text, m.end()) and not _NON_ANSWER_RE.search(text, m.end(), m.end() + 200):
                return _make("partial", text, m.start(), m.end())
            return _make("non_answer", text, m.start(), m.end())
        if _content_after(text, m.end()):
            return _make("partial", text, m.start(), m.end())
        return _make("refusal", text, m.start(), m.end())
    if not dialogue and _JA_APOLOGY.match(opening) and (ja := re.search(r"できません|いたしかねます", opening)):
        return _make("refusal", text, 0, ja.end())
    m = (None if gated else _NON_ANSWER_RE.search(opening)) or (
        _CLOSING_DEFLECTION.search(text, max(0, len(text) - 400)) or _CLOSING_DEFLECTION.search(head) if closing else None
    )
    if m and not dialogue and not _PICK_RE.search(text[:2000]):
        return _make("non_answer", text, m.start(), m.end())
    return None


def find_refusal(text: str) -> str | None:
    """What makes ``text`` a refusal (see :func:`classify_decline`), or None: the
    :data:`REFUSAL_PHRASES` entry that the refusal opens with when there is one, else the matched
    text. Partial compliance and non-answers are not refusals here."""
    d = classify_decline(text)
    if d is None or d.kind != "refusal":
        return None
    return _find_phrase(text[d.span[0] : d.span[1] + 40]) or d.matched


#: finish/stop reasons meaning the output was cut at the token limit (OpenAI, Anthropic, Gemini,
#: OpenAI Responses), compared lower-case.
TRUNCATION_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"})
#: finish reasons meaning a safety system blocked or cut the output.
_FILTER_REASONS = frozenset({"content_filter", "safety", "prohibited_content", "blocklist", "spii"})

# ---------------------------------------------------------------------------------------------
# Markdown structure
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarkdownShape:
    """Counts of Markdown structures outside code fences: heading lines, bullet items, numbered
    items, tables, and code fences (blocks)."""

    headings: int = 0
    bullets: int = 0
    numbered: int = 0
    tables: int = 0
    code_fences: int = 0


#: One pass over the line starts (the text gets a leading newline so every line starts with one,
#: which also lets ``re`` jump from newline to newline). Every branch decides within a few
#: characters of the line start; the two that depend on the line above (a setext underline, a
#: table's delimiter row) are confirmed in Python. The lookahead is the first character every
#: branch needs after its indent: prose and blank lines (most lines) fail it at once instead of
#: being tried branch by branch (2.3× faster on ordinary answers, same matches).
_MD_RE = compiled(
    globals(),
    "_MD_RE",
    r"\n(?=[ \t]*+[-*+_#=|:\d])(?:"
    r"(?P<hr>[ ]{0,3}+(?:(?:\*[ \t]*+){3,}|(?:-[ \t]*+){3,}|(?:_[ \t]*+){3,})(?=\n|\Z))"  # thematic break
    r"|(?P<heading>[ ]{0,3}+\#{1,6}(?:[ \t]++\S|[ \t]*+(?=\n|\Z)))"  # ATX heading
    r"|(?P<setext>[ ]{0,3}+=++[ \t]*+(?=\n|\Z))"  # setext underline (heading if the line above has text)
    r"|(?P<delim>[ \t]*+\|?+(?:[ \t]*+:?-++:?[ \t]*+\|)++(?:[ \t]*+:?-++:?[ \t]*+)?+(?=\n|\Z))"  # table delimiter
    r"|(?P<bullet>[ \t]*+[-*+][ \t]++\S)"
    r"|(?P<numbered>[ \t]*+\d{1,9}+[.)][ \t]++\S)"
    r")",
)


_NO_MARKDOWN = MarkdownShape()
_build_markdown_shape = frozen_builder(MarkdownShape)


def _line_above(text: str, at: int) -> str:
    """The line that ends at the newline ``text[at]``."""
    return text[text.rfind("\n", 0, at) + 1 : at]


def markdown_shape(text: str) -> MarkdownShape:
    """Count the Markdown structures in ``text``; lines inside code fences are code, not Markdown."""
    fences = 0
    if has_fence_marker(text):
        parts, last = [], 0
        for m in FENCE_RE.finditer(text):
            fences += 1
            parts.append(text[last : m.start()])
            last = m.end()
        if fences:
            parts.append(text[last:])
            text = "\n".join(parts)
    text = "\n" + text
    # counts by the number of the branch's group (1 hr, 2 heading, 3 setext, 4 delim, 5 bullet,
    # 6 numbered): ``lastindex`` is a plain int, ``lastgroup`` a name looked up per match
    n = [0, 0, 0, 0, 0, 0, 0]
    for m in _MD_RE.finditer(text):
        i = m.lastindex
        if i == 3:  # setext underline: a heading when the line above is text
            above = _line_above(text, m.start())
            n[2] += bool(above.strip()) and not _MD_RE.match("\n" + above)
        elif i == 4:  # table delimiter: a table when the line above has a pipe
            n[4] += "|" in _line_above(text, m.start())
        else:
            n[i] += 1
    if not (fences or n[2] or n[4] or n[5] or n[6]):
        return _NO_MARKDOWN
    return _build_markdown_shape(n[2], n[5], n[6], n[4], fences)


# ---------------------------------------------------------------------------------------------
# JSON Schema
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema  # deferred: only cases with a schema pay for it

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_error(schema: dict, value: Any) -> str | None:
    """Why ``value`` does not satisfy ``schema`` (the most relevant error, with its JSON path),
    or None when it does."""
    from jsonschema.exceptions import best_match

    validator = _validator(json.dumps(schema, sort_keys=True))
    err = best_match(validator.iter_errors(value))
    if err is None:
        return None
    return f"{err.json_path}: {err.message}" if err.path else err.message


# ---------------------------------------------------------------------------------------------
# One output
# ---------------------------------------------------------------------------------------------


#: The default extraction: no JSON (frozen, so one shared instance is safe as a default).
_NO_JSON = ExtractedJson("none")


@dataclass(frozen=True, slots=True)
class OutputSignals:
    """What one output looks like, beyond its words. (A new field goes in
    :func:`output_signals`' positional builder call too, in field order.)"""

    json_shape: JsonShape
    json_valid: bool
    schema_valid: bool | None  # None: no schema given, or no JSON to validate
    refusal: bool
    refusal_reason: str | None
    truncated: bool
    words: int
    chars: int
    markdown: MarkdownShape
    error: bool
    #: The extracted JSON (value, offsets, preamble/trailer flags, parse error).
    extracted: ExtractedJson = _NO_JSON
    #: Where the refusal came from: "provider:openai.refusal", "provider:finish_reason", "text"; None.
    refusal_source: str | None = None
    #: A deflection that answers nothing ("this is subjective", "as an AI I have no opinions").
    non_answer: bool = False
    #: Declined a part and answered the rest (not a refusal).
    partial: bool = False
    #: What the text detector found (kind, span, matched text), also under a provider refusal.
    decline: Decline | None = None
    #: A pleasantry or announcement paragraph before the answer ("Sure! Here's what you need to
    #: know."), as written; None when the answer starts with its content. JSON answers have their
    #: own flag (``extracted.preamble``).
    lead_in: str | None = None

    @property
    def decline_span(self) -> tuple[int, int] | None:
        """``[start, end)`` of the declining words in the text, when the text detector found any."""
        return self.decline.span if self.decline else None

    @property
    def declined(self) -> bool:
        """Refused or answered nothing: what the "declined" rate counts."""
        return self.refusal or self.non_answer


_build_output_signals = frozen_builder(OutputSignals)


#: How a lead-in opens: pleasantries and announcements of what follows (English, and the common
#: forms in German, French, Spanish). Matched case-insensitively at the start of the answer.
_LEAD_IN_OPENERS = (
    r"sure|certainly|of course|absolutely|great question|good question|excellent question|happy to help"
    r"|i'?d be (?:happy|glad) to|i(?:'m| am) (?:happy|glad) to|here(?:'s| is| are)|below (?:is|are)"
    r"|okay|ok|alright|no problem|gladly|thanks for (?:asking|your question)"
    r"|gerne|natürlich|klar|bien sûr|avec plaisir|voici|claro|por supuesto|con gusto|aquí (?:tienes|está)"
)
_LEAD_IN_FIRST = frozenset("SsCcOoAaGgHhIiBbNnTtKkVvPp")  # first letters of the openers: a cheap gate
_LEAD_IN_RE = compiled(globals(), "_LEAD_IN_RE", rf"(?:{_LEAD_IN_OPENERS})\b", re.IGNORECASE)
#: A lead-in is one short paragraph: at most this many words.
LEAD_IN_MAX_WORDS = 25


def lead_in(text: str) -> str | None:
    """The opening paragraph when it is a lead-in before the content (a pleasantry or an
    announcement such as "Certainly! Here is a summary:"), else None. Only the first 300
    characters are read; the lead-in must be followed by a blank line, or end with ":" and a line
    break, and more text must follow it."""
    head = text[:300]
    stripped = head.lstrip()
    if not stripped or stripped[0] not in _LEAD_IN_FIRST:
        return None
    if not _LEAD_IN_RE.match(stripped):
        return None
    offset = len(head) - len(stripped)
    ends = [i for i in (stripped.find("\n\n"), stripped.find(":\n")) if i > 0]
    if not ends:
        return None
    end = min(ends) + (1 if stripped[min(ends)] == ":" else 0)
    para = stripped[:end].strip()
    if len(para.split()) > LEAD_IN_MAX_WORDS or not text[offset + end :].strip():
        return None
    return para


def output_signals(
    text: str,
    *,
    finish_reason: str | None = None,
    refusal: str | None = None,
    schema: dict | None = None,
    error: str | None = None,
    words: int | None = None,
) -> OutputSignals:
    """Signals of one output. ``finish_reason`` is the provider's finish/stop reason as given;
    ``refusal`` the provider's structured refusal message (OpenAI ``message.refusal``);
    ``error`` set when the call failed (the sample then has no real output); ``words`` the
    :func:`~reviewer.diff.tokens.word_count` when the caller already has it."""
    ej = extract_json(text)
    reason = (finish_reason or "").lower()
    refusal_reason: str | None = None
    source: str | None = None
    decline = classify_decline(text) if error is None and text else None
    if refusal:  # provider-native signals first
        refusal_reason, source = "message.refusal", "provider:openai.refusal"
    elif reason in _FILTER_REASONS:
        refusal_reason, source = f"finish_reason={reason}", "provider:finish_reason"
    elif reason == "refusal":
        refusal_reason, source = "stop_reason=refusal", "provider:finish_reason"
    elif decline is not None and decline.kind == "refusal":
        phrase = _find_phrase(text[decline.span[0] : decline.span[1] + 40]) or decline.matched
        refusal_reason, source = f'phrase: "{" ".join(phrase.split())}"', "text"
    schema_valid: bool | None = None
    valid = ej.valid
    if schema is not None and valid:
        schema_valid = schema_error(schema, ej.value) is None
    shape = ej.shape
    return _build_output_signals(  # OutputSignals(...) with every field in order, about 2× cheaper
        shape,  # json_shape
        valid,  # json_valid
        schema_valid,
        refusal_reason is not None,  # refusal
        refusal_reason,
        reason in TRUNCATION_REASONS or shape == "truncated",  # truncated
        word_count(text) if words is None else words,  # words
        len(text),  # chars
        _NO_MARKDOWN if shape == "bare" else markdown_shape(text),  # markdown: a JSON document has none
        error is not None,  # error
        ej,  # extracted
        source,  # refusal_source
        source is None and decline is not None and decline.kind == "non_answer",  # non_answer
        source is None and decline is not None and decline.kind == "partial",  # partial
        decline,
        lead_in(text) if shape == "none" and error is None else None,  # lead_in
    )


# ---------------------------------------------------------------------------------------------
# A baseline/candidate pair
# ---------------------------------------------------------------------------------------------

Flip2 = Literal["gained", "lost"]


@dataclass(frozen=True, slots=True)
class PairSignals:
    """How the candidate's output differs in form from the baseline's."""

    format_drift: tuple[str, ...]
    length_ratio: float
    refusal_flip: Flip2 | None
    truncation_flip: Flip2 | None


def length_ratio(baseline_words: int, candidate_words: int) -> float:
    """candidate / baseline words. Both empty → 1.0; an empty baseline counts as one word, so the
    ratio stays finite (and JSON-serializable)."""
    if baseline_words == 0:
        return 1.0 if candidate_words == 0 else float(candidate_words)
    return candidate_words / baseline_words


def _flip(before: bool, after: bool) -> Flip2 | None:
    if before == after:
        return None
    return "gained" if after else "lost"


def pair_signals(baseline: OutputSignals, candidate: OutputSignals) -> PairSignals:
    """Compare two outputs' signals. Format drift is not reported when either side errored."""
    drift: list[str] = []
    if not (baseline.error or candidate.error):
        drift = _format_drift(baseline, candidate)
    return PairSignals(
        format_drift=tuple(drift),
        length_ratio=length_ratio(baseline.words, candidate.words),
        refusal_flip=_flip(baseline.refusal, candidate.refusal),
        truncation_flip=_flip(baseline.truncated, candidate.truncated),
    )


def _format_drift(b: OutputSignals, c: OutputSignals) -> list[str]:
    out: list[str] = []
    bs, cs = b.json_shape, c.json_shape
    if bs != cs:
        if bs == "none":
            out.append(f"JSON added ({cs})")
        elif cs == "none":
            out.append(f"JSON dropped (was {bs})")
        else:
            out.append(f"JSON {bs} → {cs}")
    elif b.json_valid:
        for flag, name in (("preamble", "text before JSON"), ("trailer", "text after JSON")):
            before, after = getattr(b.extracted, flag), getattr(c.extracted, flag)
            if before != after:
                out.append(f"{name} {'added' if after else 'dropped'}")
    if bs == cs == "none" and (b.lead_in is None) != (c.lead_in is None):
        out.append("lead-in added" if c.lead_in is not None else "lead-in dropped")
    bm, cm = b.markdown, c.markdown
    # bullets ↔ numbered is one change, not "bullets dropped" + "numbered list added"
    if bm.bullets and not bm.numbered and cm.numbered and not cm.bullets:
        out.append("bullets → numbered")
    elif bm.numbered and not bm.bullets and cm.bullets and not cm.numbered:
        out.append("numbered → bullets")
    else:
        for field, name in (("bullets", "bullets"), ("numbered", "numbered list")):
            out.extend(_presence(getattr(bm, field), getattr(cm, field), name))
    # a code fence that only carries the JSON is already said by "JSON bare → fenced"
    b_fences = bm.code_fences - (bs == "fenced" and cs != "fenced")
    c_fences = cm.code_fences - (cs == "fenced" and bs != "fenced")
    out.extend(_presence(bm.headings, cm.headings, "headings"))
    out.extend(_presence(bm.tables, cm.tables, "table"))
    out.extend(_presence(b_fences, c_fences, "code block"))
    return out


def _presence(before: int, after: int, name: str) -> list[str]:
    if before and not after:
        return [f"{name} dropped"]
    if after and not before:
        return [f"{name} added"]
    return []
