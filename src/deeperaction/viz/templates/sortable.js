/* Sortable tables without dependencies: click a header to sort by that column (again to reverse).
   Cells may carry data-v (a number, or "" for missing); missing values always sort last. */
(function () {
  "use strict";
  function key(row, col) {
    var cell = row.cells[col];
    if (!cell) { return null; }
    var v = cell.getAttribute("data-v");
    if (v !== null) { return v === "" ? null : parseFloat(v); }
    return cell.textContent.trim().toLowerCase();
  }
  function compare(a, b, asc) {
    if (a === null && b === null) { return 0; }
    if (a === null) { return 1; }
    if (b === null) { return -1; }
    var r = (typeof a === "number" && typeof b === "number") ? a - b : String(a).localeCompare(String(b));
    return asc ? r : -r;
  }
  function sortBy(table, col, asc) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) { return [key(r, col), i, r]; });
    keyed.sort(function (x, y) { return compare(x[0], y[0], asc) || x[1] - y[1]; });
    keyed.forEach(function (k) { body.appendChild(k[2]); });
  }
  function init(table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.setAttribute("tabindex", "0");
      th.title = "sort";
      var go = function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        sortBy(table, col, asc);
      };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { go(); } });
    });
  }
  function filter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.style.display = r.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), init);
  Array.prototype.forEach.call(document.querySelectorAll("input.filter"), filter);
}());
