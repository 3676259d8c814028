// The canned-reply picker of a compose box: fetch the reply filled in for this case
// and put it where the cursor is in the message. A static file (no inline script),
// shown only when scripts run, since inserting needs one.
(function () {
  "use strict";

  function insertAt(textarea, text) {
    var start = textarea.selectionStart || 0;
    var end = textarea.selectionEnd || 0;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    var glue = before && !/\s$/.test(before) ? "\n\n" : "";
    textarea.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    // The apology coach listens for change: it scores the new draft at once.
    textarea.dispatchEvent(new Event("change", { bubbles: true }));
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setUp(picker) {
    var textarea = document.getElementById(picker.dataset.cannedTarget);
    if (!textarea) return;
    picker.hidden = false;
    var select = picker.querySelector("select");
    var status = picker.querySelector(".canned__status");
    picker.querySelector(".canned__insert").addEventListener("click", function () {
      if (!select.value) {
        status.textContent = "Choose a reply first.";
        select.focus();
        return;
      }
      var url = picker.dataset.cannedUrl.replace("/replies/0/", "/replies/" + select.value + "/");
      status.textContent = "Inserting…";
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (reply) {
          insertAt(textarea, reply.body);
          status.textContent = "Inserted “" + reply.title + "”. Make it personal before you send it.";
          select.value = "";
        })
        .catch(function () {
          status.textContent = "Could not load that reply; try again.";
        });
    });
  }

  function init() {
    document.querySelectorAll("[data-canned-target]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
