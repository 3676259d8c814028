// The bulk-action form of a case list: show only the fields the chosen action
// needs, count the ticked cases, and keep the list from refreshing itself (and
// dropping the ticks) while any is ticked. Without scripts every field shows
// and the form still works.
(function () {
  "use strict";

  function setUp(form) {
    var action = form.querySelector("select[name=action]");
    var count = form.querySelector("[data-bulk-count]");
    var submit = form.querySelector("[data-bulk-submit]");

    function ticked() {
      return document.querySelectorAll('input[name="case"][form="' + form.id + '"]:checked');
    }

    function showFields() {
      form.querySelectorAll("[data-bulk-for]").forEach(function (el) {
        var wanted = el.getAttribute("data-bulk-for").split(" ");
        el.hidden = !(wanted.indexOf("all") >= 0 || wanted.indexOf(action.value) >= 0);
      });
    }

    var everything = form.querySelector("[data-bulk-everything]");

    function showCount() {
      var n = ticked().length;
      if (everything && everything.checked) {
        count.textContent = "Every case in this view.";
        submit.disabled = false;
        return;
      }
      count.textContent = n
        ? n + " case" + (n === 1 ? "" : "s") + " ticked."
        : "Tick cases in the list to act on them.";
      submit.disabled = n === 0;
    }
    if (everything) everything.addEventListener("change", showCount);

    action.addEventListener("change", showFields);
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches('input[name="case"]')) showCount();
    });
    // htmx swaps the list in place every minute: not while a selection would be lost.
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (ticked().length && event.detail.elt && event.detail.elt.id === "case-results") {
        event.preventDefault();
      }
    });
    document.body.addEventListener("htmx:afterSwap", showCount);
    showFields();
    showCount();
  }

  function init() {
    document.querySelectorAll("form[data-bulk]").forEach(setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
