/**
 * The status page: a static HTML shell and a script that fetches the snapshot and redraws the tables
 * every few seconds. Everything from the store is put in as text (never as HTML), and the page loads no
 * code from elsewhere, so it runs under a strict Content-Security-Policy.
 */

export function statusHtml(refreshSeconds: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>scim-bridge status</title>
<link rel="stylesheet" href="/status/page.css">
</head>
<body data-refresh-seconds="${refreshSeconds}">
<header><h1>scim-bridge status</h1><p id="meta">loading…</p></header>
<main id="targets"></main>
<script src="/status/page.js"></script>
</body>
</html>
`;
}

export const STATUS_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1b1f24; background: #f6f7f9; }
header h1 { font-size: 1.3rem; margin: 0; }
#meta { color: #57606a; margin: .2rem 0 1rem; }
#meta.stale { color: #b42318; font-weight: 600; }
section.target { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem 1rem; margin-bottom: 1rem; overflow-x: auto; }
section.target h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
.badges span { display: inline-block; margin-right: .5rem; padding: .1rem .5rem; border-radius: 1rem; background: #eef1f4; }
.badges .bad { background: #fde2e1; color: #912018; font-weight: 600; }
.badges .good { background: #dcfae6; color: #085d3a; }
h3 { font-size: .9rem; margin: .8rem 0 .3rem; color: #57606a; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #eaeef2; white-space: nowrap; }
td.outcome-success { color: #085d3a; }
td.outcome-bad { color: #b42318; font-weight: 600; }
.none { color: #57606a; font-style: italic; }
`;

/** Runs in the browser: fetch the snapshot, draw it with text nodes only, again every few seconds. */
export const STATUS_JS = `"use strict";
(function () {
  var refreshMs = Number(document.body.dataset.refreshSeconds || 5) * 1000;
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function age(seconds) {
    if (seconds === undefined) return "";
    if (seconds < 120) return seconds + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    return Math.round(seconds / 3600) + " h";
  }
  function table(rows, empty) {
    if (rows.length === 0) return el("p", empty, "none");
    var t = el("table");
    var head = el("tr");
    ["when", "operation", "vendor call", "outcome", "code", "vendor RequestId", "SCIM id"].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(head);
    rows.forEach(function (c) {
      var tr = el("tr");
      tr.appendChild(el("td", c.at.replace("T", " ").replace(/\\.\\d+Z$/, "Z")));
      tr.appendChild(el("td", c.operation));
      tr.appendChild(el("td", c.call));
      tr.appendChild(el("td", c.outcome, c.outcome === "success" || c.outcome === "notFound" ? "outcome-success" : "outcome-bad"));
      tr.appendChild(el("td", c.code || ""));
      tr.appendChild(el("td", c.vendorRequestId || ""));
      tr.appendChild(el("td", c.scimId || ""));
      t.appendChild(tr);
    });
    return t;
  }
  function badge(text, cls) { return el("span", text, cls); }
  function draw(snapshot) {
    var main = document.getElementById("targets");
    main.replaceChildren();
    snapshot.targets.forEach(function (t) {
      var s = el("section", undefined, "target");
      s.dataset.target = t.name;
      s.appendChild(el("h2", t.name + " — " + (t.vendor || "store-only")));
      var badges = el("div", undefined, "badges");
      if (t.circuit) badges.appendChild(badge("circuit " + t.circuit, t.circuit === "closed" ? "good" : "bad"));
      badges.appendChild(badge("pending " + t.pending.count + (t.pending.count ? " (oldest " + age(t.pending.oldestSeconds) + ")" : ""), t.pending.oldestSeconds > 300 ? "bad" : ""));
      if (t.pending.deprovisionSeconds !== undefined) badges.appendChild(badge("deprovisioning waiting " + age(t.pending.deprovisionSeconds), t.pending.deprovisionSeconds > 300 ? "bad" : ""));
      badges.appendChild(badge("failed " + t.failed.count + (t.failed.count ? " (oldest " + age(t.failed.oldestSeconds) + ")" : ""), t.failed.count ? "bad" : ""));
      s.appendChild(badges);
      if (t.vendor) {
        s.appendChild(el("h3", "Latest deprovisionings"));
        s.appendChild(table(t.deprovisionings, "none recorded"));
        s.appendChild(el("h3", "Latest vendor failures"));
        s.appendChild(table(t.failures, "none recorded"));
      }
      main.appendChild(s);
    });
    var meta = document.getElementById("meta");
    meta.className = "";
    meta.textContent = "version " + snapshot.version + " · as of " + snapshot.at + " · refreshed every " + refreshMs / 1000 + " s";
  }
  function refresh() {
    fetch("/status/data.json", { cache: "no-store", credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(draw)
      .catch(function (e) {
        var meta = document.getElementById("meta");
        meta.className = "stale";
        meta.textContent = "cannot refresh (" + e.message + "): the figures below may be out of date";
      })
      .finally(function () { setTimeout(refresh, refreshMs); });
  }
  refresh();
})();
`;
