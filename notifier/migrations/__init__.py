"""Versioned PostgreSQL schema migrations (yoyo-migrations reads the numbered .sql files here)."""
