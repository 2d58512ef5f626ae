"""The simulated day as a chart: one scene of shapes, written as SVG or PNG (Pillow).

Top: contacts offered per interval of the timeline (half an hour for a day; bars) and agents
on shift (line). Bottom: service level per interval, one line per variant, and the target.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from omnidesk.kit.errors import ValidationFailed

_W, _H = 960, 560
_LEFT, _RIGHT = 70, 30
_TOP_PANEL = (70, 270)  # y from, y to
_SL_PANEL = (320, 510)
_COLOURS = ("#1f77b4", "#d62728")


def _x(index: float, count: int) -> float:
    return _LEFT + (_W - _LEFT - _RIGHT) * index / max(count, 1)


def _y(value: float, top: float, panel: tuple[int, int]) -> float:
    low, high = panel
    return high - (high - low) * (value / top if top else 0.0)


def _nice(value: float) -> float:
    """A round axis top at or above ``value``."""
    step = 1.0
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: int = 1
    dashed: bool = False


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Trace:
    points: tuple[tuple[float, float], ...]
    colour: str
    width: int = 2


@dataclass(frozen=True)
class Label:
    """Text whose baseline starts (or, ``end``, ends) at x, y."""

    x: float
    y: float
    text: str
    colour: str = "#000"
    size: int = 12
    end: bool = False


Shape = Line | Bar | Trace | Label


def scene(runs: Sequence[dict[str, Any]]) -> list[Shape]:
    """The chart as shapes, drawn the same by both renderers."""
    first = runs[0]["timeline"]
    count = len(first)
    top = _nice(
        max([1.0] + [r[k] for run in runs for r in run["timeline"] for k in ("offered", "agents")])
    )
    shapes: list[Shape] = [Label(_LEFT, 24, " vs ".join(run["scenario"] for run in runs), size=16)]
    for panel, axis_top, unit in ((_TOP_PANEL, top, ""), (_SL_PANEL, 100.0, " %")):
        for step in range(5):
            value = axis_top * step / 4
            y = _y(value, axis_top, panel)
            shapes.append(Line(_LEFT, y, _W - _RIGHT, y, "#ddd"))
            shapes.append(Label(_LEFT - 6, y + 4, f"{value:g}{unit}", end=True))
    width = (_W - _LEFT - _RIGHT) / max(count, 1)
    for n, row in enumerate(first):
        y = _y(row["offered"], top, _TOP_PANEL)
        shapes.append(Bar(_x(n, count) + 1, y, max(width - 2, 1), _TOP_PANEL[1] - y, "#c7d7ea"))
        if n % max(1, count // 12) == 0:
            shapes.append(Label(_x(n, count), _SL_PANEL[1] + 18, row["start"][11:16]))
    target = 100 * runs[0]["target"]["service_level"]
    y = _y(target, 100, _SL_PANEL)
    shapes.append(Line(_LEFT, y, _W - _RIGHT, y, "#2ca02c", dashed=True))
    shapes.append(Label(_W - _RIGHT, y - 4, f"target {target:g} %", "#2ca02c", end=True))
    for run, colour in zip(runs, _COLOURS, strict=False):
        timeline = run["timeline"]
        agents = tuple(
            (_x(n + 0.5, count), _y(r["agents"], top, _TOP_PANEL)) for n, r in enumerate(timeline)
        )
        shapes.append(Trace(agents, colour))
        levels = tuple(
            (_x(n + 0.5, count), _y(100 * r["service_level"], 100, _SL_PANEL))
            for n, r in enumerate(timeline)
            if r["service_level"] is not None
        )
        shapes.append(Trace(levels, colour))
    legend = ["bars: contacts offered per interval", "lines: agents on shift (top), service level"]
    legend += [f"{('blue', 'red')[n]}: {run['scenario']}" for n, run in enumerate(runs[:2])]
    shapes.append(Label(_LEFT, 46, "; ".join(legend), "#555"))
    return shapes


def svg(runs: Sequence[dict[str, Any]]) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for shape in scene(runs):
        match shape:
            case Line():
                dash = ' stroke-dasharray="6 4"' if shape.dashed else ""
                parts.append(
                    f'<line x1="{shape.x1:.1f}" x2="{shape.x2:.1f}" y1="{shape.y1:.1f}" '
                    f'y2="{shape.y2:.1f}" stroke="{shape.colour}" '
                    f'stroke-width="{shape.width}"{dash}/>'
                )
            case Bar():
                parts.append(
                    f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.width:.1f}" '
                    f'height="{shape.height:.1f}" fill="{shape.colour}"/>'
                )
            case Trace():
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in shape.points)
                parts.append(
                    f'<polyline points="{points}" fill="none" stroke="{shape.colour}" '
                    f'stroke-width="{shape.width}"/>'
                )
            case Label():
                anchor = ' text-anchor="end"' if shape.end else ""
                size = f' font-size="{shape.size}"' if shape.size != 12 else ""
                parts.append(
                    f'<text x="{shape.x:.1f}" y="{shape.y:.1f}"{anchor}{size} '
                    f'fill="{shape.colour}">{escape(shape.text)}</text>'
                )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(runs: Sequence[dict[str, Any]]) -> bytes:
    image = Image.new("RGB", (_W, _H), "white")
    draw = ImageDraw.Draw(image)
    fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
    for shape in scene(runs):
        match shape:
            case Line() if shape.dashed:
                length = shape.x2 - shape.x1  # dashed lines are horizontal
                for start in range(0, int(length), 10):
                    x = shape.x1 + start
                    draw.line(
                        [(x, shape.y1), (min(x + 6, shape.x2), shape.y2)],
                        fill=shape.colour,
                        width=shape.width,
                    )
            case Line():
                draw.line(
                    [(shape.x1, shape.y1), (shape.x2, shape.y2)],
                    fill=shape.colour,
                    width=shape.width,
                )
            case Bar():
                box = (shape.x, shape.y, shape.x + shape.width, shape.y + shape.height)
                draw.rectangle(box, fill=shape.colour)
            case Trace() if len(shape.points) > 1:
                draw.line(list(shape.points), fill=shape.colour, width=shape.width, joint="curve")
            case Label():
                font = fonts.setdefault(shape.size, ImageFont.load_default(size=shape.size))
                draw.text(
                    (shape.x, shape.y),
                    shape.text,
                    fill=shape.colour,
                    font=font,
                    anchor="rs" if shape.end else "ls",
                )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write(path: Path, runs: Sequence[dict[str, Any]]) -> Path:
    """Write the chart: a PNG for a ``.png`` name, an SVG otherwise."""
    try:
        if path.suffix.lower() == ".png":
            path.write_bytes(png(runs))
        else:
            path.write_text(svg(runs), encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot write {path}: {exc.strerror}", field="plot") from exc
    return path
