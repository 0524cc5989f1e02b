"""Calibration: learn the cheapest safe cascade per task label from recorded outcomes.

``features`` and ``scorer`` make the learned quality check (hashed text features and a
logistic regression stored as JSON), ``oof`` scores candidate rules out-of-fold,
``search`` picks the cheapest cascade that keeps quality, ``policy`` is the file format,
``evaluate`` the pure figures and ``runtime`` what the router runs.
"""

from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.policy import (
    Policy,
    StageRule,
    TaskPolicy,
    load_policy,
    save_policy,
)
from langchain_costrouter.calibration.search import calibrate

__all__ = [
    "Policy",
    "SearchOptions",
    "StageRule",
    "TaskPolicy",
    "calibrate",
    "load_policy",
    "save_policy",
]
