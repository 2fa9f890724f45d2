"""Local accounts (argon2id password hashes) and expiring sign-in sessions.

Only the SHA-256 of a session token is stored, so a copy of the database does not let anyone
sign in. When a deployment configures an identity provider, pages use ``st.login`` (OIDC) instead
and map the provider's user to an account here by username.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from workbench.governance.audit import append_event
from workbench.governance.roles import Actor, Role
from workbench.store.service import Context, Workbench, service
from workbench.store.tables import User, UserSession, utcnow

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


class SignInError(PermissionError):
    """Unknown user, wrong password, inactive account, or an expired or revoked session."""


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the actor and the session token to keep in the browser session."""

    actor: Actor
    token: str
    expires_at: dt.datetime


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@service("user.manage")
def create_user(
    ctx: Context,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    discipline: str | None = None,
) -> None:
    """Create an account (admin only)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if ctx.session.scalar(select(User).where(User.username == username)) is not None:
        raise ValueError(f"user {username!r} exists")
    ctx.session.add(
        User(
            username=username,
            display_name=display_name,
            role=role.value,
            discipline=discipline,
            password_hash=_HASHER.hash(password),
        )
    )
    ctx.audit("user.created", "user", username, role=role.value)


def sign_in(wb: Workbench, username: str, password: str) -> SignedIn:
    """Check the password and open a session; every attempt is audited (without the password)."""
    with wb.sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == username))
        ok = False
        if user is not None and user.active and user.password_hash:
            try:
                ok = _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
        if not ok or user is None:
            append_event(session, actor=username[:80], role="unknown", action="auth.sign_in_failed")
            failed = True
        else:
            failed = False
            if _HASHER.check_needs_rehash(user.password_hash or ""):
                user.password_hash = _HASHER.hash(password)
            token = secrets.token_urlsafe(32)
            expires = utcnow() + dt.timedelta(minutes=wb.settings.session_minutes)
            session.add(UserSession(token_hash=_token_hash(token), user_id=user.id, expires_at=expires))
            actor = Actor(user.username, Role(user.role), user.display_name)
            append_event(session, actor=user.username, role=user.role, action="auth.signed_in")
    if failed:
        raise SignInError("unknown user or wrong password")
    return SignedIn(actor=actor, token=token, expires_at=expires)


def actor_for_token(wb: Workbench, token: str | None) -> Actor | None:
    """The actor of a live session token, or None when it is unknown, expired or revoked."""
    if not token:
        return None
    with wb.read() as session:
        row = session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == _token_hash(token))
        ).first()
    if row is None:
        return None
    user_session, user = row
    expires = user_session.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=dt.UTC)
    if user_session.revoked or not user.active or expires <= utcnow():
        return None
    return Actor(user.username, Role(user.role), user.display_name)


def actor_for_username(wb: Workbench, username: str) -> Actor | None:
    """The actor of an active account (identity-provider sign-in maps to accounts by username)."""
    with wb.read() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    return None if user is None else Actor(user.username, Role(user.role), user.display_name)


def sign_out(wb: Workbench, token: str) -> None:
    """Revoke a session token."""
    with wb.sessions.begin() as session:
        row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
        if row is not None:
            row.revoked = True
            user = session.get(User, row.user_id)
            if user is not None:
                append_event(session, actor=user.username, role=user.role, action="auth.signed_out")


def list_users(wb: Workbench) -> list[dict[str, str | bool | None]]:
    """Accounts without their hashes, for the admin page."""
    with wb.read() as session:
        return [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "discipline": u.discipline,
                "active": u.active,
            }
            for u in session.scalars(select(User).order_by(User.username))
        ]
