"""Pure functions: timeline -> metrics -> verdicts and scorecard. No I/O here."""
