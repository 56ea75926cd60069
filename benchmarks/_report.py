"""Markdown tables of benchmark rows (docs/benchmarks.md)."""
from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence


def mean_sd(values: Sequence[float]) -> str:
    """``"0.950 ± 0.012"``: mean and sample sd over seeds (the mean alone for one value)."""
    return f"{statistics.mean(values):.3f}" + (f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else "")


def markdown_table(columns: Sequence[tuple[str, Callable[[dict], str]]], rows: Sequence[dict],
                   caption: Sequence[str] = ()) -> str:
    """``columns``: (header, cell of a row) pairs; ``caption``: lines printed above the table."""
    lines = [*caption, "| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r) for _, cell in columns) + " |" for r in rows]
    return "\n".join(lines)
