// The wall display: draws the district's figures, then keeps them live over server-sent events.
(function () {
  "use strict";
  var text = JSON.parse(document.getElementById("wall-text").textContent);
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var ink = "#e8f1ff", dim = "#8aa4c8", grid = "#23385a";
  var bandColours = ["#e5484d", "#f5a524", "#f5d90a", "#3dd68c"];
  var charts = {};

  function chart(id) {
    if (!charts[id]) { charts[id] = window.echarts.init(document.getElementById(id)); }
    return charts[id];
  }
  function pct(v) { return v == null ? "—" : v.toFixed(1) + "%"; }
  function colour(v, bands) {
    if (v == null) { return dim; }
    for (var i = 0; i < bands.length; i++) { if (v < bands[i]) { return bandColours[i]; } }
    return bandColours[3];
  }
  function gauge(name, value, bands, centre) {
    // The scale reaches past the value, so a rate over 100 % is drawn as it is, not clipped.
    var top = Math.max(120, Math.ceil(((value || 0) + 10) / 20) * 20);
    return {
      type: "gauge", name: name, center: [centre, "58%"], radius: "78%", min: 0, max: top,
      splitNumber: top / 20,
      axisLine: { lineStyle: { width: 14, color: [
        [bands[0] / top, bandColours[0]], [bands[1] / top, bandColours[1]],
        [bands[2] / top, bandColours[2]], [1, bandColours[3]]] } },
      axisLabel: { color: dim, fontSize: 14, distance: 20 },
      splitLine: { length: 14, lineStyle: { color: "auto" } },
      pointer: { itemStyle: { color: ink } },
      title: { color: ink, fontSize: 22, offsetCenter: [0, "78%"] },
      detail: { color: colour(value, bands), fontSize: 40, fontWeight: "bold",
                offsetCenter: [0, "40%"], formatter: function (v) { return pct(v); } },
      data: [{ value: value == null ? 0 : value, name: name }]
    };
  }
  function district(d) {
    chart("wall-gauges").setOption({
      animation: !still,
      series: [
        gauge(text.resumption, d.resumption_rate, d.bands, "17%"),
        gauge(text.production, d.production_rate, d.bands, "50%"),
        gauge(text.composite, d.composite_index, d.bands, "83%")
      ]
    }, true);
    chart("wall-trend").setOption({
      animation: !still,
      textStyle: { color: ink, fontSize: 16 },
      legend: { top: 0, textStyle: { color: ink, fontSize: 18 } },
      grid: { left: 64, right: 24, top: 44, bottom: 36 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.trend.days, axisLabel: { color: dim, fontSize: 14 } },
      yAxis: { type: "value", axisLabel: { color: dim, fontSize: 14, formatter: "{value}%" },
               splitLine: { lineStyle: { color: grid } } },
      series: [
        { name: text.resumption, type: "line", data: d.trend.resumption, lineStyle: { width: 4 },
          showSymbol: false, itemStyle: { color: "#4cc2ff" } },
        { name: text.production, type: "line", data: d.trend.production, lineStyle: { width: 4 },
          showSymbol: false, itemStyle: { color: "#3dd68c" } }
      ]
    }, true);
    var towns = d.townships.slice(0, 10);
    bars("wall-towns", towns.map(function (t) { return t.name; }),
         towns.map(function (t) { return { value: t.composite, itemStyle: { color: colour(t.composite, d.bands) } }; }));
    bars("wall-chains", d.chains.map(function (c) { return c.name; }),
         d.chains.map(function (c) { return { value: c.completeness, itemStyle: { color: "#4cc2ff" } }; }));
    var list = document.getElementById("wall-warning-list");
    list.textContent = "";
    if (!d.warning_list.length) {
      var none = document.createElement("li");
      none.textContent = text.none;
      list.appendChild(none);
    }
    d.warning_list.forEach(function (w) {
      var item = document.createElement("li");
      item.className = "band-" + w.band;
      var name = document.createElement("span");
      name.textContent = w.name;
      var ratio = document.createElement("b");
      ratio.textContent = w.ratio + "%";
      item.appendChild(name);
      item.appendChild(ratio);
      list.appendChild(item);
    });
    titles(d.titles || []);
    set("wall-warnings-count", d.warnings);
    set("wall-overdue", d.overdue);
    set("wall-reg-today", d.identifiers.registered_today);
    set("wall-reg-30d", d.identifiers.registered_30d);
    set("wall-res-today", d.identifiers.resolved_today);
    set("wall-res-30d", d.identifiers.resolved_30d);
    set("wall-devices", d.devices_online);
  }
  function bars(id, names, values) {
    chart(id).setOption({
      animation: !still,
      grid: { left: 180, right: 72, top: 8, bottom: 8 },
      xAxis: { type: "value", show: false },
      yAxis: { type: "category", inverse: true, data: names,
               axisLabel: { color: ink, fontSize: 18 }, axisLine: { show: false }, axisTick: { show: false } },
      series: [{ type: "bar", data: values, barMaxWidth: 22,
                 label: { show: true, position: "right", color: ink, fontSize: 18,
                          formatter: function (p) { return pct(p.value); } } }]
    }, true);
  }
  function titles(rows) {
    // One row a programme: its holders in force today and ever (累计); levels where it has several.
    var body = document.getElementById("wall-title-rows");
    var zh = document.documentElement.lang === "zh-CN";
    body.textContent = "";
    rows.forEach(function (t) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      name.textContent = zh ? t.name_zh : t.name_en;
      name.title = name.textContent;
      var levels = Object.keys(t.levels);
      if (levels.length > 1) {
        var small = document.createElement("small");
        small.textContent = ["national", "provincial", "city", "district"].filter(function (l) {
          return levels.indexOf(l) >= 0;
        }).map(function (l) { return text.levels[l] + " " + t.levels[l]; }).join(" · ");
        name.appendChild(small);
      }
      tr.appendChild(name);
      [t.current, t.total].forEach(function (n) {
        var cell = document.createElement("td");
        cell.textContent = String(n);
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
  }
  function set(id, value) { document.getElementById(id).textContent = String(value); }
  function counted() {
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
    document.getElementById("wall-status").textContent =
      text.live + " " + new Date().toLocaleTimeString(document.documentElement.lang);
  }

  district(JSON.parse(document.getElementById("wall-data").textContent));
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
  });
  var source = new EventSource(document.body.dataset.live);
  source.addEventListener("district", function (e) { district(JSON.parse(e.data)); counted(); });
  source.addEventListener("live", function (e) {
    var live = JSON.parse(e.data);
    set("wall-devices", live.devices_online);
    set("wall-rate", live.rate.toFixed(1));
    counted();
  });
  source.onerror = function () {
    document.getElementById("wall-status").textContent = text.reconnecting;
  };
})();
