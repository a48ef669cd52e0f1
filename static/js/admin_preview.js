/* Live preview of an article's answer in the admin: while the editor types, the unsaved
   answer is posted to the admin's preview view (staff only, CSRF-protected) and the HTML it
   returns, rendered and sanitised by the same pipeline as on save, replaces the pane.
   Loaded as a file (no inline script) so a strict Content-Security-Policy can apply. */
(function () {
  "use strict";

  var DELAY_MS = 400;

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function attach(textarea) {
    var pane = document.getElementById(textarea.dataset.previewPane);
    if (!pane) {
      return;
    }
    var status = pane.parentNode.querySelector(".answer-editor__status");
    var timer = null;
    var inFlight = null;
    var shown = textarea.value;

    function say(text, state) {
      if (status) {
        status.textContent = text;
      }
      pane.dataset.state = state;
    }

    function refresh() {
      var source = textarea.value;
      if (source === shown) {
        return;
      }
      if (inFlight) {
        inFlight.abort(); // only the latest text matters
      }
      inFlight = new AbortController();
      var body = new FormData();
      body.append("answer", source);
      say("updating…", "loading");
      fetch(textarea.dataset.previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(textarea.form) },
        signal: inFlight.signal
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("the preview failed (" + response.status + ")");
          }
          var fallbacks = Number(response.headers.get("X-Formula-Fallbacks") || 0);
          return response.text().then(function (html) {
            return { html: html, fallbacks: fallbacks };
          });
        })
        .then(function (result) {
          pane.innerHTML = result.html; // sanitised on the server, as the stored answer
          shown = source;
          say(
            result.fallbacks
              ? result.fallbacks + " formula(s) could not be converted and show as source"
              : "up to date",
            result.fallbacks ? "warning" : "ready"
          );
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            say(error.message, "error");
          }
        });
    }

    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY_MS);
    });
  }

  function start() {
    document.querySelectorAll("textarea[data-preview-url]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
