"""Kubernetes fault kinds of gameday (one module per family); lightkube is imported only below gameday.kubernetes."""
