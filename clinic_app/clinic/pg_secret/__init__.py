"""PostgreSQL with the password read from Secrets Manager at connect time (mode ha)."""
