"""The review-queue page of one scored day: one self-contained HTML file (inline CSS, inline SVG
sparklines, no script, nothing fetched when it is opened), readable on a laptop screen.

Every value from the warehouse (account ids, reason texts, check details, who overrode) is
data and is escaped; nothing is ever interpolated into markup unescaped.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from datetime import date, timedelta
from html import escape
from pathlib import Path

from ml.monitor.queue import CheckRow, DayQueue, DayScore, LinkedAccount, QueueItem, WorkItem

MONITOR_CHECKS = ("features_arriving", "drift.features", "drift.score")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

CSS = """
:root { --block: #b3261e; --review: #a15c00; --allow: #2e6b30; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124;
       margin: 0 auto; max-width: 1180px; padding: 16px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0; } h3 { font-size: 12px; margin: 0 0 4px;
     text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.meta, .muted { color: var(--muted); }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.status { font-weight: 600; }
.ok { color: var(--allow); } .warn { color: var(--review); } .error { color: var(--block); }
table { border-collapse: collapse; width: 100%; } td, th { text-align: left; padding: 2px 6px 2px 0;
      vertical-align: top; } th { font-weight: 600; color: var(--muted); font-size: 12px; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.block { background: var(--block); } .badge.review { background: var(--review); }
.badge.allow { background: var(--allow); } .badge.none { background: var(--muted); }
ol.queue { list-style: none; padding: 0; margin: 0; }
.item { border: 1px solid var(--line); border-left: 5px solid var(--review); border-radius: 8px; padding: 10px 12px;
        margin: 10px 0; } .item.band-block { border-left-color: var(--block); }
.item:target { outline: 3px solid #1a73e8; }
.item h2 .rank { color: var(--muted); font-weight: 400; margin-right: 6px; }
.item h2 .account { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; margin-right: 8px; }
.item h2 .score { margin-left: 8px; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: 1.3fr 1fr 1.2fr 1.2fr; gap: 14px; margin-top: 8px; }
@media (max-width: 900px) { .grid { grid-template-columns: 1fr 1fr; } }
.reasons { margin: 0; padding-left: 18px; } .reasons code { font-size: 11px; color: var(--muted); }
.numbers { margin: 2px 0 0; padding: 0; list-style: none; font-size: 11px; color: var(--muted);
           font-variant-numeric: tabular-nums; columns: 2; }
.linked { margin: 0; padding: 0; list-style: none; } .linked li { margin-bottom: 2px; }
.linked .account { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.group { border: 1px solid var(--line); border-left: 5px solid var(--review); border-radius: 8px;
         padding: 10px 12px; margin: 10px 0; background: #f8f9fa; }
.group.band-block { border-left-color: var(--block); }
.group > h2 .rank { color: var(--muted); font-weight: 400; margin-right: 6px; }
.group ol.members { list-style: none; padding: 0; margin: 6px 0 0; }
.notes { background: #fef7e0; border-radius: 8px; padding: 8px 12px; }
svg.spark { display: block; }
"""


def anchor(account_id: str) -> str:
    """The element id of an account's item: the id itself when it is plainly safe, else a hash."""
    if _SAFE_ID.fullmatch(account_id):
        return f"acct-{account_id}"
    return f"acct-h{hashlib.sha256(account_id.encode()).hexdigest()[:16]}"


def _pct(value: float) -> str:
    return f"{value:.2%}"


def sparkline(history: Sequence[DayScore], first: date, days: int, width: int = 168, height: int = 40) -> str:
    """Scores of the last `days` days as an inline SVG polyline (gaps where a day was not scored),
    dots coloured by band; the y axis runs from 0 to the largest score shown."""
    by_day = {h.day: h for h in history}
    top = max([h.score for h in history] + [1e-6])
    step = (width - 8) / max(days - 1, 1)
    points, dots, segment, segments = [], [], [], []
    for i in range(days):
        day = first + timedelta(days=i)
        found = by_day.get(day)
        if found is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = 4 + i * step, height - 4 - (height - 8) * found.score / top
        segment.append(f"{x:.1f},{y:.1f}")
        colour = {"block": "#b3261e", "review": "#a15c00"}.get(found.band, "#2e6b30")
        title = escape(f"{day}: {found.score:.4f} ({found.band})")
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="{colour}"><title>{title}</title></circle>')
    if segment:
        segments.append(segment)
    for points_of in segments:
        points.append(f'<polyline fill="none" stroke="#5f6368" stroke-width="1.2" points="{" ".join(points_of)}"/>')
    label = escape(f"score over the last {days} days, 0 to {top:.3f}")
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"'
        f' aria-label="{label}">{"".join(points)}{"".join(dots)}</svg>'
    )


def _badge(band: str | None) -> str:
    name = band or "none"
    css = name if name in ("block", "review", "allow") else "none"
    return f'<span class="badge {css}">{escape(name)}</span>'


def _linked(linked: LinkedAccount) -> str:
    name = f'<span class="account">{escape(linked.account_id)}</span>'
    if linked.in_queue:
        name = f'<a href="#{escape(anchor(linked.account_id))}">{name}</a>'
    score = f"score {linked.score:.3f} {_badge(linked.band)}" if linked.score is not None else "not scored that day"
    decision = escape(linked.decision) if linked.decision else "never flagged"
    types = escape(", ".join(linked.link_types))
    return (
        f'<li data-linked="{escape(linked.account_id)}">{name} <span class="muted">{types}</span>'
        f" &middot; decision <strong>{decision}</strong> &middot; {score}</li>"
    )


def _item(rank: int | str, item: QueueItem, queue: DayQueue) -> str:
    first = queue.day - timedelta(days=queue.history_days - 1)
    reasons = "".join(f"<li>{escape(text)} <code>{escape(code)}</code></li>" for code, text in item.reasons)
    reasons_html = f'<ol class="reasons">{reasons}</ol>' if reasons else '<p class="muted">no reasons recorded</p>'
    numbers = "".join(f"<li>{h.day:%m-%d} {h.score:.3f}</li>" for h in item.history)
    decisions = "".join(
        f"<tr><td>{d.as_of_date}</td><td>{_badge(d.decision)}</td><td>{escape(d.previous_decision or '-')}</td>"
        f"<td>{escape(d.change_reason or '')}</td></tr>"
        for d in item.decisions
    )
    decisions_html = (
        f"<table><tr><th>as of</th><th>decision</th><th>was</th><th>why</th></tr>{decisions}</table>"
        if decisions
        else '<p class="muted">no decision recorded yet</p>'
    )
    linked = "".join(_linked(other) for other in item.linked)
    more = item.linked_total - len(item.linked)
    more_html = f'<p class="muted">+{more} more linked accounts</p>' if more > 0 else ""
    linked_html = f'<ul class="linked">{linked}</ul>{more_html}' if linked else '<p class="muted">none on this day</p>'
    spark = sparkline(item.history, first, queue.history_days)
    account = escape(item.account_id)
    return f"""
<li class="item band-{escape(item.band)}" id="{escape(anchor(item.account_id))}" data-account="{account}"
    data-band="{escape(item.band)}" data-score="{item.score:.6f}" data-rule="{str(item.by_rule).lower()}">
  <h2><span class="rank">#{rank}</span><span class="account">{account}</span>{_badge(item.band)}
      <span class="score">score {item.score:.3f}</span></h2>
  <div class="grid">
    <div class="reasons-box"><h3>Reasons</h3>{reasons_html}</div>
    <div class="history"><h3>Score, last {queue.history_days} days</h3>{spark}
      <ol class="numbers">{numbers}</ol></div>
    <div class="decisions"><h3>Decision history</h3>{decisions_html}</div>
    <div class="links"><h3>Linked accounts ({item.linked_total})</h3>{linked_html}</div>
  </div>
</li>"""


def _work_item(rank: int, work: WorkItem, queue: DayQueue) -> str:
    """One account's card, or a group's: its members' cards under one heading with what links them."""
    if work.group_id is None:
        return _item(rank, work.members[0], queue)
    bands = [m.band for m in work.members]
    counts = ", ".join(f"{bands.count(b)} {b}" for b in ("block", "review") if b in bands)
    shared = escape(", ".join(work.shared_link_types) or "linked through accounts outside the queue")
    members = "".join(_item(f"{rank}.{i}", member, queue) for i, member in enumerate(work.members, 1))
    group = escape(work.group_id)
    top = "block" if "block" in bands else "review"
    return f"""
<li class="group band-{top}" data-group="{group}" data-members="{len(work.members)}">
  <h2><span class="rank">#{rank}</span>Linked group <span class="account">{group}</span>:
      {len(work.members)} flagged accounts ({counts}), highest score {work.score:.3f}</h2>
  <p class="muted">Shared between them: {shared}. One item: judge the group and its members together.</p>
  <ol class="members">{members}</ol>
</li>"""


def _check_status(check: CheckRow | None) -> tuple[str, str]:
    if check is None:
        return "muted", "not recorded"
    if check.passed:
        return "ok", "ok"
    return ("error", "failed") if check.severity == "error" else ("warn", "warning")


def _summary(queue: DayQueue) -> str:
    publication_css = {"published": "ok", "published under override": "warn", "refused": "error"}.get(
        queue.publication.status, "warn"
    )
    previous = {band: _pct(rate) for band, rate in queue.previous_band_rates.items()}
    band_rows = "".join(
        f"<tr><td>{_badge(band)}</td><td class='num'>{queue.band_counts.get(band, 0):,}</td>"
        f"<td class='num'>{_pct(queue.band_rates[band])}</td><td class='num'>{previous.get(band, '-')}</td></tr>"
        for band in ("block", "review", "allow")
    )
    checks = {c.check: c for c in queue.checks}
    monitor_rows = ""
    for name in MONITOR_CHECKS:
        css, said = _check_status(checks.get(name))
        detail = escape(checks[name].detail) if name in checks else ""
        monitor_rows += f"<tr><td>{escape(name)}</td><td class='status {css}'>{said}</td><td>{detail}</td></tr>"
    gate = [c for c in queue.checks if c.check not in MONITOR_CHECKS]
    failed = [c for c in gate if not c.passed]
    gate_html = f"<p>{len(gate) - len(failed)} of {len(gate)} publication checks passed.</p>"
    if failed:
        gate_html += (
            "<ul>"
            + "".join(
                f"<li class='{'error' if c.severity == 'error' else 'warn'}'>{escape(c.check)}: {escape(c.detail)}</li>"
                for c in failed
            )
            + "</ul>"
        )
    notes = "".join(f"<p>{escape(note)}</p>" for note in queue.notes)
    return f"""
<section class="summary">
  <div class="card" id="publication"><h3>Publication</h3>
    <p class="status {publication_css}">{escape(queue.publication.status)}</p>
    <p class="muted">{escape(queue.publication.detail)}</p>{gate_html}</div>
  <div class="card" id="bands"><h3>Band rates</h3>
    <table><tr><th>band</th><th class="num">accounts</th><th class="num">rate</th><th class="num">prev. days</th></tr>
    {band_rows}</table></div>
  <div class="card" id="drift" style="grid-column: span 2"><h3>Drift vs the training reference</h3>
    <table>{monitor_rows}</table></div>
</section>
{f'<div class="notes" id="notes">{notes}</div>' if notes else ""}"""


def render(queue: DayQueue) -> str:
    """The whole page."""
    versions = ", ".join(f"v{v}" for v in queue.model_versions)
    generated = f" &middot; generated {queue.generated_at:%Y-%m-%d %H:%M} UTC" if queue.generated_at else ""
    counts = f"{queue.band_counts.get('review', 0):,} review, {queue.band_counts.get('block', 0):,} block"
    shown = (
        f"showing the {len(queue.items):,} highest of {queue.flagged_total:,} accounts"
        if len(queue.items) < queue.flagged_total
        else f"{queue.flagged_total:,} accounts"
    )
    work = queue.work_items
    groups = [w for w in work if w.group_id is not None]
    in_groups = sum(len(w.members) for w in groups)
    grouped = f", {len(groups):,} of them linked groups of {in_groups:,} accounts" if groups else ""
    items = "".join(_work_item(rank, item, queue) for rank, item in enumerate(work, 1))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil review queue {queue.day}</title>
<style>{CSS}</style>
</head>
<body>
<header>
  <h1>Review queue &middot; {queue.day}</h1>
  <p class="meta">{queue.rows:,} accounts scored by {escape(versions)}
    (run {escape(queue.scores_run_id or "several")}){generated}</p>
</header>
{_summary(queue)}
<h2 id="items">Review and block items, highest score first: {len(work):,} items to work{grouped};
  {shown} ({counts})</h2>
<ol class="queue">{items}</ol>
</body>
</html>
"""


def write_report(queue: DayQueue, folder: Path) -> Path:
    """Write the page as `<folder>/review_queue_<day>.html`, atomically (a reader never sees half)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"review_queue_{queue.day}.html"
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=".", suffix=".html", delete=False) as f:
        f.write(render(queue))
    os.replace(f.name, path)
    return path
