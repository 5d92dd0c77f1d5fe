"""Database safety for promotions: backups, an atomic rollback, and a Python-native migrate status.

PostgreSQL only. Backups and restores run PostgreSQL's own ``pg_dump`` and ``psql``; the
password travels to them in ``PGPASSWORD``, never on a command line.
"""
