"""Proving a phone on the shop page (issue 10, review of the phone claims): whoever holds a number
keeps it, the page tells nobody whether a number is a customer's, and a missing or failing SMS
gateway is said clearly."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from shangliao.app import create_app
from tests.support import sockets
from tests.support.chat import guest_client, guest_says
from tests.support.live import serve
from tests.support.phone_claims import (  # noqa: F401 (fixtures)
    PHONE,
    ask_code,
    link,
    my_order_ids,
    outbox_fixture,
    owner_fixture,
    send_code,
    shipped_order,
    staff_history,
    tee_fixture,
    texted_code,
    texts,
    wrong,
)

OTHER = "13900001111"
client, guest = sockets.client, sockets.guest  # fixtures: a socket-ready client, its first device


def proves(device, shop, outbox) -> dict:
    """The device asks for a code and sends back the one texted."""
    assert ask_code(device, shop).status_code == 200
    r = send_code(device, shop, texted_code(outbox))
    assert r.status_code == 200, r.text
    return r.json()


def refused(device, shop) -> bool:
    """The device's token no longer works: it must introduce itself again."""
    r = device.get(f"/s/{shop.slug}/api/messages")
    return r.status_code == 401 and r.json()["error"]["code"] == "chat.visitor_required"


def test_a_squatted_number_is_taken_back_when_its_owner_proves_it(app, shop, tee, outbox):
    # given a stranger who typed 张三's number first, before 张三 ever used the shop page
    squatter = guest_client(app, shop, "张三", PHONE)
    guest_says(shop, squatter, "我是张三")
    # and 张三, on their own phone, who only gets a claim on that number
    real = guest_client(app, shop, "张三", PHONE)
    assert real.customer_id != squatter.customer_id

    # when 张三 proves the number with the code texted to it
    linked = proves(real, shop, outbox)

    # then 张三's phone is that number's customer, and the stranger's device is out
    assert linked["customer_id"] == squatter.customer_id
    assert refused(squatter, shop)
    # so it sees nothing of what 张三 writes or orders from now on, nor can act on it
    guest_says(shop, real, "我的地址是文三路100号")
    placed = shipped_order(shop, tee, linked["customer_id"])
    assert squatter.get(f"/s/{shop.slug}/api/orders").status_code == 401
    assert squatter.post(f"/s/{shop.slug}/api/orders/{placed['id']}/receipt").status_code == 401
    assert 'id="intro"' in squatter.get(f"/s/{shop.slug}").text
    assert my_order_ids(real, shop) == [placed["id"]]
    # and typing the number again only makes a claim, which the stranger cannot prove
    again = guest_client(app, shop, "张三", PHONE)
    assert again.customer_id != linked["customer_id"] and my_order_ids(again, shop) == []
    assert ask_code(again, shop).status_code == 200
    assert texts(outbox)[-1]["phone"] == PHONE  # the code goes to 张三's phone, not to the stranger
    assert send_code(again, shop, wrong(texted_code(outbox))).status_code == 422


def test_a_device_signed_out_by_a_proof_loses_its_open_socket(app, client, shop, guest, outbox):
    # given the first device on 小红's number, listening on its socket
    with sockets.guest_socket(client, shop, guest) as squatter:
        squatter.send_text('{"type": "ping"}')
        sockets.next_event(squatter, "pong")
        # when 小红's own phone proves the number
        proves(guest_client(app, shop, "小红", "13700001234"), shop, outbox)
        # then the socket is closed (rule 20 of docs/architecture.md: every act checks the device)
        with pytest.raises(WebSocketDisconnect) as closed:
            sockets.next_event(squatter, "pong")
        assert closed.value.code == 1013
    # and it cannot connect again
    with pytest.raises(WebSocketDisconnect) as refused_again, sockets.guest_socket(client, shop, guest):
        pass
    assert refused_again.value.code == 1008


def test_the_first_to_type_a_number_proves_it_and_keeps_it(app, shop, outbox):
    # given 张三, the first to type their own number, offered a code
    first = guest_client(app, shop, "张三", PHONE)
    assert 'id="claim-code" hidden' not in first.get(f"/s/{shop.slug}").text

    # when they prove it
    proved = proves(first, shop, outbox)

    # then they stay who they were, with nothing more to prove on the page
    assert proved == {"customer_id": first.customer_id, "conversation_id": first.conversation_id}
    page = first.get(f"/s/{shop.slug}").text
    assert 'id="claim-code"' not in page and 'id="claim-note" hidden' in page
    # and a stranger typing the number later neither gets in nor pushes them out
    stranger = guest_client(app, shop, "张三", PHONE)
    assert stranger.customer_id != first.customer_id
    assert send_code(stranger, shop, "000000").json()["error"]["code"] == "sms.no_code"
    guest_says(shop, first, "还是我")
    assert staff_history(shop, first.conversation_id) == ["还是我"]


def test_devices_staff_linked_stay_when_another_device_proves_the_number(app, shop, outbox):
    # given the first device on 张三's number (never proved), and a second one staff linked by hand
    first = guest_client(app, shop, "张三", PHONE)
    by_hand = guest_client(app, shop, "张三", PHONE)
    assert link(shop, by_hand.conversation_id).status_code == 200
    # when a third device proves the number by code
    third = guest_client(app, shop, "张三", PHONE)
    proves(third, shop, outbox)
    # then the device staff vouched for stays, the unproved one must introduce itself again
    assert not refused(by_hand, shop) and not refused(third, shop)
    assert refused(first, shop)


def test_the_shop_page_answers_alike_whether_or_not_a_number_is_known(app, shop, owner, outbox):
    # given 张三, who proved their number: it is known and taken
    proves(owner, shop, outbox)
    sent_before = len(texts(outbox))
    answers, pages, asked = [], [], []
    # when one phone types 张三's number and another a number nobody has
    for name, phone in (("张三", PHONE), ("李四", OTHER)):
        client = TestClient(app, raise_server_exceptions=False)
        r = client.post(f"/s/{shop.slug}/api/visitor", json={"name": name, "phone": phone})
        assert r.status_code == 200, r.text
        answers.append(sorted(r.json()))
        page = client.get(f"/s/{shop.slug}").text
        pages.append(('id="claim-note" hidden' in page, 'id="claim-code" hidden' in page))
        asked.append((ask_code(client, shop).status_code, ask_code(client, shop).json()))
    # then the introduction, the page and the answer to "send me a code" read the same for both
    assert answers[0] == answers[1] == ["conversation_id", "customer_id"]
    assert pages[0] == pages[1] == (False, False)
    assert asked[0] == asked[1] == (200, {"expires_in": 600})
    # and each code went to the number typed, whoever has it
    assert [t["phone"] for t in texts(outbox)[sent_before:]] == [PHONE, PHONE, OTHER, OTHER]


def test_a_device_with_nothing_to_prove_gets_the_same_answer_and_no_text(app, shop, owner, outbox):
    # given 张三's phone, which proved the number already
    proves(owner, shop, outbox)
    sent = len(texts(outbox))
    # when it asks for a code again, then it hears what anyone hears, and nothing is texted
    r = ask_code(owner, shop)
    assert (r.status_code, r.json()) == (200, {"expires_in": 600})
    assert len(texts(outbox)) == sent


def test_an_unknown_sms_gateway_stops_the_app_at_start_up(runtime, monkeypatch):
    # given an operator who mistyped the provider
    monkeypatch.setattr(runtime.settings, "sms_gateway", "aliyn:key")
    # when the app is built, then it fails there, naming the setting
    with pytest.raises(ValueError, match="SHANGLIAO_SMS_GATEWAY"):
        create_app(runtime=runtime)


def test_a_gateway_that_cannot_send_answers_503(app, runtime, shop, owner, tmp_path, monkeypatch):
    # given a gateway that fails (its outbox lies in a folder that does not exist)
    monkeypatch.setattr(runtime.settings, "sms_gateway", f"file:{tmp_path / 'gone' / 'sms.jsonl'}")
    # when a second phone on 张三's number asks for a code
    r = ask_code(guest_client(app, shop, "张三", PHONE), shop)
    # then it hears that texts cannot go out now, in its language, not a server error
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "sms.unavailable"
    assert "短信" in r.json()["error"]["message"]


@pytest.fixture(scope="module")
def live_url(app):
    with serve(app) as url:
        yield url


def test_two_staff_linking_one_conversation_at_once_link_it_once(runtime, app, shop, owner, live_url):
    # Only PostgreSQL runs two write units at the same moment; SQLite's single writer queues them.
    if runtime.db.is_sqlite:
        pytest.skip("SQLite runs write units one after the other")
    for _ in range(5):
        # given a phone that typed 张三's number
        device = guest_client(app, shop, "张三", PHONE)
        start = threading.Barrier(2)

        def one(_, conversation_id=device.conversation_id, start=start):
            headers = {"Authorization": f"Bearer {shop.token}"}
            with httpx.Client(base_url=live_url, headers=headers, timeout=60) as client:
                start.wait()
                return client.post(f"/api/v1/conversations/{conversation_id}/link-claimed")

        # when two staff link its conversation at the same moment
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(one, range(2)))

        # then one links it, and the other is told there is nothing left to link
        outcomes = sorted((r.status_code, r.json().get("error", {}).get("code")) for r in answers)
        assert outcomes == [(200, None), (409, "chat.no_claim")], [r.text for r in answers]
