"""gameday: chaos game days that inject real faults, run the human side of the drill, and score it."""

__version__ = "0.1.0"
