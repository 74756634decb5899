// Operation monitor: gauges and trend lines on the dashboard, the power curve on the enterprise page.
(function () {
  "use strict";
  var BAND_COLOURS = ["#c62828", "#ef6c00", "#f9a825", "#2e7d32"];  // red, orange, yellow, green
  function motion() { return !window.matchMedia("(prefers-reduced-motion: reduce)").matches; }
  function percent(value) { return value === null ? null : Math.round(value * 1000) / 10; }
  function draw(id, option) {
    var holder = document.getElementById(id);
    if (!holder || !window.echarts) { return; }
    var chart = window.echarts.init(holder);
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function dashboard() {
    var source = document.getElementById("monitor-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    // The scale grows past 100 % when a value does (the server picks the end, data.max), so a
    // needle never lies against its stop; the bands keep their places as shares of that end.
    var top = data.max || 100;
    var stops = data.bands.map(function (b, i) { return [Math.min(b * 100 / top, 1), BAND_COLOURS[i]]; });
    stops.push([1, BAND_COLOURS[3]]);
    draw("monitor-gauges", {
      animation: motion(),
      series: data.gauges.map(function (g, i) {
        return {
          type: "gauge", name: g.name, center: [(i * 2 + 1) * 100 / 6 + "%", "58%"], radius: "80%",
          min: 0, max: top, axisLine: { lineStyle: { width: 12, color: stops } },
          detail: {
            formatter: function (v) {
              if (v === null) { return "—"; }
              return v > 100 ? v + "%\n(" + data.over + ")" : v + "%";
            },
            fontSize: 20
          },
          title: { offsetCenter: [0, "78%"] }, splitNumber: 5,
          data: [{ value: percent(g.value), name: g.name }]
        };
      })
    });
    draw("monitor-trend", {
      animation: motion(),
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { top: 0 },
      grid: { left: 50, right: 16, top: 36, bottom: 30 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", axisLabel: { formatter: "{value}%" } },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", showSymbol: false, connectNulls: false,
                 data: s.values.map(percent) };
      })
    });
  }
  function curve() {
    var source = document.getElementById("curve-data");
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    // Baseline and threshold are lines per day: a day is drawn against the baseline of its own
    // reading's source, which changes where the data moves from the grid file to the meters.
    draw("monitor-curve", {
      animation: motion(),
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 60, right: 24, top: 36, bottom: 30 },
      xAxis: { type: "category", data: data.days },
      yAxis: { type: "value", name: "kWh" },
      series: [
        { name: data.labels.kwh, type: "line", showSymbol: false, connectNulls: false, data: data.kwh },
        { name: data.labels.baseline, type: "line", step: "middle", showSymbol: false,
          connectNulls: false, data: data.baseline, lineStyle: { type: "dashed", color: "#2e7d32" },
          itemStyle: { color: "#2e7d32" } },
        { name: data.labels.threshold, type: "line", step: "middle", showSymbol: false,
          connectNulls: false, data: data.threshold, lineStyle: { type: "dotted", color: "#c62828" },
          itemStyle: { color: "#c62828" } }
      ]
    });
  }
  function start() { dashboard(); curve(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
