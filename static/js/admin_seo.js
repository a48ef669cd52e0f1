/* Live character counts under the SEO fields of the article form: the count printed by the
   server follows each keystroke and warns past the field's limit (data-count-limit), the
   length search engines show before cutting the text off. No inline script. */
(function () {
  "use strict";

  function attach(field) {
    var counter = document.getElementById(field.id + "_count");
    if (!counter) {
      return;
    }
    var limit = Number(field.dataset.countLimit);
    var number = counter.querySelector(".char-count__number");
    var warning = counter.querySelector(".char-count__warning");

    function update() {
      // Characters as the server counts them (code points), not UTF-16 units.
      var length = Array.from(field.value).length;
      var over = length > limit;
      number.textContent = String(length);
      counter.classList.toggle("char-count--over", over);
      warning.textContent = over ? " — over " + limit + ": search engines will cut it off" : "";
    }

    field.addEventListener("input", update);
    update();
  }

  function start() {
    document.querySelectorAll("[data-count-limit]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
