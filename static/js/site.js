/* Small enhancements for article pages; the page reads fully without them.
   - Wide tables, formulas and code that scroll sideways become keyboard-focusable, so
     Safari users can scroll them too (Chromium and Firefox already allow it).
   - Code blocks get a Copy button where the Clipboard API is available.
   Loaded with defer; no inline script, no third-party request. */
(function () {
  "use strict";

  var SCROLLERS = [
    [".answer table", null],
    [".answer .math-display", "Formula"],
    [".answer .math-inline", "Formula"],
    [".answer pre", "Code"]
  ];

  function markScrollers() {
    SCROLLERS.forEach(function (entry) {
      document.querySelectorAll(entry[0]).forEach(function (box) {
        var scrolls = box.scrollWidth > box.clientWidth + 1;
        if (scrolls && !box.hasAttribute("tabindex")) {
          box.setAttribute("tabindex", "0");
          box.classList.add("scroll-box");
          // A table keeps its own role; other boxes become a named region.
          if (entry[1]) {
            box.setAttribute("role", "region");
            box.setAttribute("aria-label", entry[1] + " (scrolls sideways)");
          }
        } else if (!scrolls && box.classList.contains("scroll-box")) {
          box.removeAttribute("tabindex");
          box.classList.remove("scroll-box");
          if (entry[1]) {
            box.removeAttribute("role");
            box.removeAttribute("aria-label");
          }
        }
      });
    });
  }

  function addCopyButtons() {
    if (!navigator.clipboard || !window.isSecureContext) {
      return;
    }
    document.querySelectorAll(".answer .highlight").forEach(function (block) {
      var pre = block.querySelector("pre");
      if (!pre) {
        return;
      }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-button";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy code");
      var reset;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(pre.innerText.replace(/\n$/, "")).then(
          function () { show("Copied"); },
          function () { show("Copy failed"); }
        );
      });
      function show(text) {
        button.textContent = text;
        button.setAttribute("aria-label", text);
        clearTimeout(reset);
        reset = setTimeout(function () {
          button.textContent = "Copy";
          button.setAttribute("aria-label", "Copy code");
        }, 2000);
      }
      block.appendChild(button);
    });
  }

  var pending;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(markScrollers, 150);
  });
  addCopyButtons();
  markScrollers();
})();
