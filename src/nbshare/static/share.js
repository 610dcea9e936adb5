// The share page (service origin). The notebook itself lives in a sandboxed frame with
// an opaque origin; the two talk only through postMessage, and only in small, checked
// messages (declared in messages.js): the frame reports the section being read and
// permalinks clicked, the page asks it to hide code or print.
(function () {
  "use strict";
  // A bundle's index: a button copies the `nbshare clone` command.
  var copyClone = document.getElementById("copy-clone");
  if (copyClone && navigator.clipboard) {
    copyClone.hidden = false;
    copyClone.addEventListener("click", function () {
      navigator.clipboard.writeText(copyClone.getAttribute("data-text")).then(function () {
        copyClone.textContent = "Copied";
      });
    });
  }
  var frame = document.getElementById("notebook");
  if (!frame) {
    var lone = document.getElementById("copy-link");
    if (lone && navigator.clipboard) {
      lone.hidden = false;
      lone.addEventListener("click", function () { navigator.clipboard.writeText(lone.getAttribute("data-url")); });
    }
    return;
  }
  document.documentElement.classList.add("js");
  // Links from the frame to other notebooks and files of this share: the frame cannot
  // navigate this page (and its requests carry no grant cookie), so it asks, and only
  // paths under this share's own prefix are followed.
  var sharePath = frame.getAttribute("data-share") || "";
  // The service's path ("" or a prefix such as /services/nbshare): the share's, less /n/ID.
  var root = sharePath.replace(/\/n\/[^\/]*$/, "");
  var messages = NBSHARE_MESSAGES;
  var base = frame.getAttribute("data-src");
  var ANCHOR = /^#[^\s<>"']{1,300}$/;
  var HIDE_KEY = "nbshare.hideCode";
  var toc = document.getElementById("toc");
  var status = document.getElementById("share-status");
  var copy = document.getElementById("copy-link");
  var shareUrl = copy ? copy.getAttribute("data-url") : location.href.split("#")[0];

  // Load the frame once; a deep link like /n/ID#results opens it at that section.
  frame.src = base + (location.hash && ANCHOR.test(location.hash) ? location.hash : "");

  function tell(message) {
    if (frame.contentWindow) frame.contentWindow.postMessage(message, "*");
  }

  var statusTimer = null;
  function say(text) {
    status.textContent = text;
    status.classList.add("shown");
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { status.classList.remove("shown"); status.textContent = ""; }, 2500);
  }

  function decodeURIComponentSafe(text) {
    try { return decodeURIComponent(text); } catch (e) { return text; }
  }

  function tocLinks() {
    return toc ? toc.querySelectorAll("a[data-anchor]") : [];
  }

  // The section being read: marked in the table of contents and kept in its view.
  function highlight(anchor) {
    var links = tocLinks(), active = null;
    for (var i = 0; i < links.length; i++) {
      var on = links[i].getAttribute("data-anchor") === anchor;
      if (on) { links[i].setAttribute("aria-current", "true"); active = links[i]; }
      else links[i].removeAttribute("aria-current");
    }
    if (active && toc.scrollHeight > toc.clientHeight) {
      var box = toc.getBoundingClientRect(), item = active.getBoundingClientRect();
      if (item.top < box.top + 8 || item.bottom > box.bottom - 8) {
        toc.scrollTop += item.top - box.top - toc.clientHeight / 3;
      }
    }
  }

  function show(hash) {
    if (!ANCHOR.test(hash)) return false;
    history.replaceState(null, "", hash);
    highlight(hash.slice(1));
    return true;
  }

  function copyText(url, done) {
    if (!navigator.clipboard) { say("Link: " + url); return; }
    navigator.clipboard.writeText(url).then(function () { say(done); }, function () { say("Link: " + url); });
  }

  // --- table of contents: links navigate the frame (target="notebook"); on phones it is
  // a menu that closes after a choice.
  var toggle = document.getElementById("toc-toggle");
  function setMenu(open) {
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toc.classList.toggle("open", open);
  }
  if (toggle && toc) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      setMenu(open);
      if (open) {
        var first = toc.querySelector("a[aria-current]") || toc.querySelector("a");
        if (first) first.focus();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toc.classList.contains("open")) { setMenu(false); toggle.focus(); }
    });
  }
  if (toc) {
    toc.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-anchor]");
      if (!link) return;
      show("#" + link.getAttribute("data-anchor"));
      setMenu(false);
    });
    // Arrow keys move between entries (Tab works too: they are ordinary links).
    toc.addEventListener("keydown", function (event) {
      if (["ArrowDown", "ArrowUp", "Home", "End"].indexOf(event.key) < 0) return;
      var links = Array.prototype.slice.call(tocLinks());
      var i = links.indexOf(document.activeElement);
      if (i < 0) return;
      var next = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: links.length - 1 }[event.key];
      if (next >= 0 && next < links.length) { links[next].focus(); event.preventDefault(); }
    });
  }

  // --- the skip link moves focus into the notebook without touching the #fragment.
  var skip = document.querySelector(".skip-link");
  if (skip) skip.addEventListener("click", function (event) { event.preventDefault(); frame.focus(); });

  // --- hide code: remembered for every share in this browser.
  var hide = document.getElementById("hide-code");
  function hidden() {
    try { return localStorage.getItem(HIDE_KEY) === "1"; } catch (e) { return false; }
  }
  function applyHide(on) {
    if (!hide) return;
    hide.setAttribute("aria-pressed", on ? "true" : "false");
    hide.textContent = on ? "Show code" : "Hide code";
    tell({ nbshare: "hide-code", hidden: on });
  }
  if (hide) {
    hide.hidden = false;
    hide.addEventListener("click", function () {
      var on = !hidden();
      try { localStorage.setItem(HIDE_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
      applyHide(on);
    });
  }

  // --- print: the frame prints the notebook itself, at full length. Ctrl/Cmd+P does the
  // same. The browser's own Print menu prints this page, where the frame is one screen
  // tall: for that, the frame is stretched to the notebook's length (which the frame
  // reports) while printing, and the print layout splits it across pages.
  var print = document.getElementById("print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { tell({ nbshare: "print" }); });
  }
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && (event.key === "p" || event.key === "P")) {
      event.preventDefault();
      tell({ nbshare: "print" });
    }
  });
  var frameHeight = 0;
  window.addEventListener("beforeprint", function () {
    // Laid out narrower on paper, the notebook grows; a little room spares its last lines.
    if (frameHeight) frame.style.height = Math.ceil(frameHeight * 1.15) + "px";
  });
  window.addEventListener("afterprint", function () { frame.style.height = ""; });

  // --- copy link: the share link plus the section in the address bar.
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      copyText(shareUrl + (ANCHOR.test(location.hash) ? location.hash : ""), "Link copied");
    });
  }

  // A path the frame asks to open (below the service's prefix, which is put in front
  // here), checked as the browser will resolve it (dot segments, also spelled %2e, and
  // backslashes are resolved before the check, not after), or null unless it is a
  // notebook or file of this share.
  function openable(path) {
    if (!/^\/[^\/\\]/.test(path)) return null;
    var url;
    try { url = new URL(root + path, location.origin); } catch (e) { return null; }
    var p = url.pathname;
    if (url.origin !== location.origin || url.search || !sharePath || p.indexOf(sharePath + "/") !== 0 ||
        !messages.OPENABLE.test(p.slice(root.length)) || p.indexOf("..") >= 0) return null;
    return p + (ANCHOR.test(url.hash) ? url.hash : "");
  }

  // --- messages from the frame, checked for their source and their shape.
  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!messages.fromFrame(data)) return;
    if (data.nbshare === "ready") {
      applyHide(hidden());
    } else if (data.nbshare === "hash") {
      show(data.hash);
    } else if (data.nbshare === "copy") {
      if (show(data.hash)) copyText(shareUrl + data.hash, "Link copied: " + decodeURIComponentSafe(data.hash));
    } else if (data.nbshare === "current") {
      highlight(data.anchor);
    } else if (data.nbshare === "height") {
      frameHeight = Math.min(data.height, 2000000); // bounded: a notebook's word, used only in print
    } else if (data.nbshare === "open") {
      var target = openable(data.path);
      if (target) location.assign(target);
    }
  });
})();
