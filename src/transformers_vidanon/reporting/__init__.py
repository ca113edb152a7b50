"""Reporting results: [`results`] (the one results model and its JSON file, the calibration rule), [`tables`]
(Markdown tables), [`plots`] (figures), [`modelcard`] (model cards) and [`provenance`] (the commit, versions and
settings every results file records). The names below are the public API of the first three."""

from .plots import pareto_front, plot_figure2, plot_tradeoff
from .results import (
    BenchmarkResults,
    Calibration,
    ChanceLevels,
    MethodResult,
    calibration,
    load_results_json,
    write_results_json,
)
from .tables import markdown_table, per_attribute_table

__all__ = [
    "BenchmarkResults",
    "Calibration",
    "ChanceLevels",
    "MethodResult",
    "calibration",
    "load_results_json",
    "markdown_table",
    "pareto_front",
    "per_attribute_table",
    "plot_figure2",
    "plot_tradeoff",
    "write_results_json",
]
