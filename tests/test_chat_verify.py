"""``chat verify`` against the signed list of conversations: a conversation that was signed and is
gone now, a history cut back behind the checkpoints' backs, and a forged list are all reported."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from shangliao.chat.models import Attachment, ChainCheckpoint, Conversation, Message
from shangliao.chat.verify import sign_heads, verify
from shangliao.cli.main import app
from shangliao.config import get_settings
from shangliao.runtime import Runtime
from tests.support.chat import customer_says, open_conversation


@pytest.fixture
def shangliao(tmp_path, monkeypatch):
    """Run ``shangliao …`` in-process against a fresh data folder (SQLite), in English."""
    monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(tmp_path / "data"))
    for var in (
        "SHANGLIAO_DATABASE_URL",
        "SHANGLIAO_SECRET_KEY",
        "SHANGLIAO_REDIS_URL",
        "LC_ALL",
        "LC_MESSAGES",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")

    def run(*args: str):
        get_settings.cache_clear()  # each command reads the environment afresh, like a new process
        return CliRunner().invoke(app, list(args))

    yield run
    get_settings.cache_clear()


def talk(runtime, shop, conversation: dict, n: int) -> None:
    for i in range(n):
        customer_says(runtime, shop, conversation, f"问题 {i}")


def problems(runtime, shop) -> list[tuple[int | None, int | None, str]]:
    return [(b.conversation_id, b.seq, b.problem) for b in verify(runtime.db, runtime.keyring, shop.id)]


def erase(session, conversation_id: int, *, from_seq: int = 1) -> None:
    """What someone with database access does to make messages vanish: every row that would
    give them away goes too (checkpoints, attachments, and with ``from_seq=1`` the conversation)."""
    for model in (ChainCheckpoint, Attachment):
        session.execute(delete(model).where(model.conversation_id == conversation_id))
    session.execute(
        delete(Message).where(Message.conversation_id == conversation_id, Message.seq >= from_seq)
    )
    if from_seq == 1:
        session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    else:
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(message_count=from_seq - 1)
        )


def test_a_signed_list_of_an_intact_shop_verifies_and_later_conversations_are_welcome(runtime, shop):
    # given two conversations, signed, and a third one opened after the checkpoint
    first = open_conversation(runtime, shop, "李四", "13900001111")
    second = open_conversation(runtime, shop, "王五", "13900002222")
    talk(runtime, shop, first, 3)
    assert sign_heads(runtime.db, runtime.keyring, shop.id) == 1  # an empty conversation has no head to sign
    talk(runtime, shop, second, 1)
    talk(runtime, shop, open_conversation(runtime, shop, "赵六", "13900003333"), 2)
    # then nothing is reported
    assert problems(runtime, shop) == []


def test_a_conversation_deleted_after_the_checkpoint_is_reported_gone(runtime, shop):
    # given a shop whose conversations were signed
    kept = open_conversation(runtime, shop, "李四", "13900001111")
    gone = open_conversation(runtime, shop, "王五", "13900002222")
    talk(runtime, shop, kept, 2)
    talk(runtime, shop, gone, 3)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    # when one conversation is removed with everything in it, by hand
    with runtime.db.write() as session:
        erase(session, gone["id"])
    # then verify names it, although nothing left in the database points at it
    assert problems(runtime, shop) == [(gone["id"], None, "the conversation is gone")]


def test_a_history_cut_back_with_its_checkpoints_is_reported(runtime, shop):
    # given a signed conversation
    conversation = open_conversation(runtime, shop, "李四", "13900001111")
    talk(runtime, shop, conversation, 4)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    # when its last two messages are deleted, and its checkpoints with them (the chain left is whole)
    with runtime.db.write() as session:
        erase(session, conversation["id"], from_seq=3)
    # then the signed list still knows where its history ended
    assert problems(runtime, shop) == [(conversation["id"], 4, "a signed message is gone")]


def test_a_signed_list_rewritten_to_hide_a_deletion_is_reported(runtime, shop):
    from shangliao.chat.models import ChainManifest

    # given a signed shop, from which a conversation is then deleted
    kept = open_conversation(runtime, shop, "李四", "13900001111")
    gone = open_conversation(runtime, shop, "王五", "13900002222")
    talk(runtime, shop, kept, 1)
    talk(runtime, shop, gone, 1)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    with runtime.db.write() as session:
        erase(session, gone["id"])
        # when the list is rewritten without it (the key that signs it is not in the database)
        manifest = session.scalar(select(ChainManifest).where(ChainManifest.shop_id == shop.id))
        manifest.heads = [h for h in manifest.heads if h[0] != gone["id"]]
    # then the list itself is reported as not valid, for the shop
    found = verify(runtime.db, runtime.keyring, shop.id)
    assert [(b.shop_id, b.conversation_id, b.problem) for b in found] == [
        (shop.id, None, "the signed list of conversations is not valid")
    ]


def test_signing_again_lists_what_is_there_now(runtime, shop):
    from shangliao.chat.models import ChainManifest

    # given a checkpoint, then more messages and a checkpoint again
    conversation = open_conversation(runtime, shop, "李四", "13900001111")
    talk(runtime, shop, conversation, 2)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    talk(runtime, shop, conversation, 2)
    sign_heads(runtime.db, runtime.keyring, shop.id)
    # then the list holds the conversation at its new head
    with runtime.db.read() as session:
        heads = session.scalar(select(ChainManifest.heads).where(ChainManifest.shop_id == shop.id))
    assert [h[:2] for h in heads] == [[conversation["id"], 4]]
    assert problems(runtime, shop) == []


def test_chat_verify_on_the_command_line_fails_for_a_vanished_conversation(shangliao):
    from shangliao.chat import service
    from shangliao.customers.models import Customer
    from shangliao.shops.models import Shop

    # given a shop with a signed conversation
    assert shangliao("init", "--shop-slug", "tea", "--shop-name", "小茶铺", "--owner", "alice",
                     "--password", "correct horse battery").exit_code == 0  # fmt: skip
    get_settings.cache_clear()
    rt = Runtime.build(get_settings())
    try:
        with rt.db.write() as session:
            shop_id = session.scalar(select(Shop.id).where(Shop.slug == "tea"))
            customer = Customer(shop_id=shop_id, name="李四")
            session.add(customer)
            session.flush()
            conversation = service.do_open_conversation(session, shop_id, customer.id)
            service.do_send(
                session, rt.keyring, shop_id, conversation.id,
                sender_type="customer", sender_id=customer.id, kind="text", body="在吗",
            )  # fmt: skip
        assert shangliao("chat", "checkpoint").exit_code == 0
        # when the conversation is deleted by hand
        with rt.db.write() as session:
            erase(session, conversation.id)
    finally:
        rt.close()

    broken = shangliao("chat", "verify")

    # then verify fails and names it
    assert broken.exit_code == 1
    assert f"Conversation {conversation.id}: the conversation is gone" in broken.output
    assert "Breaks found: 1." in broken.output


def test_a_shop_whose_first_checkpoint_run_is_still_to_come_verifies(runtime, shop):
    # given a conversation long enough for sending to have signed a checkpoint by itself, and no
    # checkpoint run yet (no list, nothing recorded beside the key)
    conversation = open_conversation(runtime, shop, "李四", "13900001111")
    talk(runtime, shop, conversation, 50)
    # when the shop is verified
    # then nothing is reported: a list never signed is not a list deleted
    assert problems(runtime, shop) == []


def test_a_deleted_signed_list_is_reported_from_the_record_beside_the_key(runtime, shop, tmp_path):
    from shangliao.chat.models import ChainManifest

    # given a signed shop whose every conversation is then erased, checkpoints and list included
    record = tmp_path / "chain-generations.json"
    gone = open_conversation(runtime, shop, "王五", "13900002222")
    talk(runtime, shop, gone, 1)
    sign_heads(runtime.db, runtime.keyring, shop.id, generations_file=record)
    with runtime.db.write() as session:
        erase(session, gone["id"])
        session.execute(delete(ChainManifest).where(ChainManifest.shop_id == shop.id))
    # when verify is told where the last signed generation is kept
    found = verify(runtime.db, runtime.keyring, shop.id, generations_file=record)
    # then nothing in the database vouches for the shop any more, and that is the break
    assert [(b.shop_id, b.conversation_id, b.problem) for b in found] == [
        (shop.id, None, "the signed list of conversations is missing")
    ]


def test_an_older_signed_list_put_back_is_reported(runtime, shop, tmp_path):
    from shangliao.chat.models import ChainManifest

    # given a list signed while a conversation was there, saved, and a later list signed after it
    record = tmp_path / "chain-generations.json"
    gone = open_conversation(runtime, shop, "王五", "13900002222")
    talk(runtime, shop, gone, 2)
    sign_heads(runtime.db, runtime.keyring, shop.id, generations_file=record)
    with runtime.db.read() as session:
        saved = session.execute(
            select(ChainManifest.generation, ChainManifest.heads, ChainManifest.signature).where(
                ChainManifest.shop_id == shop.id
            )
        ).one()
    talk(runtime, shop, open_conversation(runtime, shop, "李四", "13900001111"), 1)
    sign_heads(runtime.db, runtime.keyring, shop.id, generations_file=record)
    # when the older list, validly signed, is put back in place of the current one
    with runtime.db.write() as session:
        session.execute(
            update(ChainManifest)
            .where(ChainManifest.shop_id == shop.id)
            .values(generation=saved.generation, heads=saved.heads, signature=saved.signature)
        )
    # then verify says the list was rolled back, although its signature holds
    found = verify(runtime.db, runtime.keyring, shop.id, generations_file=record)
    assert [(b.conversation_id, b.problem) for b in found] == [
        (None, "the signed list of conversations is older than the last one signed")
    ]


def test_chat_checkpoint_records_each_generation_beside_the_key_for_its_owner_only(shangliao, tmp_path):
    import orjson

    from shangliao.chat.models import ChainManifest
    from shangliao.shops.models import Shop

    # given a fresh shop
    assert shangliao("init", "--shop-slug", "tea", "--shop-name", "小茶铺", "--owner", "alice",
                     "--password", "correct horse battery").exit_code == 0  # fmt: skip
    # when chat checkpoint runs twice
    assert shangliao("chat", "checkpoint").exit_code == 0
    assert shangliao("chat", "checkpoint").exit_code == 0
    # then the data folder records the shop's second generation, readable by its owner only
    record = tmp_path / "data" / "chain-generations.json"
    assert record.stat().st_mode & 0o777 == 0o600
    get_settings.cache_clear()
    rt = Runtime.build(get_settings())
    try:
        with rt.db.read() as session:
            shop_id = session.scalar(select(Shop.id).where(Shop.slug == "tea"))
            generation = session.scalar(
                select(ChainManifest.generation).where(ChainManifest.shop_id == shop_id)
            )
        assert orjson.loads(record.read_bytes()) == {str(shop_id): 2} and generation == 2
        # and when the list row is deleted by hand
        with rt.db.write() as session:
            session.execute(delete(ChainManifest).where(ChainManifest.shop_id == shop_id))
    finally:
        rt.close()
    broken = shangliao("chat", "verify")
    # then verify fails and says so, for the shop
    assert broken.exit_code == 1
    assert f"Shop {shop_id}: the signed list of conversations is missing" in broken.output


def test_chat_verify_reports_a_shop_whose_list_was_signed_and_that_is_gone(shangliao, tmp_path):
    import orjson

    # given an installation whose record beside the key names a shop that is not stored (any more)
    assert shangliao("init", "--shop-slug", "tea", "--shop-name", "小茶铺", "--owner", "alice",
                     "--password", "correct horse battery").exit_code == 0  # fmt: skip
    assert shangliao("chat", "checkpoint").exit_code == 0
    record = tmp_path / "data" / "chain-generations.json"
    record.write_bytes(orjson.dumps({**orjson.loads(record.read_bytes()), "987654": 3}))
    # when verify runs over every shop
    broken = shangliao("chat", "verify")
    # then the vanished shop is the one break
    assert broken.exit_code == 1
    assert "Shop 987654: the shop is gone" in broken.output
    assert "Breaks found: 1." in broken.output


def test_chat_verify_refuses_to_run_on_an_unreadable_generation_record(shangliao, tmp_path):
    # given a signed installation whose record beside the key was damaged
    assert shangliao("init", "--shop-slug", "tea", "--shop-name", "小茶铺", "--owner", "alice",
                     "--password", "correct horse battery").exit_code == 0  # fmt: skip
    assert shangliao("chat", "checkpoint").exit_code == 0
    (tmp_path / "data" / "chain-generations.json").write_bytes(b"{not json")
    # when verify runs
    refused = shangliao("chat", "verify")
    # then it stops with a readable message and a code, instead of checking without the record
    assert refused.exit_code != 0
    assert "chat.generations_unreadable" in refused.output
    assert "Traceback" not in refused.output
