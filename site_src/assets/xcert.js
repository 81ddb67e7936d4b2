// Progressive enhancement only: every page reads fine without this file.
(function () {
  "use strict";

  // Catalogue filters: hide rows that do not match every chosen value.
  var form = document.getElementById("xc-filters");
  var table = document.getElementById("xc-catalogue");
  if (form && table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = document.getElementById("xc-shown");
    var apply = function () {
      var want = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value) want[el.name] = el.value;
      });
      var n = 0;
      rows.forEach(function (row) {
        var ok = Object.keys(want).every(function (key) {
          var have = row.getAttribute("data-" + key) || "";
          return key === "level" ? have.split(" ").indexOf(want[key]) >= 0 : have === want[key];
        });
        row.hidden = !ok;
        if (ok) n += 1;
      });
      shown.textContent = n + " / " + rows.length;
    };
    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }

  // Search page: Pagefind UI, served from this site; ?q= runs a search at once.
  var box = document.getElementById("xc-search-ui");
  if (box && window.PagefindUI) {
    var ui = new window.PagefindUI({
      element: "#xc-search-ui",
      showImages: false,
      showSubResults: true,
      translations: { placeholder: "搜索证书、组织、院校…", zero_results: "没有找到 [SEARCH_TERM]" },
    });
    var q = new URLSearchParams(window.location.search).get("q");
    if (q) ui.triggerSearch(q);
  }
})();
