/* Lydiard progressive enhancement. Every page works as a plain server-rendered form;
   this script adds slider value labels, fetch-based check-in and upload progress.
   No inline script is used anywhere (strict CSP): data arrive as JSON blocks or fetches. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? { header: meta.getAttribute("data-header") || "X-CSRF-Token", token: meta.getAttribute("content") } : null;
  }

  /* ---------------------------------------------------------------- slider labels */
  function bindSliders(root) {
    root.querySelectorAll("input[type=range][data-output]").forEach(function (input) {
      var out = document.getElementById(input.getAttribute("data-output"));
      if (!out) { return; }
      var update = function () { out.textContent = input.value; };
      input.addEventListener("input", update);
      update();
    });
    root.querySelectorAll("button[data-clear]").forEach(function (btn) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        var name = btn.getAttribute("data-clear");
        root.querySelectorAll('input[name="' + name + '"]').forEach(function (i) { i.checked = false; });
      });
    });
  }

  /* ---------------------------------------------------------------- fetch submit (check-in) */
  function bindFetchForms(root) {
    root.querySelectorAll("form[data-fetch]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var status = form.querySelector("[data-status]");
        var button = form.querySelector("button[type=submit]");
        if (button) { button.disabled = true; }
        if (status) { status.textContent = "Saving…"; }
        var headers = { "Accept": "application/json" };
        var c = csrf();
        if (c) { headers[c.header] = c.token; }
        fetch(form.action, { method: "POST", body: new FormData(form), headers: headers, credentials: "same-origin" })
          .then(function (resp) {
            return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
          })
          .then(function (r) {
            if (r.ok && r.body.redirect) {
              window.location.assign(r.body.redirect);
              return;
            }
            if (status) { status.textContent = (r.body && (r.body.detail || r.body.message)) || "Could not save."; }
            if (button) { button.disabled = false; }
          })
          .catch(function () {
            if (status) { status.textContent = "Network error: your answers are still here, try again."; }
            if (button) { button.disabled = false; }
          });
      });
    });
  }

  /* ---------------------------------------------------------------- upload with progress */
  function bindUploads(root) {
    root.querySelectorAll("form[data-upload]").forEach(function (form) {
      var bar = form.querySelector("progress");
      var status = form.querySelector("[data-status]");
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "text/html");
        var c = csrf();
        if (c) { xhr.setRequestHeader(c.header, c.token); }
        if (bar) { bar.hidden = false; bar.value = 0; }
        xhr.upload.addEventListener("progress", function (e) {
          if (e.lengthComputable && bar) { bar.max = e.total; bar.value = e.loaded; }
          if (status) {
            status.textContent = e.lengthComputable && e.loaded >= e.total
              ? "Uploaded; reading files…" : "Uploading… " + Math.round(100 * e.loaded / (e.total || 1)) + " %";
          }
        });
        xhr.addEventListener("load", function () {
          var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
          var fresh = doc.getElementById("import-results");
          var here = document.getElementById("import-results");
          if (fresh && here) { here.replaceWith(document.importNode(fresh, true)); }
          if (status) { status.textContent = xhr.status < 400 ? "Done." : "The import failed (" + xhr.status + ")."; }
          if (bar) { bar.value = bar.max; }
          form.reset();
        });
        xhr.addEventListener("error", function () {
          if (status) { status.textContent = "Network error during upload."; }
        });
        xhr.send(new FormData(form));
      });
    });
  }

  function ready() {
    bindSliders(document);
    bindFetchForms(document);
    bindUploads(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
}());
