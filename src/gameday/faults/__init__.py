"""HOW we break things: each fault kind is a driver with prepare, inject, revert and check."""
