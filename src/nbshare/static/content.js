// Runs inside the sandboxed notebook frame. It has no privileges: it only tells the
// share page which #fragment the reader is at, so the page's address can be shared.
(function () {
  "use strict";
  if (window.parent === window) return;
  function report() {
    window.parent.postMessage({ nbshare: "hash", hash: location.hash }, "*");
  }
  window.addEventListener("hashchange", report);
})();
