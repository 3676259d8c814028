/* The playbook editor: "Add" buttons copy a formset's empty row, and the apology
   coach's suggested wording can replace an apology's body. Without JavaScript the
   form still works with the blank row each section renders. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-add-row]") : null;
    if (!button) return;
    var prefix = button.getAttribute("data-add-row");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var list = button.closest("[data-rows]").querySelector(".pb-rows__list");
    if (!total || !template || !list) return;
    var index = parseInt(total.value, 10) || 0;
    var wrapper = document.createElement("div");
    wrapper.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = wrapper.firstElementChild;
    while (wrapper.firstChild) list.appendChild(wrapper.firstChild);
    total.value = String(index + 1);
    if (window.htmx && row) window.htmx.process(list.lastElementChild || row);
    var first = list.lastElementChild && list.lastElementChild.querySelector("input, select, textarea");
    if (first) first.focus();
  });

  // "Use this wording": the coach's suggested apology replaces this row's body;
  // the row's input event has the preview score it again.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-pb-take-rewrite]") : null;
    if (!button) return;
    var row = button.closest(".pb-row");
    var source = button.parentElement && button.parentElement.querySelector("[data-pb-rewrite]");
    var body = row && row.querySelector("textarea[name$='-body']");
    if (!source || !body) return;
    body.value = source.value;
    body.dispatchEvent(new Event("input", { bubbles: true }));
    body.dispatchEvent(new Event("change", { bubbles: true }));
    body.focus();
  });
})();
