// The wall display: draws the district's figures, then keeps them live over server-sent events.
(function () {
  "use strict";
  var text = JSON.parse(document.getElementById("wall-text").textContent);
  var still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var ink = "#e8f1ff", dim = "#8aa4c8", grid = "#23385a";
  var bandColours = ["#e5484d", "#f5a524", "#f5d90a", "#3dd68c"];
  var charts = {};
  var last = null;  // the latest district figures, charted again when the screen changes size
  var animate = !still;

  // One design pixel (the wall is drawn for 1920x1080), as --u in wall.css: charts scale with it.
  function unit() { return Math.min(window.innerWidth / 1920, window.innerHeight / 1080); }
  function px(n) { return Math.max(1, Math.round(n * unit())); }
  function font(n) { return Math.max(10, Math.round(n * unit())); }

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
  function gauge(name, value, bands, centre, radius) {
    // The scale reaches past the value, so a rate over 100 % is drawn as it is, not clipped.
    var top = Math.max(120, Math.ceil(((value || 0) + 10) / 20) * 20);
    // Sizes follow the radius (drawn for 158 px), so the figure never runs into the scale.
    function r(n) { return Math.max(1, Math.round(n * radius / 158)); }
    return {
      type: "gauge", name: name, center: [centre, "56%"], radius: radius, min: 0, max: top,
      splitNumber: top / 20,
      axisLine: { lineStyle: { width: r(14), color: [
        [bands[0] / top, bandColours[0]], [bands[1] / top, bandColours[1]],
        [bands[2] / top, bandColours[2]], [1, bandColours[3]]] } },
      axisTick: { distance: r(10), length: r(6) },
      axisLabel: { color: dim, fontSize: Math.max(9, r(14)), distance: r(20) },
      splitLine: { distance: r(10), length: r(14), lineStyle: { width: r(3), color: "auto" } },
      pointer: { width: r(6), itemStyle: { color: ink } },
      title: { color: ink, fontSize: Math.max(10, r(22)), offsetCenter: [0, "78%"] },
      detail: { color: colour(value, bands), fontSize: Math.max(12, r(40)), fontWeight: "bold",
                offsetCenter: [0, "40%"], formatter: function (v) { return pct(v); } },
      data: [{ value: value == null ? 0 : value, name: name }]
    };
  }
  function district(d) {
    last = d;
    draw(d);
    warnings(d.warning_list);
    titles(d.titles || []);
    set("wall-warnings-count", d.warnings);
    set("wall-overdue", d.overdue);
    set("wall-reg-today", d.identifiers.registered_today);
    set("wall-reg-30d", d.identifiers.registered_30d);
    set("wall-res-today", d.identifiers.resolved_today);
    set("wall-res-30d", d.identifiers.resolved_30d);
    set("wall-devices", d.devices_online);
    fitAll();
  }
  function draw(d) {
    var holder = document.getElementById("wall-gauges");
    // Three gauges side by side: each has a third of the width, and the title below its centre.
    var radius = Math.max(20, Math.min(holder.clientWidth / 6 - px(8), holder.clientHeight * 0.42));
    chart("wall-gauges").setOption({
      animation: animate,
      series: [
        gauge(text.resumption, d.resumption_rate, d.bands, "17%", radius),
        gauge(text.production, d.production_rate, d.bands, "50%", radius),
        gauge(text.composite, d.composite_index, d.bands, "83%", radius)
      ]
    }, true);
    chart("wall-trend").setOption({
      animation: animate,
      textStyle: { color: ink, fontSize: font(16) },
      legend: { top: 0, itemGap: px(10), itemWidth: px(25), itemHeight: px(14), textStyle: { color: ink, fontSize: font(18) } },
      grid: { left: px(64), right: px(24), top: px(44), bottom: px(36) },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.trend.days, axisLabel: { color: dim, fontSize: font(14) } },
      yAxis: { type: "value", axisLabel: { color: dim, fontSize: font(14), formatter: "{value}%" },
               splitLine: { lineStyle: { color: grid } } },
      series: [
        { name: text.resumption, type: "line", data: d.trend.resumption, lineStyle: { width: px(4) },
          showSymbol: false, itemStyle: { color: "#4cc2ff" } },
        { name: text.production, type: "line", data: d.trend.production, lineStyle: { width: px(4) },
          showSymbol: false, itemStyle: { color: "#3dd68c" } }
      ]
    }, true);
    var towns = d.townships.slice(0, 10);
    bars("wall-towns", towns.map(function (t) { return t.name; }),
         towns.map(function (t) { return { value: t.composite, itemStyle: { color: colour(t.composite, d.bands) } }; }));
    bars("wall-chains", d.chains.map(function (c) { return c.name; }),
         d.chains.map(function (c) { return { value: c.completeness, itemStyle: { color: "#4cc2ff" } }; }));
  }
  function warnings(rows) {
    var list = document.getElementById("wall-warning-list");
    list.textContent = "";
    if (!rows.length) {
      var none = document.createElement("li");
      none.textContent = text.none;
      list.appendChild(none);
    }
    rows.forEach(function (w) {
      var item = document.createElement("li");
      item.className = "band-" + w.band;
      var name = document.createElement("span");
      name.textContent = w.name;
      name.translate = false;  // an enterprise's registered name: data, shown as registered
      var ratio = document.createElement("b");
      ratio.textContent = w.ratio + "%";
      item.appendChild(name);
      item.appendChild(ratio);
      list.appendChild(item);
    });
  }
  function bars(id, names, values) {
    chart(id).setOption({
      animation: animate,
      grid: { left: px(180), right: px(72), top: px(8), bottom: px(8) },
      xAxis: { type: "value", show: false },
      // Every name is labelled (interval 0): on a small screen ECharts would otherwise skip some.
      yAxis: { type: "category", inverse: true, data: names,
               axisLabel: { color: ink, fontSize: font(18), interval: 0 },
               axisLine: { show: false }, axisTick: { show: false } },
      series: [{ type: "bar", data: values, barMaxWidth: px(22),
                 label: { show: true, position: "right", distance: px(5), color: ink, fontSize: font(18),
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
  function fit(tile) {
    // Shrinks the tile's type (--fit in wall.css) until its content fits: more programmes than
    // usual or long English names are shown whole in smaller type rather than cut off.
    var scale = 1;
    tile.style.setProperty("--fit", "1");
    while ((tile.scrollHeight > tile.clientHeight || tile.scrollWidth > tile.clientWidth) &&
           scale > 0.5) {
      scale = Math.round((scale - 0.05) * 100) / 100;
      tile.style.setProperty("--fit", String(scale));
    }
  }
  function fitAll() {
    document.querySelectorAll(".tile-figures, .tile-titles, .tile-warnings").forEach(fit);
  }
  function resized() {
    // The charts take their holders' new size, then are drawn again with type for that size;
    // the tiles' own type follows the screen in CSS and is only fitted again.
    Object.keys(charts).forEach(function (id) { charts[id].resize(); });
    animate = false;
    draw(last);
    animate = !still;
    fitAll();
    document.body.dataset.size = window.innerWidth + "x" + window.innerHeight;
  }
  function counted() {
    document.body.dataset.updates = String(Number(document.body.dataset.updates) + 1);
    document.getElementById("wall-status").textContent =
      text.live + " " + new Date().toLocaleTimeString(document.documentElement.lang);
  }

  district(JSON.parse(document.getElementById("wall-data").textContent));
  document.body.dataset.size = window.innerWidth + "x" + window.innerHeight;
  var pending = false;
  window.addEventListener("resize", function () {
    // At most once a frame: dragging a window's edge sends many resize events.
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; resized(); });
  });
  var source = new EventSource(document.body.dataset.live);
  source.addEventListener("district", function (e) { district(JSON.parse(e.data)); counted(); });
  source.addEventListener("live", function (e) {
    var live = JSON.parse(e.data);
    set("wall-devices", live.devices_online);
    set("wall-rate", live.rate.toFixed(1));
    fit(document.querySelector(".tile-figures"));
    counted();
  });
  source.onerror = function () {
    document.getElementById("wall-status").textContent = text.reconnecting;
  };
})();
