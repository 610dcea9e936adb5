// Home page: with JavaScript, the upload form also takes a dropped file and shows upload
// progress. It posts the same multipart form to the JSON API; without JavaScript the
// form posts to /upload and the server answers with a page of links.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = document.getElementById("file");
  var zone = document.getElementById("drop-zone");
  var progress = document.getElementById("upload-progress");
  var bar = document.getElementById("upload-bar");
  var percent = document.getElementById("upload-percent");
  var status = document.getElementById("upload-status");
  var result = document.getElementById("upload-result");
  var submit = form.querySelector("button[type=submit]");

  zone.classList.add("active");
  zone.querySelector(".drop-hint").hidden = false;

  function say(text) { status.textContent = text; }

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    input.files = files;
    say("Ready to share " + files[0].name + ".");
  });

  function setProgress(value) {
    bar.value = value;
    percent.textContent = value + "%";
  }

  function done(info) {
    document.getElementById("result-link").value = info.url;
    document.getElementById("result-open").href = info.url;
    document.getElementById("result-manage").value = info.manage_url;
    result.hidden = false;
    say("Shared.");
    document.getElementById("result-heading").focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!input.files.length) { say("Choose a notebook file first."); return; }
    var request = new XMLHttpRequest();
    request.open("POST", form.getAttribute("data-api"));
    request.responseType = "json";
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) setProgress(Math.round((100 * e.loaded) / e.total));
    });
    request.upload.addEventListener("load", function () {
      setProgress(100);
      say("Uploaded; rendering the notebook…");
    });
    request.addEventListener("load", function () {
      submit.disabled = false;
      var body = request.response;
      if (request.status === 201 && body && body.url) done(body);
      else say(body && body.error ? body.error.message : "The upload failed (HTTP " + request.status + ").");
    });
    request.addEventListener("error", function () {
      submit.disabled = false;
      say("The upload failed: the server could not be reached.");
    });
    result.hidden = true;
    progress.hidden = false;
    setProgress(0);
    submit.disabled = true;
    say("Uploading " + input.files[0].name + "…");
    request.send(new FormData(form));
  });
})();
