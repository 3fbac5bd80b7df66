// A conversation's message box. Sending posts the message and reads the answer as the server
// writes it (Server-Sent Events in the response body: `delta` text, `tool_call`, then `message`
// or `error`), so the text appears in the agent's bubble as the model writes it. A refusal shows
// the API's own message. A deep research answers at once (202): the transcript is then refreshed
// every few seconds until the research is done. Without this script the form still works: the
// page comes back once the answer is in.
(function () {
  "use strict";

  const POLL_MS = 2500;
  const MAX_POLLS = 1440;

  function make(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    return el;
  }

  function csrfToken(form) {
    try {
      const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRF-Token"]) return headers["X-CSRF-Token"];
    } catch (ignored) { /* the form's own field below */ }
    const field = form.querySelector("input[name=csrf]");
    return field ? field.value : "";
  }

  function transcript() { return document.getElementById("transcript"); }

  function messageList() {
    let list = document.querySelector("#transcript .messages");
    if (!list) {
      list = make("ol", "messages");
      transcript().prepend(list);
    }
    return list;
  }

  function addMessage(role, text) {
    document.querySelectorAll("[data-empty-transcript]").forEach(function (el) { el.remove(); });
    const item = make("li", "msg msg-" + role);
    const head = make("div", "msg-head");
    head.appendChild(make("span", "author", role === "user" ? "You" : "Agent"));
    item.appendChild(head);
    const bubble = make("div", "bubble", text);
    item.appendChild(bubble);
    messageList().appendChild(item);
    item.scrollIntoView({ block: "nearest" });
    return { item: item, bubble: bubble };
  }

  function addToolCall(answer, call) {
    const details = make("details", "tool-call");
    const summary = make("summary");
    summary.append("Tool ", make("code", null, call.tool || "?"), " ", make("span", "status status-running", "called"));
    details.appendChild(summary);
    const box = make("div", "json");
    const bar = make("div", "json-bar");
    bar.appendChild(make("span", null, "Arguments"));
    box.appendChild(bar);
    const pre = make("pre", null, JSON.stringify(call.arguments || {}, null, 2));
    pre.tabIndex = 0;
    box.appendChild(pre);
    details.appendChild(box);
    answer.item.insertBefore(details, answer.bubble);
  }

  // Server-Sent Events out of `buffer`; what is left is the start of an event still coming.
  function takeEvents(buffer, handle) {
    let rest = buffer.replace(/\r\n/g, "\n");
    let cut = rest.indexOf("\n\n");
    while (cut >= 0) {
      const block = rest.slice(0, cut);
      rest = rest.slice(cut + 2);
      let kind = "message";
      const data = [];
      block.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) kind = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length) {
        let parsed = data.join("\n");
        try { parsed = JSON.parse(parsed); } catch (ignored) { /* plain text data */ }
        handle(kind, parsed);
      }
      cut = rest.indexOf("\n\n");
    }
    return rest;
  }

  // The API's message for a refused request (its JSON error body, or the console's error page).
  async function refusal(response) {
    const type = response.headers.get("content-type") || "";
    const text = await response.text();
    if (type.indexOf("json") >= 0) {
      try {
        const body = JSON.parse(text);
        if (body && body.message) return body.message;
      } catch (ignored) { /* fall through */ }
    }
    if (type.indexOf("html") >= 0) {
      const page = new DOMParser().parseFromString(text, "text/html");
      const message = page.querySelector(".message, .error");
      if (message && message.textContent.trim()) return message.textContent.trim();
    }
    return "the message was refused (HTTP " + response.status + ")";
  }

  function say(form, text) {
    const state = form.querySelector("#chat-state");
    if (state) state.textContent = text;
  }

  function showError(form, text) {
    const box = form.querySelector("#chat-error");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  // The transcript as the server has it now (the stored answer, with each tool's result).
  async function refresh() {
    const response = await fetch(window.location.href, {
      headers: { "HX-Request": "true" }, credentials: "same-origin",
    });
    if (!response.ok) return true;
    const holder = make("div");
    holder.innerHTML = await response.text();
    const fresh = holder.querySelector("#transcript");
    const current = transcript();
    if (!fresh || !current) return false;
    current.replaceWith(fresh);
    if (window.proactiveConsole) window.proactiveConsole.localize(fresh);
    return fresh.hasAttribute("data-active");
  }

  // Refresh the transcript until no turn is being answered (a deep research runs for minutes).
  function follow(form) {
    let polls = 0;
    const tick = function () {
      polls += 1;
      refresh().then(function (active) {
        if (active && polls < MAX_POLLS) {
          window.setTimeout(tick, POLL_MS);
        } else if (form) {
          say(form, "");
        }
      }, function () { if (polls < MAX_POLLS) window.setTimeout(tick, POLL_MS); });
    };
    window.setTimeout(tick, POLL_MS);
  }

  async function readAnswer(response, answer) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let failed = null;
    const handle = function (kind, data) {
      if (kind === "delta" && data && typeof data.text === "string") {
        answer.bubble.textContent += data.text;
      } else if (kind === "tool_call" && data) {
        addToolCall(answer, data);
      } else if (kind === "message" && data && typeof data.content === "string") {
        answer.bubble.textContent = data.content;
      } else if (kind === "error") {
        failed = (data && (data.error || data.message)) || "the agent could not answer";
      }
    };
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer = takeEvents(buffer + decoder.decode(chunk.value, { stream: true }), handle);
    }
    takeEvents(buffer + decoder.decode() + "\n\n", handle);
    return failed;
  }

  async function send(form) {
    const box = form.querySelector("textarea[name=message]");
    const button = form.querySelector("button[type=submit]");
    const text = box.value.trim();
    showError(form, "");
    if (!text) { showError(form, "Write a message first."); box.focus(); return; }
    button.disabled = true;
    say(form, "Sending…");
    const mine = addMessage("user", text);
    box.value = "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Accept": "text/event-stream",
          "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
          "X-CSRF-Token": csrfToken(form),
        },
        body: new URLSearchParams({ message: text }),
      });
      if (response.status === 202) {
        say(form, "The research is running; its progress appears above as it comes.");
        await refresh();
        follow(form);
        return;
      }
      const streamed = (response.headers.get("content-type") || "").indexOf("text/event-stream") === 0;
      if (!response.ok || !streamed) {
        // Refused before the turn began: nothing was stored, so the text goes back in the box.
        mine.item.remove();
        box.value = text;
        showError(form, response.redirected
          ? "Your session has ended: reload the page to sign in again."
          : await refusal(response));
        say(form, "");
        return;
      }
      say(form, "The agent is answering…");
      const answer = addMessage("assistant", "");
      answer.bubble.setAttribute("aria-busy", "true");
      const failed = await readAnswer(response, answer);
      answer.bubble.removeAttribute("aria-busy");
      if (failed) showError(form, "The agent could not answer: " + failed);
      say(form, "");
      await refresh();
    } catch (error) {
      showError(form, "The message could not be sent: " + (error && error.message ? error.message : error));
      say(form, "");
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("chat-form");
    if (!form || !window.fetch || !window.ReadableStream) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(form);
    });
    form.querySelector("textarea[name=message]").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    const current = transcript();
    if (current && current.hasAttribute("data-active")) follow(form);
  });
})();
