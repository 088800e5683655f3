"""Rule 17 of docs/architecture.md, checked on the schema: no delete anywhere can take evidence with
it. Every foreign key of an evidence table, and every foreign key pointing into one, refuses the
delete (RESTRICT or NO ACTION) instead of cascading it or cutting the link (SET NULL)."""

from __future__ import annotations

from sqlalchemy import inspect

from shangliao.storage.base import all_models

# What a dispute is settled with: the chat (conversations hold each chain's counter and owner),
# its signed checkpoints and list, sent files, payments and the order timeline.
EVIDENCE = {
    "conversations",
    "messages",
    "chain_checkpoints",
    "chain_manifests",
    "attachments",
    "payments",
    "order_events",
}
DESTRUCTIVE = {"CASCADE", "SET NULL", "SET DEFAULT"}


def destructive(foreign_keys: list[tuple[str, str, str, str | None]]) -> list[tuple[str, str, str, str]]:
    """``(table, column, target, on delete)`` of each key that would destroy or unlink evidence."""
    return sorted(
        (table, column, target, (ondelete or "").upper())
        for table, column, target, ondelete in foreign_keys
        if (table in EVIDENCE or target in EVIDENCE) and (ondelete or "").upper() in DESTRUCTIVE
    )


def test_every_evidence_table_is_in_the_models():
    assert set(all_models().tables) >= EVIDENCE


def test_no_foreign_key_of_the_models_deletes_or_unlinks_evidence():
    keys = [
        (table.name, fk.parent.name, fk.column.table.name, fk.ondelete)
        for table in all_models().tables.values()
        for fk in table.foreign_keys
    ]
    assert any(t in EVIDENCE for t, *_ in keys)  # the walk saw evidence tables at all
    assert destructive(keys) == []


def test_no_foreign_key_of_the_live_schema_deletes_or_unlinks_evidence(runtime):
    # The database the migrations built, as the database itself reports it (both backends).
    inspector = inspect(runtime.db.writer)
    keys = [
        (table, column, fk["referred_table"], fk.get("options", {}).get("ondelete"))
        for table in inspector.get_table_names()
        for fk in inspector.get_foreign_keys(table)
        for column in fk["constrained_columns"]
    ]
    assert {t for t, *_ in keys} >= EVIDENCE  # the reflection saw every evidence table's keys
    assert destructive(keys) == []
