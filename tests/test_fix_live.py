"""Live badges for every staff member, and photos that stay evidence.

- A staff member who may read orders but not chats gets a socket that carries order events and
  nothing of the chat (so the 订单 badge moves live for them); one who may read neither gets none.
- The new-order picker's thumbnails load for whoever may use the picker (orders.write).
- A product card already sent keeps showing the photo it was sent with, after the photo is deleted
  or the product goes off sale, to the shop's staff and the customer's device, and to no one else.
"""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from shangliao.chat import verify
from shangliao.chat.models import Attachment
from tests.support import sockets
from tests.support.catalog import make_product
from tests.support.chat import guest_client, guest_says, open_conversation, say
from tests.support.orders import make_order
from tests.support.sockets import next_event, staff_socket
from tests.test_console import HTMX
from tests.test_journey_photos import png, upload

client = sockets.client  # fixture


def _token(shop, scopes: list[str]) -> str:
    r = shop.api.post("/api/v1/auth/tokens", json={"name": "scoped", "scopes": scopes})
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _events_until(ws, last_kind: str) -> list[dict]:
    """Every frame the socket sends up to and including the first event of ``last_kind``."""
    frames = []
    for _ in range(50):
        frames.append(json.loads(ws.receive_text()))
        if frames[-1].get("event") == last_kind:
            return frames
    raise AssertionError(f"no {last_kind} event")


def test_staff_who_may_read_orders_but_not_chats_hear_orders_live_and_nothing_of_the_chat(
    runtime, app, client, shop, other_shop
):
    # given a clerk who may read orders but not chats, a conversation, and products in two shops
    clerk = _token(shop, ["orders.read"])
    conversation = open_conversation(runtime, shop, "王小美", "13900002222")
    product = make_product(runtime, shop)
    elsewhere = make_product(runtime, other_shop)
    customer = guest_client(app, shop, "李四", "13700003333")

    with staff_socket(client, shop, token=clerk) as ws:
        # when the shop and a customer write, another shop takes an order, and this shop takes one
        say(shop, conversation, "您的快递单号是 SF123，地址：文三路100号")
        guest_says(shop, customer, "我的手机 13700003333，请尽快发货")
        make_order(other_shop, [(elsewhere.variant_id, 1)])
        order = make_order(shop, [(product.variant_id, 1)])
        live = _events_until(ws, "order.created")
        # and the clerk's socket tries to act on the chat
        ws.send_text(json.dumps({"type": "typing", "conversation_id": conversation["id"]}))
        refused = next_event(ws, "error")

    # then the clerk hears this shop's order, and no message, conversation or typing frame
    events = [f for f in live if f["type"] == "event"]
    assert [e["event"] for e in events] == ["order.created"]
    assert events[0]["order"]["order_id"] == order["id"]
    shown = json.dumps(live, ensure_ascii=False)
    assert "文三路" not in shown and "13700003333" not in shown and "SF123" not in shown
    assert refused["code"] == "auth.forbidden"

    # and a reconnect from the start replays the order, never the messages
    with staff_socket(client, shop, token=clerk) as ws:
        again = make_order(shop, [(product.variant_id, 1)])
        replayed = [f for f in _events_until(ws, "order.created") if f["type"] == "event"]
        while replayed[-1]["order"]["order_id"] != again["id"]:
            replayed += [f for f in _events_until(ws, "order.created") if f["type"] == "event"]
    assert {e["event"] for e in replayed} == {"order.created"}
    assert [e["order"]["order_id"] for e in replayed] == [order["id"], again["id"]]


def test_staff_who_may_read_chats_but_not_orders_hear_messages_and_no_order(runtime, client, shop):
    # given an agent who may read chats but not orders
    agent = _token(shop, ["chat.read", "chat.write"])
    conversation = open_conversation(runtime, shop, "王小美", "13900002222")
    product = make_product(runtime, shop)

    with staff_socket(client, shop, token=agent) as ws:
        # when an order is placed and then a message is sent
        make_order(shop, [(product.variant_id, 1)])
        say(shop, conversation, "在的")
        frames = _events_until(ws, "message.created")

    # then the message comes, the order event does not
    assert [f["event"] for f in frames if f["type"] == "event"] == ["message.created"]


def test_a_staff_socket_for_someone_who_may_read_neither_chats_nor_orders_is_refused(client, shop):
    # given a token that may only read the catalog
    catalog_only = _token(shop, ["catalog.read"])

    # when it opens the staff socket, then it is closed before any frame (1008)
    with pytest.raises(WebSocketDisconnect) as closed, staff_socket(client, shop, token=catalog_only):
        pass
    assert closed.value.code == 1008


# --- photos -------------------------------------------------------------------------------------


def _scoped_client(app, shop, scopes: list[str]) -> TestClient:
    return TestClient(
        app, headers={"Authorization": f"Bearer {_token(shop, scopes)}"}, raise_server_exceptions=False
    )


def test_the_new_order_pickers_thumbnails_load_for_a_clerk_who_may_take_orders_but_not_read_the_catalog(
    runtime, app, shop
):
    # given a product with a photo, and a clerk who may take orders but not read the catalog
    product = make_product(runtime, shop, name="连衣裙")
    upload(shop, product.product_id, png(colour=(200, 0, 0)))
    clerk = _scoped_client(app, shop, ["orders.read", "orders.write"])

    # when the clerk looks the product up in the new-order picker and the page loads its thumbnail
    html = clerk.post("/orders/new/products", data={"pq": "连衣裙"}, headers=HTMX).text
    src = html.split('class="pick-thumb" src="')[1].split('"')[0]
    shown = clerk.get(src)

    # then the thumbnail is there, the red photo
    assert shown.status_code == 200, (src, shown.text)
    assert Image.open(io.BytesIO(shown.content)).convert("RGB").getpixel((1, 1))[0] > 150


@pytest.fixture
def sent_card(runtime, app, shop):
    """A product with a blue cover, a customer's device on the shop page, and the product's card
    sent to it: ``(product, photo, device, card)``."""
    product = make_product(runtime, shop, name="连衣裙")
    photo = upload(shop, product.product_id, png(colour=(0, 0, 200))).json()
    device = guest_client(app, shop, "李四", "13700003333")
    card = say(shop, {"id": device.conversation_id}, "", kind="product_card", product_id=product.product_id)
    return product, photo, device, card


def _card_photo_url(shop, device) -> tuple[str, str]:
    """Where staff and the customer's device find the photo of the card, as their pages draw it."""
    card = next(m for m in device.get(f"/s/{shop.slug}/api/messages").json() if m["kind"] == "product_card")
    kept = card["data"]["photo"]["attachment_id"]
    return f"/api/v1/attachments/{kept}", f"/s/{shop.slug}/api/attachments/{kept}"


def _blue(response) -> bool:
    return (
        response.status_code == 200
        and Image.open(io.BytesIO(response.content)).convert("RGB").getpixel((1, 1))[2] > 150
    )


@pytest.mark.parametrize("taken_away", ["photo deleted", "product off sale"])
def test_a_sent_product_card_keeps_showing_its_photo_to_both_sides_after_it_is_taken_away(
    runtime, app, shop, other_shop, anon, sent_card, taken_away
):
    product, photo, device, card = sent_card
    staff_url, device_url = _card_photo_url(shop, device)

    # when the merchant deletes the photo, or takes the product off sale
    if taken_away == "photo deleted":
        assert shop.api.delete(f"/api/v1/product-images/{photo['id']}").status_code == 204
    else:
        assert (
            shop.api.patch(f"/api/v1/products/{product.product_id}", json={"active": False}).status_code
            == 200
        )

    # then the card still shows the photo it was sent with, to the shop and to the customer's device
    assert _blue(shop.api.get(staff_url)) and _blue(device.get(device_url))
    # and to no one else: not anonymously, not another device of the shop, not another shop
    stranger = guest_client(app, shop, "王五", "13700004444")
    assert anon.get(staff_url).status_code == 401
    assert anon.get(device_url).status_code in (401, 403)
    assert stranger.get(device_url).status_code == 404
    assert other_shop.api.get(staff_url).status_code == 404
    # and the card names no address anyone could fetch the photo from
    assert card["data"].get("image") is None


def test_a_kept_card_photo_is_checked_by_chat_verify(runtime, shop, sent_card):
    # given a card sent and its photo then deleted
    _, photo, _, _ = sent_card
    shop.api.delete(f"/api/v1/product-images/{photo['id']}")
    uploads = runtime.settings.uploads_dir

    # when the chains and files are verified, then all is intact
    assert verify.verify(runtime.db, runtime.keyring, shop.id, uploads_dir=uploads) == []

    # and when the card's kept file is lost, verify says so
    with runtime.db.read() as session:
        key = session.scalar(select(Attachment.storage_key).where(Attachment.shop_id == shop.id))
    (uploads / str(shop.id) / key).unlink()
    broken = verify.verify(runtime.db, runtime.keyring, shop.id, uploads_dir=uploads)
    assert [b.problem for b in broken] == ["attachment missing"]


def test_a_retried_card_send_keeps_one_photo(runtime, app, shop):
    # given a product with a photo and a customer's conversation
    product = make_product(runtime, shop, name="连衣裙")
    upload(shop, product.product_id, png())
    device = guest_client(app, shop, "李四", "13700003333")

    # when the same card is sent twice with one client id (a retry)
    body = {"kind": "product_card", "product_id": product.product_id, "client_id": "card-00000001"}
    first = say(shop, {"id": device.conversation_id}, "", **body)
    again = shop.api.post(
        f"/api/v1/conversations/{device.conversation_id}/messages", json={"body": "", **body}
    )

    # then one card, holding one kept file
    assert again.json()["replayed"] is True and again.json()["id"] == first["id"]
    with runtime.db.read() as session:
        kept = session.scalars(select(Attachment.storage_key).where(Attachment.shop_id == shop.id)).all()
    folder = runtime.settings.uploads_dir / str(shop.id)
    assert len(kept) == 1 and (folder / kept[0]).is_file()
    assert len(list(folder.iterdir())) == 3  # the photo, its thumbnail, the card's file
