// The runs pages in the browser: rows that the live region replaces (a run whose status changed)
// keep their checkbox ticked, so a selection survives the list following new runs.
(function () {
  "use strict";

  const chosen = new Set();

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    const form = box.form;
    if (!form || form.id !== "runs-bulk") return;
    form.querySelectorAll("input[type=checkbox][data-select]").forEach(function (one) {
      if (one.checked) chosen.add(one.value); else chosen.delete(one.value);
    });
  });

  document.addEventListener("console:updated", function (event) {
    const region = event.target;
    if (!(region instanceof Element) || region.id !== "runs-rows") return;
    let restored = null;
    region.querySelectorAll("input[type=checkbox][data-select]").forEach(function (box) {
      if (!box.checked && chosen.has(box.value)) {
        box.checked = true;
        restored = box;
      }
    });
    // Tell the page's bulk buttons and count about the boxes ticked again.
    if (restored) restored.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
