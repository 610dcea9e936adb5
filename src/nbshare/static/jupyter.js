// "Open in my Jupyter" on a share page: sends the reader to {their Jupyter}/nbshare/open?url=
// {this share}, where nbshare's Jupyter extension copies the share into a new folder and
// opens it in JupyterLab. The address is the operator's (the jupyter_url setting), else the
// reader's, asked once and remembered in this browser.
(function () {
  "use strict";
  var line = document.getElementById("jupyter-line");
  var button = document.getElementById("open-in-jupyter");
  var change = document.getElementById("jupyter-address");
  if (!line || !button) return;
  var KEY = "nbshare.jupyterUrl";
  var ADDRESS = /^https?:\/\/[^\s/?#]+[^\s?#]*$/i;
  var operators = (button.getAttribute("data-jupyter") || "").trim();

  function stored() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }

  function remember(address) {
    try { localStorage.setItem(KEY, address); } catch (e) { /* private mode: asked again next time */ }
    if (change) change.hidden = false;
  }

  // The reader's address, asked for until it is an http(s) one (null: they cancelled).
  function ask(current) {
    var hint = "Your Jupyter's address, for example http://localhost:8888, or a Hub's " +
      "https://hub.example.org/hub/user-redirect";
    var answer = window.prompt(hint, current || "http://localhost:8888");
    while (answer !== null) {
      answer = answer.trim().replace(/\/+$/, "");
      if (ADDRESS.test(answer)) { remember(answer); return answer; }
      answer = window.prompt("That is not an http(s) address. " + hint, answer);
    }
    return null;
  }

  line.hidden = false;
  if (change && !operators && stored()) change.hidden = false;
  button.addEventListener("click", function () {
    var address = operators || stored() || ask("");
    if (!address) return;
    var target = address.replace(/\/+$/, "") + "/nbshare/open?url=" +
      encodeURIComponent(button.getAttribute("data-share"));
    window.open(target, "_blank", "noopener");
  });
  if (change) change.addEventListener("click", function () { ask(stored()); });
})();
