// The inbox list's bulk assignment, for members with orders.assign: pick rows, pick a member,
// POST /api/v1/conversations/assign. Each conversation succeeds or fails alone on the server
// (assignment/conversations.py); the page says how many went and why the others did not, then
// reloads the list, which the server draws.
(function () {
  "use strict";
  const form = document.getElementById("inbox-bulk");
  if (!form) return;
  const all = document.getElementById("bulk-all");
  const count = document.getElementById("bulk-count");
  const send = document.getElementById("bulk-assign");
  form.hidden = false;

  function picks() { return Array.from(document.querySelectorAll(".row-pick")); }
  function picked() { return picks().filter(function (box) { return box.checked; }); }
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key] !== undefined ? values[key] : ""; });
  }
  function sync() {
    const n = picked().length;
    count.textContent = n ? say(count.dataset.text, { count: n }) : "";
    send.disabled = n === 0;
    all.checked = n > 0 && n === picks().length;
  }

  document.addEventListener("change", function (event) {
    if (event.target === all) picks().forEach(function (box) { box.checked = all.checked; });
    if (event.target === all || event.target.classList.contains("row-pick")) sync();
  });

  function toast(kind, text) {
    const area = document.getElementById("toast");
    if (!area) return;
    const box = document.createElement("div");
    box.className = "toast toast-" + kind;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = text;
    area.append(box);
    setTimeout(function () { box.remove(); }, 6000);
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    const ids = picked().map(function (box) { return Number(box.value); });
    if (!ids.length) return;
    const value = form.elements.assignee_id.value;
    send.disabled = true;
    let answer;
    try {
      const response = await fetch("/api/v1/conversations/assign", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ conversation_ids: ids, assignee_id: value ? Number(value) : null }),
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer && answer.error ? answer.error.message : response.statusText);
    } catch (e) {
      toast("error", e.message || form.dataset.network);
      sync();
      return;
    }
    if (answer.succeeded) toast("ok", say(form.dataset.done, { count: answer.succeeded }));
    const refused = answer.results.filter(function (r) { return !r.ok; });
    if (refused.length) {
      toast("error", say(form.dataset.failed, { count: refused.length, reason: refused[0].error.message }));
    }
    // The list shows the new assignees (and drops rows that left the tab) as the server draws it.
    setTimeout(function () { window.location.reload(); }, refused.length ? 2500 : 600);
  });

  sync();
})();
