"""Where past runs are kept: SQLite by default, PostgreSQL when a URL is given (same schema, same migrations)."""
