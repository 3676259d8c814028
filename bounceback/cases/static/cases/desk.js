// The desk's small helpers, in a static file (no inline script, so a strict
// Content-Security-Policy holds):
// - beside a message form's channel, say what that channel does with the message;
// - keyboard shortcuts for the queue and the case, with a help overlay (?).
(function () {
  "use strict";

  // --- What the chosen channel does ---------------------------------------------------------
  function setUpHints() {
    document.querySelectorAll("[data-channel-hints]").forEach(function (hints) {
      var select = document.getElementById(hints.getAttribute("data-channel-hints"));
      if (!select) return;
      function show() {
        hints.querySelectorAll("[data-channel]").forEach(function (hint) {
          hint.hidden = hint.getAttribute("data-channel") !== select.value;
        });
      }
      select.addEventListener("change", show);
      show();
    });
  }

  // --- Keyboard shortcuts --------------------------------------------------------------------
  var SHORTCUTS = [
    ["j", "Next case in the list"],
    ["k", "Previous case in the list"],
    ["Enter", "Open the selected case"],
    ["r", "Reply: go to the next step's message"],
    ["n", "Write an internal note"],
    ["a", "Assign the case to me"],
    ["/", "Search"],
    ["?", "Show or hide these shortcuts"],
    ["Esc", "Close this help"],
  ];

  function typing(target) {
    if (!(target instanceof Element)) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(
      document.querySelectorAll("#case-results tbody tr.inbox__row, [data-shortcut-row]")
    );
  }

  var current = -1;
  function select(index) {
    var list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row, i) {
      row.classList.toggle("is-selected", i === current);
      if (i === current) row.setAttribute("aria-selected", "true");
      else row.removeAttribute("aria-selected");
    });
    var link = list[current].querySelector("a.table__primary, a");
    if (link) link.focus();
  }

  function focusFirst(selectors) {
    for (var i = 0; i < selectors.length; i++) {
      var el = document.querySelector(selectors[i]);
      if (el && el.offsetParent !== null) {
        var details = el.closest("details");
        if (details) details.open = true;
        el.focus();
        el.scrollIntoView({ block: "center" });
        return true;
      }
    }
    return false;
  }

  function reply() {
    // The open step's message box first, then any message box on the page.
    var open = document.querySelector("details.step[open] textarea");
    if (open) {
      open.focus();
      open.scrollIntoView({ block: "center" });
      return;
    }
    focusFirst(["details.step--next textarea", ".case-main textarea"]);
  }

  var overlay = null;
  function buildOverlay() {
    overlay = document.createElement("div");
    overlay.className = "shortcuts";
    overlay.id = "shortcuts-help";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-labelledby", "shortcuts-title");
    overlay.hidden = true;
    var panel = document.createElement("div");
    panel.className = "shortcuts__panel";
    var title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    panel.appendChild(title);
    var list = document.createElement("dl");
    list.className = "shortcuts__list";
    SHORTCUTS.forEach(function (pair) {
      var row = document.createElement("div");
      var key = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      key.appendChild(kbd);
      var what = document.createElement("dd");
      what.textContent = pair[1];
      row.appendChild(key);
      row.appendChild(what);
      list.appendChild(row);
    });
    panel.appendChild(list);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn";
    close.textContent = "Close";
    close.addEventListener("click", toggleHelp);
    panel.appendChild(close);
    overlay.appendChild(panel);
    overlay.addEventListener("click", function (event) {
      if (event.target === overlay) toggleHelp();
    });
    document.body.appendChild(overlay);
  }

  var returnFocus = null;
  function toggleHelp() {
    if (!overlay) buildOverlay();
    if (overlay.hidden) {
      returnFocus = document.activeElement;
      overlay.hidden = false;
      overlay.querySelector("button").focus();
    } else {
      overlay.hidden = true;
      if (returnFocus && returnFocus.focus) returnFocus.focus();
    }
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (overlay && !overlay.hidden) {
      if (event.key === "Escape" || event.key === "?") {
        event.preventDefault();
        toggleHelp();
      }
      return;
    }
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    switch (event.key) {
      case "?":
        event.preventDefault();
        toggleHelp();
        break;
      case "j":
        event.preventDefault();
        select(current + 1);
        break;
      case "k":
        event.preventDefault();
        select(current - 1);
        break;
      case "Enter":
        if (current >= 0) {
          var link = rows()[current] && rows()[current].querySelector("a");
          if (link) {
            event.preventDefault();
            link.click();
          }
        }
        break;
      case "r":
        event.preventDefault();
        reply();
        break;
      case "n":
        event.preventDefault();
        focusFirst(["#note_body"]);
        break;
      case "a":
        var button = document.getElementById("assign-me");
        if (button) {
          event.preventDefault();
          button.click();
        }
        break;
      case "/":
        if (
          focusFirst([
            "[data-shortcut-search]",
            "input[type=search]",
            "input[name=q]",
          ])
        ) {
          event.preventDefault();
        }
        break;
      default:
        break;
    }
  }

  function init() {
    setUpHints();
    document.addEventListener("keydown", onKey);
    document.body.addEventListener("htmx:afterSwap", function () {
      if (current >= 0) select(current);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
