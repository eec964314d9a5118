"""Group roles and who outranks whom, as in QQ (and so in NapCat).

The owner outranks admins, admins outrank members, and nobody acts on an equal or higher rank.
"""

from __future__ import annotations

from catnest.onebot.errors import NotPermitted
from catnest.store.records import Member

RANK = {"owner": 2, "admin": 1, "member": 0}
ROLES = tuple(RANK)
MANAGERS = ("owner", "admin")


def is_manager(role: str | None) -> bool:
    """Whether `role` manages its group (the owner or an admin)."""
    return role in MANAGERS


def outranks(actor_role: str, target_role: str) -> bool:
    """Whether a member of `actor_role` ranks above one of `target_role`."""
    return RANK[actor_role] > RANK[target_role]


def require_outrank(actor: Member, target: Member, doing: str) -> None:
    """1401 unless `actor` is owner or admin and ranks above `target`."""
    if not is_manager(actor.role):
        raise NotPermitted(f"only the owner or an admin of group {actor.group_id} may {doing}")
    if not outranks(actor.role, target.role):
        raise NotPermitted(f"an admin cannot {doing} the owner or another admin")
