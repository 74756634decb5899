// The survey analytics' charts: response by township and industry, each question's answers.
(function () {
  "use strict";
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function draw(id, option) {
    var holder = document.getElementById(id);
    if (!holder || !window.echarts) { return; }
    var chart = window.echarts.init(holder);
    option.animation = !still;
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function groups(id, d, labels) {
    draw(id, {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 30 },
      xAxis: { type: "category", data: d.names },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: labels.asked, type: "bar", data: d.asked, itemStyle: { color: "#9bb7d4" } },
        { name: labels.answered, type: "bar", data: d.answered, itemStyle: { color: "#0b5cad" } }
      ]
    });
  }
  function start() {
    var source = document.getElementById("survey-data");
    if (!source) { return; }
    var d = JSON.parse(source.textContent);
    groups("survey-townships", d.townships, d);
    groups("survey-industries", d.industries, d);
    d.questions.forEach(function (q) {
      if (!q) { return; }
      draw(q.id, {
        tooltip: { trigger: "axis" },
        grid: { left: 40, right: 16, top: 16, bottom: 30 },
        xAxis: { type: "category", data: q.names },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: q.counts, itemStyle: { color: "#0b5cad" } }]
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
