"""Roles and the permissions they carry, enforced by the service layer (never by hiding buttons)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The people around a case-review meeting, plus the process itself."""

    CLINICIAN = "clinician"
    CHAIR = "chair"
    DATA_SCIENTIST = "data_scientist"
    PRIVACY_OFFICER = "privacy_officer"
    ADMIN = "admin"
    SYSTEM = "system"


# Each permission names one service function family. Clinicians decide; data scientists model;
# the privacy officer alone opens the vault or erases; the admin manages accounts and imports.
ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.CLINICIAN: frozenset(
        {
            "case.view",
            "meeting.view",
            "meeting.edit",
            "decision.record",
            "export.decision",
            "model.view",
        }
    ),
    Role.CHAIR: frozenset(
        {
            "case.view",
            "meeting.view",
            "meeting.create",
            "meeting.edit",
            "meeting.close",
            "decision.record",
            "export.decision",
            "model.view",
        }
    ),
    Role.DATA_SCIENTIST: frozenset(
        {
            "model.fit",
            "model.approve",
            "model.view",
            "cohort.view",
            "equity.view",
            "export.research",
        }
    ),
    Role.PRIVACY_OFFICER: frozenset(
        {
            "audit.view",
            "consent.edit",
            "patient.reidentify",
            "patient.erase",
            "data.retention",
            "equity.view",
            "import.run",
            "cohort.view",
        }
    ),
    Role.ADMIN: frozenset(
        {"user.manage", "import.run", "meeting.view", "model.view", "audit.view", "cohort.view"}
    ),
    # The process itself (first start, demo seeding, scheduled retention): no clinical decisions.
    Role.SYSTEM: frozenset(
        {
            "import.run",
            "user.manage",
            "model.fit",
            "model.approve",
            "model.view",
            "cohort.view",
            "data.retention",
            "meeting.create",
            "meeting.view",
            "meeting.edit",
        }
    ),
}


class PermissionDenied(PermissionError):
    """Raised when an actor's role does not carry the permission a service function needs."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: every service call names one, and the audit trail records it."""

    username: str
    role: Role
    display_name: str = ""

    def can(self, permission: str) -> bool:
        """Whether this actor's role carries ``permission``."""
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


SYSTEM_ACTOR = Actor("system", Role.SYSTEM, "Workbench system process")


def require(actor: Actor, permission: str) -> None:
    """Refuse the call unless the actor's role carries ``permission``."""
    if not actor.can(permission):
        raise PermissionDenied(
            f"{actor.username} ({actor.role.value}) may not {permission.replace('.', ' ')}"
        )
