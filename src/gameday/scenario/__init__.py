"""WHAT happens in a game day: the scenario format, its loader and its checks."""

from gameday.scenario.loader import find_scenario_files, load_scenario
from gameday.scenario.model import FaultSpec, Scenario, StackSpec, TargetSpec

__all__ = ["FaultSpec", "Scenario", "StackSpec", "TargetSpec", "find_scenario_files", "load_scenario"]
