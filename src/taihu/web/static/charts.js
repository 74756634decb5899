// Draws every chart whose data the page embeds as JSON; the data table beside it stays for screen readers.
(function () {
  "use strict";
  function activity() {
    var holder = document.getElementById("activity-chart");
    var source = document.getElementById("activity-data");
    if (!holder || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 30 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: data.series, type: "bar", data: data.counts, itemStyle: { color: "#0b5cad" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", activity);
  } else {
    activity();
  }
})();
