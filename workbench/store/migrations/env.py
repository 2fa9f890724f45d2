"""Alembic environment: runs on the connection the workbench hands over (or its URL)."""

from alembic import context
from sqlalchemy import Connection, create_engine

from workbench.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError(
                "Alembic needs a connection in config.attributes['connection'] or a sqlalchemy.url option"
            )
        engine = create_engine(url)
        with engine.begin() as conn:
            _configure(conn)
    else:
        _configure(connection)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
