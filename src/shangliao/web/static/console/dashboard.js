// 工作台 and 数据分析 (web/console/dashboard_pages.py): each <figure data-chart> is drawn with
// ECharts (vendored, static/vendor/echarts) from the JSON of the API address it carries
// (data-source); the words come from the page's #stats-labels block. Its numbers are already on
// the page, in the figure's 看数据 table, and in its CSV.
//
// The Content-Security-Policy allows no inline style attribute: tooltips are drawn on the canvas
// (renderMode "richText"), never as HTML.
(function () {
  "use strict";

  const labels = JSON.parse((document.getElementById("stats-labels") || {}).textContent || "{}");
  const yuan = (fen) => Math.round(fen) / 100;
  const tooltip = (trigger) => ({ trigger: trigger, renderMode: "richText", confine: true });
  const grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
  const legend = { top: 0, type: "scroll" };

  function bars(names, values, name) {
    // Largest first at the top: a category axis draws its first entry at the bottom.
    return {
      tooltip: tooltip("axis"),
      grid: grid,
      xAxis: { type: "value" },
      yAxis: { type: "category", data: names.slice().reverse(), axisLabel: { width: 90, overflow: "truncate" } },
      series: [{ type: "bar", name: name, data: values.slice().reverse() }],
    };
  }

  function productName(p) {
    return p.name || labels.other;
  }

  function pie(items) {
    return {
      tooltip: tooltip("item"),
      legend: legend,
      series: [{ type: "pie", radius: ["35%", "65%"], top: 24, data: items, label: { formatter: "{b}: {c}" } }],
    };
  }

  // One function per chart name: the ECharts option for the report's JSON.
  const CHARTS = {
    trend: (d) => ({
      tooltip: tooltip("axis"),
      legend: legend,
      grid: grid,
      xAxis: { type: "category", data: d.trend.map((t) => t.day.slice(5)) },
      yAxis: [{ type: "value", name: labels.gmv }, { type: "value", name: labels.orders, minInterval: 1 }],
      series: [
        { type: "bar", name: labels.gmv, data: d.trend.map((t) => yuan(t.gmv)) },
        { type: "line", name: labels.orders, yAxisIndex: 1, data: d.trend.map((t) => t.orders) },
        { type: "line", name: labels.paid_orders, yAxisIndex: 1, data: d.trend.map((t) => t.paid_orders) },
      ],
    }),
    top_quantity: (d) => bars(d.by_quantity.map(productName), d.by_quantity.map((p) => p.quantity), labels.quantity),
    top_revenue: (d) => bars(d.by_revenue.map(productName), d.by_revenue.map((p) => yuan(p.revenue)), labels.revenue),
    slow_movers: (d) => {
      const option = bars(d.slow_movers.map(productName), d.slow_movers.map((p) => p.stock), labels.stock);
      option.legend = legend;
      option.series.push({ type: "bar", name: labels.quantity, data: d.slow_movers.map((p) => p.quantity).reverse() });
      return option;
    },
    top_customers: (d) => bars(d.top.map((c) => c.name), d.top.map((c) => yuan(c.spent)), labels.spent),
    segments: (d) => pie(d.groups.map((g) => ({ name: labels.segments[g.segment], value: g.customers }))),
    buyers: (d) => pie([{ name: labels["new"], value: d["new"] }, { name: labels.returning, value: d.returning }]),
    hours: (d) => ({
      tooltip: tooltip("axis"),
      grid: grid,
      xAxis: { type: "category", data: d.by_hour.map((_, h) => String(h).padStart(2, "0")) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", name: labels.orders, data: d.by_hour }],
    }),
    weekday_hours: (d) => {
      const cells = [];
      let most = 0;
      d.by_weekday_hour.forEach((row, weekday) =>
        row.forEach((n, hour) => {
          cells.push([hour, weekday, n]);
          most = Math.max(most, n);
        })
      );
      return {
        tooltip: tooltip("item"),
        grid: { left: 8, right: 8, top: 8, bottom: 48, containLabel: true },
        xAxis: { type: "category", data: d.by_weekday_hour[0].map((_, h) => String(h)), splitArea: { show: true } },
        yAxis: { type: "category", data: labels.weekdays, inverse: true, splitArea: { show: true } },
        visualMap: { min: 0, max: Math.max(most, 1), calculable: false, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120 },
        series: [{ type: "heatmap", name: labels.orders, data: cells }],
      };
    },
    channels: (d) => ({
      tooltip: tooltip("axis"),
      legend: legend,
      grid: grid,
      xAxis: { type: "category", data: d.channels.map((c) => labels.channels[c.channel] || c.channel) },
      yAxis: [{ type: "value", name: labels.orders, minInterval: 1 }, { type: "value", name: labels.gmv }],
      series: [
        { type: "bar", name: labels.orders, data: d.channels.map((c) => c.orders) },
        { type: "bar", name: labels.gmv, yAxisIndex: 1, data: d.channels.map((c) => yuan(c.gmv)) },
      ],
    }),
  };

  const loading = {}; // one request per API address, shared by the charts that read it

  function load(source) {
    if (!loading[source]) {
      loading[source] = fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
        (response) => {
          if (!response.ok) throw new Error("stats answered " + response.status);
          return response.json();
        }
      );
    }
    return loading[source];
  }

  const drawn = [];

  function draw(figure) {
    const canvas = figure.querySelector(".stats-canvas");
    const option = CHARTS[figure.dataset.chart];
    if (!canvas || !option || !window.echarts) return;
    load(figure.dataset.source)
      .then((data) => {
        const chart = window.echarts.init(canvas, null, { renderer: "canvas" });
        chart.setOption(Object.assign({ animation: false, aria: { enabled: true } }, option(data)));
        drawn.push(chart);
        figure.dataset.drawn = "true"; // the browser tests wait for it
      })
      .catch(() => {
        figure.dataset.drawn = "failed"; // the table below still holds the numbers
      });
  }

  let resizing = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => drawn.forEach((chart) => chart.resize()), 150);
  });

  document.querySelectorAll("figure.stats-chart[data-chart]").forEach(draw);
})();
