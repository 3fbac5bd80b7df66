// What every console page does in the browser: times in the viewer's zone (UTC on hover), copy
// buttons, select-all boxes and bulk buttons, confirmations, and live regions that follow a
// server-sent event stream and fall back to polling. No inline script anywhere (the policy forbids it).
(function () {
  "use strict";

  const zoneName = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });

  function localize(root) {
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      const iso = el.getAttribute("datetime");
      const when = new Date(iso);
      if (isNaN(when.getTime())) return;
      el.textContent = format.format(when);
      el.title = when.toISOString().replace(".000Z", "Z") + " UTC (shown in " + zoneName + ")";
      el.dataset.local = "1";
    });
  }

  function toast(text) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = text;
    window.setTimeout(function () { if (box.textContent === text) box.textContent = ""; }, 4000);
  }

  function syncBulk(form) {
    const chosen = form.querySelectorAll("input[type=checkbox][data-select]:checked").length;
    form.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = chosen === 0;
    });
    form.querySelectorAll("[data-selection-count]").forEach(function (el) {
      el.textContent = chosen ? chosen + " selected" : "";
    });
  }

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      const source = document.querySelector(copy.getAttribute("data-copy"));
      const text = source ? (source.value !== undefined && source.tagName === "INPUT" ? source.value : source.textContent) : "";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { toast("Copied"); }, function () { toast("Copy failed"); });
      } else {
        const area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        document.execCommand("copy");
        area.remove();
        toast("Copied");
      }
    }
  });

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    const form = box.form;
    if (!form) return;
    if (box.hasAttribute("data-select-all")) {
      form.querySelectorAll("input[type=checkbox][data-select]").forEach(function (one) { one.checked = box.checked; });
    }
    syncBulk(form);
  });

  // A plain form (not htmx) asks before it acts when it says data-confirm.
  document.addEventListener("submit", function (event) {
    const submitter = event.submitter;
    const question = (submitter && submitter.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  // A live region: <tbody data-live="events url" data-poll="fragment url" data-interval="5">. Each
  // message of the stream is HTML put first in the region (an element whose id is already there
  // replaces it). When the stream fails (or the browser has none), the region's fragment is
  // fetched every few seconds instead.
  function live(region) {
    if (region.dataset.liveStarted) return;
    region.dataset.liveStarted = "1";
    const put = function (html) {
      const holder = document.createElement("tbody");
      holder.innerHTML = html;
      Array.from(holder.children).reverse().forEach(function (row) {
        const old = row.id ? document.getElementById(row.id) : null;
        if (old) old.replaceWith(row); else region.insertBefore(row, region.firstChild);
        localize(row);
        if (window.htmx) window.htmx.process(row);
      });
      region.querySelectorAll("[data-empty-row]").forEach(function (row) { row.remove(); });
      region.dispatchEvent(new CustomEvent("console:updated", { bubbles: true }));
    };
    const poll = function () {
      const url = region.dataset.poll;
      if (!url) return;
      const every = 1000 * (parseFloat(region.dataset.interval) || 5);
      const tick = function () {
        if (!document.body.contains(region)) return;
        fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (answer) { return answer.ok ? answer.text() : ""; })
          .then(function (html) { if (html) put(html); })
          .finally(function () { window.setTimeout(tick, every); });
      };
      window.setTimeout(tick, every);
    };
    if (!region.dataset.live || !window.EventSource) { poll(); return; }
    let opened = false;
    const stream = new EventSource(region.dataset.live, { withCredentials: true });
    stream.addEventListener("open", function () { opened = true; region.dataset.liveMode = "stream"; });
    stream.addEventListener("message", function (event) { put(event.data); });
    stream.addEventListener("error", function () {
      if (!opened || stream.readyState === EventSource.CLOSED) {
        stream.close();
        region.dataset.liveMode = "polling";
        poll();
      }
    });
  }

  function start(root) {
    localize(root);
    root.querySelectorAll("[data-live], [data-poll]").forEach(live);
    root.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-needs-selection]")) syncBulk(form);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (event) { start(event.target); });
  // An htmx request the server refused shows the server's message instead of doing nothing.
  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const text = (xhr.responseText || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
    toast("Refused (" + xhr.status + "): " + text.slice(0, 200));
  });
  window.proactiveConsole = { localize: localize, toast: toast };
})();
