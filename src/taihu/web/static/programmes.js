// The award registry's charts: awards per year (one line per programme, the trend), and holders
// per township, industry class or chain (one bar per programme).
(function () {
  "use strict";
  function trend() {
    var holder = document.getElementById("trend-chart");
    var source = document.getElementById("trend-data");
    if (!holder || !source || !window.echarts) { return; }
    var d = JSON.parse(source.textContent);
    if (!d.years.length) { holder.hidden = true; return; }
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 40, bottom: 30 },
      xAxis: { type: "category", data: d.years },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) {
        return { name: s.name, type: "line", data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function start() {
    trend();
    var holder = document.getElementById("holders-chart");
    var source = document.getElementById("holders-data");
    if (!holder || !source || !window.echarts) { return; }
    var d = JSON.parse(source.textContent);
    if (!d.groups.length) { holder.hidden = true; return; }
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll" },
      grid: { left: 40, right: 16, top: 40, bottom: 60 },
      xAxis: { type: "category", data: d.groups, axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "holders", data: s.data };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
