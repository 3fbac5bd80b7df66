// The schedule form: offer the viewer's own time zone, and mark a field invalid while the
// message beside it (from the live preview or the server) says why.
(function () {
  "use strict";

  function markInvalid(root) {
    root.querySelectorAll("[data-error-for]").forEach(function (message) {
      const field = document.getElementById(message.getAttribute("data-error-for"));
      if (!field) return;
      if (message.textContent.trim()) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  }

  function offerLocalZone() {
    const button = document.querySelector("button[data-local-zone]");
    const input = document.getElementById("timezone");
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!button || !input || !zone) return;
    button.textContent = "Use my time zone (" + zone + ")";
    button.hidden = input.value === zone;
    button.addEventListener("click", function () {
      input.value = zone;
      button.hidden = true;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    input.addEventListener("input", function () { button.hidden = input.value === zone; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    offerLocalZone();
    markInvalid(document);
  });
  document.addEventListener("htmx:afterSettle", function () { markInvalid(document); });
})();
