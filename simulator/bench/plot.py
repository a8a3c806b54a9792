"""An SVG line chart of latency against concurrent conversations (no plotting library needed)."""

from __future__ import annotations

import math
from html import escape

Series = tuple[str, list[tuple[float, float]]]  # (label, [(conversations, ms)])
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def latency_svg(series: list[Series], title: str, width: int = 720, height: int = 420) -> str:
    """Log-log chart: x = concurrent conversations, y = latency in ms, one line per series."""
    points = [p for _, pts in series for p in pts if p[0] > 0 and p[1] > 0]
    left, right, top, bottom = 70, 190, 40, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    if not points:
        return _svg(width, height, [f'<text x="{left}" y="{top}">{escape(title)}: no data</text>'])
    x_lo, x_hi = _decades(min(p[0] for p in points), max(p[0] for p in points))
    y_lo, y_hi = _decades(min(p[1] for p in points), max(p[1] for p in points))

    def x(value: float) -> float:
        return left + plot_w * (math.log10(value) - x_lo) / (x_hi - x_lo)

    def y(value: float) -> float:
        return top + plot_h * (1 - (math.log10(value) - y_lo) / (y_hi - y_lo))

    parts = [
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>',
    ]
    for exp in range(int(x_lo), int(x_hi) + 1):
        for mult in (1, 2, 5):
            value = mult * 10**exp
            if 10**x_lo <= value <= 10**x_hi:
                parts.append(_tick_x(x(value), top, plot_h, f"{value:g}", major=mult == 1))
    for exp in range(int(y_lo), int(y_hi) + 1):
        for mult in (1, 2, 5):
            value = mult * 10**exp
            if 10**y_lo <= value <= 10**y_hi:
                parts.append(_tick_y(y(value), left, plot_w, f"{value:g}", major=mult == 1))
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">concurrent conversations</text>'
    )
    parts.append(
        f'<text x="18" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + plot_h / 2})">latency (ms)</text>'
    )
    for index, (label, pts) in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if "p99" in label else ""
        good = sorted(p for p in pts if p[0] > 0 and p[1] > 0)
        if good:
            path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in good)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            parts += [f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}"/>' for a, b in good]
        ly = top + 16 + index * 20
        parts.append(
            f'<line x1="{width - right + 12}" y1="{ly}" x2="{width - right + 40}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{width - right + 46}" y="{ly + 4}" font-size="12">{escape(label)}</text>')
    return _svg(width, height, parts)


def _decades(lo: float, hi: float) -> tuple[float, float]:
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return float(low), float(high if high > low else low + 1)


def _tick_x(at: float, top: int, plot_h: int, label: str, major: bool) -> str:
    grid = f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{top + plot_h}" stroke="#ddd"/>'
    return grid + (f'<text x="{at:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{label}</text>')


def _tick_y(at: float, left: int, plot_w: int, label: str, major: bool) -> str:
    grid = f'<line x1="{left}" y1="{at:.1f}" x2="{left + plot_w}" y2="{at:.1f}" stroke="#ddd"/>'
    return grid + f'<text x="{left - 6}" y="{at + 4:.1f}" text-anchor="end" font-size="11">{label}</text>'


def _svg(width: int, height: int, parts: list[str]) -> str:
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n'
    )
