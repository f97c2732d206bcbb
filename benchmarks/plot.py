"""A small hand-written SVG of how cost grows with the corpus: no plotting library needed."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 360, 240
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 16, 28, 40
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def _panel(x0: float, title: str, unit: str, xs: list[float], series: dict[str, list[float]]) -> list[str]:
    """One log-x, linear-y line chart at horizontal offset x0."""
    w, h = WIDTH - MARGIN_L - MARGIN_R, HEIGHT - MARGIN_T - MARGIN_B
    lx = [math.log10(max(x, 1.0)) for x in xs]
    xmin, xmax = min(lx), max(lx) if max(lx) > min(lx) else min(lx) + 1
    ymax = max((v for vals in series.values() for v in vals), default=1.0) * 1.1 or 1.0

    def px(i: int) -> float:
        return x0 + MARGIN_L + (lx[i] - xmin) / (xmax - xmin) * w

    def py(v: float) -> float:
        return MARGIN_T + h - v / ymax * h

    out = [f'<text x="{x0 + MARGIN_L}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{x0 + MARGIN_L}" y1="{MARGIN_T + h}" x2="{x0 + MARGIN_L + w}" y2="{MARGIN_T + h}" stroke="#333"/>',
           f'<line x1="{x0 + MARGIN_L}" y1="{MARGIN_T}" x2="{x0 + MARGIN_L}" y2="{MARGIN_T + h}" stroke="#333"/>']
    for frac in (0, 0.5, 1):
        v = ymax / 1.1 * frac
        out.append(f'<text x="{x0 + MARGIN_L - 4}" y="{py(v) + 4:.1f}" font-size="10" text-anchor="end">{v:.0f}</text>')
    for i, x in enumerate(xs):
        out.append(f'<text x="{px(i):.1f}" y="{MARGIN_T + h + 14}" font-size="10" text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{x0 + MARGIN_L + w / 2}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle">'
               f'episodes (log scale); y in {escape(unit)}</text>')
    for k, (name, vals) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        pts = " ".join(f"{px(i):.1f},{py(v):.1f}" for i, v in enumerate(vals))
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
        out += [f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}"/>' for i, v in enumerate(vals)]
        out.append(f'<text x="{x0 + MARGIN_L + 8}" y="{MARGIN_T + 12 + 12 * k}" font-size="10" fill="{colour}">'
                   f'{escape(name)}</text>')
    return out


def cost_plot(rows: list[dict[str, Any]]) -> str:
    """Warm p95 latency and peak memory against corpus size, side by side."""
    rows = sorted(rows, key=lambda r: r["episodes"])
    xs = [float(r["episodes"]) for r in rows]
    latency = {"answer p95 (window cache off)": [r["ask_nocache"]["warm"]["p95"] for r in rows],
               "answer p95": [r["ask"]["warm"]["p95"] for r in rows],
               "retrieval p95": [r["retrieve"]["warm"]["p95"] for r in rows],
               "baseline p95": [r["baseline"]["warm"]["p95"] for r in rows]}
    memory = {"query peak RSS": [max(r["retrieve"]["maxrss_mb"], r["ask"]["maxrss_mb"]) for r in rows]}
    if all(r["ingest_maxrss_mb"] is not None for r in rows):  # absent when a run reused earlier indexes
        memory = {"ingest peak RSS": [r["ingest_maxrss_mb"] for r in rows], **memory}
    body = _panel(0, "Latency (warm)", "ms", xs, latency) + _panel(WIDTH, "Peak memory", "MB", xs, memory)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT}" '
            f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>' + "".join(body) + "</svg>\n")
