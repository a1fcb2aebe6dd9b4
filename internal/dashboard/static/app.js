// edgeflag release dashboard: follows changes without a reload. Every page is complete
// without this script; with it, the page polls its state URL (data-live on <body>) every
// second with If-None-Match, and when the state changes it fetches the page again and
// swaps the regions marked data-live-region — except one the user is typing in.
// The list page's search box also filters the rows as you type.
(function () {
  "use strict";
  var body = document.body;
  var note = document.getElementById("live-note");
  var live = body.getAttribute("data-live");

  function say(text) {
    if (note && note.textContent !== text) note.textContent = text;
  }

  function busy(region) {
    var active = document.activeElement;
    if (active && active !== body && region.contains(active) && active.tagName !== "A") return true;
    var fields = region.querySelectorAll("textarea, input[type=text], input[type=checkbox]");
    for (var i = 0; i < fields.length; i++) {
      if ((fields[i].type === "checkbox" && fields[i].checked) || (fields[i].type !== "checkbox" && fields[i].value)) return true;
    }
    return false;
  }

  function refresh() {
    return fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var doc = new DOMParser().parseFromString(text, "text/html");
        var regions = document.querySelectorAll("[data-live-region]");
        for (var i = 0; i < regions.length; i++) {
          var el = regions[i];
          var next = doc.querySelector('[data-live-region="' + el.getAttribute("data-live-region") + '"]');
          if (!next || busy(el)) continue;
          el.replaceWith(document.importNode(next, true));
        }
        var img = document.querySelector("img.chart");
        if (img) img.src = img.src.replace(/&t=\d+$/, "") + "&t=" + Date.now();
        filter();
        say("Updated " + new Date().toLocaleTimeString() + ".");
      });
  }

  // The state the page was rendered with: a change made since shows on the first poll.
  var etag = body.getAttribute("data-etag") || null;
  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(live, { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { say("Your session has ended: reload to log in again."); return; }
        if (r.status !== 200) return;
        var tag = r.headers.get("ETag");
        var changed = etag !== null && tag !== etag;
        etag = tag;
        if (changed) return refresh();
      })
      .catch(function () { say("The dashboard does not answer; retrying."); })
      .then(function () { setTimeout(poll, 1000); });
  }

  // Filter the list's rows as the search box changes (the form still works without JS).
  var q = document.getElementById("q");
  function filter() {
    if (!q) return;
    var text = q.value.trim().toLowerCase();
    var rows = document.querySelectorAll("table.flags tbody tr");
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var hit = !text || (rows[i].getAttribute("data-text") || "").toLowerCase().indexOf(text) >= 0;
      rows[i].hidden = !hit;
      if (hit) shown++;
    }
    var count = document.getElementById("shown");
    if (count) count.textContent = String(shown);
  }
  if (q) q.addEventListener("input", filter);

  if (live) poll();
})();
