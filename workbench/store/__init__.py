"""Storage: ORM tables, Alembic migrations, engines and sessions, and the service layer."""
