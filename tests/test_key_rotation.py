"""Key management (issue 12): every value names its key, `shangliao keys rotate` moves them all to
a new key in resumable batches while search keeps working, `keys retire` refuses while a key is in
use, and start-up refuses when the data needs a key the ring lacks. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from typer.testing import CliRunner, Result

from shangliao.app import create_app
from shangliao.audit.models import AuditEntry
from shangliao.chat import service
from shangliao.chat.cards import SEALED_ADDRESS
from shangliao.chat.chain import checkpoint_message
from shangliao.chat.models import ChainCheckpoint, ConversationKey, Visitor
from shangliao.cli.main import app as cli_app
from shangliao.config import Settings, get_settings
from shangliao.core import keys, keys_rotate
from shangliao.core.crypto import Key, KeyMissing, Keyring, blob_key_id, key_id
from shangliao.core.keys_data import (
    CARDS_LABEL,
    SIGNED,
    MissingKeyError,
    card_seals,
    timeline_seals,
)
from shangliao.customers.models import CustomerAddress, CustomerPhone
from shangliao.customers.pii import PHONE_CONTEXT
from shangliao.orders.models import Order
from shangliao.orders.timeline import sealed
from shangliao.runtime import Runtime
from shangliao.storage import migrate
from tests.support.backends import database_url
from tests.support.catalog import make_product
from tests.support.chat import guest_client
from tests.support.orders import ADDRESS, make_order
from tests.support.shops import make_shop

FIRST = bytes(range(32))  # the installation's original key (a one-line key file, as `init` writes)
FIRST_ID = key_id(FIRST)
PHONES = ["13912340001", "13912340002", "13912340003", "13912340004"]
CARD_KEYS = "conversation_keys"


class Crash(Exception):
    """Stands in for a kill in the middle of a rotation."""


@dataclass
class Install:
    """A data folder with its own database, driven like an operator would."""

    data_dir: Path
    backend: str

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    def cli(self, *args: str) -> Result:
        get_settings.cache_clear()  # each command reads the environment afresh, like a new process
        return CliRunner().invoke(cli_app, list(args))

    def ok(self, *args: str) -> Result:
        result = self.cli(*args)
        assert result.exit_code == 0, result.output
        return result

    def runtime(self) -> Runtime:
        get_settings.cache_clear()
        return Runtime.build(get_settings())

    def ring(self) -> Keyring:
        get_settings.cache_clear()
        return Keyring.from_settings(get_settings())


@pytest.fixture(params=["sqlite", "postgres"])
def install(request, tmp_path, monkeypatch) -> Iterator[Install]:
    with database_url(request.param, tmp_path) as url:
        data = tmp_path / "data"
        data.mkdir()
        for var in ("SHANGLIAO_SECRET_KEY", "SHANGLIAO_OLD_SECRET_KEYS", "SHANGLIAO_REDIS_URL", "LC_ALL"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("SHANGLIAO_DATA_DIR", str(data))
        monkeypatch.setenv("SHANGLIAO_DATABASE_URL", url)
        monkeypatch.setenv("SHANGLIAO_REFUSAL_PAUSE", "0")
        monkeypatch.setenv("LANG", "C.UTF-8")
        migrate.upgrade(url)
        fd = os.open(data / "secret.key", os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(FIRST.hex() + "\n")
        yield Install(data, request.param)
        get_settings.cache_clear()


@dataclass
class Filled:
    shop_slug: str
    token: str
    order_ids: list[int]


def fill(install: Install, *, card: bool = True) -> Filled:
    """Customers with phones and addresses, orders (one with its address changed), a device that
    claims a customer's phone, a chat details card, signed chain checkpoints."""
    rt = install.runtime()
    try:
        app = create_app(runtime=rt)
        shop = make_shop(rt, app)
        tee = make_product(rt, shop, stock=50)
        orders = []
        for i, phone in enumerate(PHONES):
            address = {**ADDRESS, "phone": phone, "detail": f"文三路{i}号"}
            r = shop.api.post(
                "/api/v1/customers", json={"name": f"客户{i}", "phones": [phone], "addresses": [address]}
            )
            assert r.status_code == 201, r.text
            orders.append(
                make_order(shop, [(tee.variant_ids[0], 1)], address=address, customer_id=r.json()["id"])
            )
        moved = {**ADDRESS, "phone": PHONES[0], "detail": "改过的地址1号"}
        r = shop.api.put(
            f"/api/v1/orders/{orders[0]['id']}/address",
            json={"address": moved, "version": orders[0]["version"]},
        )
        assert r.status_code == 200, r.text
        guest_client(app, shop, "自称客户0", PHONES[0])  # a device claiming customer 0's phone
        if card:
            r = shop.api.post(f"/api/v1/customers/{orders[1]['customer_id']}/conversation")
            assert r.status_code == 200, r.text
            r = shop.api.post(f"/api/v1/orders/{orders[1]['id']}/checkpoints/details")
            assert r.status_code in (200, 201), r.text
        filled = Filled(shop.slug, shop.token, [o["id"] for o in orders])
    finally:
        rt.close()
    install.ok("chat", "checkpoint")
    return filled


def api(install: Install, filled: Filled):
    """The owner's API client on a freshly started server (the ring as the key file says now)."""
    from fastapi.testclient import TestClient

    rt = install.runtime()
    client = TestClient(create_app(runtime=rt), headers={"Authorization": f"Bearer {filled.token}"})
    return rt, client


def key_ids(install: Install) -> dict[str, set[str | None]]:
    """The key id every stored value names, per place (None: a pre-key-id value). ``CARDS_LABEL``:
    cards sealed under the ring itself, before data keys; ``CARD_KEYS``: conversations' data keys,
    under which cards seal their addresses now."""
    rt = install.runtime()
    try:
        with rt.db.read() as s:
            found = {
                "customer_phones": {blob_key_id(b) for b in s.scalars(select(CustomerPhone.phone_enc))},
                "customer_addresses": {blob_key_id(b) for b in s.scalars(select(CustomerAddress.data_enc))},
                "orders": {blob_key_id(b) for b in s.scalars(select(Order.address_enc))},
                "order_events": {blob_key_id(b) for b in timeline_seals(s)},
                CARDS_LABEL: {blob_key_id(b) for b in card_seals(s)},
                CARD_KEYS: {
                    blob_key_id(b)
                    for b in s.scalars(
                        select(ConversationKey.wrapped).where(ConversationKey.wrapped.is_not(None))
                    )
                },
            }
    finally:
        rt.close()
    return found


def found(client, q: str) -> tuple[int, int]:
    """How many orders and customers a search finds (in the body: phones never go in URLs)."""
    orders = client.post("/api/v1/orders/search", json={"q": q})
    customers = client.post("/api/v1/customers/search", json={"q": q})
    assert orders.status_code == 200 and customers.status_code == 200, (orders.text, customers.text)
    return len(orders.json()["items"]), len(customers.json()["items"])


def search_finds_everyone(client) -> None:
    for phone in PHONES:
        assert found(client, phone) == (1, 1), phone
        orders, customers = found(client, phone[-4:])  # four digits may also end an order number
        assert orders >= 1 and customers == 1, phone


# --- a new key --------------------------------------------------------------------------------------


def test_values_under_the_first_key_read_after_a_new_key_and_new_values_use_the_new_key(install):
    # Given data written under the first key
    filled = fill(install)
    ids = key_ids(install)
    assert ids.pop(CARDS_LABEL) == set()  # the card sealed its address under its conversation's key
    assert all(found == {FIRST_ID} for found in ids.values())

    # When a new key is made
    result = install.ok("keys", "new")
    new_id = install.ring().current.hex_id
    assert new_id != FIRST_ID and new_id in result.output
    assert install.ring().ids == [new_id, FIRST_ID]

    # Then everything still reads, search finds it, and what is written now names the new key
    rt, client = api(install, filled)
    try:
        order = client.get(f"/api/v1/orders/{filled.order_ids[1]}").json()
        assert order["address"]["phone"] == PHONES[1]
        timeline = client.get(f"/api/v1/orders/{filled.order_ids[0]}/timeline").json()
        changed = next(e for e in timeline if e["kind"] == "address_changed")
        assert changed["data"]["new"]["detail"] == "改过的地址1号"
        search_finds_everyone(client)
        r = client.post("/api/v1/customers", json={"name": "新客户", "phones": ["13700000009"]})
        assert r.status_code == 201, r.text
        # the same phone again is refused, whichever key its stored hash is under
        r = client.post("/api/v1/customers", json={"name": "重复", "phones": [PHONES[2]]})
        assert r.status_code == 409, r.text
    finally:
        rt.close()
    assert key_ids(install)["customer_phones"] == {FIRST_ID, new_id}


# --- rotation ---------------------------------------------------------------------------------------


def rotate_until_crash(install: Install, after_batch: Callable[[str, int], None]) -> None:
    """A rotation in batches of one row on a fresh runtime, killed when ``after_batch`` raises
    :class:`Crash` (it must)."""
    rt = install.runtime()
    try:
        with pytest.raises(Crash):
            keys_rotate.rotate(rt.db, rt.keyring, batch=1, after_batch=after_batch)
    finally:
        rt.close()


def test_a_crashed_rotation_leaves_everything_readable_and_a_rerun_moves_every_value(install):
    # Given data under the first key, and a new key
    filled = fill(install)
    install.ok("keys", "new")
    new_id = install.ring().current.hex_id

    # When a rotation is killed after a few batches of one row
    batches = []

    def crash_after_three(label: str, rows: int) -> None:
        batches.append(label)
        if len(batches) == 3:
            raise Crash

    rotate_until_crash(install, crash_after_three)

    # Then the phones are half moved, and everything reads and is found meanwhile
    assert key_ids(install)["customer_phones"] == {FIRST_ID, new_id}
    rt, client = api(install, filled)
    try:
        search_finds_everyone(client)
        for order_id, phone in zip(filled.order_ids[1:], PHONES[1:], strict=True):
            assert client.get(f"/api/v1/orders/{order_id}").json()["address"]["phone"] == phone
    finally:
        rt.close()

    # When it runs again to the end
    result = install.ok("keys", "rotate", "--batch", "2")

    # Then every value names the new key, the card's data key re-wrapped under it (the card
    # itself stays as sent: the chain hashes it), and the first key is free to retire
    assert f"Every value now uses key {new_id}" in result.output
    ids = key_ids(install)
    for place in ("customer_phones", "customer_addresses", "orders", "order_events", CARD_KEYS):
        assert ids[place] == {new_id}, place
    assert ids[CARDS_LABEL] == set()
    assert f"keys retire {FIRST_ID}" in result.output and "chat card" not in result.output

    # And search still finds everyone, the claiming device still matches the phone it claimed,
    # the chat history still verifies (checkpoints re-signed), and the rotation is in the audit log
    rt, client = api(install, filled)
    try:
        search_finds_everyone(client)
        ring = rt.keyring
        with rt.db.read() as s:
            claimed = set(
                s.scalars(select(Visitor.claimed_phone_hash).where(Visitor.claimed_phone_hash.is_not(None)))
            )
            acts = list(s.scalars(select(AuditEntry.data).where(AuditEntry.act == "keys.rotated")))
        assert claimed == {ring.lookup_hash(PHONES[0], "phone")}
        assert acts and acts[-1]["key_id"] == new_id and acts[-1]["done"] is True
        card = client.get(f"/api/v1/orders/{filled.order_ids[1]}").json()
        assert card["address"]["phone"] == PHONES[1]
    finally:
        rt.close()
    install.ok("chat", "verify")
    old_only = Keyring.from_masters([FIRST])
    rt = install.runtime()
    try:
        with rt.db.read() as s:
            signatures = [
                (c.shop_id, c.conversation_id, c.seq, c.hash, c.signature)
                for c in s.scalars(select(ChainCheckpoint))
            ]
    finally:
        rt.close()
    assert signatures
    assert not any(old_only.signed(checkpoint_message(*sig[:4]), sig[4]) for sig in signatures)


def test_retire_refuses_while_a_value_uses_the_key_and_drops_it_once_none_does(install):
    # Given data under the first key, a new key, no rotation yet
    filled = fill(install, card=False)
    install.ok("keys", "new")

    # When the first key is retired before the rotation: refused, and the ring is unchanged
    refused = install.cli("keys", "retire", FIRST_ID)
    assert refused.exit_code == 1
    assert FIRST_ID in refused.output and "keys rotate" in refused.output
    assert FIRST_ID in install.ring().ids

    # When after the rotation
    result = install.ok("keys", "rotate")
    assert f"keys retire {FIRST_ID}" in result.output
    install.ok("keys", "retire", FIRST_ID)

    # Then the ring holds the new key alone, and everything reads
    assert install.ring().ids == [install.ring().current.hex_id]
    assert FIRST.hex() not in install.key_file.read_text()
    rt, client = api(install, filled)
    try:
        search_finds_everyone(client)
        assert (
            client.get(f"/api/v1/orders/{filled.order_ids[0]}").json()["address"]["detail"] == "改过的地址1号"
        )
    finally:
        rt.close()


def stop_before_the_signatures(label: str, rows: int) -> None:
    """Kills a rotation once every ciphertext moved (the timeline is the last of them) and before
    any signature is re-signed."""
    if label == "order_events":
        raise Crash


def sign_with_the_first_key(install: Install) -> int:
    """Signs every chain checkpoint and chain list with the first key, as a server started before
    `keys new` does; returns how many."""
    first = Keyring.from_masters([FIRST])
    rt = install.runtime()
    try:
        with rt.db.write() as s:
            n = 0
            for signed in SIGNED:
                t = signed.table
                for row in s.execute(select(t.c.id, *(t.c[c] for c in signed.columns))).all():
                    sig = first.sign(signed.message(row))
                    s.execute(update(t).where(t.c.id == row.id).values(signature=sig))
                    n += 1
    finally:
        rt.close()
    return n


def test_retire_refuses_while_chat_signatures_use_the_key(install):
    # Given a chat with signed checkpoints under the first key, a new key, and a rotation killed
    # after every ciphertext moved but before the signatures
    fill(install)
    install.ok("keys", "new")
    rotate_until_crash(install, stop_before_the_signatures)

    # When the first key is retired: refused, naming the signatures, and the ring is unchanged
    refused = install.cli("keys", "retire", FIRST_ID)
    assert refused.exit_code == 1, refused.output
    assert FIRST_ID in refused.output and "chat checkpoints" in refused.output
    assert FIRST_ID in install.ring().ids
    # and status says where the key is still used
    status = install.ok("keys", "status")
    assert f"chain_checkpoints.signature: 1 under key {FIRST_ID}" in status.output
    assert "run `shangliao keys rotate`" in status.output
    install.ok("chat", "verify")

    # When the rotation finishes, the key retires and the chat history still verifies
    install.ok("keys", "rotate")
    install.ok("keys", "retire", FIRST_ID)
    install.ok("chat", "verify")


def test_signatures_an_old_server_makes_during_a_rotation_are_left_over_and_named(install, monkeypatch):
    # Given a chat signed under the first key, a new key, and a server not restarted since, which
    # signs with the first key again once the rotation re-signed (stood in for after the last pass)
    fill(install)
    install.ok("keys", "new")
    new_id = install.ring().current.hex_id
    real = keys_rotate._run_pass

    def pass_then_old_server_signs(db, keyring, p, batch, after_batch):
        moved = real(db, keyring, p, batch, after_batch)
        if p.label == SIGNED[-1].table.name:
            sign_with_the_first_key(install)
        return moved

    monkeypatch.setattr(keys_rotate, "_run_pass", pass_then_old_server_signs)

    # When the operator rotates
    result = install.cli("keys", "rotate")

    # Then it fails, asks for a restart, and says where the signatures left under the old key are
    assert result.exit_code == 1, result.output
    assert "restart the server" in result.output
    assert f"chain_checkpoints.signature: 1 under key {FIRST_ID}" in result.output
    assert f"chain_manifests.signature: 1 under key {FIRST_ID}" in result.output
    assert install.cli("keys", "retire", FIRST_ID).exit_code == 1

    # When the server is restarted (it signs with the new key) and the rotation runs again
    monkeypatch.setattr(keys_rotate, "_run_pass", real)
    result = install.ok("keys", "rotate")

    # Then every signature is under the new key, the first key retires, and the history verifies
    assert f"Every value now uses key {new_id}" in result.output
    install.ok("keys", "retire", FIRST_ID)
    install.ok("chat", "verify")


def card_address(install: Install, filled: Filled) -> dict:
    """The address on the details card of the order ``fill`` sent it for, as the owner reads it."""
    rt, client = api(install, filled)
    try:
        customer_id = client.get(f"/api/v1/orders/{filled.order_ids[1]}").json()["customer_id"]
        conversation = client.post(f"/api/v1/customers/{customer_id}/conversation").json()
        r = client.get(f"/api/v1/conversations/{conversation['id']}/messages")
        assert r.status_code == 200, r.text
        [card] = [m for m in r.json() if m["kind"] == "order_card" and "address" in m["data"]]
        return card["data"]["address"]
    finally:
        rt.close()


def test_a_chat_card_sealed_under_its_conversations_key_lets_the_old_key_retire(install):
    # Given a details card sent under the first key, and a finished rotation
    filled = fill(install)
    install.ok("keys", "new")
    install.ok("keys", "rotate")

    # When the first key is retired
    install.ok("keys", "retire", FIRST_ID)

    # Then the ring holds the new key alone, the card's address still opens, and the chain verifies
    assert FIRST_ID not in install.ring().ids
    assert card_address(install, filled)["phone"] == PHONES[1]
    install.ok("chat", "verify")


def test_a_chat_card_sealed_under_the_ring_keeps_its_key(install):
    # Given a details card sent before data keys existed (its address sealed under the first key
    # of the ring, the order's own blob copied in), and a finished rotation
    filled = fill(install)
    rt = install.runtime()
    try:
        with rt.db.write() as s:
            order = s.get(Order, filled.order_ids[1])
            service.do_send(
                s,
                rt.keyring,
                order.shop_id,
                order.conversation_id,
                sender_type="staff",
                sender_id=None,
                kind="order_card",
                data={"order_id": order.id, SEALED_ADDRESS: sealed(order.address_enc)},
            )
    finally:
        rt.close()
    install.ok("keys", "new")
    result = install.ok("keys", "rotate")
    assert "chat card" in result.output

    # When the first key is retired: refused (the card's address is kept as sent)
    refused = install.cli("keys", "retire", FIRST_ID)
    assert refused.exit_code == 1, refused.output
    assert FIRST_ID in install.ring().ids
    assert key_ids(install)[CARDS_LABEL] == {FIRST_ID}


# --- start-up ---------------------------------------------------------------------------------------


def test_start_up_refuses_when_the_data_needs_a_key_the_ring_lacks_and_names_it(install):
    # Given data rotated to a second key
    fill(install, card=False)
    install.ok("keys", "new")
    install.ok("keys", "rotate")
    wanted = install.ring().current.hex_id

    # When the key file is replaced by one holding only an unrelated key
    install.key_file.write_text(os.urandom(32).hex() + "\n")

    # Then commands that open the data, and the server, refuse, naming the key and the file
    refused = install.cli("shop", "list")
    assert refused.exit_code == 1
    assert wanted in refused.output and str(install.key_file) in refused.output.replace("\n", "")
    assert install.cli("serve").exit_code == 1
    with pytest.raises(MissingKeyError) as caught:
        install.runtime()
    assert wanted in str(caught.value)

    # And `keys status` still says which key the data needs
    status = install.ok("keys", "status")
    assert f"under key {wanted} (NOT IN THE RING)" in status.output


def test_a_replaced_key_file_is_refused_for_data_from_before_key_ids(install):
    # Given phones stored in the version-1 format (no key id), as before this change
    fill(install, card=False)
    for phone in PHONES:
        set_phone_blob(install, phone, legacy_blob(FIRST, phone.encode(), PHONE_CONTEXT))

    # When the key file is replaced
    install.key_file.write_text(os.urandom(32).hex() + "\n")

    # Then start-up refuses and says the key file was replaced
    refused = install.cli("shop", "list")
    assert refused.exit_code == 1
    assert "replaced or lost" in refused.output


# --- the version-1 format ---------------------------------------------------------------------------


def legacy_blob(master: bytes, plaintext: bytes, context: bytes) -> bytes:
    """A value as Shangliao wrote it before key ids: b"\\x01" + nonce + AES-GCM."""
    nonce = os.urandom(12)
    return b"\x01" + nonce + AESGCM(Key.from_master(master).encryption_key).encrypt(nonce, plaintext, context)


def set_phone_blob(install: Install, phone: str, blob: bytes) -> None:
    rt = install.runtime()
    try:
        ring = rt.keyring
        with rt.db.write() as s:
            s.execute(
                update(CustomerPhone)
                .where(CustomerPhone.phone_hash.in_(ring.lookup_hashes(phone, "phone")))
                .values(phone_enc=blob)
            )
    finally:
        rt.close()


def test_version_1_values_still_read_after_a_new_key_and_rotate_to_the_new_format(install):
    # Given a customer's phone in the version-1 format under the first key
    filled = fill(install, card=False)
    set_phone_blob(install, PHONES[2], legacy_blob(FIRST, PHONES[2].encode(), PHONE_CONTEXT))
    assert None in key_ids(install)["customer_phones"]

    # When a new key is made: the old value still reads
    install.ok("keys", "new")
    rt, client = api(install, filled)
    try:
        customers = client.post("/api/v1/customers/search", json={"q": PHONES[2]}).json()["items"]
        assert len(customers) == 1
        detail = client.get(f"/api/v1/customers/{customers[0]['id']}").json()
        assert [p["phone"] for p in detail["phones"]] == [PHONES[2]]
    finally:
        rt.close()

    # When rotated: it is rewritten in the new format under the new key
    install.ok("keys", "rotate")
    assert key_ids(install)["customer_phones"] == {install.ring().current.hex_id}


# --- environment keys -------------------------------------------------------------------------------


def test_keys_from_the_environment_form_a_ring_and_new_says_what_to_set(install, monkeypatch):
    # Given the keys in SHANGLIAO_SECRET_KEY and SHANGLIAO_OLD_SECRET_KEYS
    newer = os.urandom(32)
    monkeypatch.setenv("SHANGLIAO_SECRET_KEY", newer.hex())
    monkeypatch.setenv("SHANGLIAO_OLD_SECRET_KEYS", FIRST.hex())

    # Then the ring is the current key then the older one
    assert install.ring().ids == [key_id(newer), FIRST_ID]
    settings = Settings()
    assert Keyring.from_settings(settings).ids == [key_id(newer), FIRST_ID]

    # And `keys new` changes nothing but says which variables to set
    refused = install.cli("keys", "new")
    assert refused.exit_code == 1
    assert "SHANGLIAO_SECRET_KEY" in refused.output and "SHANGLIAO_OLD_SECRET_KEYS" in refused.output


# --- a running server and a new key -----------------------------------------------------------------


def test_a_server_started_before_the_new_key_reads_values_under_it_and_then_writes_with_it(tmp_path):
    # Given a server's ring, read from a one-key file
    settings = Settings(data_dir=tmp_path, secret_key=None)
    (tmp_path / "secret.key").write_text(FIRST.hex() + "\n")
    running = Keyring.from_settings(settings)
    assert running.ids == [FIRST_ID]

    # When `keys new` runs and a rotation writes a value under the new key
    new_id = keys.add_key(settings)
    rotated = Keyring.from_settings(settings).encrypt(b"13912340001", PHONE_CONTEXT)
    assert blob_key_id(rotated) == new_id

    # Then the running server opens it, and encrypts with the new key from then on
    assert running.decrypt(rotated, PHONE_CONTEXT) == b"13912340001"
    assert blob_key_id(running.encrypt(b"x")) == new_id


def test_a_value_under_a_key_nobody_has_names_that_key(tmp_path):
    stranger = Keyring.from_masters([os.urandom(32)])
    blob = stranger.encrypt(b"13912340001", PHONE_CONTEXT)
    with pytest.raises(KeyMissing) as caught:
        Keyring.from_masters([FIRST]).decrypt(blob, PHONE_CONTEXT)
    assert caught.value.key_id == stranger.current.hex_id


def test_an_edit_made_while_its_batch_is_re_encrypted_is_kept(install, monkeypatch):
    # Given data under the first key, a new key, and a server running with it
    filled = fill(install, card=False)
    install.ok("keys", "new")
    rt, client = api(install, filled)
    edited = {**ADDRESS, "phone": PHONES[2], "detail": "搬家后的新地址9号"}

    # When staff change an order's address after the rotation read that order, before it wrote
    orders_pass = next(p for p in keys_rotate.PASSES if p.label == "orders")

    def rewrite_then_edit(keyring, row):
        new = orders_pass.rewrite(keyring, row)
        if row.id == filled.order_ids[2]:
            version = client.get(f"/api/v1/orders/{row.id}").json()["version"]
            r = client.put(f"/api/v1/orders/{row.id}/address", json={"address": edited, "version": version})
            assert r.status_code == 200, r.text
        return new

    raced = dataclasses.replace(orders_pass, rewrite=rewrite_then_edit)
    monkeypatch.setattr(
        keys_rotate, "PASSES", tuple(raced if p is orders_pass else p for p in keys_rotate.PASSES)
    )
    try:
        result = keys_rotate.rotate(rt.db, rt.keyring)

        # Then the edit stands (the rotation's stale copy was not written over it), under the new key
        assert result.done
        order = client.get(f"/api/v1/orders/{filled.order_ids[2]}").json()
        assert order["address"]["detail"] == "搬家后的新地址9号"
        assert found(client, PHONES[2])[0] == 1
    finally:
        rt.close()
    assert key_ids(install)["orders"] == {install.ring().current.hex_id}
