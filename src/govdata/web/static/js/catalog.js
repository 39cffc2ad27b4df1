// Catalog pages: the items grid of the entry editor and self-submitting filters.
// The CSP forbids inline scripts, so the templates only carry data-* attributes.
(function () {
  "use strict";

  function renumber(body) {
    var n = 0;
    body.querySelectorAll("tr.item-row").forEach(function (row) {
      n += 1;
      var cell = row.querySelector(".row-no");
      if (cell) {
        cell.textContent = String(n);
      }
    });
  }

  // <button data-add-row="BODY-ID"> appends a copy of <template id="BODY-ID-template">, whose
  // field names carry __i__ where the row index goes. Indices only grow, so removing a row
  // never makes two rows share a name; the server keeps rows in on-screen order.
  function addRow(button) {
    var id = button.getAttribute("data-add-row");
    var body = document.getElementById(id);
    var template = document.getElementById(id + "-template");
    if (!body || !template) {
      return;
    }
    var index = parseInt(body.getAttribute("data-next-index") || "0", 10);
    body.setAttribute("data-next-index", String(index + 1));
    var holder = document.createElement("tbody");
    holder.innerHTML = template.innerHTML.split("__i__").join(String(index));
    var row = holder.querySelector("tr.item-row");
    if (!row) {
      return;
    }
    body.appendChild(row);
    renumber(body);
    var first = row.querySelector("input[type=text]");
    if (first) {
      first.focus();
    }
  }

  function removeRow(button) {
    var row = button.closest("tr.item-row");
    if (!row) {
      return;
    }
    var body = row.parentNode;
    var note = row.nextElementSibling;
    if (note && note.classList.contains("row-note")) {
      note.remove();
    }
    row.remove();
    renumber(body);
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) {
      return;
    }
    var add = target.closest("[data-add-row]");
    if (add) {
      event.preventDefault();
      addRow(add);
      return;
    }
    var remove = target.closest("[data-remove-row]");
    if (remove) {
      event.preventDefault();
      removeRow(remove);
    }
  });

  // <select data-autosubmit> submits its form on change (the search page's sort order).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      if (el.form.requestSubmit) {
        el.form.requestSubmit();
      } else {
        el.form.submit();
      }
    }
  });
})();
