// The lineage graph of an entry (templates/governance/lineage.html): an ECharts "graph"
// series with the layered layout the server computed (x = layer, y = row in the layer).
// The CSP forbids inline scripts, so the page loads this file.
(function () {
  "use strict";

  var palette = ["#2b9fb8", "#7a8699", "#1f5fbf", "#1f5fbf", "#2f9e6e", "#c0262d", "#6d5bd0", "#d08a1a", "#d08a1a", "#2b9fb8"];
  var toneColour = { ok: "#2f9e6e", warn: "#d08a1a", bad: "#c0262d", neutral: "#d0d5dd" };

  function short(text, n) {
    text = String(text || "");
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-lineage"));
    if (!source || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent || "{}");
    var text = { fontFamily: getComputedStyle(document.body).fontFamily, color: "#344054" };
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var nodes = data.nodes.map(function (n) {
      return {
        id: n.id,
        name: n.id,
        x: n.x,
        y: n.y,
        category: n.category,
        symbol: n.anchor ? "roundRect" : "circle",
        symbolSize: n.anchor ? [150, 44] : 22,
        itemStyle: { borderColor: toneColour[n.tone] || toneColour.neutral, borderWidth: 3 },
        label: {
          show: true,
          position: n.anchor ? "inside" : "bottom",
          color: n.anchor ? "#fff" : "#344054",
          formatter: short(n.name, 16) + (n.sublabel && !n.anchor ? "\n{s|" + short(n.sublabel, 22) + "}" : ""),
          lineHeight: 16,
          rich: { s: { color: "#7a8699", fontSize: 11, lineHeight: 16 } }
        },
        tooltip: {
          formatter: function () {
            var esc = window.echarts.format.encodeHTML;
            return "<b>" + esc(n.kind) + "</b><br>" + esc(n.name) + (n.sublabel ? "<br>" + esc(n.sublabel) : "");
          }
        },
        href: n.href
      };
    });
    chart.setOption({
      color: palette,
      textStyle: text,
      tooltip: {},
      legend: { data: data.categories.map(function (c) { return c.name; }), top: 0, textStyle: text },
      series: [{
        type: "graph",
        layout: "none",
        roam: true,
        // Symbols keep their size in pixels whatever the fit or zoom of the layout.
        nodeScaleRatio: 0,
        // Only the top margin is set: the view then keeps the layout's aspect ratio.
        top: 56,
        categories: data.categories,
        data: nodes,
        links: data.links.map(function (l) {
          return { source: l.source, target: l.target, value: l.label, label: { show: !!l.label, formatter: short(l.label, 10), fontSize: 11, color: "#7a8699", rotate: 0 } };
        }),
        edgeSymbol: ["none", "arrow"],
        edgeSymbolSize: 8,
        lineStyle: { color: "#98a2b3", width: 1.5, curveness: 0.08 },
        emphasis: { focus: "adjacency" }
      }]
    });
    chart.on("click", function (params) {
      if (params.dataType === "node" && params.data && params.data.href) {
        window.location.href = params.data.href;
      }
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-lineage]").forEach(draw);
  });
})();
