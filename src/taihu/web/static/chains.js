// The chain map: segments left to right by stage, coloured by gap status, sized by local count.
(function () {
  "use strict";
  function chainMap() {
    var holder = document.getElementById("chain-chart");
    var source = document.getElementById("chain-data");
    if (!holder || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(holder);
    chart.setOption({
      animation: !window.matchMedia("(prefers-reduced-motion: reduce)").matches,
      tooltip: {
        formatter: function (p) {
          if (p.dataType !== "node") { return ""; }
          return p.data.name + "<br>" + p.data.status + " · " + data.local + ": " + p.data.value;
        }
      },
      series: [{
        type: "graph", layout: "none", roam: true,
        label: { show: true, position: "bottom" },
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 10,
        lineStyle: { width: 2, color: "#8a9bb0", curveness: 0.1 },
        data: data.nodes, links: data.links
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", chainMap);
  } else {
    chainMap();
  }
})();
