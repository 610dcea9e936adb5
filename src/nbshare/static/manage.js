// Owner page. The owner token is read from the #fragment (never sent to the server in a
// URL), sent in an Authorization header, and kept in this tab's sessionStorage (not
// localStorage: it leaves with the tab) so the share page's Manage button can come back
// here without the token in its link.
(function () {
  "use strict";
  var status = document.getElementById("manage-status");
  var tools = document.getElementById("owner-tools");
  if (!tools) return;
  var api = tools.getAttribute("data-api");
  var KEY = "nbshare.owner:" + api;
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  var token = null;
  if (match) {
    token = decodeURIComponent(match[1]);
    history.replaceState(null, "", location.pathname); // keep the token out of history
    try { sessionStorage.setItem(KEY, token); } catch (e) { /* storage off: this visit only */ }
  } else {
    try { token = sessionStorage.getItem(KEY); } catch (e) { token = null; }
  }
  // Signed in to the JupyterHub as the user who uploaded it, the sign-in cookie is enough.
  var hubOwner = tools.getAttribute("data-hub-owner");
  if (!token && !hubOwner) return;
  var auth = token ? { Authorization: "Bearer " + token } : {};

  function say(text) { status.textContent = text; }

  function call(method, path, options) {
    options = options || {};
    var headers = Object.assign({}, auth, options.headers || {});
    return fetch(api + (path || ""), { method: method, headers: headers, body: options.body, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 204) return null;
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error ? body.error.message : "HTTP " + response.status);
          return body;
        });
      });
  }

  function text(id, value) { document.getElementById(id).textContent = value; }

  function show(info) {
    text("fact-title", info.title);
    text("fact-version", String(info.version));
    text("fact-views", info.max_views ? info.views + " of " + info.max_views : String(info.views));
    text("fact-expires", info.expires_at ? new Date(info.expires_at).toLocaleString() : "never");
    text("fact-password", info.protected ? "yes (stored encrypted)" : "no");
    document.getElementById("set-public-versions").checked = info.versions_public;
    document.getElementById("set-discoverable").checked = info.discoverable;
    var audience = document.getElementById("set-visible-to");
    if (audience) audience.value = info.visible_to;
  }

  function listVersions() {
    return call("GET", "/versions").then(function (versions) {
      var list = document.getElementById("versions");
      list.textContent = "";
      versions.slice().reverse().forEach(function (v) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = v.url;
        link.textContent = "Version " + v.version + ": " + v.title + " (" + new Date(v.created_at).toLocaleString() + ")";
        item.appendChild(link);
        if (v.current) {
          item.appendChild(document.createTextNode(" (current)"));
        } else {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "Delete";
          remove.addEventListener("click", function () {
            if (!confirm("Delete version " + v.version + "?")) return;
            call("DELETE", "/versions/" + v.version).then(listVersions).catch(function (e) { say(e.message); });
          });
          item.appendChild(document.createTextNode(" "));
          item.appendChild(remove);
        }
        list.appendChild(item);
      });
    });
  }

  function refresh() {
    return call("GET").then(show).then(listVersions);
  }

  // An owner cookie lets this browser open every version, protected or not.
  call("POST", "/owner-session")
    .then(function () {
      tools.hidden = false;
      say(token ? "You are the owner of this share." : "You are the owner of this share, signed in to the JupyterHub as " + hubOwner + ".");
      return refresh();
    })
    .catch(function (e) {
      if (!match) { try { sessionStorage.removeItem(KEY); } catch (err) { /* ignore */ } }
      say(e.message);
    });

  document.getElementById("update-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var file = document.getElementById("update-file").files[0];
    if (!file) return;
    var body = new FormData();
    body.append("file", file);
    say("Uploading…");
    call("PUT", "", { body: body })
      .then(function (info) { say("Updated: version " + info.version + " is live at the same link."); show(info); return listVersions(); })
      .catch(function (e) { say(e.message); });
  });

  document.getElementById("settings-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var changes = {
      versions_public: document.getElementById("set-public-versions").checked,
      discoverable: document.getElementById("set-discoverable").checked,
    };
    var expires = document.getElementById("set-expires").value.trim();
    var views = document.getElementById("set-views").value.trim();
    var password = document.getElementById("set-password").value;
    if (expires) changes.expires = expires;
    if (views) changes.max_views = views === "0" ? null : parseInt(views, 10);
    var audience = document.getElementById("set-visible-to");
    if (audience && audience.value.trim()) changes.visible_to = audience.value.trim();
    if (document.getElementById("set-nopassword").checked) changes.password = null;
    else if (password) changes.password = password;
    call("PATCH", "", { body: JSON.stringify(changes), headers: { "Content-Type": "application/json" } })
      .then(function (info) {
        document.getElementById("set-password").value = "";
        say("Saved.");
        show(info);
        return call("POST", "/owner-session"); // the access epoch may have changed
      })
      .catch(function (e) { say(e.message); });
  });

  document.getElementById("delete-share").addEventListener("click", function () {
    if (!confirm("Delete this share for everyone? This cannot be undone.")) return;
    call("DELETE").then(function () {
      try { sessionStorage.removeItem(KEY); } catch (e) { /* ignore */ }
      say("Deleted. The link no longer works.");
      tools.hidden = true;
    }).catch(function (e) { say(e.message); });
  });
})();
