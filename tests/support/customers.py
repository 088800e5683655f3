"""Customers for tests, made through the service (so they are encrypted and logged like real ones)."""

from __future__ import annotations

from shangliao.customers import service
from shangliao.customers.schemas import AddressIn, CustomerIn
from shangliao.runtime import Runtime
from tests.support.shops import ShopFixture

SAMPLE_ADDRESS = {
    "receiver": "张三",
    "province": "广东省",
    "city": "深圳市",
    "district": "南山区",
    "detail": "科技园南路 88 号 3 栋 1201",
}


def make_customer(
    rt: Runtime,
    shop: ShopFixture,
    *,
    name: str = "张三",
    phone: str | None = "13812345678",
    address: bool = True,
) -> tuple[int, int | None]:
    """Create a customer in ``shop``; returns ``(customer_id, default address id or None)``.

    Phones are unique per shop: give each customer of one shop its own ``phone`` (or ``None``).
    The address, when asked for, uses ``phone`` (or a fixed mobile) as the receiver's number.
    """
    addresses = []
    if address:
        addresses.append(AddressIn(**SAMPLE_ADDRESS, phone=phone or "13900000000", label="家"))
    body = CustomerIn(name=name, phones=[phone] if phone else [], addresses=addresses)
    with rt.db.write() as session:
        customer = service.do_create_customer(session, rt.keyring, shop.actor, body)
        address_id = customer.addresses[0].id if customer.addresses else None
        return customer.id, address_id
