"""Collect outcomes from the user's own eval set: ``costrouter collect``.

Every question of a prompts file goes to every named model of the config, through the
product's own router (same prices, retries and ledger), is scored (`scoring`), and
becomes one line of an outcomes file that ``costrouter calibrate`` reads.
"""

from langchain_costrouter.collect.calls import CallLimits
from langchain_costrouter.collect.run import CollectOptions, collect

__all__ = ["CallLimits", "CollectOptions", "collect"]
