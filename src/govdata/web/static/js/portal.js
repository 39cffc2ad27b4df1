// GovData portal behaviour. The CSP forbids inline scripts, so everything lives here.
(function () {
  "use strict";

  function csrfToken() {
    return document.body ? document.body.getAttribute("data-csrf") || "" : "";
  }

  // htmx requests carry the session's CSRF token as a header.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // Forms marked data-confirm ask before they submit (disable, revoke, cancel).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Close the user menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.removeAttribute("open");
      }
    });
  });

  var palette = ["#1f5fbf", "#2f9e6e", "#d08a1a", "#c0262d", "#6d5bd0", "#2b9fb8", "#7a8699"];

  // Charts: <div class="chart" data-chart="bar|pie" data-source="id-of-json-script">.
  function initCharts(root) {
    if (typeof window.echarts === "undefined") {
      return;
    }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-source"));
      if (!source) {
        return;
      }
      var data = JSON.parse(source.textContent || "{}");
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var kind = el.getAttribute("data-chart");
      var text = { fontFamily: getComputedStyle(document.body).fontFamily, color: "#475467" };
      var option;
      if (kind === "pie") {
        option = {
          color: palette,
          textStyle: text,
          tooltip: { trigger: "item" },
          legend: { orient: "vertical", right: 0, top: "middle", textStyle: text },
          series: [{
            type: "pie",
            radius: ["45%", "70%"],
            center: ["35%", "50%"],
            label: { show: false },
            data: data.labels.map(function (label, i) { return { name: label, value: data.values[i] }; })
          }]
        };
      } else {
        option = {
          color: palette,
          textStyle: text,
          tooltip: { trigger: "axis" },
          grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
          xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 6 ? 30 : 0 } },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: data.values, barMaxWidth: 36, itemStyle: { borderRadius: [4, 4, 0, 0] } }]
        };
      }
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    initCharts(document);
  });
})();
