"""Conversations, their append-only messages, chain checkpoints and customers' visitor tokens.

Everything here but the visitor tokens is evidence: no foreign key deletes it along with something
else (rule 17 of docs/architecture.md). A merge of customers moves conversations, it never drops them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shangliao.core import clock
from shangliao.storage.base import Base, EvidenceScoped, IdMixin, ShopScoped, TimestampMixin
from shangliao.storage.types import BigId, JsonDoc, UTCDateTime

# The one conversation a customer has with the shop; merged-away ones stay beside it.
_LIVE = text("merged_into_id IS NULL")


class Conversation(IdMixin, EvidenceScoped, TimestampMixin, Base):
    """One shop and one customer. ``message_count`` numbers the messages (``seq``) and its row lock
    orders concurrent sends, so the hash chain has one next link at a time.

    When two customers who both chatted are merged, the dropped one's conversation keeps its own
    chain (each message's hash covers its conversation id, so its messages cannot move) and is
    marked ``merged_into_id``: it leaves the inbox, takes no new messages, and stays readable as
    the earlier history of the conversation that lives on."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index(
            "uq_conversations_shop_customer",
            "shop_id",
            "customer_id",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index("ix_conversations_shop_activity", "shop_id", "last_message_at", "id"),
        Index("ix_conversations_shop_assignee", "shop_id", "assignee_id", "last_message_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="RESTRICT"))
    assignee_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("staff.id", ondelete="RESTRICT"), nullable=True
    )
    merged_into_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="RESTRICT"), nullable=True
    )
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    message_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the conversation opens, then at each message: the inbox sorts by it.
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # What each side has read (a message seq) and how many of the other side's messages it has not.
    staff_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    customer_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    staff_unread: Mapped[int] = mapped_column(Integer, default=0)
    customer_unread: Mapped[int] = mapped_column(Integer, default=0)


class Message(IdMixin, EvidenceScoped, Base):
    """Never updated but for ``recalled_at`` (rule 13 of docs/architecture.md), which the chain backs with a recall entry.

    ``hash`` = SHA-256 of the previous message's hash and this message's content (``chain.py``).
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index("uq_messages_conversation_seq", "conversation_id", "seq", unique=True),
        Index("uq_messages_conversation_client", "conversation_id", "client_id", unique=True),
    )

    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    sender_type: Mapped[str] = mapped_column(String(16))  # customer | staff | system
    sender_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JsonDoc, default=dict)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ChainCheckpoint(IdMixin, EvidenceScoped, Base):
    """A conversation's chain head at ``seq``, signed with a key kept outside the database: whoever
    can rewrite the tables cannot make a rewritten history match an earlier signature."""

    __tablename__ = "chain_checkpoints"
    __table_args__ = (Index("uq_chain_checkpoints_conversation_seq", "conversation_id", "seq", unique=True),)

    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ChainManifest(IdMixin, EvidenceScoped, Base):
    """The shop's signed list of conversations and their chain heads (``shangliao chat checkpoint``).

    A conversation deleted with all its rows leaves nothing behind to check against; this list
    does: ``verify`` reports every listed conversation that is gone or fell short of its listed
    head. ``heads`` is ``[[conversation_id, seq, hash hex], ...]`` (seq 0 and "" for one without
    messages yet), signed with ``generation`` under the key kept outside the database. One row per
    shop, replaced at each checkpoint run: what it vouches for is the history, kept elsewhere."""

    __tablename__ = "chain_manifests"
    __table_args__ = (Index("uq_chain_manifests_shop", "shop_id", unique=True),)

    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    heads: Mapped[list] = mapped_column(JsonDoc, default=list)
    signature: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Visitor(IdMixin, ShopScoped, Base):
    """A customer's device on the shop page: a random token, stored hashed, keeps who they are."""

    __tablename__ = "visitors"
    __table_args__ = (
        Index("uq_visitors_token_hash", "token_hash", unique=True),
        Index("ix_visitors_shop_claim", "shop_id", "claimed_phone_hash"),
    )

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id", ondelete="CASCADE"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Typing a phone number proves nothing: a new device sees the conversation from here on, not
    # what was said before it joined (nor anyone's history by guessing their number).
    since_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A known customer's phone typed on a new device: the device gets a customer of its own, and
    # this keeps whom it says it is (the phone's keyed hash, rule 12 of docs/architecture.md; not a
    # foreign key, which every merge would have to keep right) until staff link it or a code sent
    # to that phone does (``storefront/claims.py``).
    claimed_phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    # The keyed hash of the mobile this device typed to introduce itself. Until someone vouches for
    # the device, that is the only one of its customer's phones it is shown in full: staff may add
    # others to the customer, and those are not the device's to read (``storefront/visitors.py``).
    typed_phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), nullable=True)
    # Someone vouched for this device: it proved its customer's phone by a texted code, or staff
    # linked it by hand. When a device proves the phone, the customer's devices nobody vouched for
    # are revoked: the first to type an unknown number must not keep watching its real owner.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Attachment(IdMixin, EvidenceScoped, Base):
    """A file sent in a conversation. Its bytes live at ``uploads/<shop_id>/<storage_key>``: the key
    is random and made by the server, so no one's filename ever becomes a path on disk, and the
    name shown is only a label (sanitised, with an extension that matches what the bytes are)."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("uq_attachments_storage_key", "storage_key", unique=True),
        Index("ix_attachments_shop_conversation", "shop_id", "conversation_id", "id"),
    )

    conversation_id: Mapped[int] = mapped_column(BigId, ForeignKey("conversations.id", ondelete="RESTRICT"))
    # The message that sent it, written in the same transaction (who may download follows from it).
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="RESTRICT"), nullable=True
    )
    sender_type: Mapped[str] = mapped_column(String(16))  # customer | staff
    sender_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    kind: Mapped[str] = mapped_column(String(8))  # image | file
    mime: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes, never taken from the client
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class ConversationKey(EvidenceScoped, Base):
    """A conversation's data key, which seals the addresses its cards carry (``chat/card_keys.py``),
    wrapped under the key ring. One per conversation (``id`` is the conversation's id); erasing the
    customer empties ``wrapped``, so those addresses can no longer be opened while the messages
    (and their chain) stay as sent."""

    __tablename__ = "conversation_keys"

    id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversations.id", ondelete="RESTRICT"), primary_key=True, autoincrement=False
    )
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
