// The share page (service origin). The notebook itself lives in a sandboxed frame
// with an opaque origin; this script only forwards #fragments between the two.
(function () {
  "use strict";
  var frame = document.getElementById("notebook");
  if (!frame) return;
  var base = frame.getAttribute("data-src");
  var ANCHOR = /^#[^\s<>"']{1,300}$/;

  // Load the frame once; a deep link like /n/ID#results opens it at that section.
  frame.src = base + (location.hash && ANCHOR.test(location.hash) ? location.hash : "");

  function show(hash) {
    if (ANCHOR.test(hash)) history.replaceState(null, "", hash);
    var links = document.querySelectorAll("nav.toc a[data-anchor]");
    for (var i = 0; i < links.length; i++) {
      links[i].setAttribute("aria-current", "#" + links[i].getAttribute("data-anchor") === hash ? "true" : "false");
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("nav.toc a[data-anchor]");
    if (link) show("#" + link.getAttribute("data-anchor"));
  });

  // The frame reports which permalink the reader followed, so the address bar can be copied.
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) return;
    var data = event.data;
    if (data && data.nbshare === "hash" && typeof data.hash === "string") show(data.hash);
  });

  var copy = document.getElementById("copy-link");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var url = copy.getAttribute("data-url") + (ANCHOR.test(location.hash) ? location.hash : "");
      navigator.clipboard.writeText(url).then(function () {
        copy.textContent = "Copied";
        setTimeout(function () { copy.textContent = "Copy link"; }, 1500);
      });
    });
  }
})();
