/* Case pages: live countdowns, the apology coach's override and its rewrite. No build step.
 *
 * Countdowns: every element with data-due (an ISO time) is rewritten once a
 * second: "due in 12m 05s", amber under a quarter of its time left (data-start
 * gives the start), red "overdue by ..." once past. Times are corrected by the
 * server's clock (data-now on the page) so a wrong laptop clock cannot lie.
 */
(function () {
  "use strict";

  var WARN_SHARE = 0.25;
  var skew = 0;

  function readSkew() {
    var holder = document.querySelector("[data-now]");
    if (!holder) return;
    var server = Date.parse(holder.getAttribute("data-now"));
    if (!isNaN(server)) skew = server - Date.now();
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // Same format as the duration filter in cases_ui.py.
  function duration(totalSeconds) {
    var total = Math.abs(Math.trunc(totalSeconds));
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + pad(minutes) + "m";
    if (minutes) return minutes + "m " + pad(seconds) + "s";
    return seconds + "s";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var start = Date.parse(el.getAttribute("data-start") || "");
      var left = Math.floor((due - now) / 1000);
      var state;
      var text;
      if (left < 0) {
        state = "over";
        text = "overdue by " + duration(left);
      } else {
        var span = isNaN(start) ? 0 : (due - start) / 1000;
        state = span > 0 && left < span * WARN_SHARE ? "warn" : "ok";
        text = "due in " + duration(left);
      }
      if (el.textContent !== text) el.textContent = text;
      ["ok", "warn", "over"].forEach(function (name) {
        el.classList.toggle("countdown--" + name, name === state);
      });
      var row = el.closest("[data-countdown-row]");
      if (row) row.classList.toggle("is-overdue", state === "over");
    });
  }

  /* The apology coach: the panel htmx swaps in says whether the draft passes
   * (data-passed). Below the threshold the override reason is shown and
   * required, and the send button says it sends with an override. */
  function syncOverride() {
    var panel = document.getElementById("coach-panel");
    var block = document.getElementById("apology-override");
    if (!panel || !block) return;
    var passed = panel.getAttribute("data-passed");
    var needed = passed === "false";
    block.hidden = !needed;
    var input = block.querySelector("textarea, input");
    if (input) input.required = needed;
    var button = document.getElementById("apology-send");
    if (button) {
      button.textContent = needed
        ? button.getAttribute("data-label-override")
        : button.getAttribute("data-label");
    }
  }

  document.addEventListener("htmx:afterSettle", function () {
    readSkew();
    tick();
    syncOverride();
  });

  /* "Use this draft": the coach's suggested rewrite replaces the draft, and the
   * draft's change event has the coach score it again. The agent edits it from
   * there; nothing is sent until they press send. */
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element && event.target.closest("[data-coach-take]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-coach-take"));
    var draft = document.querySelector("#apology-form textarea[name='body']");
    if (!source || !draft) return;
    draft.value = source.value;
    draft.dispatchEvent(new Event("change", { bubbles: true }));
    draft.focus();
  });

  // On a narrow screen the stepper scrolls sideways: show the step that is next.
  function revealCurrentStep() {
    var current = document.querySelector(".stepper [aria-current='step']");
    if (!current) return;
    var bar = current.closest(".stepper");
    if (bar && bar.scrollWidth > bar.clientWidth) {
      bar.scrollLeft = Math.max(0, current.offsetLeft - 24);
    }
  }

  // A step named in the address (the stepper's links, or a form's #step-...)
  // is unfolded so the link lands on something readable.
  function unfold(hash) {
    if (!hash || hash.indexOf("#step-") !== 0) return;
    var step = document.getElementById(hash.slice(1));
    if (step && step.tagName === "DETAILS") step.open = true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element && event.target.closest(".stepper a[href^='#step-']");
    if (link) unfold(link.getAttribute("href"));
  });
  window.addEventListener("hashchange", function () {
    unfold(window.location.hash);
  });

  function start() {
    unfold(window.location.hash);
    revealCurrentStep();
    readSkew();
    tick();
    syncOverride();
    setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
