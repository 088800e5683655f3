"""工作台 and 数据分析 in the console (web/console/dashboard_pages.py): the home of a member who may
read the figures, the order list for anyone else; the hand-computed scene's figures and tables on
the pages; the customer list filtered to an RFM group; and nothing of it for a member without
``analytics.read``."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.console import sign_in
from tests.support.stats import Scene, catch_up
from tests.support.team import MEMBER_PASSWORD, make_member


@pytest.fixture
def scene(runtime, shop, frozen) -> Scene:
    made = Scene(runtime, shop, frozen)
    catch_up(runtime, shop)
    return made


def member_console(app, username: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = client.post("/login", data={"username": username, "password": MEMBER_PASSWORD})
    assert r.status_code == 303
    return client


def cells(page: str, chart: str) -> list[list[str]]:
    """The rows of a chart's 看数据 table."""
    figure = page.split(f'id="chart-{chart}"', 1)[1].split("</figure>", 1)[0]
    body = figure.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_dashboard_is_home_for_who_may_read_the_figures(app, runtime, shop, anon):
    owner = sign_in(app, shop)
    assert owner.get("/").headers["location"] == "/dashboard"
    # signing in without a page to go back to lands on the home
    assert 'name="next" value="/"' in anon.get("/login").text
    agent = make_member(runtime, shop, role="agent")
    assert member_console(app, agent.username).get("/").headers["location"] == "/orders"
    finance = make_member(runtime, shop, role="finance")
    finances = member_console(app, finance.username)
    assert finances.get("/").headers["location"] == "/dashboard"
    assert anon.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_the_dashboard_shows_the_scenes_figures(app, scene):
    page = sign_in(app, scene.shop).get("/dashboard").text

    today = page.split('data-period="today"', 1)[1].split("</dl>", 1)[0]
    assert re.search(r'data-figure="orders">\s*<dt>订单数</dt>\s*<dd class="stats-now">3</dd>', today)
    assert "¥227.00" in today and "¥113.50" in today and "¥30.00" in today  # GMV, 客单价, refunds
    assert "较昨日" in today and "+200.0%" in today  # 3 orders against 1
    waiting = page.split("stats-waiting", 1)[1].split("</dl>", 1)[0]
    assert '<a href="/orders?tab=pending">7</a>' in waiting
    # the trend's table: every day of the range, the 31st and the 1st as worked out by hand
    trend = cells(page, "trend")
    assert len(trend) == 30
    assert trend[-2:] == [
        ["2026-03-31", "1", "0", "0.00", "0.00", "0"],
        ["2026-04-01", "3", "2", "227.00", "30.00", "1"],
    ]
    assert 'data-source="/api/v1/stats/overview?from=2026-03-03&amp;to=2026-04-01"' in page
    assert 'href="/api/v1/stats/csv?chart=trend&amp;from=2026-03-03&amp;to=2026-04-01"' in page
    assert 'href="/dashboard" aria-current="page">工作台</a>' in page
    assert "/static/vendor/echarts/echarts.min.js" in page and "<script>" not in page


def test_the_analysis_pages(app, scene):
    owner = sign_in(app, scene.shop)
    products = owner.get("/analysis/products?from=2026-03-03&to=2026-04-01").text
    assert cells(products, "top_quantity") == [
        ["纯棉T恤", "3", "177.00", "46"],
        ["马克杯", "2", "50.00", "14"],
    ]
    assert cells(products, "slow_movers")[0] == ["台灯", "0", "0.00", "30"]

    customers = owner.get("/analysis/customers").text
    assert re.search(r'<a href="/customers\?segment=new">新客</a>\s*<strong>2</strong>', customers)
    assert re.search(r'data-figure="repeat_rate"><dt>复购率</dt><dd class="stats-now">33.3%', customers)
    assert cells(customers, "top_customers")[0] == ["老王", "2", "147.00", "2026-03-31 23:59:00"]

    hours = owner.get("/analysis/hours").text
    assert cells(hours, "hours")[23] == ["23:00", "1"]
    assert cells(hours, "weekday_hours")[2][:2] == ["星期三", "1"]

    channels = owner.get("/analysis/channels").text
    assert cells(channels, "channels")[1] == ["聊天", "1", "1", "118.00", "118.00", "30.00", "0"]


def test_a_bad_range_on_a_page_says_why_and_shows_the_last_30_days(app, scene):
    page = sign_in(app, scene.shop).get("/dashboard?from=2026-04-02&to=2026-04-01").text
    assert "开始日期（2026-04-02）晚于结束日期（2026-04-01）" in page
    assert 'name="from" value="2026-03-03"' in page


def test_a_customer_group_opens_the_customer_list_filtered(app, scene):
    page = sign_in(app, scene.shop).get("/customers?segment=new").text
    assert {"小李", "阿三"} == set(
        re.findall(r"小李|阿三|老王|老顾客|远去的", page.split('id="customer-list"', 1)[1])
    )
    assert '<option value="new" selected>新客</option>' in page


def test_without_analytics_read_no_dashboard(app, runtime, shop):
    agent = make_member(runtime, shop, role="agent")
    console = member_console(app, agent.username)
    assert console.get("/dashboard").status_code == 403
    assert console.get("/analysis/products").status_code == 403
    page = console.get("/orders").text
    assert 'href="/dashboard"' not in page and "工作台" not in page
    for path in ("overview", "products", "customers", "hours", "channels", "csv?chart=trend"):
        r = agent.get(f"/api/v1/stats/{path}")
        assert r.status_code == 403, path
        assert r.json()["error"]["details"] == {"permission": "analytics.read"}
