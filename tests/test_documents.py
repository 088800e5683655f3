"""Packing slips (issue 15, "Printable documents"): PDFs read back as a viewer reads them (their
text, their fonts, their pages as pictures, the barcode and QR code scanned off those pictures);
personal data as the member may see it; only the shop's orders, a bounded number at once; and
Chinese that renders on a machine without a single font. On both databases."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from limits import parse
from PIL import ImageChops
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus.doctemplate import LayoutError

from shangliao.documents import pdf, service
from shangliao.documents import slips as slips_module
from shangliao.documents.slips import MAX_SLIPS
from tests.support.catalog import make_product
from tests.support.console import HTMX, sign_in
from tests.support.orders import ADDRESS, act, make_order
from tests.support.pdf import fonts_of, no_fonts_config, page_image, pages_count, scanned, text_of
from tests.support.team import make_member

SLIPS = "/api/v1/documents/packing-slips"


@pytest.fixture
def shirt(runtime, shop):
    return make_product(runtime, shop, name="纯棉T恤", options=["颜色"], stock=50, price=5900)


def slips(client, ids: list[int]) -> bytes:
    r = client.post(SLIPS, json={"order_ids": ids})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["Cache-Control"] == "private, no-store"
    assert r.headers["Content-Disposition"].startswith("inline;")
    assert r.content.startswith(b"%PDF-")
    return r.content


def squeezed(text: str) -> str:
    """pdftotext's text without the spaces and line ends it puts where the layout wrapped."""
    return "".join(text.split())


def audit(shop) -> list[dict]:
    r = shop.api.get("/api/v1/audit", params={"act": "documents.packing_slips"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_slip_holds_what_the_packer_needs_and_scans_to_the_order(shop, shirt, tmp_path):
    # given a confirmed order of two lines, a buyer's note that looks like markup, a team note
    order = make_order(
        shop, [(shirt.variant_ids[0], 2), (shirt.variant_ids[1], 1)], remark="请用顺丰 <b>不要</b> & 谢谢"
    )
    act(shop, order, "confirm")
    assert (
        shop.api.post(f"/api/v1/orders/{order['id']}/notes", json={"body": "送礼，不放发票"}).status_code
        == 201
    )

    # when the owner's integration prints its slip
    data = slips(shop.api, [order["id"]])

    # then it reads as the order: shop, number, recipient in full, items with spec and quantity, notes
    text = squeezed(text_of(data, tmp_path))
    for expected in (
        "发货单",
        order["number"],
        ADDRESS["receiver"],
        ADDRESS["phone"],
        "浙江省杭州市西湖区文三路100号",
        "纯棉T恤",
        "颜色1",
        "颜色2",
        "共3件",
        "请用顺丰<b>不要</b>&谢谢",  # printed as written, never read as markup
        "送礼，不放发票",
        "已确认",
    ):
        assert squeezed(expected) in text, expected
    assert "¥" not in text  # no prices: a parcel may be a gift
    # and a scanner reads the order number off the printed page, as a barcode and as a QR code
    page = page_image(data, tmp_path, dpi=200)
    assert {f"CODE-128:{order['number']}", f"QR-Code:{order['number']}"} <= scanned(page, tmp_path)
    # and the print is on record, naming the order and that the address was printed in full
    (entry,) = audit(shop)
    assert (entry["target_type"], entry["target_id"]) == ("order", order["id"])
    assert entry["data"] == {"order_ids": [order["id"]], "full": True}


def test_many_orders_print_a_page_each_in_the_order_asked(shop, shirt, tmp_path):
    # given three orders
    a, b, c = (make_order(shop, [(shirt.variant_id, 1)]) for _ in range(3))

    # when they are printed in an order of the packer's choosing, one of them named twice
    data = slips(shop.api, [c["id"], a["id"], b["id"], a["id"]])

    # then each prints once, a page each, in that order
    assert pages_count(data, tmp_path) == 3
    text = text_of(data, tmp_path)
    positions = [text.index(o["number"]) for o in (c, a, b)]
    assert positions == sorted(positions)
    (entry,) = audit(shop)
    assert entry["target_id"] is None and entry["data"]["order_ids"] == [c["id"], a["id"], b["id"]]


def test_a_member_without_the_pii_permission_prints_masked(runtime, shop, shirt, tmp_path):
    # given a packer whose role may ship orders but not read phones and addresses in full
    order = act(shop, make_order(shop, [(shirt.variant_id, 1)]), "confirm")
    packer = make_member(runtime, shop, permissions=["orders.read", "orders.fulfil"])

    # when they print the order's slip
    text = squeezed(text_of(slips(packer, [order["id"]]), tmp_path))

    # then the receiver, the phone and the street are masked; the region stays
    assert "张*" in text and "138****5678" in text and "浙江省杭州市西湖区****" in text
    assert ADDRESS["phone"] not in text and "文三路" not in text
    assert audit(shop)[0]["data"]["full"] is False


def test_an_order_of_another_shop_prints_nothing(shop, other_shop, shirt, runtime):
    # given an order of the shop and one of another shop
    mine = make_order(shop, [(shirt.variant_id, 1)])
    theirs = make_order(other_shop, [(make_product(runtime, other_shop).variant_id, 1)])

    # when the shop asks for both, or for the other's alone (the API and the single-order route)
    both = shop.api.post(SLIPS, json={"order_ids": [mine["id"], theirs["id"]]})
    alone = shop.api.get(f"/api/v1/orders/{theirs['id']}/packing-slip")

    # then nothing is printed, and nothing says whose the order is
    for r in (both, alone):
        assert r.status_code == 404 and r.json()["error"]["code"] == "order.not_found"
    assert audit(shop) == []


def test_too_many_or_no_orders_are_refused_with_a_clear_code(shop):
    too_many = shop.api.post(SLIPS, json={"order_ids": list(range(1, MAX_SLIPS + 2))})
    assert too_many.status_code == 422
    error = too_many.json()["error"]
    assert error["code"] == "documents.too_many_orders"
    assert error["details"] == {"max": MAX_SLIPS, "asked": MAX_SLIPS + 1}
    assert "200" in error["message"]
    none = shop.api.post(SLIPS, json={"order_ids": []})
    assert none.status_code == 422 and none.json()["error"]["code"] == "documents.no_orders"
    assert audit(shop) == []


def test_printing_slips_needs_the_permission_to_ship(runtime, shop, shirt):
    order = make_order(shop, [(shirt.variant_id, 1)])
    agent = make_member(runtime, shop, role="agent")
    r = agent.post(SLIPS, json={"order_ids": [order["id"]]})
    assert r.status_code == 403 and r.json()["error"]["details"] == {"permission": "orders.fulfil"}


def test_one_order_prints_from_its_own_route_in_the_readers_language(shop, shirt, tmp_path):
    order = make_order(shop, [(shirt.variant_id, 1)])
    r = shop.api.get(f"/api/v1/orders/{order['id']}/packing-slip", headers={"Accept-Language": "en"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = text_of(r.content, tmp_path)
    assert "Packing slip" in text and "Receiver" in text and "Pending" in text and "发货单" not in text


def test_chinese_renders_on_a_machine_without_any_font(shop, shirt, tmp_path):
    # given a reader whose machine has no font at all, shown to have none: a PDF naming a CJK font
    # it does not carry (reportlab's STSong-Light) renders blank there
    bare = no_fonts_config(tmp_path)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    control = io.BytesIO()
    canvas = Canvas(control)
    canvas.setFont("STSong-Light", 40)
    canvas.drawString(60, 700, "发货单收货人")
    canvas.save()
    assert ink(page_image(control.getvalue(), tmp_path, env=bare)) == 0

    # when a slip is printed
    order = make_order(shop, [(shirt.variant_id, 1)])
    data = slips(shop.api, [order["id"]])

    # then every font it uses travels inside it
    fonts = fonts_of(data, tmp_path)
    assert fonts and all(f["emb"] == "yes" for f in fonts), fonts
    # and on that machine its Chinese is drawn, each character its own shape (no empty boxes)
    assert ink(page_image(data, tmp_path, env=bare)) > 1000
    one, other = (
        page_image(pdf.render([pdf.text(words, pdf.styles().title)], title="t", author="a", lang="zh_CN",
                              footer=lambda n: ""), tmp_path, env=bare, dpi=72)
        for words in ("发货单", "收货人")
    )  # fmt: skip
    assert ink(one) > 50 and ink(other) > 50
    assert ImageChops.difference(one, other).getbbox() is not None


def ink(image) -> int:
    """Dark pixels on a page."""
    return sum(image.point(lambda v: 255 if v < 128 else 0).histogram()[255:])


# --- the console ------------------------------------------------------------------------------------


def test_the_bulk_bar_prints_the_ticked_orders_or_all_that_match(app, runtime, shop, shirt, tmp_path):
    # given three orders, one of them found by a search, and the owner's console
    a, b, c = (make_order(shop, [(shirt.variant_id, 1)]) for _ in range(3))
    console = sign_in(app, shop)
    listing = console.get("/orders").text
    assert '<option value="print">打印发货单</option>' in listing

    # when two are ticked and 打印发货单 applied, then the card's button pressed
    ready = console.post(
        "/orders/bulk", data={"action": "print", "ids": [str(c["id"]), str(a["id"])]}, headers=HTMX
    )
    assert ready.status_code == 200, ready.text
    assert "已准备好 2 个订单的发货单" in ready.text and 'target="_blank"' in ready.text
    ids = re.findall(r'<input type="hidden" name="ids" value="(\d+)">', ready.text)
    assert ids == [str(c["id"]), str(a["id"])]
    printed = console.post("/orders/packing-slips", data={"ids": ids})

    # then the PDF holds their slips, in the order ticked
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    text = text_of(printed.content, tmp_path)
    assert text.index(c["number"]) < text.index(a["number"]) and b["number"] not in text

    # and "all matching" prints what the filters find
    found = console.post(
        "/orders/bulk", data={"action": "print", "all_matching": "1", "q": b["number"]}, headers=HTMX
    )
    assert re.findall(r'name="ids" value="(\d+)"', found.text) == [str(b["id"])]


def test_the_order_page_links_its_slip_and_its_evidence_pack_for_who_may_have_them(app, runtime, shop, shirt):
    order = make_order(shop, [(shirt.variant_id, 1)])
    page = sign_in(app, shop).get(f"/orders/{order['id']}").text
    assert f'href="/api/v1/orders/{order["id"]}/packing-slip"' in page
    assert f'href="/api/v1/orders/{order["id"]}/evidence-pack"' in page
    # a console session opens them (the API's routes take the session as a credential)
    slip = sign_in(app, shop).get(f"/api/v1/orders/{order['id']}/packing-slip")
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF-")
    # customer service may not ship: neither the bulk bar's print nor the order page's slip
    agent_console = make_member(runtime, shop, role="agent")  # its token opens console pages too
    assert '<option value="print">' not in agent_console.get("/orders").text
    agent_page = agent_console.get(f"/orders/{order['id']}").text
    assert "/packing-slip" not in agent_page and "/evidence-pack" in agent_page
    refused = agent_console.post(
        "/orders/bulk", data={"action": "print", "ids": str(order["id"])}, headers=HTMX
    )
    assert refused.status_code == 403


def test_a_member_prints_a_bounded_number_of_orders_an_hour(shop, shirt, monkeypatch):
    # given a limit of five orders an hour (in production: a few full batches, far below a scrape of
    # every address), and orders to print
    monkeypatch.setattr(service, "PRINTS_PER_HOUR", "5/hour")
    orders = [make_order(shop, [(shirt.variant_id, 1)])["id"] for _ in range(6)]
    missing = shop.api.get("/api/v1/orders/999999999/packing-slip")
    assert missing.status_code == 404  # an order not found prints nothing, and costs nothing

    # when the owner prints three orders' slips, then three more, then one, then one's evidence pack
    three = shop.api.post(SLIPS, json={"order_ids": orders[:3]})
    three_more = shop.api.post(SLIPS, json={"order_ids": orders[3:]})
    one = shop.api.post(SLIPS, json={"order_ids": orders[3:4]})
    pack = shop.api.get(f"/api/v1/orders/{orders[5]}/evidence-pack")

    # then each order counts: the second batch would pass five and is refused, saying when to come
    # back, and not recorded; the one and the pack make five; the next single slip is refused
    assert [r.status_code for r in (three, three_more, one, pack)] == [200, 429, 200, 200]
    assert three_more.json()["error"]["code"] == "rate.limited" and "Retry-After" in three_more.headers
    assert shop.api.get(f"/api/v1/orders/{orders[0]}/packing-slip").status_code == 429
    assert sorted(len(e["data"]["order_ids"]) for e in audit(shop)) == [1, 3]


def test_a_full_batch_fits_in_an_hours_limit_which_stays_below_a_scrape():
    allowed = parse(service.PRINTS_PER_HOUR)
    assert allowed.get_expiry() == 3600
    assert MAX_SLIPS <= allowed.amount < 1000


def test_a_print_that_fails_costs_nothing(shop, shirt, monkeypatch):
    # given a limit of one order an hour, and a drawing that fails (whatever reportlab refuses)
    monkeypatch.setattr(service, "PRINTS_PER_HOUR", "1/hour")
    order = make_order(shop, [(shirt.variant_id, 1)])
    good = slips_module.render

    def refused(*args, **kwargs):
        raise LayoutError("a flowable too large on the page")

    monkeypatch.setattr(slips_module, "render", refused)
    failed = TestClient(shop.api.app, raise_server_exceptions=False, headers=shop.api.headers)
    assert failed.get(f"/api/v1/orders/{order['id']}/packing-slip").status_code == 500

    # when it prints again once the drawing works
    monkeypatch.setattr(slips_module, "render", good)
    again = shop.api.get(f"/api/v1/orders/{order['id']}/packing-slip")

    # then the failed print was not counted: the hour's one order is still there
    assert again.status_code == 200, again.text
    assert shop.api.get(f"/api/v1/orders/{order['id']}/packing-slip").status_code == 429
    assert len(audit(shop)) == 1


def test_no_cell_of_a_document_can_be_taller_than_a_page(tmp_path):
    # given a ruled table and a label-and-value table, each with a cell of 300 lines (a page holds
    # about 60), beside cells of a few lines and a stack of 200 short paragraphs
    s = pdf.styles()
    story = [
        pdf.fields([("买家留言", "乙\n" * 300), ("收货人", "张三")]),
        pdf.table(
            [["时间", "发送人", "消息"], ["#1\n2026-01-01", "李四", "甲\n" * 300],
             ["#2", "李四", [pdf.text(f"丙{n}", s.cell) for n in range(200)]], ["#3", "店主", "最后一条"]],
            [32 * mm, 30 * mm, 120 * mm],
        ),
    ]  # fmt: skip

    # when they are drawn
    data = pdf.render(story, title="t", author="a", lang="zh_CN", footer=lambda n: "")

    # then they run on over the pages they need, every line once, in order
    text = text_of(data, tmp_path)
    assert pages_count(data, tmp_path) >= 10
    assert (text.count("乙"), text.count("甲"), text.count("丙")) == (300, 300, 200)
    assert text.index("张三") < text.index("甲") < text.index("丙199") < text.index("最后一条")


# --- a member who sees only their own orders ---------------------------------------------------------


def test_a_member_of_a_narrow_scope_prints_only_their_orders(app, runtime, shop, shirt, tmp_path):
    # given a packer who sees only the orders assigned to them, one order theirs, one a colleague's
    packer = make_member(runtime, shop, permissions=["orders.read", "orders.fulfil"], data_scope="assigned")
    mine, theirs = (make_order(shop, [(shirt.variant_id, 1)]) for _ in range(2))
    for order, assignee in ((mine, packer.staff_id), (theirs, shop.owner_id)):
        r = shop.api.put(f"/api/v1/orders/{order['id']}/assignee", json={"assignee_id": assignee})
        assert r.status_code == 200, r.text

    # then the colleague's slip is not found, alone or beside their own, and nothing is printed
    assert packer.get(f"/api/v1/orders/{theirs['id']}/packing-slip").status_code == 404
    both = packer.post(SLIPS, json={"order_ids": [mine["id"], theirs["id"]]})
    assert both.status_code == 404 and both.json()["error"]["code"] == "order.not_found"
    assert audit(shop) == []
    # and the bulk bar's "all matching" holds their own order only
    found = packer.post("/orders/bulk", data={"action": "print", "all_matching": "1"}, headers=HTMX)
    assert found.status_code == 200, found.text
    assert re.findall(r'name="ids" value="(\d+)"', found.text) == [str(mine["id"])]
    # and ticking only the colleague's order leaves nothing to print, and says so
    ticked = packer.post("/orders/bulk", data={"action": "print", "ids": str(theirs["id"])}, headers=HTMX)
    assert ticked.status_code == 200, ticked.text
    assert "没有可打印的订单" in ticked.text and 'name="ids"' not in ticked.text
    assert "0 个订单" not in ticked.text
