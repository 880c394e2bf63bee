"use strict";
// Draws the trim-telemetry report from the JSON payload embedded in the page. No libraries, no
// network: every plot is an inline SVG built here.
(function () {
  var errors = [];
  window.addEventListener("error", function (event) {
    errors.push(String(event.message));
    document.body.setAttribute("data-errors", errors.join(" | "));
  });

  var data = JSON.parse(document.getElementById("telemetry-data").textContent);
  var root = document.getElementById("report");
  var COLORS = { passed: "#1a7f37", xpassed: "#4ac26b", failed: "#cf222e", error: "#bc4c00",
    skipped: "#8c959f", xfailed: "#afb8c1" };
  var OUTCOMES = ["passed", "failed", "error", "skipped", "xfailed", "xpassed"];

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function el(tag, attrs, html) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (html !== undefined) node.innerHTML = html;
    return node;
  }
  function fmt(n, digits) {
    if (n === null || n === undefined) return "?";
    return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }
  function clip(text, n) { text = String(text); return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  // Test ids share their long beginnings (module, class): a label keeps the end, the test's name.
  function tail(text, n) { text = String(text); return text.length > n ? "…" + text.slice(text.length - n + 1) : text; }
  function section(title, id) {
    var h = el("h2", { id: id }, esc(title));
    root.appendChild(h);
    return h;
  }
  function plot(parent, title, svg, id) {
    var box = el("div", { "class": "plot", "data-plot": id });
    box.innerHTML = "<h3>" + esc(title) + "</h3>" + svg;
    parent.appendChild(box);
    return box;
  }
  function empty(text) { return '<div class="empty">' + esc(text) + "</div>"; }

  // Vertical bars: [{label, value, color, title}]
  function columns(items, unit) {
    if (!items.length) return empty("nothing to draw");
    var W = 520, H = 220, left = 40, bottom = 40, top = 10;
    var max = Math.max.apply(null, items.map(function (i) { return i.value; }).concat([1]));
    var bw = (W - left - 10) / items.length;
    var out = ['<svg viewBox="0 0 ' + W + " " + H + '" role="img">'];
    out.push('<line class="axis" x1="' + left + '" y1="' + (H - bottom) + '" x2="' + W + '" y2="' + (H - bottom) + '"/>');
    out.push('<text x="' + (left - 4) + '" y="' + (top + 8) + '" text-anchor="end">' + fmt(max, 0) + "</text>");
    items.forEach(function (item, i) {
      var h = (H - bottom - top) * item.value / max;
      var x = left + i * bw + 2, y = H - bottom - h;
      out.push('<rect x="' + x.toFixed(1) + '" y="' + y.toFixed(1) + '" width="' + Math.max(bw - 4, 1).toFixed(1) +
        '" height="' + h.toFixed(1) + '" fill="' + (item.color || "#0969da") + '"><title>' +
        esc((item.title || item.label) + ": " + fmt(item.value, 0) + (unit ? " " + unit : "")) + "</title></rect>");
      if (item.value) out.push('<text x="' + (x + bw / 2 - 2).toFixed(1) + '" y="' + (y - 3).toFixed(1) + '" text-anchor="middle">' + fmt(item.value, 0) + "</text>");
      out.push('<text x="' + (x + bw / 2 - 2).toFixed(1) + '" y="' + (H - bottom + 14) + '" text-anchor="middle">' + esc(item.label) + "</text>");
    });
    out.push("</svg>");
    return out.join("");
  }

  // Horizontal bars with up to two segments: [{label, a, b, title}]
  function bars(items, names, colors) {
    if (!items.length) return empty("nothing to draw");
    var W = 520, row = 20, left = 230, H = items.length * row + 24;
    var max = Math.max.apply(null, items.map(function (i) { return Math.abs(i.a) + Math.abs(i.b || 0); }).concat([1]));
    var scale = (W - left - 50) / max;
    var out = ['<svg viewBox="0 0 ' + W + " " + H + '" role="img">'];
    items.forEach(function (item, i) {
      var y = i * row + 4, wa = Math.abs(item.a) * scale, wb = Math.abs(item.b || 0) * scale;
      out.push('<text x="' + (left - 6) + '" y="' + (y + 13) + '" text-anchor="end"><title>' + esc(item.title || item.label) + "</title>" + esc(tail(item.label, 38)) + "</text>");
      out.push('<rect x="' + left + '" y="' + y + '" width="' + wa.toFixed(1) + '" height="' + (row - 6) + '" fill="' + colors[0] + '"><title>' + esc(names[0] + ": " + item.a) + "</title></rect>");
      if (wb) out.push('<rect x="' + (left + wa).toFixed(1) + '" y="' + y + '" width="' + wb.toFixed(1) + '" height="' + (row - 6) + '" fill="' + colors[1] + '"><title>' + esc(names[1] + ": " + item.b) + "</title></rect>");
      out.push('<text x="' + (left + wa + wb + 4).toFixed(1) + '" y="' + (y + 13) + '">' + fmt(item.a + (item.b || 0), 0) + "</text>");
    });
    var legendY = H - 6;
    names.forEach(function (name, i) {
      if (!name) return;
      out.push('<rect x="' + (left + i * 120) + '" y="' + (legendY - 9) + '" width="10" height="10" fill="' + colors[i] + '"/>');
      out.push('<text x="' + (left + i * 120 + 14) + '" y="' + legendY + '">' + esc(name) + "</text>");
    });
    out.push("</svg>");
    return out.join("");
  }

  // Diverging bars around zero: [{label, value}]
  function diverging(items, unit) {
    if (!items.length) return empty("no changes");
    var W = 520, row = 20, left = 230, H = items.length * row + 8, mid = left + (W - left) / 2;
    var max = Math.max.apply(null, items.map(function (i) { return Math.abs(i.value); }).concat([1]));
    var scale = ((W - left) / 2 - 48) / max;
    var out = ['<svg viewBox="0 0 ' + W + " " + H + '" role="img">', '<line class="axis" x1="' + mid + '" y1="0" x2="' + mid + '" y2="' + H + '"/>'];
    items.forEach(function (item, i) {
      var y = i * row + 4, w = Math.abs(item.value) * scale, x = item.value < 0 ? mid - w : mid;
      out.push('<text x="' + (left - 6) + '" y="' + (y + 13) + '" text-anchor="end"><title>' + esc(item.label) + "</title>" + esc(tail(item.label, 38)) + "</text>");
      out.push('<rect x="' + x.toFixed(1) + '" y="' + y + '" width="' + w.toFixed(1) + '" height="' + (row - 6) + '" fill="' + (item.value > 0 ? "#cf222e" : "#1a7f37") + '"><title>' + esc(item.label + ": " + (item.value > 0 ? "+" : "") + item.value + " " + unit) + "</title></rect>");
      out.push('<text x="' + (item.value < 0 ? x - 4 : x + w + 4).toFixed(1) + '" y="' + (y + 13) + '" text-anchor="' + (item.value < 0 ? "end" : "start") + '">' + (item.value > 0 ? "+" : "") + fmt(item.value, 1) + "</text>");
    });
    out.push("</svg>");
    return out.join("");
  }

  function histogram(values, edges, labels, color) {
    var counts = edges.map(function () { return 0; });
    values.forEach(function (v) {
      var i = edges.length - 1;
      while (i > 0 && v < edges[i]) i--;
      counts[i]++;
    });
    return columns(counts.map(function (c, i) { return { label: labels[i], value: c, color: color }; }), "tests");
  }

  // A sortable, filterable table. columns: [{key, title, num, render}], rows: objects.
  function table(parent, columnsSpec, rows, options) {
    options = options || {};
    var state = { key: options.sort || columnsSpec[0].key, desc: options.desc !== false, text: "", outcome: "" };
    if (options.link) {
      // The page's address can carry the table's state: report.html#q=orders&sort=queries&order=asc
      var params = new URLSearchParams(location.hash.slice(1));
      if (params.get("q")) state.text = params.get("q");
      if (params.get("outcome")) state.outcome = params.get("outcome");
      if (columnsSpec.some(function (c) { return c.key === params.get("sort"); })) state.key = params.get("sort");
      if (params.get("order")) state.desc = params.get("order") !== "asc";
    }
    var controls = el("div", { "class": "controls" });
    var input = el("input", { type: "search", placeholder: "filter…", "aria-label": "filter" });
    input.value = state.text;
    controls.appendChild(input);
    var select = null;
    if (options.outcomes) {
      select = el("select", { "aria-label": "outcome" }, '<option value="">every outcome</option>' +
        OUTCOMES.map(function (o) { return '<option value="' + o + '">' + o + "</option>"; }).join(""));
      select.value = state.outcome;
      controls.appendChild(select);
    }
    var count = el("span", { "class": "muted" });
    controls.appendChild(count);
    var wrap = el("div", { "class": "scroll" });
    var tableEl = el("table", { "data-table": options.name || "" });
    wrap.appendChild(tableEl);
    parent.appendChild(controls);
    parent.appendChild(wrap);
    var limit = options.limit || 1000;

    function draw() {
      var text = state.text.toLowerCase();
      var shown = rows.filter(function (r) {
        if (state.outcome && r.outcome !== state.outcome) return false;
        if (!text) return true;
        return columnsSpec.some(function (c) { return String(r[c.key]).toLowerCase().indexOf(text) >= 0; });
      });
      var key = state.key, sign = state.desc ? -1 : 1;
      shown.sort(function (a, b) {
        var x = a[key], y = b[key];
        return (x < y ? -1 : x > y ? 1 : 0) * sign;
      });
      var head = "<thead><tr>" + columnsSpec.map(function (c) {
        var cls = (c.num ? "num " : "") + (c.key === key ? (state.desc ? "sorted-desc" : "sorted-asc") : "");
        return '<th data-key="' + c.key + '" class="' + cls + '">' + esc(c.title) + "</th>";
      }).join("") + "</tr></thead>";
      var body = shown.slice(0, limit).map(function (r) {
        return '<tr data-id="' + esc(r.id === undefined ? "" : r.id) + '">' + columnsSpec.map(function (c) {
          var value = c.render ? c.render(r) : esc(r[c.key]);
          return '<td class="' + (c.num ? "num" : "") + '">' + value + "</td>";
        }).join("") + "</tr>";
      }).join("");
      tableEl.innerHTML = head + "<tbody>" + body + "</tbody>";
      count.textContent = shown.length + " of " + rows.length + " rows" + (shown.length > limit ? ", first " + limit + " shown" : "");
    }
    tableEl.addEventListener("click", function (event) {
      var th = event.target.closest("th");
      if (!th) return;
      var key = th.getAttribute("data-key");
      state.desc = state.key === key ? !state.desc : true;
      state.key = key;
      draw();
    });
    input.addEventListener("input", function () { state.text = input.value; draw(); });
    if (select) select.addEventListener("change", function () { state.outcome = select.value; draw(); });
    draw();
  }

  var s = data.summary, t = s.totals;
  var tests = data.tests.map(function (r) {
    var o = {};
    data.columns.forEach(function (c, i) { o[c] = r[i]; });
    return o;
  });

  root.innerHTML = "";
  root.appendChild(el("h1", {}, esc(data.title)));
  root.appendChild(el("div", { "class": "muted" }, esc(s.source)));
  var cards = el("div", { "class": "cards", id: "totals" });
  [["tests", t.tests], ["passed", t.passed], ["failed", t.failed], ["error", t.error],
    ["skipped", t.skipped + t.xfailed], ["wall time (s)", t.wall_time_ms === null ? "?" : fmt(t.wall_time_ms / 1000, 2)],
    ["summed test time (s)", fmt(t.test_time_ms / 1000, 2)], ["queries", t.db_query_count],
    ["repeated", t.db_duplicate_count], ["real network calls", t.net_request_count]].forEach(function (c) {
    cards.appendChild(el("div", { "class": "card" }, "<b>" + esc(fmt(c[1], 2)) + "</b>" + esc(c[0])));
  });
  root.appendChild(cards);

  section("Where the time and the queries go", "plots");
  var grid = el("div", { "class": "grid" });
  root.appendChild(grid);
  var msEdges = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
  var msLabels = ["<1", "1", "2", "5", "10", "20", "50", "100", "200", "500", "1s", "2s", "5s", "≥10s"];
  plot(grid, "Duration distribution (tests per bin, ms)", histogram(tests.map(function (r) { return r.ms; }), msEdges, msLabels, "#0969da"), "durations");
  var qEdges = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
  var qLabels = ["0", "1", "2-3", "4-7", "8-15", "16-31", "32-63", "64-127", "128-255", "256-511", "≥512"];
  plot(grid, "Queries per test (tests per bin)", histogram(tests.map(function (r) { return r.queries; }), qEdges, qLabels, "#d4a72c"), "queries");
  var offenders = tests.filter(function (r) { return r.queries > 0; })
    .sort(function (a, b) { return b.queries - a.queries || b.repeated - a.repeated; }).slice(0, 15);
  plot(grid, "Top offenders: most queries", bars(offenders.map(function (r) {
    return { label: r.id, a: r.queries - r.repeated, b: r.repeated };
  }), ["distinct", "repeated"], ["#0969da", "#d4a72c"]), "offenders");
  plot(grid, "Slowest tests (ms)", bars(s.slowest.slice(0, 15).map(function (r) {
    return { label: r.id, a: r.test_duration_ms };
  }), ["ms"], ["#8250df"]), "slowest");
  var outcomeItems = OUTCOMES.map(function (o) { return { label: o, value: t[o], color: COLORS[o] }; });
  plot(grid, "Outcomes", columns(outcomeItems, "tests"), "outcomes");
  plot(grid, "Network calls by host", bars(data.hosts.map(function (h) {
    return { label: h.host, a: h.calls - h.failed, b: h.failed };
  }), ["answered", "failed or ≥ 400"], ["#8250df", "#cf222e"]), "network");

  section("N+1 suspects", "n-plus-one");
  var suspectBox = el("div", { "class": "grid" });
  root.appendChild(suspectBox);
  plot(suspectBox, "Repeated statements (executions in one test)", bars(s.n_plus_one.slice(0, 15).map(function (q) {
    return { label: q.id, a: q.count, title: q.id + "\n" + q.sql };
  }), ["executions"], ["#d4a72c"]), "suspects");
  var suspects = el("div");
  root.appendChild(suspects);
  if (s.n_plus_one.length) {
    table(suspects, [
      { key: "count", title: "times", num: true },
      { key: "id", title: "test" },
      { key: "sql", title: "statement", render: function (r) { return "<code>" + esc(clip(r.sql, 400)) + "</code>"; } },
      { key: "total_duration_ms", title: "ms", num: true }
    ], s.n_plus_one, { sort: "count", name: "suspects" });
  } else suspects.innerHTML = empty("no statement ran 3 or more times in one test");

  if (data.changes) {
    var ch = data.changes;
    section("Changes from " + ch.old + " to " + ch.new, "changes");
    root.appendChild(el("div", { "class": "muted" }, esc(ch.changed.length + " tests changed, " + ch.added.length + " added, " + ch.removed.length + " removed")));
    var changeGrid = el("div", { "class": "grid" });
    root.appendChild(changeGrid);
    var qChanges = ch.changed.filter(function (c) { return c.db_query_count; })
      .map(function (c) { return { label: c.id, value: c.db_query_count[1] - c.db_query_count[0] }; })
      .sort(function (a, b) { return Math.abs(b.value) - Math.abs(a.value); }).slice(0, 20);
    plot(changeGrid, "Query count changes", diverging(qChanges, "queries"), "query-changes");
    var tChanges = ch.changed.filter(function (c) { return c.test_duration_ms; })
      .map(function (c) { return { label: c.id, value: Math.round((c.test_duration_ms[1] - c.test_duration_ms[0]) * 10) / 10 }; })
      .sort(function (a, b) { return Math.abs(b.value) - Math.abs(a.value); }).slice(0, 20);
    plot(changeGrid, "Duration changes beyond noise (ms)", diverging(tChanges, "ms"), "time-changes");
    if (data.runs.length > 2) {
      plot(changeGrid, "Queries per run", columns(data.runs.map(function (r, i) {
        return { label: "#" + (i + 1), value: r.db_query_count, title: r.label };
      }), "queries"), "trend");
    }
    var changeRows = ch.changed.map(function (c) {
      return { id: c.id, outcome: c.outcome ? c.outcome.join(" → ") : "",
        queries: c.db_query_count ? c.db_query_count[1] - c.db_query_count[0] : 0,
        ms: c.test_duration_ms ? Math.round((c.test_duration_ms[1] - c.test_duration_ms[0]) * 10) / 10 : 0,
        hosts: (c.hosts_added || []).map(function (h) { return "+" + h; }).concat((c.hosts_removed || []).map(function (h) { return "-" + h; })).join(" ") };
    }).concat(ch.added.map(function (id) { return { id: id, outcome: "added", queries: 0, ms: 0, hosts: "" }; }))
      .concat(ch.removed.map(function (id) { return { id: id, outcome: "removed", queries: 0, ms: 0, hosts: "" }; }));
    var changeBox = el("div");
    root.appendChild(changeBox);
    table(changeBox, [
      { key: "id", title: "test" }, { key: "outcome", title: "outcome" },
      { key: "queries", title: "Δ queries", num: true }, { key: "ms", title: "Δ ms", num: true },
      { key: "hosts", title: "hosts" }
    ], changeRows, { sort: "queries", name: "changes" });
  }

  section("Failed and errored tests", "failures");
  var failBox = el("div");
  root.appendChild(failBox);
  if (s.failures.length) {
    table(failBox, [
      { key: "id", title: "test" }, { key: "outcome", title: "outcome", render: function (r) { return '<span class="outcome-' + esc(r.outcome) + '">' + esc(r.outcome) + "</span>"; } },
      { key: "failure_phase", title: "phase" },
      { key: "failure_message", title: "message", render: function (r) { return esc(clip((r.failure_type || "") + " " + (r.failure_message || ""), 300)); } }
    ], s.failures.map(function (f) { var o = {}; Object.keys(f).forEach(function (k) { o[k] = f[k] === null ? "" : f[k]; }); return o; }), { sort: "id", desc: false, name: "failures" });
  } else failBox.innerHTML = empty("none");

  section("Tests that used the real network", "network-tests");
  var netBox = el("div");
  root.appendChild(netBox);
  if (s.network.length) {
    table(netBox, [
      { key: "id", title: "test" }, { key: "net_request_count", title: "calls", num: true },
      { key: "net_error_count", title: "no response", num: true },
      { key: "urls", title: "URLs", render: function (r) { return "<code>" + esc(clip(r.urls.join(" "), 300)) + "</code>"; } }
    ], s.network, { sort: "net_request_count", name: "network" });
  } else netBox.innerHTML = empty("none");

  section("Every test", "tests");
  var testBox = el("div");
  root.appendChild(testBox);
  table(testBox, [
    { key: "id", title: "test" },
    { key: "outcome", title: "outcome", render: function (r) { return '<span class="outcome-' + esc(r.outcome) + '">' + esc(r.outcome) + "</span>"; } },
    { key: "ms", title: "ms", num: true, render: function (r) { return fmt(r.ms, 1); } },
    { key: "queries", title: "queries", num: true }, { key: "repeated", title: "repeated", num: true },
    { key: "net", title: "net", num: true }
  ], tests, { sort: "ms", outcomes: true, name: "tests", link: true });

  document.body.setAttribute("data-rendered", errors.length ? "with-errors" : "true");
})();
