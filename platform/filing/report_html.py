"""The assessment report as a printable HTML page (``GET …/assessment?format=html``).

Every value from the application or the prior art (titles, claim text, field values) is
escaped with :func:`html.escape`; the page has no script and loads nothing (inline CSS, with
``@media print`` rules so it prints as a clean document: no backgrounds, tables that do not
split rows across pages, link targets printed beside the links). Links are relative to the
server (``/v1/collections/…``), so the page works behind any host name.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ipsim.platform.filing.assessment import Job
from ipsim.platform.filing.verdict import Verdict

_CSS = """
body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #111; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict { display: inline-block; padding: 0.15em 0.6em; border: 2px solid; font-weight: bold; }
.likely_anticipated { color: #a00; } .needs_review { color: #a60; } .likely_novel { color: #060; }
.excerpt { color: #333; font-style: italic; }
.meta { color: #555; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  th { background: none; }
  tr, .element { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
  a[href]::after { content: " (" attr(href) ")"; font-size: 8pt; color: #555; }
}
"""


def render(job: Job) -> str:
    """The whole page for ``job`` (any status: a queued one says so)."""
    report = job.report
    title = f"Preliminary novelty assessment of {job.application_id}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        _meta(job),
    ]
    if report is None:
        message = job.error or "The assessment has not finished yet; reload this page later."
        parts.append(f"<p>{escape(message)}</p>")
    else:
        parts += _report(report)
    parts.append("</body></html>")
    return "\n".join(parts)


def _meta(job: Job) -> str:
    rows = [
        ("Assessment", job.id),
        ("Status", job.status),
        ("Requested by", job.requested_by),
        ("Requested", job.to_json()["created"] or ""),
        ("Finished", job.to_json()["finished"] or "-"),
    ]
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="meta">{cells}</table>'


def _report(report: dict[str, Any]) -> list[str]:
    application = report["application"]
    verdict = Verdict(report["verdict"])
    score = report.get("max_score")
    parts = [
        f"<p><b>{escape(application['title'])}</b> "
        f"({escape(application['kind'].replace('_', ' '))}, status "
        f"{escape(application['status'])})</p>",
        f'<p>Verdict: <span class="verdict {verdict.value}">{escape(verdict.label)}</span>'
        f" &mdash; best score {_score(score)}</p>",
    ]
    parts += [f"<p>{escape(note)}</p>" for note in report.get("notes", [])]
    for element in report["elements"]:
        parts += _element(element)
    parts += _thresholds(report.get("thresholds", {}))
    collections = ", ".join(
        f"{c['name']} ({c['modality']}, {c['count']} documents)" for c in report["collections"]
    )
    parts.append(
        f'<p class="meta">Collections searched: {escape(collections or "none")}. '
        f"Generated {escape(report.get('generated') or '')}. A preliminary, automated search: "
        "an aid for the examiner, not a finding.</p>"
    )
    return parts


def _element(element: dict[str, Any]) -> list[str]:
    verdict = element.get("verdict")
    band = (
        f'<span class="verdict {Verdict(verdict).value}">{escape(Verdict(verdict).label)}</span>'
        if verdict
        else "not searched"
    )
    parts = [
        '<div class="element">',
        f"<h2>{escape(element['element'])} &mdash; {band}</h2>",
    ]
    if element.get("excerpt"):
        parts.append(f'<p class="excerpt">{escape(element["excerpt"])}</p>')
    for error in element.get("errors", []):
        parts.append(f"<p>Not searched: {escape(error)}</p>")
    if element["hits"]:
        rows = "".join(
            "<tr>"
            f'<td class="num">{rank}</td>'
            f'<td class="num">{_score(hit["score"])}</td>'
            f"<td>{escape(hit['collection'])}</td>"
            f'<td><a href="{escape(hit["link"])}">{escape(hit["id"])}</a></td>'
            f"<td>{escape(hit['title'])}</td>"
            "</tr>"
            for rank, hit in enumerate(element["hits"], 1)
        )
        parts.append(
            "<table><tr><th>#</th><th>score</th><th>collection</th><th>document</th>"
            f"<th>title</th></tr>{rows}</table>"
        )
    elif element.get("searched"):
        parts.append("<p>No prior art found.</p>")
    parts.append("</div>")
    return parts


def _thresholds(thresholds: dict[str, Any]) -> list[str]:
    if not thresholds:
        return []
    rows = "".join(
        f"<tr><td>{escape(modality)}</td><td class='num'>{_score(t['lower'])}</td>"
        f"<td class='num'>{_score(t['upper'])}</td>"
        f"<td>{'calibrated on labelled data' if t['calibrated'] else 'not calibrated'}</td></tr>"
        for modality, t in sorted(thresholds.items())
    )
    return [
        "<h2>Verdict bands</h2>",
        "<p>Likely novel below the lower threshold, likely anticipated at or above the upper "
        "one, needs review between; the worst element decides.</p>",
        "<table><tr><th>modality</th><th>lower</th><th>upper</th><th>thresholds</th></tr>"
        f"{rows}</table>",
    ]


def _score(score: float | None) -> str:
    return "-" if score is None else f"{score:.3f}"


__all__ = ["render"]
