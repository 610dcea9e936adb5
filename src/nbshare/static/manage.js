// Owner page: the token is read from the #fragment (never sent to the server in a URL)
// and used in an Authorization header.
(function () {
  "use strict";
  var status = document.getElementById("manage-status");
  var button = document.getElementById("delete-share");
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  var token = decodeURIComponent(match[1]);
  history.replaceState(null, "", location.pathname); // keep the token out of history
  status.textContent = "You are the owner of this share.";
  button.hidden = false;
  button.addEventListener("click", function () {
    if (!confirm("Delete this share for everyone? This cannot be undone.")) return;
    fetch(button.getAttribute("data-api"), { method: "DELETE", headers: { Authorization: "Bearer " + token } })
      .then(function (response) {
        if (response.status === 204) {
          status.textContent = "Deleted. The link no longer works.";
          button.hidden = true;
        } else {
          return response.json().then(function (body) { status.textContent = body.error.message; });
        }
      })
      .catch(function () { status.textContent = "Could not reach the server."; });
  });
})();
