// Open-data usage charts: views, downloads and API calls by month (lines) and by publisher
// (grouped bars). The CSP forbids inline scripts, so this lives here; the same numbers are
// in the tables below each chart for readers who cannot see it.
(function () {
  "use strict";

  var palette = ["#1f5fbf", "#2f9e6e", "#d08a1a"];

  function option(kind, data, text) {
    var series = data.series.map(function (s) {
      return kind === "line"
        ? { name: s.name, type: "line", data: s.values, symbolSize: 6 }
        : { name: s.name, type: "bar", data: s.values, barMaxWidth: 24 };
    });
    return {
      color: palette,
      textStyle: text,
      tooltip: { trigger: "axis" },
      legend: { top: 0, textStyle: text },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: {
        type: "category",
        data: data.labels,
        axisLabel: { hideOverlap: kind === "line", interval: kind === "line" ? "auto" : 0, rotate: kind === "bar" && data.labels.length > 5 ? 30 : 0 }
      },
      yAxis: { type: "value", minInterval: 1 },
      series: series
    };
  }

  function initCharts() {
    if (typeof window.echarts === "undefined") {
      return;
    }
    document.querySelectorAll("[data-od-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-source"));
      if (!source) {
        return;
      }
      var data = JSON.parse(source.textContent || "{}");
      var text = { fontFamily: getComputedStyle(document.body).fontFamily, color: "#475467" };
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(option(el.getAttribute("data-od-chart"), data, text));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", initCharts);
})();
