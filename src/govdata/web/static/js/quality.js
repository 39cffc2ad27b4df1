// Quality pages: the six-dimension radar, the score trend, and the rule form that shows only
// the chosen kind's parameters. The CSP forbids inline scripts, so this lives here.
(function () {
  "use strict";

  var palette = ["#1f5fbf", "#2f9e6e", "#d08a1a", "#c0262d", "#6d5bd0", "#2b9fb8", "#7a8699"];

  function radar(data, text) {
    return {
      color: palette,
      textStyle: text,
      tooltip: { trigger: "item" },
      legend: { bottom: 0, type: "scroll", textStyle: text },
      radar: {
        radius: "62%",
        center: ["50%", "46%"],
        indicator: data.indicators.map(function (name) { return { name: name, max: 100 }; })
      },
      series: [{
        type: "radar",
        data: data.series.map(function (s) {
          return { name: s.name, value: s.values.map(function (v) { return v === null ? 0 : v; }) };
        })
      }]
    };
  }

  function line(data, text) {
    return {
      color: palette,
      textStyle: text,
      tooltip: { trigger: "axis" },
      legend: { top: 0, type: "scroll", textStyle: text },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, max: 100 },
      series: data.series.map(function (s, i) {
        return {
          name: s.name,
          type: "line",
          data: s.values,
          connectNulls: true,
          lineStyle: { width: i === 0 ? 3 : 1.5 },
          symbolSize: i === 0 ? 7 : 4
        };
      })
    };
  }

  function initCharts() {
    if (typeof window.echarts === "undefined") {
      return;
    }
    document.querySelectorAll("[data-quality-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-source"));
      if (!source) {
        return;
      }
      var data = JSON.parse(source.textContent || "{}");
      var text = { fontFamily: getComputedStyle(document.body).fontFamily, color: "#475467" };
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var kind = el.getAttribute("data-quality-chart");
      chart.setOption(kind === "radar" ? radar(data, text) : line(data, text));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  // The add-rule form: the chosen kind's parameter fieldset only; no item for table rules.
  function initRuleForm() {
    document.querySelectorAll("[data-kind-select]").forEach(function (select) {
      var form = select.form;
      var tableKinds = (form.getAttribute("data-table-kinds") || "").split(",");
      var item = form.querySelector("select[name=item]");
      function show() {
        form.querySelectorAll("fieldset.rule-params").forEach(function (set) {
          var on = set.getAttribute("data-kind") === select.value;
          set.hidden = !on;
          set.disabled = !on;
        });
        if (item) {
          var table = tableKinds.indexOf(select.value) >= 0;
          item.disabled = table;
          if (table) {
            item.value = "";
          }
        }
      }
      select.addEventListener("change", show);
      show();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initCharts();
    initRuleForm();
  });
})();
