"""PII at rest (rule 12 of docs/architecture.md): phones and addresses are unreadable in the raw database, on both backends."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from shangliao.customers.models import CustomerAddress, CustomerPhone
from shangliao.customers.pii import (
    CUSTOMER_ADDRESSES,
    ORDERS,
    Address,
    decrypt_address,
    decrypt_phone,
    encrypt_address,
)
from shangliao.storage.base import all_models


def unique_secrets() -> dict[str, str]:
    """Values found nowhere else in the database, so a hit can only be a leak from this test."""
    tag = uuid.uuid4().hex[:8]
    return {
        "name": f"明文客户{tag}",  # stored in clear on purpose: the positive control
        "phone": "139" + "".join(random.choice("0123456789") for _ in range(8)),
        "receiver": f"收件人{tag}",
        "detail": f"幸福路{tag}号",
    }


def create_customer_with_pii(shop, secrets: dict[str, str]) -> dict:
    r = shop.api.post(
        "/api/v1/customers",
        json={
            "name": secrets["name"],
            "phones": [secrets["phone"]],
            "addresses": [
                {
                    "receiver": secrets["receiver"],
                    "phone": secrets["phone"],
                    "province": "浙江省",
                    "city": "杭州市",
                    "district": "西湖区",
                    "detail": secrets["detail"],
                }
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def sqlite_files(runtime) -> bytes:
    """The database file and its write-ahead log, byte for byte, as someone with the disk sees them."""
    path = Path(make_url(runtime.db.url).database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def checkpoint_sqlite(runtime) -> bytes:
    """Fold the write-ahead log into the main file, then return that file alone."""
    with runtime.db.writer.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0
    return Path(make_url(runtime.db.url).database).read_bytes()


def postgres_rows(runtime) -> str:
    """Every row of every table as PostgreSQL's own text form (bytea as hex), via a plain connection."""
    chunks = []
    with runtime.db.writer.connect() as conn:
        for table in all_models().sorted_tables:
            chunks.extend(conn.execute(text(f'SELECT t::text FROM "{table.name}" AS t')).scalars())
    return "\n".join(chunks)


def visible(secrets: dict[str, str], raw: bytes | str) -> dict[str, bool]:
    """Which secrets can be read in ``raw`` (for PostgreSQL text also as the hex of a bytea)."""
    if isinstance(raw, bytes):
        return {key: value.encode() in raw for key, value in secrets.items()}
    return {key: value in raw or value.encode().hex() in raw for key, value in secrets.items()}


def test_phones_and_addresses_are_not_readable_in_the_raw_database(shop, runtime):
    # given a customer with a phone and an address, committed
    secrets = unique_secrets()
    create_customer_with_pii(shop, secrets)
    expected = {"name": True, "phone": False, "receiver": False, "detail": False}
    # when the database is read raw, outside the application,
    # then the clear-text name is there (the reading works) and no phone, receiver or street is
    if runtime.db.is_sqlite:
        assert visible(secrets, sqlite_files(runtime)) == expected
        assert visible(secrets, checkpoint_sqlite(runtime)) == expected
    else:
        assert visible(secrets, postgres_rows(runtime)) == expected


def test_a_ciphertext_moved_to_another_table_does_not_decrypt(shop, runtime):
    # given a customer's encrypted phone and address as stored
    secrets = unique_secrets()
    customer = create_customer_with_pii(shop, secrets)
    with runtime.db.read() as session:
        address_blob = session.scalar(
            select(CustomerAddress.data_enc).where(CustomerAddress.customer_id == customer["id"])
        )
        phone_blob = session.scalar(
            select(CustomerPhone.phone_enc).where(CustomerPhone.customer_id == customer["id"])
        )
    keyring = runtime.keyring
    # then they decrypt where they belong
    assert decrypt_address(keyring, address_blob, table=CUSTOMER_ADDRESSES).detail == secrets["detail"]
    assert decrypt_phone(keyring, phone_blob) == secrets["phone"]
    # but copied into an order's address column, or into each other's, they fail authentication
    with pytest.raises(InvalidTag):
        decrypt_address(keyring, address_blob, table=ORDERS)
    with pytest.raises(InvalidTag):
        decrypt_address(keyring, phone_blob, table=CUSTOMER_ADDRESSES)
    with pytest.raises(InvalidTag):
        decrypt_phone(keyring, address_blob)
    # and an order's snapshot does not open as a customer's address
    snapshot = encrypt_address(keyring, decrypt_address(keyring, address_blob, table=CUSTOMER_ADDRESSES))
    with pytest.raises(InvalidTag):
        decrypt_address(keyring, snapshot, table=CUSTOMER_ADDRESSES)
    assert decrypt_address(keyring, snapshot).detail == secrets["detail"]


def test_the_same_plaintext_encrypts_differently_each_time(runtime):
    # a fresh nonce per encryption: equal addresses must not be recognisable as equal on disk
    address = Address(
        receiver="张三", phone="13812345678", province="上海市", city="上海市", detail="世纪大道 1 号"
    )
    assert encrypt_address(runtime.keyring, address) != encrypt_address(runtime.keyring, address)
