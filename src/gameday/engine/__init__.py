"""The run: preflight -> steady state -> inject -> observe -> revert (always) -> recovery -> evaluate."""
