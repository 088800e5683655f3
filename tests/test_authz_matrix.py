"""The third axis of the access audit (issue 12, "Proof"): data scope, permissions and roles, for
every route and socket of the app, derived from the routes themselves (tools/permissions_table.py).

- out of data scope → 404, on every route whose path names an order, conversation, message or
  attachment (an "assigned"-scope member asking for a colleague's);
- a member lacking the permission → 403 ``auth.forbidden`` naming it (a console page: the 403 page);
- every built-in role against every route: allowed exactly where the role table says, and the
  table, rendered, is docs/permissions.md;
- the staff socket: who may connect, and which events reach whom.

Tests of one kind share one shop and its members (module fixtures): the matrix is hundreds of calls.
Samples for new routes go in tests/support/access.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from starlette.websockets import WebSocketDisconnect
from tools.permissions_table import DOC, Need, needs, render

from shangliao.auth.permissions import BUILTIN_ROLES, PERMISSIONS, SCOPE_ASSIGNED
from tests.support.access import action_body, fill, make_victim, path_params, send
from tests.support.catalog import make_product
from tests.support.customers import make_customer
from tests.support.orders import make_order
from tests.support.shops import ShopFixture, make_shop
from tests.support.sockets import STAFF_WS
from tests.support.team import MemberClient, make_member, signed_in_again

REFUSED = (401, 403)
# Path parameters naming an order or a conversation, or a row reached through one: a member's data
# scope decides whether they exist for them.
SCOPED_PARAMS = frozenset({"order_id", "conversation_id", "message_id", "attachment_id"})
# Routes that end the caller's own credential: called last, each with a credential of its own.
SIGNS_OUT = frozenset({("POST", "/api/v1/auth/logout"), ("POST", "/logout")})
ALL = frozenset(PERMISSIONS)


def http_needs(app) -> list[Need]:
    """Every staff HTTP route (one row per action), the sign-outs last."""
    rows = [n for n in needs(app) if n.method != "WEBSOCKET"]
    return sorted(rows, key=lambda n: (n.method, n.path) in SIGNS_OUT)


def call(client, need: Need, ids: dict[str, Any]):
    """``need``'s route with the victim's ids; its action in the path or in the body."""
    values = ids | ({"action": need.action} if need.action else {})
    path = fill(need.path, values)
    body = None
    if need.action and "{action}" not in need.path:
        body = action_body(need.path, need.action, ids)
    return send(client, need.method, need.path, path, body)


def caller_for(runtime, member: MemberClient, need: Need) -> MemberClient:
    return signed_in_again(runtime, member) if (need.method, need.path) in SIGNS_OUT else member


# --- the role table -------------------------------------------------------------------------------


@dataclass
class Team:
    shop: ShopFixture
    ids: dict[str, Any]
    members: dict[str, MemberClient]


@pytest.fixture(scope="module")
def team(runtime, app) -> Team:
    """A shop with one of everything and a member of each built-in role."""
    shop = make_shop(runtime, app)
    ids = make_victim(runtime, shop)
    return Team(shop, ids, {key: make_member(runtime, shop, role=key) for key in BUILTIN_ROLES})


@pytest.mark.parametrize("role", list(BUILTIN_ROLES))
def test_every_built_in_role_is_allowed_exactly_what_the_role_table_says(app, runtime, team, role):
    # given a member holding the built-in role, and the permissions the role table grants it
    member, granted = team.members[role], BUILTIN_ROLES[role].grant.permissions

    # when they call every staff route (each action of the routes that take several)
    wrong = []
    for need in http_needs(app):
        r = call(caller_for(runtime, member, need), need, team.ids)
        # then they are let in exactly where the role table says (the request may still fail on
        # the sample's state: only 401/403 say "not allowed")
        allowed = r.status_code not in REFUSED
        if allowed != need.allows(granted):
            wrong.append((need.method, need.path, need.action, need.label, r.status_code, r.text[:200]))
        elif role == "owner" and r.status_code == 422 and '"request.invalid"' in r.text:
            # a check inside the route (an action's permission) is only reached past validation
            wrong.append(
                (
                    need.method,
                    need.path,
                    need.action,
                    "refused as invalid: fix its sample (tests/support/access.py), or the route does not take this action",
                )
            )
    assert not wrong, "\n".join(map(str, wrong))


def test_the_committed_permissions_table_is_what_the_code_makes(app):
    # given the table rendered from the routes and the role table now
    made = render(app)

    # then docs/permissions.md is exactly it (run tools/permissions_table.py after changing either)
    assert DOC.read_text(encoding="utf-8") == made, (
        "docs/permissions.md is stale: run tools/permissions_table.py"
    )
    assert "| `GET /api/v1/orders` |  | orders.read | ✓ | ✓ | ✓ | ✓ | ✓ |" in made


# --- a missing permission -------------------------------------------------------------------------


@dataclass
class Lacking:
    ids: dict[str, Any]
    without: dict[str, MemberClient]  # permission → a member holding every other one
    nobody: MemberClient  # a member whose role grants nothing


@pytest.fixture(scope="module")
def lacking(runtime, app) -> Lacking:
    shop = make_shop(runtime, app)
    ids = make_victim(runtime, shop)
    without = {p: make_member(runtime, shop, permissions=ALL - {p}) for p in PERMISSIONS}
    return Lacking(ids, without, make_member(runtime, shop, permissions=[]))


def _names_the_permission(r, need: Need, permission: str) -> bool:
    if r.status_code != 403:
        return False
    if need.path.startswith("/api/"):
        error = r.json()["error"]
        named = error["details"].get("permission") == permission and permission in error["message"]
        return error["code"] == "auth.forbidden" and named
    return 'data-code="auth.forbidden"' in r.text and permission in r.text  # the console's 403 page


def test_a_member_lacking_the_permission_gets_403_naming_it_on_every_staff_route(app, lacking):
    checked, wrong = 0, []
    for need in http_needs(app):
        # given, for each permission the route needs, a member holding every permission but that one
        # (a route any of several permissions opens lets them in: tests/test_payment_settings.py)
        for permission in () if need.any_of else need.permissions:
            # when they call the route
            r = call(lacking.without[permission], need, lacking.ids)
            # then it is refused with 403 naming the permission they lack
            if not _names_the_permission(r, need, permission):
                wrong.append((need.method, need.path, need.action, permission, r.status_code, r.text[:200]))
            checked += 1
    assert not wrong, "\n".join(map(str, wrong))
    assert checked >= 100


def test_routes_for_any_member_let_in_a_member_whose_role_grants_nothing(app, runtime, lacking):
    # given a member whose role grants no permission at all
    for need in http_needs(app):
        if need.permissions:
            continue
        # when they call a route any signed-in member may use (their profile, notifications, sign-out)
        r = call(caller_for(runtime, lacking.nobody, need), need, lacking.ids)
        # then they are let in
        assert r.status_code not in REFUSED, (need.method, need.path, r.status_code, r.text[:200])


# --- data scope ------------------------------------------------------------------------------------


@dataclass
class Scoped:
    shop: ShopFixture
    ids: dict[str, Any]  # the victim's order, conversation, message, attachment: a colleague's
    mine: dict[str, MemberClient]  # "limited" and "agent": assigned-only members
    own: dict[str, dict[str, int]]  # member → the order and conversation assigned to them


def _assign(shop: ShopFixture, ids: dict[str, Any], staff_id: int) -> None:
    for kind, key in (("orders", "order_id"), ("conversations", "conversation_id")):
        if key not in ids:
            continue
        r = shop.api.put(f"/api/v1/{kind}/{ids[key]}/assignee", json={"assignee_id": staff_id})
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def scoped(runtime, app) -> Scoped:
    """A shop whose order and conversation (and so their messages, attachments, cards) are assigned
    to a colleague, and two assigned-only members: a custom role holding every permission, and the
    built-in agent (who also sees unassigned rows). Each has an order and a conversation of their own."""
    shop = make_shop(runtime, app)
    ids = make_victim(runtime, shop)
    colleague = make_member(runtime, shop, role="agent")
    product = make_product(runtime, shop)
    # the customer's own order, for the customer's pages (the victim's order is nobody's)
    ids["customer_order_id"] = make_order(shop, [(product.variant_id, 1)], customer_id=ids["customer_id"])[
        "id"
    ]
    _assign(shop, ids, colleague.staff_id)
    _assign(shop, {"order_id": ids["customer_order_id"]}, colleague.staff_id)
    members = {
        "limited": make_member(runtime, shop, permissions=ALL, data_scope=SCOPE_ASSIGNED),
        "agent": make_member(runtime, shop, role="agent"),
    }
    own = {}
    for name, member in members.items():
        customer_id, _ = make_customer(runtime, shop, name=f"客户{name}", phone=None, address=False)
        conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
        mine = {
            "order_id": make_order(shop, [(product.variant_id, 1)])["id"],
            "conversation_id": conversation["id"],
        }
        _assign(shop, mine, member.staff_id)
        own[name] = mine
    return Scoped(shop, ids, members, own)


def _scoped_needs(app) -> Iterator[Need]:
    for need in http_needs(app):
        if SCOPED_PARAMS & set(path_params(need.path)) and need.action in (None, "confirm"):
            yield need


@pytest.mark.parametrize("who", ["limited", "agent"])
def test_rows_outside_a_members_data_scope_are_404_on_every_route_naming_them(app, scoped, who):
    # given an assigned-only member, and an order and a conversation assigned to a colleague
    member = scoped.mine[who]
    granted = BUILTIN_ROLES["agent"].grant.permissions if who == "agent" else ALL
    checked, wrong = 0, []
    for need in _scoped_needs(app):
        # when they ask for it, or anything reached through it, by id
        r = call(member, need, scoped.ids)
        # then it does not exist for them (a route their role does not open stays 403: that says
        # nothing about the row)
        expected = 404 if need.allows(granted) else 403
        if r.status_code != expected:
            wrong.append((need.method, need.path, need.action, expected, r.status_code, r.text[:200]))
        checked += 1
    assert not wrong, "\n".join(map(str, wrong))
    assert checked >= 20


@pytest.mark.parametrize("who", ["limited", "agent"])
def test_a_members_own_order_and_conversation_open_for_them(scoped, who):
    # given an assigned-only member and the order and conversation assigned to them
    member, own = scoped.mine[who], scoped.own[who]

    # when they open them, then they are there (the 404s above are the scope, not a broken member)
    for path in (
        f"/api/v1/orders/{own['order_id']}",
        f"/orders/{own['order_id']}",
        f"/api/v1/conversations/{own['conversation_id']}",
        f"/api/v1/conversations/{own['conversation_id']}/messages",
        f"/inbox/{own['conversation_id']}",
    ):
        r = member.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])


@pytest.mark.parametrize("who", ["limited", "agent"])
def test_lists_show_a_member_only_what_is_in_their_scope(scoped, who):
    # given an assigned-only member
    member, own = scoped.mine[who], scoped.own[who]

    # when they list the shop's orders and conversations
    orders = {o["id"] for o in member.get("/api/v1/orders").json()["items"]}
    conversations = {c["id"] for c in member.get("/api/v1/conversations").json()["items"]}

    # then theirs are there and the colleague's are not
    assert own["order_id"] in orders and scoped.ids["order_id"] not in orders
    assert own["conversation_id"] in conversations and scoped.ids["conversation_id"] not in conversations


@pytest.mark.parametrize("who", ["limited", "agent"])
def test_a_customers_pages_do_not_lead_a_member_to_a_colleagues_rows(scoped, who):
    # given an assigned-only member, and a customer whose order and conversation are a colleague's
    member, ids = scoped.mine[who], scoped.ids
    customer = ids["customer_id"]

    # when they open the customer's conversation, profile and orders
    opened = member.post(f"/api/v1/customers/{customer}/conversation")
    pages = [member.get(f"/customers/{customer}"), member.get(f"/customers/{customer}/orders")]
    listed = member.get("/api/v1/orders", params={"customer_id": customer}).json()["items"]
    theirs = [f"/orders/{ids['customer_order_id']}", f"/inbox/{ids['conversation_id']}"]

    # then the conversation does not exist for them and nothing links to the colleague's rows
    assert opened.status_code == 404, opened.text
    for page in pages:
        assert page.status_code == 200
        assert [link for link in theirs if link in page.text] == []
    assert ids["customer_order_id"] not in [o["id"] for o in listed]
    # (the owner's profile does link the order: the checks above look for something that is there)
    assert theirs[0] in scoped.shop.api.get(f"/customers/{customer}").text


# --- the staff socket -----------------------------------------------------------------------------


def _frame(ws, seconds: float = 10.0) -> dict:
    """The next frame, failing the test (instead of hanging it) when none comes in ``seconds``."""

    async def receive():
        with anyio.fail_after(seconds):
            return await ws._send_rx.receive()

    message = ws.portal.call(receive)
    if "text" not in message:
        raise WebSocketDisconnect(message.get("code", 1000))
    return json.loads(message["text"])


def events_until(ws, last: Any) -> list[dict]:
    """Every event frame up to and including the first one ``last`` accepts."""
    seen = []
    for _ in range(500):
        frame = _frame(ws)
        if frame.get("type") != "event":
            continue
        seen.append(frame)
        if last(frame):
            return seen
    raise AssertionError(f"the awaited event never came: {[f['event'] for f in seen]}")


def about(frame: dict) -> tuple[str, int | None]:
    """Which order or conversation an event frame is about (a notification: whose it is)."""
    if "notification_id" in frame:
        return "notification", frame.get("staff_id")
    if "order" in frame:
        return "order", frame["order"]["order_id"]
    if "message" in frame:
        return "conversation", frame["message"]["conversation_id"]
    return "conversation", frame.get("conversation_id")


def _socket(client, member) -> Any:
    return client.websocket_connect(
        f"{STAFF_WS}?after=0", headers={"Authorization": f"Bearer {member.token}"}
    )


def _admitted(client, member) -> bool:
    try:
        with _socket(client, member) as ws:
            ws.send_text(json.dumps({"type": "ping"}))
            for _ in range(500):
                if _frame(ws)["type"] == "pong":
                    return True
    except WebSocketDisconnect as closed:
        assert closed.code == 1008
        return False
    raise AssertionError("no pong")


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:  # one event loop for the whole test, like a server
        yield c


def test_the_staff_socket_admits_exactly_the_roles_that_may_read_chats_or_orders(app, runtime, client, shop):
    # given the socket's declared rule, a member of each built-in role and one holding neither feed
    (rule,) = [n for n in needs(app) if n.method == "WEBSOCKET" and n.path == STAFF_WS]
    grants = {key: role.grant.permissions for key, role in BUILTIN_ROLES.items()}
    grants["catalog only"] = frozenset({"catalog.read", "customers.read"})
    for name, granted in grants.items():
        member = make_member(runtime, shop, permissions=granted)
        # when they open the socket, then it lets them in exactly when the rule says
        assert _admitted(client, member) == rule.allows(granted), name
    assert not rule.allows(grants["catalog only"]) and rule.allows(grants["finance"])


def _chat_then_order(runtime, shop, tee) -> tuple[int, int]:
    customer_id, _ = make_customer(runtime, shop, phone=None, address=False)
    conversation = shop.api.post(f"/api/v1/customers/{customer_id}/conversation").json()
    sent = shop.api.post(f"/api/v1/conversations/{conversation['id']}/messages", json={"body": "在吗"})
    assert sent.status_code in (200, 201), sent.text
    return conversation["id"], make_order(shop, [(tee.variant_id, 1)])["id"]


def test_a_member_reading_orders_but_not_chats_hears_no_chat_event(runtime, client, shop, tee):
    # given a member who may read orders but not conversations, and a message followed by an order
    member = make_member(runtime, shop, permissions=["orders.read"])
    _, order_id = _chat_then_order(runtime, shop, tee)

    # when their socket replays the shop's events up to the order
    with _socket(client, member) as ws:
        seen = events_until(ws, lambda f: about(f) == ("order", order_id))

    # then nothing of the chat reached them
    assert [f["event"] for f in seen if about(f)[0] == "conversation"] == []


def test_an_assigned_only_member_hears_only_their_own_orders_and_conversations(runtime, client, shop, tee):
    # given an assigned-only member and a colleague, each with a conversation and an order
    member = make_member(runtime, shop, permissions=["chat.read", "orders.read"], data_scope=SCOPE_ASSIGNED)
    colleague = make_member(runtime, shop, role="agent")
    theirs = dict(zip(("conversation_id", "order_id"), _chat_then_order(runtime, shop, tee), strict=True))
    mine = dict(zip(("conversation_id", "order_id"), _chat_then_order(runtime, shop, tee), strict=True))
    _assign(shop, theirs, colleague.staff_id)
    _assign(shop, mine, member.staff_id)

    with _socket(client, member) as ws:
        # when the colleague's rows change, then the member's
        for ids in (theirs, mine):
            r = shop.api.post(
                f"/api/v1/conversations/{ids['conversation_id']}/messages", json={"body": "好的"}
            )
            assert r.status_code in (200, 201), r.text
            assert (
                shop.api.post(f"/api/v1/orders/{ids['order_id']}/tags", json={"add": ["急"]}).status_code
                == 200
            )
        seen = events_until(
            ws, lambda f: about(f) == ("order", mine["order_id"]) and f["event"] != "order.assigned"
        )

    # then every event they heard is about their own order or conversation
    heard = {about(f) for f in seen}
    own = {
        ("order", mine["order_id"]),
        ("conversation", mine["conversation_id"]),
        ("notification", member.staff_id),
    }
    assert heard <= own, seen
    assert ("conversation", mine["conversation_id"]) in heard


def test_another_shops_events_never_reach_a_member(runtime, app, client, shop, tee):
    # given a member of this shop, and another shop busy with its own chats and orders
    member = make_member(runtime, shop, role="admin")
    elsewhere = make_shop(runtime, app)
    _chat_then_order(runtime, elsewhere, make_product(runtime, elsewhere, stock=5))

    # when this shop then takes an order
    order_id = make_order(shop, [(tee.variant_id, 1)])["id"]
    with _socket(client, member) as ws:
        seen = events_until(ws, lambda f: about(f) == ("order", order_id))

    # then every event the member heard is their own shop's
    assert {f["shop_id"] for f in seen} == {shop.id}


def _answer_to(ws, frame: dict) -> dict | None:
    """The socket's answer to ``frame`` (an ack or an error; None for a read or typing notice it
    took without a word), past the events on the way: a ping sent after it marks the end."""
    ws.send_text(json.dumps(frame))
    ws.send_text(json.dumps({"type": "ping"}))
    answer = None
    for _ in range(500):
        got = _frame(ws)
        if got["type"] == "pong":
            return answer
        if got["type"] in ("ack", "error"):
            answer = got
    raise AssertionError("no pong")


def test_a_socket_cannot_act_on_a_conversation_outside_the_members_scope(runtime, client, shop, tee):
    # given an assigned-only member who may chat, and a conversation assigned to a colleague
    member = make_member(
        runtime,
        shop,
        permissions=["chat.read", "chat.write"],
        data_scope=SCOPE_ASSIGNED,
        sees_unassigned=True,
    )
    colleague = make_member(runtime, shop, role="agent")
    theirs = dict(zip(("conversation_id", "order_id"), _chat_then_order(runtime, shop, tee), strict=True))
    _assign(shop, theirs, colleague.staff_id)
    conversation_id = theirs["conversation_id"]

    # when they send, mark read or type into it over their socket
    frames = [
        {
            "type": "send",
            "conversation_id": conversation_id,
            "body": "越权消息",
            "client_id": "authz-00000001",
        },
        {"type": "read", "conversation_id": conversation_id, "seq": 1},
        {"type": "typing", "conversation_id": conversation_id},
    ]
    with _socket(client, member) as ws:
        answers = {frame["type"]: _answer_to(ws, frame) for frame in frames}

    # then each is refused as if the conversation did not exist, and nothing was said in it
    codes = {kind: (answer or {}).get("code") for kind, answer in answers.items()}
    assert codes == dict.fromkeys(codes, "chat.conversation_not_found"), answers
    messages = shop.api.get(f"/api/v1/conversations/{conversation_id}/messages").json()
    assert "越权消息" not in [m["body"] for m in messages]


def test_a_socket_frame_needs_the_permission_of_its_act(runtime, client, shop, tee):
    # given a member who may read conversations but not write in them, and a conversation
    member = make_member(runtime, shop, permissions=["chat.read"])
    conversation_id, _ = _chat_then_order(runtime, shop, tee)

    # when they send a message over their socket
    frame = {"type": "send", "conversation_id": conversation_id, "body": "x", "client_id": "authz-00000002"}
    with _socket(client, member) as ws:
        answer = _answer_to(ws, frame) or {}

    # then it is refused naming the permission
    assert answer.get("code") == "auth.forbidden", answer
    assert "chat.write" in answer["message"]
