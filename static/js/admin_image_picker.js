/* The answer editor's "Insert image": a dialog that searches the image library (the admin's
   picker view, staff with the image view permission, returns the matches as an HTML
   fragment made on the server) and inserts the chosen image's Markdown at the textarea's
   cursor, then tells the live preview the text changed. Keyboard: Down arrow from the
   search to the images, arrows between them, Enter to insert, Escape to close.
   Loaded as a file (no inline script) so a strict Content-Security-Policy can apply. */
(function () {
  "use strict";

  var DELAY_MS = 250;

  function attach(button) {
    var dialog = document.getElementById(button.getAttribute("aria-controls"));
    var textarea = dialog && document.getElementById(dialog.dataset.target);
    if (!textarea || typeof dialog.showModal !== "function") {
      return; // the library link beside it still gives each image's Markdown
    }
    var search = dialog.querySelector(".image-picker__search");
    var results = dialog.querySelector(".image-picker__results");
    var timer = null;
    var inFlight = null;
    var selection = { start: 0, end: 0 };
    var inserted = false;

    function choices() {
      return Array.prototype.slice.call(results.querySelectorAll(".image-picker__choice"));
    }

    function load() {
      window.clearTimeout(timer);
      timer = null;
      if (inFlight) {
        inFlight.abort(); // only the latest search matters
      }
      inFlight = new AbortController();
      var query = search.value;
      var url = dialog.dataset.pickerUrl + "?q=" + encodeURIComponent(query);
      results.setAttribute("aria-busy", "true");
      fetch(url, { credentials: "same-origin", signal: inFlight.signal })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("The library could not be searched (" + response.status + ").");
          }
          return response.text();
        })
        .then(function (html) {
          results.innerHTML = html; // made on the server, every value escaped
          results.dataset.query = query; // what the list shows the images for
          results.removeAttribute("aria-busy");
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            results.removeAttribute("aria-busy");
            var message = document.createElement("p");
            message.className = "image-picker__error";
            message.textContent = error.message;
            results.replaceChildren(message);
          }
        });
    }

    function insert(markdown) {
      textarea.focus();
      textarea.setRangeText(markdown, selection.start, selection.end, "end");
      inserted = true;
      dialog.close();
      // The live preview (admin_preview.js) follows typing: this is typing too.
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    }

    button.hidden = false;
    button.addEventListener("click", function () {
      selection = { start: textarea.selectionStart, end: textarea.selectionEnd };
      inserted = false;
      dialog.showModal();
      search.focus();
      search.select();
      load();
    });

    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(load, DELAY_MS);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // never submits the article form
        var first = choices()[0];
        if (first && !timer) {
          first.focus();
        } else {
          load();
        }
      } else if (event.key === "ArrowDown") {
        var firstChoice = choices()[0];
        if (firstChoice) {
          event.preventDefault();
          firstChoice.focus();
        }
      }
    });

    results.addEventListener("click", function (event) {
      var choice = event.target.closest(".image-picker__choice");
      if (choice) {
        insert(choice.dataset.markdown);
      }
    });
    results.addEventListener("keydown", function (event) {
      var list = choices();
      var at = list.indexOf(document.activeElement);
      if (at < 0) {
        return;
      }
      var step = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
      if (step) {
        event.preventDefault();
        if (at + step < 0) {
          search.focus();
        } else if (at + step < list.length) {
          list[at + step].focus();
        }
      }
    });

    dialog.querySelector(".image-picker__close").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("close", function () {
      window.clearTimeout(timer);
      timer = null;
      (inserted ? textarea : button).focus();
    });
  }

  function start() {
    document.querySelectorAll(".answer-editor__insert-image").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
