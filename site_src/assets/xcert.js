// Progressive enhancement only: every page reads fine without this file.
(function () {
  "use strict";
  var scriptUrl = document.currentScript ? document.currentScript.src : window.location.href;

  // Long lists (site_src/templates/_list.html): entries in <details> groups, filtered as
  // one types. While a filter is on, the groups with a match open and the others hide;
  // clearing it gives back the groups as they were. Text is compared as NFKC, lower case,
  // without white space (as the search page compares names).
  var fold = function (text) {
    return text.normalize("NFKC").toLowerCase().replace(/\s+/g, "");
  };
  var setupList = function (box, input, count, also) {
    var groups = Array.prototype.slice.call(box.querySelectorAll("details.xc-group"));
    var items = Array.prototype.slice.call(box.querySelectorAll(".xc-items > li"));
    var texts = items.map(function (li) { return fold(li.textContent); });
    var before = null;  // the groups' open state when a filter came on
    var apply = function () {
      var q = input ? fold(input.value) : "";
      var on = Boolean(q) || Boolean(also && also.active());
      var n = 0;
      items.forEach(function (li, i) {
        var ok = (!q || texts[i].indexOf(q) >= 0) && (!also || also.match(li));
        if (li.hidden === ok) li.hidden = !ok;
        if (ok) n += 1;
      });
      if (on && !before) before = groups.map(function (g) { return g.open; });
      groups.forEach(function (g, i) {
        var any = g.querySelector(".xc-items > li:not([hidden])") !== null;
        g.hidden = !any;
        if (on) g.open = any;
        else if (before) g.open = before[i];
      });
      if (!on) before = null;
      if (count) count.value = n + " / " + items.length;
    };
    var pending = false;
    var soon = function () {  // one pass per frame, however fast the typing
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; apply(); });
    };
    if (input) {
      input.addEventListener("input", soon);
      input.addEventListener("keydown", function (e) {
        if (e.key === "Escape" && input.value) { input.value = ""; apply(); }
      });
    }
    return apply;
  };

  // The catalogue: its name box and five selects filter together; the filtered view has
  // its own address (?q=…&field=…), to share or bookmark.
  var form = document.getElementById("xc-filters");
  var catalogue = document.getElementById("xc-catalogue");
  if (form && catalogue) {
    var want = {};
    var applyList = setupList(catalogue, form.elements.namedItem("q"), document.getElementById("xc-shown"), {
      active: function () { return Object.keys(want).length > 0; },
      match: function (li) {
        return Object.keys(want).every(function (key) {
          var have = li.getAttribute("data-" + key) || "";
          return key === "level" ? have.split(" ").indexOf(want[key]) >= 0 : have === want[key];
        });
      }
    });
    var remember = function () {  // the chosen values, and the address that shows them
      want = {};
      var params = new URLSearchParams(window.location.search);
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name) return;
        if (el.value && el.tagName === "SELECT") want[el.name] = el.value;
        if (el.value) params.set(el.name, el.value); else params.delete(el.name);
      });
      var query = params.toString();
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
    };
    var update = function () { remember(); applyList(); };
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      var el = form.elements.namedItem(key);
      if (el && (el.tagName === "SELECT" || el.tagName === "INPUT")) el.value = value;
    });
    form.addEventListener("change", update);
    form.addEventListener("input", function (e) { if (e.target.tagName === "INPUT") remember(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    update();
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-xc-list]"), function (box) {
    if (box === catalogue) return;
    setupList(box, box.querySelector(".xc-filter input"), box.querySelector(".xc-filter output"), null)();
  });

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
    var kindSelect = document.getElementById("xc-search-kind");
    var TYPES = {
      "证书": "Certificate", "培训评价组织": "Organization", "等级标准": "Standard",
      "试点院校": "College", "考核站点": "Assessment site", "公告": "Notice"
    };
    var engine = null;
    var shards = {};
    var results = [];  // {data: …} for an exact-name hit, else a Pagefind result
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
    // Exact names (xcert/site/lookup.py): the query's first two characters name one small
    // file of every page name starting with them; equal names first, then names that start
    // with the query, shortest first. Compared as NFKC, lower case, without white space.
    var normalize = function (text) {
      return text.normalize("NFKC").toLowerCase().replace(/\s+/g, "");
    };
    var shardOf = function (norm) {
      return Array.from(norm).slice(0, 2).map(function (ch) {
        return ch.codePointAt(0).toString(16);
      }).join("-");
    };
    var keys = null;
    var named = function (query, kind) {
      var norm = normalize(query);
      if (!norm) return Promise.resolve([]);
      var key = shardOf(norm);
      if (!keys) {
        keys = fetch(new URL("lookup/keys.json", root).href).then(function (r) {
          return r.ok ? r.json() : [];
        }).catch(function () { return []; });
      }
      return keys.then(function (list) {
        return list.indexOf(key) >= 0 ? rows(key) : [];
      }).then(function (found) {
        var exact = [], prefix = [];
        found.forEach(function (row) {
          if (kind && row[3] !== kind) return;
          if (row[0] === norm) exact.push(row);
          else if (prefix.length < 10 && row[0].lastIndexOf(norm, 0) === 0) prefix.push(row);
        });
        return exact.concat(prefix).map(function (row) {
          return {
            url: root.pathname + row[2],
            data: { url: root.pathname + row[2], meta: { title: row[1], summary: row[4] }, filters: { type: [row[3]] } }
          };
        });
      });
    };
    var rows = function (key) {
      if (!shards[key]) {
        shards[key] = fetch(new URL("lookup/" + key + ".json", root).href).then(function (r) {
          return r.ok ? r.json() : [];
        }).catch(function () { return []; });
      }
      return shards[key];
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
      return Promise.all(batch.map(function (r) { return r.pf ? r.pf.data() : r.data; })).then(function (datas) {
        if (asked !== current) return;
        datas.forEach(function (data, i) {
          if (!(batch[i].pf && batch[i].seen[data.url])) render(data);  // listed by name already
        });
        moreButton.hidden = shown >= results.length;
      });
    };
    var run = function (query) {
      var asked = ++current;
      query = query.trim();
      var kind = kindSelect ? kindSelect.value : "";
      var url = new URL(window.location.href);
      if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
      if (kind) url.searchParams.set("kind", kind); else url.searchParams.delete("kind");
      window.history.replaceState(null, "", url.href);
      list.textContent = "";
      moreButton.hidden = true;
      results = [];
      shown = 0;
      if (!query) { status.textContent = ""; return; }
      status.textContent = "搜索中… Searching…";
      var byName = named(query, kind);
      var byText = pagefind().then(function (pf) {
        return pf.search(query, kind ? { filters: { type: kind } } : {});
      });
      Promise.all([byName, byText]).then(function (both) {
        if (asked !== current) return;
        var hits = both[0];
        var seen = {};
        hits.forEach(function (h) { seen[h.url] = true; });
        // Pagefind's results carry no URL until their data loads: those of the name hits
        // are dropped as they load (see showMore), so a page is listed once.
        results = hits.concat(both[1].results.map(function (r) { return { pf: r, seen: seen }; }));
        var n = both[1].results.length;
        status.textContent = results.length
          ? (hits.length ? "名称相符 " + hits.length + " 个，" : "") + "全文 " + n + " 个结果 · " +
            (hits.length ? hits.length + " by name, " : "") + n + " in full text"
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
    moreButton.addEventListener("click", function () {
      var first = list.querySelectorAll(".xc-result-link").length;
      showMore().then(function () {
        // the button hides itself: the focus goes on to the first new result, not to <body>
        var links = list.querySelectorAll(".xc-result-link");
        if (links[first]) links[first].focus();
      });
    });
    var params = new URLSearchParams(window.location.search);
    var q = params.get("q");
    if (kindSelect) {
      if (params.get("kind")) kindSelect.value = params.get("kind");
      kindSelect.addEventListener("change", function () { if (input.value.trim()) run(input.value); });
    }
    if (q) {
      input.value = q;
      run(q);
    }
  }

  // A table wider than a phone scrolls sideways inside the page: it takes the keyboard
  // focus then (arrow keys scroll it), and only then (no extra Tab stop on a wide screen).
  var tables = document.querySelectorAll(".md-typeset table");
  var focusable = function () {
    Array.prototype.forEach.call(tables, function (t) {
      if (t.scrollWidth > t.clientWidth + 1) t.setAttribute("tabindex", "0");
      else t.removeAttribute("tabindex");
    });
  };
  if (tables.length) {
    focusable();
    window.addEventListener("resize", focusable);
  }
})();
