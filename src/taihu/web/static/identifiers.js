// Registrations and resolutions per day on the identifiers page; the table beside it stays for screen readers.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("id-stats-chart");
    var source = document.getElementById("id-stats-data");
    if (!holder || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 30 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s, i) {
        return { name: s.name, type: i === 0 ? "bar" : "line", data: s.data,
                 itemStyle: { color: i === 0 ? "#0b5cad" : "#d97706" } };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
