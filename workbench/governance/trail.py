"""The privacy officer's view of the audit trail: filtered events and the chain's verification."""

from __future__ import annotations

import pandas as pd

from workbench.governance.audit import ChainReport, search_events, verify_chain
from workbench.store.service import Context, service


@service("audit.view")
def audit_trail(
    ctx: Context,
    *,
    action: str | None = None,
    actor: str | None = None,
    entity: str | None = None,
    limit: int = 500,
) -> tuple[pd.DataFrame, ChainReport]:
    """Filtered events (newest first) and whether the hash chain holds; looking is itself audited."""
    report = verify_chain(ctx.session)
    events = search_events(ctx.session, action=action, actor=actor, entity=entity, limit=limit)
    frame = pd.DataFrame(
        [
            {
                "seq": e.seq,
                "when (UTC)": e.occurred_at,
                "who": e.actor,
                "role": e.role,
                "action": e.action,
                "record": f"{e.entity_type or ''} {e.entity_id or ''}".strip(),
                "detail": e.detail,
            }
            for e in events
        ]
    )
    ctx.audit(
        "audit.viewed",
        None,
        None,
        filters={"action": action, "actor": actor, "entity": entity},
        chain_ok=report.ok,
    )
    return frame, report
