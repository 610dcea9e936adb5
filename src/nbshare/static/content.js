// Runs inside the sandboxed notebook frame. It has no privileges: it tells the share
// page which #fragment the reader is at, and draws plotly figures from their JSON.
(function () {
  "use strict";
  var script = document.currentScript;
  var staticBase = script ? script.src.replace(/\/content\.js(\?.*)?$/, "") : "/static";

  if (window.parent !== window) {
    window.addEventListener("hashchange", function () {
      window.parent.postMessage({ nbshare: "hash", hash: location.hash }, "*");
    });
  }

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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", loadPlotly);
  } else {
    loadPlotly();
  }
})();
