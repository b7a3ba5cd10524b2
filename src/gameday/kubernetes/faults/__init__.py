"""Kubernetes fault kinds, one module per family, each kind registered in the ``gameday.faults`` entry points;
lightkube is imported only below gameday.kubernetes."""
