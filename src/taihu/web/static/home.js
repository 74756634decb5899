// The home page's charts: the district's trend and chain completeness, an enterprise's identifiers.
(function () {
  "use strict";
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function data(id) {
    var source = document.getElementById(id);
    return source ? JSON.parse(source.textContent) : null;
  }
  function draw(id, option) {
    var holder = document.getElementById(id);
    if (!holder || !window.echarts) { return; }
    var chart = window.echarts.init(holder);
    option.animation = !still;
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function start() {
    var d = data("district-data");
    if (d) {
      draw("district-trend", {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 32, bottom: 30 },
        xAxis: { type: "category", data: d.trend.days },
        yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
        series: [
          { name: d.labels.resumption, type: "line", data: d.trend.resumption, connectNulls: false },
          { name: d.labels.production, type: "line", data: d.trend.production, connectNulls: false }
        ]
      });
      draw("district-chains", {
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
        grid: { left: 120, right: 24, top: 8, bottom: 24 },
        xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        yAxis: { type: "category", inverse: true, data: d.chains.map(function (c) { return c.name; }) },
        series: [{ type: "bar", data: d.chains.map(function (c) { return c.completeness; }),
                   itemStyle: { color: "#0b5cad" } }]
      });
    }
    var ids = data("enterprise-identifiers-data");
    if (ids) {
      draw("enterprise-identifiers", {
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 32, bottom: 30 },
        xAxis: { type: "category", data: ids.days },
        yAxis: { type: "value", minInterval: 1 },
        series: ids.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
      });
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
