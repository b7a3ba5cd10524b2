"""HOW we watch: probes, alerts, load."""
