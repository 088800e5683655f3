"""Staff accounts and their credentials (session cookies and API tokens, both stored hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, IdMixin, ShopScoped
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime


class Role(IdMixin, ShopScoped, Base):
    """A shop's own role, made by the owner from the permission list (auth/permissions.py holds
    the built-in ones). Deleting a role that members still hold is refused."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("shop_id", "name"),)

    name: Mapped[str] = mapped_column(String(32))
    permissions: Mapped[list] = mapped_column(JsonDoc, default=list)
    data_scope: Mapped[str] = mapped_column(String(16), default="all")
    sees_unassigned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class Staff(IdMixin, ShopScoped, Base):
    __tablename__ = "staff"

    # Login names are unique across the installation so one login form serves every shop.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    # A built-in role's key (auth/permissions.py), or "custom" with ``role_id`` naming the row.
    role: Mapped[str] = mapped_column(String(32), default="owner")
    role_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("roles.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Account lock-out (audit/lockout.py): consecutive wrong passwords, the last one's time, and
    # until when the account refuses every sign-in (reset by a correct one or the owner's reset).
    failed_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Credential(IdMixin, ShopScoped, Base):
    """A bearer secret: ``kind`` is ``session`` (console cookie) or ``token`` (API integrations).

    Only a SHA-256 of the secret is stored: the secrets are 256-bit random, so a slow hash adds
    nothing, and a database leak does not hand out working credentials.
    """

    __tablename__ = "credentials"

    staff_id: Mapped[int] = mapped_column(BigId, ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    # For API tokens: the permissions granted (a subset of the owner's); None = the staff's role.
    scopes: Mapped[list | None] = mapped_column(JsonDoc, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Invitation(IdMixin, ShopScoped, Base):
    """A one-time link that lets someone join the shop with a role (auth/invitations.py).

    Only a SHA-256 of the link's secret is stored, like a credential's: a database leak does not
    hand out working invitations."""

    __tablename__ = "invitations"

    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # The role the newcomer gets: a built-in key, or "custom" with ``role_id``.
    role: Mapped[str] = mapped_column(String(32))
    role_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("roles.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
