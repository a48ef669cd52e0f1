/* The search-result preview beside the article form's SEO fields: the title, address and
   description printed by the server follow the question, subject, slug, SEO description
   and answer as the editor types. The title is cut by its width in pixels (measured on a
   canvas in the font results use), the description by characters, each with an ellipsis,
   as search engines cut them. No inline script. */
(function () {
  "use strict";

  var ELLIPSIS = "\u2026";

  function words(text) {
    return (text || "").split(/\s+/).filter(Boolean).join(" ");
  }

  // Whole words that fit, then an ellipsis; ``fits`` says whether a text fits.
  function cutWhere(text, fits) {
    text = words(text);
    if (fits(text)) {
      return text;
    }
    var parts = text.split(" ");
    var kept = "";
    for (var i = 0; i < parts.length; i += 1) {
      var next = kept ? kept + " " + parts[i] : parts[i];
      if (!fits(next + ELLIPSIS)) {
        break;
      }
      kept = next;
    }
    if (!kept) {
      // One word longer than the room: cut inside it.
      var chars = Array.from(text);
      while (chars.length && !fits(chars.join("") + ELLIPSIS)) {
        chars.pop();
      }
      kept = chars.join("");
    }
    return kept.replace(/[\s,;:.|\-\u2013\u2014]+$/, "") + ELLIPSIS;
  }

  function attach(box) {
    var form = box.closest("form");
    if (!form) {
      return;
    }
    var field = function (name) {
      return form.querySelector("[name=" + name + "]");
    };
    var question = field("question");
    var slug = field("slug");
    var description = field("seo_description");
    var subject = field("subject");
    var answerPane = document.getElementById("id_answer_preview");
    var subjects = JSON.parse(box.dataset.subjects || "{}");
    var titlePx = Number(box.dataset.titlePx);
    var descriptionLimit = Number(box.dataset.descriptionLimit);
    var canvas = document.createElement("canvas").getContext("2d");
    canvas.font = box.dataset.titleFont;
    var shown = {
      title: box.querySelector(".serp__title"),
      address: box.querySelector(".serp__address"),
      description: box.querySelector(".serp__description")
    };

    function subjectTitle() {
      var option = subject && subject.selectedOptions && subject.selectedOptions[0];
      return option && option.value ? option.textContent.trim() : "\u2026";
    }

    function update() {
      var title = [words(question && question.value) || "\u2026", subjectTitle(), box.dataset.siteName].join(" | ");
      shown.title.textContent = cutWhere(title, function (text) {
        return canvas.measureText(text).width <= titlePx;
      });
      var subjectSlug = subject ? subjects[subject.value] : null;
      var site = new URL(box.dataset.siteUrl);
      var parts = [site.host, "learn"];
      if (subjectSlug && slug && slug.value) {
        parts.push(subjectSlug, "questions", slug.value);
      }
      shown.address.textContent = parts.join(" \u203a ");
      var text = description ? description.value : "";
      var fromAnswer = !words(text);
      if (fromAnswer && answerPane) {
        text = answerPane.innerText;
      }
      shown.description.classList.toggle("serp__description--from-answer", fromAnswer);
      shown.description.textContent = cutWhere(text, function (candidate) {
        return Array.from(candidate).length <= descriptionLimit;
      });
      box.dataset.state = "live";
    }

    // keyup and change too: the admin's script fills the slug from the question on keyup,
    // after the question's input event.
    [question, slug, description].forEach(function (input) {
      if (input) {
        ["input", "keyup", "change"].forEach(function (type) {
          input.addEventListener(type, update);
        });
      }
    });
    if (subject) {
      subject.addEventListener("change", update);
      // The subject is an autocomplete (select2), which announces changes through jQuery.
      if (window.django && window.django.jQuery) {
        window.django.jQuery(subject).on("change", update);
      }
    }
    if (answerPane && window.MutationObserver) {
      new MutationObserver(update).observe(answerPane, { childList: true, subtree: true });
    }
    update();
  }

  function start() {
    document.querySelectorAll("[data-serp]").forEach(attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
