"""工作台 and 数据分析 in Chromium, on a desktop and on a phone: every chart is drawn by ECharts from
the API's JSON (a canvas holding the scene's numbers), the pages break no rule of the security
policy (the autouse CSP watch), and nothing scrolls sideways on a 390 px phone."""

from __future__ import annotations

from tests.support.browser import (  # noqa: F401 (fixtures)
    PHONE,
    VIEWPORTS,
    browser_fixture,
    fits,
    keep_screenshot,
    live_fixture,
    live_shop_fixture,
    open_console,
)
from tests.support.stats import Scene, catch_up

WAIT = 15_000
RANGE = "?from=2026-03-03&to=2026-04-01"  # the scene's last 30 days (tests/support/stats.py)
PAGES = {
    "/dashboard": ["trend"],
    "/analysis/products": ["top_quantity", "top_revenue", "slow_movers"],
    "/analysis/customers": ["segments", "buyers", "top_customers"],
    "/analysis/hours": ["hours", "weekday_hours"],
    "/analysis/channels": ["channels"],
}
# What each chart drew, read back from ECharts: the sum of its first series' numbers.
DRAWN = """figure => {
  const holder = figure.querySelector('.stats-canvas');
  const chart = window.echarts.getInstanceByDom(holder);
  const canvas = holder.querySelector('canvas');
  const data = chart.getOption().series[0].data;
  const sum = data.reduce((n, d) => n + (Array.isArray(d) ? d[2] : (typeof d === 'object' ? d.value : d)), 0);
  return {width: canvas.width, height: canvas.height, points: data.length, sum: sum};
}"""
# The scene's numbers: the first series of each chart, summed (worked out in tests/test_stats.py).
SUMS = {
    "trend": 227.0,  # GMV in yuan over the range: 118.00 + 109.00
    "top_quantity": 5,  # 3 tees + 2 mugs
    "top_revenue": 227.0,
    "slow_movers": 30 + 14 + 46,  # their stock: lamp, mug, tee
    "segments": 5,  # five buyers in the four groups
    "buyers": 3,
    "top_customers": 147.0 + 109.0,
    "hours": 4,
    "weekday_hours": 4,
    "channels": 4,
}


@VIEWPORTS
def test_every_chart_is_drawn_from_the_api(browser, live, shop, viewport):
    _url, runtime, _app = live
    from shangliao.core import clock

    try:
        Scene(runtime, shop, clock.freeze)
    finally:
        clock.freeze(None)
    catch_up(runtime, shop)
    page = open_console(browser, live, shop, viewport=viewport)

    for path, names in PAGES.items():
        page.goto(live[0] + path + RANGE)
        for name in names:
            figure = page.locator(f"figure[data-chart={name}]")
            figure.and_(page.locator("[data-drawn=true]")).wait_for(timeout=WAIT)
            drawn = figure.evaluate(DRAWN)
            assert drawn["width"] > 0 and drawn["height"] > 0 and drawn["points"] > 0, (name, drawn)
            assert abs(drawn["sum"] - SUMS[name]) < 0.001, (name, drawn)
        if viewport == PHONE:
            fits(page)
        keep_screenshot(page, "stats" + path.replace("/", "-"), viewport)

    # 看数据 opens the numbers under the chart
    page.goto(live[0] + "/dashboard" + RANGE)
    page.click("#chart-trend summary")
    last = page.locator("#chart-trend .stats-table tbody tr").last
    assert last.locator("td").all_inner_texts() == ["2026-04-01", "3", "2", "227.00", "30.00", "1"]
