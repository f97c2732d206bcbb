"""A self-contained HTML page for one eval run or a comparison: tables and hand-written inline SVG bar charts.

No plotting library and nothing fetched: the page opens offline, can be mailed, and renders in any browser.
"""

from __future__ import annotations

from html import escape
from typing import Any

# Chart colours, one per config (colour-blind-safe Okabe-Ito order).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"]
# Per-question values charted in the breakdowns, with their labels.
BREAKDOWN_METRICS = [
    ("hit@5", "retrieval hit@5"), ("mrr", "retrieval MRR"), ("recall@k", "window recall (top k)"),
    ("citation_precision", "citations in a gold window"), ("key_facts", "key facts in the answer"),
    ("wrong_refusal", "wrong refusals (answerable)"), ("right_refusal", "right refusals (unanswerable)"),
    ("judge_faithfulness", "judge: faithfulness"), ("judge_correctness", "judge: correctness"),
]
COUNT_SUFFIXES = ("citations", "errors")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}
td.num{text-align:right;font-variant-numeric:tabular-nums}.good{color:#0a7a32}.bad{color:#b00020}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.charts{display:flex;flex-wrap:wrap;gap:1rem}.muted{color:#777}details{margin:.2rem 0}
td.q{max-width:360px}.ok{color:#0a7a32}.ko{color:#b00020}code{font-size:12px}
"""


def render_html(reports: list[dict[str, Any]]) -> str:
    """The whole page for one report, or several reports of the same suite side by side."""
    names = [r["config"] for r in reports]
    title = "debrief evals: " + " vs ".join(names)
    first = reports[0]
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>",
        _run_info(reports),
        _legend(names),
        "<h2>Headline metrics</h2>",
        _metrics_table(reports),
        _headline_chart(reports),
    ]
    for dim, label in (("kind", "question kind"), ("language", "question language"), ("speaker", "gold speaker")):
        parts.append(_breakdown(reports, dim, label))
    if first.get("attribution"):
        parts.append(_attribution(first["attribution"]))
    for rep in reports:
        if rep.get("questions"):
            parts.append(_questions(rep))
    parts.append("</body></html>")
    return "\n".join(parts)


# -- sections ------------------------------------------------------------------------------------------------------

def _run_info(reports: list[dict[str, Any]]) -> str:
    rows = []
    for rep in reports:
        settings = rep.get("settings") or {}
        knobs = ", ".join(f"{k}={v}" for k, v in settings.items() if v is not None)
        rows.append(f"<tr><td>{escape(rep['config'])}</td><td>{escape(rep['suite'])}</td>"
                    f"<td><code>{escape(knobs or str(rep.get('overrides', {})))}</code></td>"
                    f"<td class=num>{len(rep.get('questions', []))}</td><td>{escape(rep.get('created', ''))}</td>"
                    f"<td>{escape(rep.get('git_commit', ''))}</td><td class=num>{rep.get('seconds', 0)}s</td>"
                    f"<td class=num>{rep.get('seconds_per_question', 0):.2f}s</td></tr>")
    return ("<table><tr><th>config</th><th>suite</th><th>settings</th><th>questions</th><th>run at</th>"
            "<th>commit</th><th>took</th><th>per question</th></tr>" + "".join(rows) + "</table>")


def _legend(names: list[str]) -> str:
    if len(names) < 2:
        return ""
    items = "".join(f"<span><i style='background:{COLOURS[i % len(COLOURS)]}'></i>{escape(n)}</span>"
                    for i, n in enumerate(names))
    return f"<p class=legend>{items}</p>"


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    if name.endswith(COUNT_SUFFIXES):
        return f"{value:.0f}"
    return f"{value:.1%}"


def _metrics_table(reports: list[dict[str, Any]]) -> str:
    from evals.run import LOWER_IS_BETTER

    names = list(dict.fromkeys(k for r in reports for k in r["metrics"]))
    head = "".join(f"<th>{escape(r['config'])}</th>" + ("<th>Δ (points)</th>" if i else "")
                   for i, r in enumerate(reports))
    rows = []
    for name in names:
        base = reports[0]["metrics"].get(name)
        cells = []
        for i, rep in enumerate(reports):
            value = rep["metrics"].get(name)
            cells.append(f"<td class=num>{_fmt(name, value)}</td>")
            if i:
                cells.append(_delta_cell(name, base, value, name in LOWER_IS_BETTER))
        rows.append(f"<tr><td>{escape(name)}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>"


def _delta_cell(name: str, base: float | None, value: float | None, lower_better: bool) -> str:
    from evals.run import _delta_text

    text = _delta_text(name, base, value)
    if text in ("", "="):
        return f"<td class=num>{text}</td>"
    assert base is not None and value is not None
    cls = "good" if (value < base) == lower_better else "bad"
    return f"<td class='num {cls}'>{text}</td>"


def _headline_chart(reports: list[dict[str, Any]]) -> str:
    names = [k for k in dict.fromkeys(k for r in reports for k in r["metrics"])
             if not k.endswith(COUNT_SUFFIXES)]
    series = [[r["metrics"].get(k) for k in names] for r in reports]
    return bar_chart("Headline metrics (share, 0-100 %)", names, series, [r["config"] for r in reports])


def _breakdown(reports: list[dict[str, Any]], dim: str, label: str) -> str:
    groups = list(dict.fromkeys(g for r in reports for g in r.get("breakdowns", {}).get(dim, {})))
    if not groups:
        return ""
    out = [f"<h2>By {escape(label)}</h2>"]
    # Table: one row per group, one column per metric, configs separated by " / ".
    present = [(key, text) for key, text in BREAKDOWN_METRICS
               if any(key in r["breakdowns"][dim].get(g, {}).get("means", {}) for r in reports for g in groups)]
    head = "".join(f"<th>{escape(text)}</th>" for _, text in present)
    rows = []
    for g in groups:
        n = reports[0]["breakdowns"][dim].get(g, {}).get("n", 0)
        cells = []
        for key, _ in present:
            values = [r["breakdowns"][dim].get(g, {}).get("means", {}).get(key) for r in reports]
            cells.append("<td class=num>" + " / ".join(_fmt(key, v) for v in values) + "</td>")
        rows.append(f"<tr><td>{escape(g)}</td><td class=num>{n}</td>{''.join(cells)}</tr>")
    note = " <span class=muted>(values: " + " / ".join(escape(r["config"]) for r in reports) + ")</span>" \
        if len(reports) > 1 else ""
    out.append(f"<table><tr><th>{escape(dim)}{note}</th><th>questions</th>{head}</tr>{''.join(rows)}</table>")
    charts = []
    for key, text in present:
        series = [[r["breakdowns"][dim].get(g, {}).get("means", {}).get(key) for g in groups] for r in reports]
        if any(v is not None for s in series for v in s):
            charts.append(bar_chart(f"{text} by {label}", groups, series, [r["config"] for r in reports]))
    out.append("<div class=charts>" + "".join(charts) + "</div>")
    return "\n".join(out)


def _attribution(data: dict[str, Any]) -> str:
    out = ["<h2>Speaker attribution (against the gold line labels)</h2>"]
    rows = []
    for name, d in [("all gold files", data.get("overall") or {}), *data.get("files", {}).items()]:
        if not d:
            continue
        rows.append(f"<tr><td>{escape(name)}</td><td class=num>{d['lines']}</td>"
                    f"<td class=num>{d['line_accuracy']:.1%}</td><td class=num>{d['boundary_precision']:.1%}</td>"
                    f"<td class=num>{d['boundary_recall']:.1%}</td><td class=num>{d['boundary_f1']:.1%}</td>"
                    f"<td class=num>{d['low_confidence_error_share']:.0%}</td></tr>")
    out.append("<table><tr><th>gold file</th><th>speech lines</th><th>line accuracy</th><th>boundary P</th>"
               "<th>boundary R</th><th>boundary F1</th><th>errors flagged &lt;0.5</th></tr>"
               + "".join(rows) + "</table>")
    speakers = (data.get("overall") or {}).get("speakers", {})
    if speakers:
        names = list(speakers)
        out.append("<h3>Per speaker (all gold files)</h3><table><tr><th>speaker</th><th>gold lines</th>"
                   "<th>correct</th><th>recall</th><th>precision</th></tr>" + "".join(
                       f"<tr><td>{escape(n)}</td><td class=num>{s['lines']}</td><td class=num>{s['correct']}</td>"
                       f"<td class=num>{s['recall']:.1%}</td><td class=num>{s['precision']:.1%}</td></tr>"
                       for n, s in speakers.items()) + "</table>")
        out.append(bar_chart("Attribution recall / precision per speaker", names,
                             [[speakers[n]["recall"] for n in names], [speakers[n]["precision"] for n in names]],
                             ["recall", "precision"]))
    return "\n".join(out)


def _questions(rep: dict[str, Any]) -> str:
    rows = []
    for q in rep["questions"]:
        v = q.get("values", {})
        rank = q.get("first_hit")
        hit = "–" if not q["answerable"] else (f"<span class=ok>#{rank}</span>" if rank else "<span class=ko>miss</span>")
        refused = q.get("refused")
        ref = "" if refused is None else ("refused" if refused else "answered")
        ref_cls = "ok" if refused is not None and refused != q["answerable"] else ("ko" if refused is not None else "")
        cites = " ".join(
            f"<span class={'ok' if c['in_window'] else 'ko'} title='{escape(c['quote'])}'>"
            f"[{c['n']}] {escape(c['speaker'])} {c['start']:.0f}s{' ⚠' if c['wrong_speaker'] else ''}</span>"
            for c in q.get("citations", []))
        facts = "" if "key_facts" not in v else (
            f"{v['key_facts']:.0%}" + (f" <span class=muted>missing: {escape(', '.join(q['facts_missing']))}</span>"
                                       if q.get("facts_missing") else ""))
        wrong = "<br>".join(escape(w) for w in q.get("wrong_speaker", []))
        verdict = q.get("verdict") or {}
        judged = "" if not verdict else escape(
            verdict.get("error") or f"F {verdict['faithfulness']:.2f} C {verdict['correctness']:.2f} "
                                    f"lang {'ok' if verdict['language_match'] else 'no'}")
        answer = f"<details><summary>answer</summary><pre style='white-space:pre-wrap'>{escape(q.get('answer', ''))}</pre></details>" \
            if q.get("answer") else ""
        rows.append(
            f"<tr><td>{escape(q['id'])}</td><td>{escape(q['kind'])}</td><td>{escape(q['language'])}</td>"
            f"<td class=q>{escape(q['question'])}<br><span class=muted>gold: {escape(', '.join(q['speakers']) or '—')}"
            f"; resolved: {escape(', '.join(q.get('resolved_speakers', [])) or '—')}</span>{answer}</td>"
            f"<td>{hit}</td><td class={ref_cls}>{ref}</td><td>{facts}</td><td>{cites}</td>"
            f"<td class=ko>{wrong}</td><td>{judged}</td></tr>")
    return (f"<h2>Questions ({escape(rep['config'])})</h2><table><tr><th>id</th><th>kind</th><th>lang</th>"
            "<th>question</th><th>first hit</th><th>refusal</th><th>key facts</th><th>citations (green = in a gold "
            "window, ⚠ = wrong speaker)</th><th>wrong speaker</th><th>judge</th></tr>" + "".join(rows) + "</table>")


# -- charts ---------------------------------------------------------------------------------------------------------

def bar_chart(title: str, categories: list[str], series: list[list[float | None]], names: list[str],
              width: int = 560) -> str:
    """Horizontal grouped bars on a 0-100 % axis: one group per category, one bar per series (None = no bar)."""
    label_w, bar_h, gap, top = 190, 12, 10, 28
    plot_w = width - label_w - 50
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(categories) + 24
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
           f"aria-label='{escape(title)}' style='font:11px system-ui,sans-serif'>",
           f"<text x='0' y='14' style='font-weight:600;font-size:12px'>{escape(title)}</text>"]
    for tick in (0, 25, 50, 75, 100):
        x = label_w + plot_w * tick / 100
        svg.append(f"<line x1='{x:.1f}' y1='{top - 4}' x2='{x:.1f}' y2='{height - 20}' stroke='#e5e5e5'/>"
                   f"<text x='{x:.1f}' y='{height - 6}' text-anchor='middle' fill='#777'>{tick}%</text>")
    for ci, cat in enumerate(categories):
        y0 = top + ci * group_h
        short = cat if len(cat) <= 30 else cat[:29] + "…"
        svg.append(f"<text x='{label_w - 6}' y='{y0 + group_h / 2}' text-anchor='end' dominant-baseline='middle'>"
                   f"<title>{escape(cat)}</title>{escape(short)}</text>")
        for si, values in enumerate(series):
            value = values[ci] if ci < len(values) else None
            if value is None:
                continue
            y = y0 + si * bar_h
            w = max(0.0, min(1.0, value)) * plot_w
            colour = COLOURS[si % len(COLOURS)]
            svg.append(f"<rect x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h - 2}' fill='{colour}'>"
                       f"<title>{escape(names[si])}: {value:.1%}</title></rect>"
                       f"<text x='{label_w + w + 3:.1f}' y='{y + bar_h / 2}' dominant-baseline='middle' "
                       f"fill='#444'>{value * 100:.0f}</text>")
    svg.append("</svg>")
    return "".join(svg)
