"""The class report's PNG charts (matplotlib's Agg canvas, no display, no pyplot state)."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from autograder.record import Status

__all__ = ["score_histogram", "barh", "STATUS_COLOURS"]

STATUS_COLOURS = {Status.OK: "#4c9a2a", Status.TIMEOUT: "#e3a21a", Status.KERNEL_DIED: "#c0392b",
                  Status.MEMORY: "#8e44ad", Status.MALFORMED: "#7f8c8d", Status.MISSING: "#bdc3c7",
                  Status.ERROR: "#2c3e50"}


def _save(fig: Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path.name


def score_histogram(percents: list[float], path: Path, title: str) -> str:
    """Histogram of scores in % of the maximum, 10-point bins; returns the file name."""
    fig = Figure(figsize=(7, 3.6))
    ax = fig.add_subplot()
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#3b7dd8",
            edgecolor="white")
    if percents:
        mean = sum(percents) / len(percents)
        ax.axvline(mean, color="#c0392b", linestyle="--", label=f"mean {mean:.0f}%")
        ax.legend(loc="upper left")
    ax.set_xlim(0, 100)
    ax.set_xlabel("score (% of maximum)")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    return _save(fig, path)


def barh(labels: list[str], values: list[float], path: Path, title: str, xlabel: str,
         *, colours: list[str] | None = None, xmax: float | None = None,
         fmt: str = "{:g}") -> str:
    """Horizontal bars, first label on top, each bar annotated; returns the file name."""
    height = 1.2 + 0.32 * max(len(labels), 1)
    fig = Figure(figsize=(8, height))
    ax = fig.add_subplot()
    if not labels:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center",
                transform=ax.transAxes, color="grey")
        ax.set_axis_off()
    else:
        shown = [label if len(label) <= 60 else label[:57] + "..." for label in labels]
        positions = list(range(len(labels)))[::-1]
        ax.barh(positions, values, color=colours or "#3b7dd8")
        ax.set_yticks(positions, shown, fontsize=8)
        top = xmax if xmax is not None else max(values) * 1.15 or 1
        ax.set_xlim(0, top)
        for y, value in zip(positions, values, strict=False):
            ax.text(value + top * 0.01, y, fmt.format(value), va="center", fontsize=8)
        ax.set_xlabel(xlabel)
        if all(float(v).is_integer() for v in values):
            ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(title)
    return _save(fig, path)
