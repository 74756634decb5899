// The identifiers page's charts: registrations and resolutions per day, and the busiest
// enterprises; the tables beside them stay for screen readers.
(function () {
  "use strict";
  var COLORS = ["#0b5cad", "#d97706"];
  function chartOf(id) {
    var holder = document.getElementById(id + "-chart");
    var source = document.getElementById(id + "-data");
    if (!holder || !source || !window.echarts) { return null; }
    var chart = window.echarts.init(holder);
    window.addEventListener("resize", function () { chart.resize(); });
    return { chart: chart, data: JSON.parse(source.textContent) };
  }
  function draw() {
    var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var days = chartOf("id-stats");
    if (days) {
      days.chart.setOption({
        animation: !still,
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 48, right: 16, top: 32, bottom: 30 },
        xAxis: { type: "category", data: days.data.days },
        yAxis: { type: "value", minInterval: 1 },
        series: days.data.series.map(function (s, i) {
          return { name: s.name, type: i === 0 ? "bar" : "line", data: s.data,
                   itemStyle: { color: COLORS[i] } };
        })
      });
    }
    var firms = chartOf("id-enterprises");
    if (firms) {
      firms.chart.setOption({
        animation: !still,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        legend: { top: 0 },
        grid: { left: 8, right: 24, top: 32, bottom: 24, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: firms.data.names, axisLabel: { width: 180, overflow: "truncate" } },
        series: firms.data.series.map(function (s, i) {
          return { name: s.name, type: "bar", data: s.data, itemStyle: { color: COLORS[i] } };
        })
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
