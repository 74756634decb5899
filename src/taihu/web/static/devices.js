// Device detail: the history chart from the embedded JSON, and latest values kept live over SSE.
(function () {
  "use strict";
  function history() {
    var holder = document.getElementById("history-chart");
    var source = document.getElementById("history-data");
    if (!holder || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: { trigger: "axis", axisPointer: { label: { formatter: function (p) { return window.taihuTime(p.value); } } } },
      grid: { left: 50, right: 16, top: 16, bottom: 30 },
      // The axis spans the whole last 24 hours, however few hours have data (a lone point is
      // drawn as a dot); labels in the district's zone and the page's format (static/taihu.js).
      xAxis: { type: "time", min: data.start, max: data.end, axisLabel: { hideOverlap: true,
               formatter: function (value) { return window.taihuTime(value).split(/, | /).pop(); } } },
      yAxis: { type: "value", name: data.unit, scale: true },
      series: [{ name: data.key, type: "line", showSymbol: data.times.length < 3,
                 data: data.times.map(function (t, i) { return [t, data.values[i]]; }) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function live() {
    var table = document.getElementById("latest");
    if (!table || !window.EventSource) { return; }
    var source = new EventSource(table.getAttribute("data-live"));
    source.onmessage = function (event) {
      var values = JSON.parse(event.data);
      Object.keys(values).forEach(function (key) {
        var row = table.querySelector('tr[data-key="' + CSS.escape(key) + '"]');
        if (!row) { return; }
        var cell = row.querySelector(".value");
        var unit = cell.textContent.split(" ").slice(1).join(" ");
        var value = values[key].value;
        // Yes/no in the page's language, as the server renders a boolean (web/terms.py).
        if (typeof value === "boolean") { value = table.getAttribute(value ? "data-yes" : "data-no"); }
        cell.textContent = String(value) + (unit ? " " + unit : "");
        row.querySelector(".when").textContent = window.taihuTime(values[key].ts);
      });
    };
  }
  // Copy buttons of the credentials page: the text of the element the button names.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        if (!source || !navigator.clipboard) { return; }
        navigator.clipboard.writeText(source.textContent).then(function () {
          button.setAttribute("data-copied", "true");
        });
      });
    });
  }
  function start() { history(); live(); copyButtons(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
