"""Charts as inline SVG, drawn on the server: no JavaScript, no CDN, printable as they are.

Every label is escaped with markupsafe; the result is Markup the templates embed directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096")


def bars(
    rows: Sequence[tuple[str, float, str]], *, title: str, width: int = 520, bar: int = 22
) -> Markup:
    """Horizontal bars: (label, value, text shown at the bar's end), longest first as given."""
    label_w, gap = 130, 6
    height = max(len(rows), 1) * (bar + gap) + 30
    top = max((v for _, v, _ in rows), default=0) or 1
    span = width - label_w - 80
    parts = [_open(width, height, title)]
    for i, (label, value, shown) in enumerate(rows):
        y = 24 + i * (bar + gap)
        w = max(span * value / top, 1)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" '
            f'fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar * 0.7:.1f}">{escape(shown)}</text>'
        )
    if not rows:
        parts.append(f'<text x="{width / 2}" y="40" text-anchor="middle">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 520,
    height: int = 200,
    target: float | None = None,
) -> Markup:
    """A trend line over labelled points (days), with an optional dashed target line."""
    left, right, top_pad, bottom = 40, 12, 24, 28
    inner_w, inner_h = width - left - right, height - top_pad - bottom
    values = [v for _, v in points] + ([target] if target is not None else [])
    high = max(values, default=0) or 1
    parts = [_open(width, height, title)]
    parts.append(
        f'<line class="axis" x1="{left}" y1="{top_pad + inner_h}" x2="{width - right}" '
        f'y2="{top_pad + inner_h}" stroke="#a0aec0"/>'
        f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end">{high:g}</text>'
        f'<text x="{left - 4}" y="{top_pad + inner_h}" text-anchor="end">0</text>'
    )

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)
        return x, top_pad + inner_h - inner_h * v / high

    if target is not None:
        y = xy(0, target)[1]
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="#38a169" stroke-dasharray="4 3"><title>target {target:g}</title></line>'
        )
    coords = [xy(i, v) for i, (_, v) in enumerate(points)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline class="trend" fill="none" stroke="#2b6cb0" stroke-width="2" '
            f'points="{path}"/>'
        )
    step = max(len(points) // 6, 1)
    for i, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2b6cb0">'
            f"<title>{escape(label)}: {value:g}</title></circle>"
        )
        if i % step == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">—</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-size="12" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>"
        f'<text x="4" y="14" font-weight="600">{escape(title)}</text>'
    )
