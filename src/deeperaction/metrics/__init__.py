"""Official metrics of the DeeperAction tracks and AVA, numpy only (never imports torch)."""
from deeperaction.metrics.report import Report

__all__ = ["Report"]
