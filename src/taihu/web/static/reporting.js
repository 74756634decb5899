// A data task's response rate per period: asked and answered as bars, the rate as a line.
(function () {
  "use strict";
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function start() {
    var source = document.getElementById("data-periods-data");
    var holder = document.getElementById("data-periods-chart");
    if (!source || !holder || !window.echarts) { return; }
    var d = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !still,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 32, bottom: 30 },
      xAxis: { type: "category", data: d.periods },
      yAxis: [
        { type: "value", minInterval: 1 },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } }
      ],
      series: [
        { name: d.asked, type: "bar", data: d.asked_counts, itemStyle: { color: "#9bb7d4" } },
        { name: d.answered, type: "bar", data: d.answered_counts, itemStyle: { color: "#0b5cad" } },
        {
          name: d.rate, type: "line", yAxisIndex: 1, data: d.rates,
          itemStyle: { color: "#c2410c" },
          tooltip: { valueFormatter: function (v) { return v + "%"; } }
        }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
