// Runs inside the sandboxed notebook frame. It has no privileges and talks to the share
// page only through postMessage (the messages are declared in messages.js): it reports
// where the reader is and which permalink was clicked, follows the page's "hide code" and
// "print" buttons, keeps a deep link on its target while images load, and draws plotly
// figures and Vega-Lite charts from their JSON.
(function () {
  "use strict";
  var script = document.currentScript;
  var staticBase = script ? script.src.replace(/\/content\.js(\?.*)?$/, "") : "/static";
  // The service's path on this origin ("" or a prefix such as /services/nbshare): its
  // static folder's, which is where this script came from.
  var root = new URL(staticBase + "/", location.href).pathname.replace(/\/static\/$/, "");
  var framed = window.parent !== window;
  // Pages are rendered once and stored: one rendered before messages.js was loaded ahead
  // of this script (index.html.j2) does not have it, so it is fetched here, and start()
  // waits for it.
  // An element with id="NBSHARE_MESSAGES" in the notebook is also window.NBSHARE_MESSAGES
  // until messages.js declares it, so the object is checked, not just its presence.
  function declared() {
    var found = window.NBSHARE_MESSAGES;
    return found && typeof found.fromPage === "function" ? found : null;
  }
  var messages = declared();
  var messagesLoaded = null;
  if (!messages) {
    messagesLoaded = document.createElement("script");
    messagesLoaded.src = staticBase + "/messages.js";
    messagesLoaded.addEventListener("load", function () { messages = declared(); });
    document.head.appendChild(messagesLoaded);
  }

  function post(message) {
    // Only #fragments and section anchors travel, never notebook content.
    if (framed) window.parent.postMessage(message, "*");
  }

  // --- permalinks: a click on a heading's ¶ or a cell's # asks the page to copy the link.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.anchor-link, a.nbs-cell-link");
    if (link) post({ nbshare: "copy", hash: link.getAttribute("href") });
  });
  // --- links to other notebooks and files of the same share: the share page opens them
  // (see share.js), so they work for protected shares too.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href]");
    if (!link || !framed || event.defaultPrevented || !messages) return;
    var url;
    try { url = new URL(link.href); } catch (e) { return; }
    // The page is told the path below the service's prefix: the page knows its own.
    var path = url.pathname.slice(root.length);
    if (url.protocol !== location.protocol || url.host !== location.host ||
        url.pathname.indexOf(root + "/n/") !== 0 || !messages.OPENABLE.test(path)) return;
    event.preventDefault();
    post({ nbshare: "open", path: path + url.hash });
  });
  window.addEventListener("hashchange", function () {
    post({ nbshare: "hash", hash: location.hash });
    settleOn(location.hash);
  });

  // --- the section being read: the last heading above a line near the top of the view.
  var headings = [];
  var current = null;
  function findHeadings() {
    headings = [];
    var links = document.querySelectorAll(".jp-RenderedMarkdown a.anchor-link");
    for (var i = 0; i < links.length; i++) {
      var h = links[i].parentElement;
      if (h && /^H[1-6]$/.test(h.tagName) && h.id) headings.push(h);
    }
  }
  function spy() {
    if (!headings.length) return;
    var line = Math.min(120, window.innerHeight * 0.3);
    var atBottom = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
    var found = headings[0];
    for (var i = 0; i < headings.length; i++) {
      var top = headings[i].getBoundingClientRect().top;
      if (top <= line || (atBottom && top < window.innerHeight)) found = headings[i];
      else if (!atBottom) break;
    }
    if (found.id !== current) {
      current = found.id;
      post({ nbshare: "current", anchor: current });
    }
  }
  var spyQueued = false;
  window.addEventListener("scroll", function () {
    if (spyQueued) return;
    spyQueued = true;
    requestAnimationFrame(function () { spyQueued = false; spy(); });
  }, { passive: true });

  // --- deep links: images and plots above the target grow as they arrive; keep the
  // target at the top while the page grows, until the reader takes over: a wheel, a touch,
  // a key, a click, or a scroll the page did not make (a scroll bar dragged, find in page).
  // Not for a few seconds after the last growth: on a slow machine or network the last
  // figure can arrive long after the one before. Bounded all the same: a page that has not
  // grown for a minute is done loading.
  var HOLD_WHILE_STILL = 60000;
  var settleTarget = null, settleUntil = 0, settledAt = null;
  function byHash(hash) {
    if (!hash || hash.length < 2) return null;
    var id = hash.slice(1);
    try { id = decodeURIComponent(id); } catch (e) { /* keep it raw */ }
    // Links written for Jupyter use its anchors (`#Part-two`); nbshare's are lower case.
    return document.getElementById(id) || document.getElementById(id.toLowerCase());
  }
  function settleOn(hash) {
    settleTarget = byHash(hash);
    settledAt = null;
    if (settleTarget) eagerAround(settleTarget);
    settle();
  }
  // Lazy images just above and below the target would arrive one by one as the browser
  // notices them; ask for them now, so the page settles early.
  function eagerAround(target) {
    var near = window.innerHeight * 2, images = document.images;
    var at = target.getBoundingClientRect().top;
    for (var i = 0; i < images.length; i++) {
      var top = images[i].getBoundingClientRect().top - at;
      if (top > -near && top < near && images[i].loading === "lazy") images[i].loading = "eager";
    }
  }
  function inPlace() {
    var top = settleTarget.getBoundingClientRect().top;
    var margin = parseFloat(getComputedStyle(settleTarget).scrollMarginTop) || 0;
    return Math.abs(top - margin) <= 2;
  }
  function settle() {
    if (!settleTarget) return;
    if (settledAt !== null && Date.now() > settleUntil) { settleTarget = null; return; }
    settleUntil = Date.now() + HOLD_WHILE_STILL; // it grew: hold on
    if (!inPlace()) settleTarget.scrollIntoView({ block: "start" });
    settledAt = window.scrollY; // where the page itself put the view
  }
  function readerMoved() { settleTarget = null; }
  ["wheel", "touchstart", "keydown", "mousedown"].forEach(function (name) {
    window.addEventListener(name, readerMoved, { passive: true, capture: true });
  });
  window.addEventListener("scroll", function () {
    // Not the reader: the view where settle left it (the last heading cannot reach the
    // top), or the target still in place (the browser's scroll anchoring kept it there).
    if (settleTarget && settledAt !== null && window.scrollY !== settledAt && !inPlace()) readerMoved();
  }, { passive: true });
  document.addEventListener("load", settle, true); // every image (load does not bubble)
  if (window.ResizeObserver) new ResizeObserver(settle).observe(document.documentElement);
  window.addEventListener("load", function () {
    settle();
    spy();
  });

  // --- printing from the share page: it needs the notebook's length (see share.js), and
  // Ctrl/Cmd+P pressed while the notebook has focus goes the same way as the Print button.
  var reported = 0, heightQueued = false;
  function reportHeight() {
    heightQueued = false;
    var height = document.documentElement.scrollHeight;
    if (height !== reported) { reported = height; post({ nbshare: "height", height: height }); }
  }
  function queueHeight() {
    if (!heightQueued) { heightQueued = true; requestAnimationFrame(reportHeight); }
  }
  if (window.ResizeObserver) new ResizeObserver(queueHeight).observe(document.documentElement);
  window.addEventListener("load", queueHeight);
  document.addEventListener("keydown", function (event) {
    if (framed && (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey &&
        (event.key === "p" || event.key === "P")) {
      event.preventDefault();
      window.print();
    }
  });

  // --- the share page's buttons.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !messages || !messages.fromPage(event.data)) return;
    var data = event.data;
    if (data.nbshare === "hide-code") {
      document.body.classList.toggle("nbs-hide-code", data.hidden);
      spy();
    } else if (data.nbshare === "print") {
      window.print();
    }
  });

  // --- the system's light or dark theme (JupyterLab's CSS reads this attribute).
  // Screens only: printed pages stay light on a dark system.
  var dark = window.matchMedia && window.matchMedia("screen and (prefers-color-scheme: dark)");
  function theme() {
    document.body.setAttribute("data-jp-theme-light", dark && dark.matches ? "false" : "true");
  }
  if (dark && dark.addEventListener) dark.addEventListener("change", theme);
  window.addEventListener("beforeprint", function () { document.body.setAttribute("data-jp-theme-light", "true"); });
  window.addEventListener("afterprint", theme);

  function drawPlotly(Plotly) {
    var outputs = document.querySelectorAll(".nbs-plotly");
    for (var i = 0; i < outputs.length; i++) {
      var data = outputs[i].querySelector('script[type="application/vnd.plotly.v1+json"]');
      var target = outputs[i].querySelector(".nbs-plotly-figure");
      try {
        var figure = JSON.parse(data.textContent);
        Plotly.newPlot(target, figure.data || [], figure.layout || {}, figure.config || {});
      } catch (err) {
        target.textContent = "This plotly figure could not be drawn: " + err;
      }
    }
  }

  function loadPlotly() {
    if (!document.querySelector(".nbs-plotly")) return;
    // A full URL bypasses any require.config paths a notebook set for "plotly".
    var url = staticBase + "/vendor/plotly.min.js";
    if (typeof window.require === "function" && window.require.config) {
      window.require([url], drawPlotly);
    } else {
      var tag = document.createElement("script");
      tag.src = url;
      tag.onload = function () { drawPlotly(window.Plotly); };
      document.head.appendChild(tag);
    }
  }

  // Vega and Vega-Lite specs, as JupyterLab's vega extension draws them. The page's head
  // maps the module names to nbshare's copies (index.html.j2) on pages that have them.
  function drawVega(vegaEmbed) {
    var outputs = document.querySelectorAll(".nbs-vega");
    var dark = document.body.getAttribute("data-jp-theme-light") === "false";
    for (var i = 0; i < outputs.length; i++) {
      var target = outputs[i].querySelector(".nbs-vega-chart");
      try {
        var item = JSON.parse(outputs[i].querySelector('script[type="application/json"]').textContent);
        var spec = typeof item.spec === "string" ? JSON.parse(item.spec) : item.spec;
        var options = Object.assign({ actions: true, defaultStyle: true }, item.options, { mode: item.mode });
        if (dark) options.theme = "dark";
        vegaEmbed(target, spec, options).catch(failed(target));
      } catch (err) {
        failed(target)(err);
      }
    }
  }

  function failed(target) {
    return function (err) { target.textContent = "This chart could not be drawn: " + err; };
  }

  function loadVega() {
    if (!document.querySelector(".nbs-vega")) return;
    if (typeof window.require === "function" && window.require.config) {
      window.require(["vega-embed"], drawVega, function (err) {
        var charts = document.querySelectorAll(".nbs-vega-chart");
        for (var i = 0; i < charts.length; i++) failed(charts[i])(err);
      });
      return;
    }
    // Without require.js the builds define globals; each needs the one before it.
    var names = ["vega", "vega-lite", "vega-embed"];
    (function next() {
      if (!names.length) { drawVega(window.vegaEmbed); return; }
      var tag = document.createElement("script");
      tag.src = staticBase + "/vendor/" + names.shift() + ".min.js";
      tag.onload = next;
      document.head.appendChild(tag);
    })();
  }

  function start() {
    theme();
    findHeadings();
    if (location.hash) settleOn(location.hash);
    spy();
    post({ nbshare: "ready" });
    loadPlotly();
    loadVega();
  }

  function startWhenParsed() {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", start);
    } else {
      start();
    }
  }
  if (messagesLoaded) {
    // Without messages.js the notebook is still drawn; it only cannot talk to the page.
    messagesLoaded.addEventListener("load", startWhenParsed);
    messagesLoaded.addEventListener("error", startWhenParsed);
  } else {
    startWhenParsed();
  }
})();
