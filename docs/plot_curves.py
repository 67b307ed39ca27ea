#!/usr/bin/env python3
"""Draws docs/img/goal-curve.svg from docs/results/goal-from-{base,scratch}-curve.txt
(lines: "<updates> Success <pct>% (k/n), 95% CI [<lo>%, <hi>%], ..."). No dependencies."""
import re
from pathlib import Path

HERE = Path(__file__).parent
W, H, L, R, T, B = 640, 360, 60, 20, 30, 50


def read(name):
    points = []
    for line in (HERE / "results" / name).read_text().splitlines():
        m = re.match(r"(\d+) Success ([\d.]+)%.*\[([\d.]+)%, ([\d.]+)%\]", line)
        if m:
            points.append(tuple(float(g) for g in m.groups()))
    return points


def x(u):
    return L + (W - L - R) * u / 2400


def y(p):
    return T + (H - T - B) * (1 - p / 100)


def series(points, colour, label, dy, shift=0.0):
    out = [f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
           + " ".join(f"{x(u) + shift:.1f},{y(p):.1f}" for u, p, _, _ in points) + '"/>']
    for u, p, lo, hi in points:
        out.append(f'<line x1="{x(u) + shift:.1f}" x2="{x(u) + shift:.1f}" y1="{y(lo):.1f}" y2="{y(hi):.1f}" stroke="{colour}" stroke-opacity="0.4" stroke-width="5"/>')
        out.append(f'<circle cx="{x(u) + shift:.1f}" cy="{y(p):.1f}" r="3.5" fill="{colour}"/>')
    out.append(f'<text x="{L + 10}" y="{T + 14 + dy}" fill="{colour}" font-size="13">{label}</text>')
    return out


svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
       f'<rect width="{W}" height="{H}" fill="white"/>']
for p in range(0, 101, 20):
    svg.append(f'<line x1="{L}" x2="{W - R}" y1="{y(p)}" y2="{y(p)}" stroke="#ddd"/>')
    svg.append(f'<text x="{L - 8}" y="{y(p) + 4}" font-size="11" text-anchor="end">{p}%</text>')
for u in range(0, 2401, 400):
    svg.append(f'<text x="{x(u)}" y="{H - B + 16}" font-size="11" text-anchor="middle">{u}</text>')
svg.append(f'<line x1="{L}" x2="{W - R}" y1="{y(80)}" y2="{y(80)}" stroke="#c33" stroke-dasharray="5,4"/>')
svg.append(f'<text x="{x(1000)}" y="{y(80) - 5}" font-size="11" fill="#c33" text-anchor="middle">80% target</text>')
svg.append(f'<text x="{(L + W - R) / 2}" y="{H - 12}" font-size="12" text-anchor="middle">updates (batch 32)</text>')
svg.append(f'<text x="14" y="{(T + H - B) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {(T + H - B) / 2})">goal success (70 episodes, 95% CI)</text>')
svg += series(read("goal-from-base-curve.txt"), "#1f5fbf", "from the shipped base praxis-s-bins", 0)
svg += series(read("goal-from-scratch-curve.txt"), "#e08a00", "from scratch (fresh praxis-s, bins)", 18, 7.0)
svg.append("</svg>")
(HERE / "img" / "goal-curve.svg").write_text("\n".join(svg) + "\n")
