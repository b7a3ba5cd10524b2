"""Reports, rendered from a run's timeline alone (plus the scorecard computed from it)."""
