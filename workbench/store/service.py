"""The one service layer every state change (and every read of a patient's case) goes through.

A service function is written as ``fn(ctx, ...)`` and decorated with ``@service("permission")``;
callers invoke it as ``fn(workbench, actor, ...)``. The decorator checks the actor's role on the
server side, opens one transaction, and gives the function ``ctx.audit(...)`` so the audit event
commits (or rolls back) together with the change it describes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate

from sqlalchemy.orm import Session, sessionmaker

from workbench.config import Settings, load_settings, secret_key
from workbench.governance.audit import append_event
from workbench.governance.roles import Actor, require
from workbench.store import db


class Workbench:
    """A handle on one deployment: its settings, database and secret key."""

    def __init__(self, settings: Settings | None = None, *, migrate: bool = True) -> None:
        self.settings = settings or load_settings()
        self.url = self.settings.database_url
        if migrate:
            db.migrate(self.url)
        self.sessions: sessionmaker[Session] = db.session_factory(self.url)

    @property
    def secret(self) -> bytes:
        """The deployment key (created on first use; never logged)."""
        return secret_key(self.settings)

    def read(self) -> Session:
        """A session for read-only queries that need no audit (counts, lists without PHI)."""
        return self.sessions()

    def __repr__(self) -> str:
        return f"Workbench({self.settings.describe_database()})"


@dataclass
class Context:
    """What a service function works with: the deployment, who is acting, and the open session."""

    wb: Workbench
    actor: Actor
    session: Session

    def audit(
        self,
        action: str,
        entity_type: str | None = None,
        entity_id: str | int | None = None,
        **detail: Any,
    ) -> None:
        """Record that ``actor`` did ``action`` to a record, in this transaction."""
        append_event(
            self.session,
            actor=self.actor.username,
            role=self.actor.role.value,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            detail=detail,
        )


def service[**P, R](
    permission: str,
) -> Callable[[Callable[Concatenate[Context, P], R]], Callable[Concatenate[Workbench, Actor, P], R]]:
    """Make ``fn(ctx, ...)`` a permission-checked, transactional ``fn(workbench, actor, ...)``."""

    def decorate(
        fn: Callable[Concatenate[Context, P], R],
    ) -> Callable[Concatenate[Workbench, Actor, P], R]:
        @functools.wraps(fn)
        def run(wb: Workbench, actor: Actor, /, *args: P.args, **kwargs: P.kwargs) -> R:
            require(actor, permission)
            with db.transaction(wb.sessions) as session:
                return fn(Context(wb, actor, session), *args, **kwargs)

        run.permission = permission  # type: ignore[attr-defined]
        return run

    return decorate
