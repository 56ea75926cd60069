"""Whole networks built from :mod:`wavenets.nn`; the group is the only thing that differs."""
from ._registry import model_from_config
from ._se2 import BUDGET_WIDTHS, PRESETS, SE2Net, budget_width, count_parameters, make_group

__all__ = ["SE2Net", "PRESETS", "BUDGET_WIDTHS", "budget_width", "make_group", "count_parameters", "model_from_config"]
