"""Numbers quoted in a notebook's prose, checked against what the executed notebook prints.

The rule the series keeps: a decimal number in a markdown cell is a number the notebook prints, this run's or
the committed reference runs' (:func:`nml_tutorial.reference_runs.reference_results`, printed by a check cell),
unless it is a constant of the lesson named with its reason (a loss weight, a learning rate).
:func:`unsupported_numbers` lists the quoted numbers that no output holds at the precision they are quoted with;
the test suite runs it over the executed series, so a sentence left behind by a changed result fails. It checks
that a quoted number exists among the outputs, not that it is the right one of them: a stale number that happens
to equal another printed number passes.
"""

from __future__ import annotations

import re

import nbformat

# a decimal number, signed with '-', '+' or the typographic minus; integers are not checked (counts, percentages
# of noise, class numbers are part of the setting, not results)
NUMBER = re.compile(r"(?<![A-Za-z0-9.,])([+\-\u2212]?\d+\.\d+)(?!\.?\d)(\s?%)?")
IGNORED = (re.compile(r"```.*?```", re.S), re.compile(r"~~~.*?~~~", re.S), re.compile(r"`[^`]*`"),
           re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"\$[^$]*\$"),
           re.compile(r"\]\([^)]*\)"), re.compile(r"https?://\S+"), re.compile(r"arXiv \S+", re.I),
           re.compile(r"Section \d+(\.\d+)*", re.I))


def prose_of(markdown: str) -> str:
    """``markdown`` without its code blocks, code spans, formulas, links and citations."""
    for pattern in IGNORED:
        markdown = pattern.sub(" ", markdown)
    return markdown


def numbers_in(text: str) -> list[str]:
    """The decimal numbers written in ``text``, as written (the typographic minus read as '-'), a percentage
    keeping its ``%``."""
    return [m.group(1).replace("\u2212", "-") + ("%" if m.group(2) else "") for m in NUMBER.finditer(text)]


def _printed(book) -> str:
    parts = []
    for cell in book.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})  # not text/html: a figure's HTML holds its whole JSON at full precision
            parts.extend(data.get(kind, "") for kind in ("text/plain", "text/markdown"))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def _supports(quoted: str, printed: set[float]) -> bool:
    """True when a printed number rounds to ``quoted``; a percentage is also supported by a printed fraction in
    [0, 1]; a number quoted without a sign ("falls by 9.5") matches either sign."""
    percent = quoted.endswith("%")
    quoted = quoted.rstrip("%")
    decimals = len(quoted.split(".")[1])
    value = float(quoted)
    signed = quoted[0] in "+-"
    candidates = set(printed)
    if percent:
        candidates |= {100 * p for p in printed if 0 <= p <= 1}
    return any(abs((v if signed else abs(v)) - value) < 1e-9 for v in (round(p, decimals) for p in candidates))


def _numbers(text: str) -> set[float]:
    return {float(n) for n in re.findall(r"[+\-]?\d+(?:\.\d+)?", text.replace("\u2212", "-"))}


def unsupported_numbers(book, allowed: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(number, its sentence) for each decimal number in ``book``'s markdown that none of its outputs prints at
    that precision and that ``allowed`` (number as written -> why it is a constant of the lesson) does not name."""
    if not isinstance(book, nbformat.NotebookNode):
        book = nbformat.read(book, as_version=4)
    printed = _numbers(_printed(book))
    allowed = allowed or {}
    found = []
    for cell in book.cells:
        if cell.cell_type != "markdown":
            continue
        for sentence in re.split(r"(?<=[.!?])\s+|\n", prose_of(cell.source)):
            for quoted in numbers_in(sentence):
                if quoted.rstrip("%") not in allowed and not _supports(quoted, printed):
                    found.append((quoted, sentence.strip()))
    return found
