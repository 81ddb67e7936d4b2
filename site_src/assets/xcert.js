// Progressive enhancement only: every page reads fine without this file.
(function () {
  "use strict";
  var scriptUrl = document.currentScript ? document.currentScript.src : window.location.href;

  // Catalogue filters: hide rows that do not match every chosen value.
  var form = document.getElementById("xc-filters");
  var table = document.getElementById("xc-catalogue");
  if (form && table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = document.getElementById("xc-shown");
    var apply = function () {
      var want = {};
      var params = new URLSearchParams(window.location.search);
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name) return;
        if (el.value) want[el.name] = el.value;
        if (el.value) params.set(el.name, el.value); else params.delete(el.name);
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
      // the filtered view has its own address, to share or bookmark
      var query = params.toString();
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
    };
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      var el = form.elements.namedItem(key);
      if (el && el.tagName === "SELECT") el.value = value;
    });
    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }

  // Search page: a small UI over Pagefind's own API (pagefind.js, served from this site).
  // Registry text reaches the page only through textContent; Pagefind's excerpts are
  // parsed inertly and only their <mark> highlights are kept.
  var searchForm = document.getElementById("xc-search-form");
  if (searchForm && window.URL && window.DOMParser) {
    var root = new URL("../", scriptUrl);  // this file is <root>/assets/xcert.js
    var input = document.getElementById("xc-search-q");
    var status = document.getElementById("xc-search-status");
    var list = document.getElementById("xc-search-results");
    var moreButton = document.getElementById("xc-search-more");
    var TYPES = {
      "证书": "Certificate", "培训评价组织": "Organization", "等级标准": "Standard",
      "试点院校": "College", "公告": "Notice"
    };
    var engine = null;
    var results = [];
    var shown = 0;
    var current = 0;
    var timer = null;

    var pagefind = function () {
      if (!engine) {
        engine = import(new URL("pagefind/pagefind.js", root).href).then(function (pf) {
          return pf.options({ baseUrl: root.pathname, excerptLength: 30 }).then(function () { return pf; });
        });
      }
      return engine;
    };
    var highlighted = function (html, into) {
      var body = new DOMParser().parseFromString("<body>" + html, "text/html").body;
      Array.prototype.forEach.call(body.childNodes, function (node) {
        if (node.nodeName === "MARK") {
          var mark = document.createElement("mark");
          mark.textContent = node.textContent;
          into.appendChild(mark);
        } else {
          into.appendChild(document.createTextNode(node.textContent));
        }
      });
    };
    var render = function (data) {
      var item = document.createElement("li");
      item.className = "xc-result";
      var link = document.createElement("a");
      link.className = "xc-result-link";
      link.href = data.url;
      link.textContent = (data.meta && data.meta.title) || data.url;
      item.appendChild(link);
      var type = data.filters && data.filters.type && data.filters.type[0];
      if (type) {
        var badge = document.createElement("span");
        badge.className = "xc-result-type";
        badge.textContent = type + (TYPES[type] ? " " + TYPES[type] : "");
        item.appendChild(badge);
      }
      var text = document.createElement("p");
      text.className = "xc-result-text";
      if (data.meta && data.meta.summary) text.textContent = data.meta.summary;
      else highlighted(data.excerpt || "", text);
      item.appendChild(text);
      list.appendChild(item);
    };
    var showMore = function () {
      var batch = results.slice(shown, shown + 10);
      var asked = current;
      shown += batch.length;
      moreButton.hidden = true;
      return Promise.all(batch.map(function (r) { return r.data(); })).then(function (datas) {
        if (asked !== current) return;
        datas.forEach(render);
        moreButton.hidden = shown >= results.length;
      });
    };
    var run = function (query) {
      var asked = ++current;
      query = query.trim();
      var url = new URL(window.location.href);
      if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
      window.history.replaceState(null, "", url.href);
      list.textContent = "";
      moreButton.hidden = true;
      results = [];
      shown = 0;
      if (!query) { status.textContent = ""; return; }
      status.textContent = "搜索中… Searching…";
      pagefind().then(function (pf) { return pf.search(query); }).then(function (found) {
        if (asked !== current) return;
        results = found.results;
        status.textContent = results.length
          ? "找到 " + results.length + " 个结果 · " + results.length + " results"
          : "没有找到“" + query + "” · No results";
        return showMore();
      }).catch(function () {
        if (asked === current) status.textContent = "搜索暂时不可用 · Search is unavailable";
      });
    };
    searchForm.addEventListener("submit", function (e) {
      e.preventDefault();
      run(input.value);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { run(input.value); }, 250);
    });
    moreButton.addEventListener("click", showMore);
    var q = new URLSearchParams(window.location.search).get("q");
    if (q) {
      input.value = q;
      run(q);
    }
  }
})();
