// The inbox's tools beside the conversation: the composer (text, files, pending/failed/retry),
// `/shortcode` quick replies, product cards, drafts made from the chat or from a customer's
// message, and the side panel's order steps. inbox.js (loaded first) owns the socket and the
// messages; this file reaches them through window.shangliaoInbox. Text goes in with textContent.
(function () {
  "use strict";

  const app = window.shangliaoInbox;
  if (!app || !app.boot) return;
  const state = app.state;
  const boot = app.boot;
  const T = app.text;
  const el = app.el;
  const fill = app.fill;
  const yuan = app.yuan;
  const api = app.api;
  const toast = app.toast;
  const clientId = app.clientId;
  const addMessage = app.addMessage;
  const socketSend = app.socketSend;
  const messagesUrl = app.messagesUrl;
  const toBottom = app.toBottom;
  const list = app.list;

  // --- sending -------------------------------------------------------------------------------

  function pendingNode(preview) {
    const li = el("li", "msg msg-me pending");
    const bubble = el("div", "bubble");
    bubble.append(el("p", "text", preview));
    const line = el("div", "meta small muted");
    line.append(el("span", "send-state", T.sending));
    li.append(bubble, line);
    list.append(li);
    toBottom();
    return li;
  }

  function failed(entry, message) {
    const line = entry.node.querySelector(".meta");
    line.textContent = "";
    entry.node.classList.add("failed");
    line.append(el("span", "send-state error-message", T.failed + (message ? " · " + message : "")), " ");
    const retry = el("button", "link", T.retry);
    retry.type = "button";
    retry.addEventListener("click", function () { attempt(entry); });
    line.append(retry);
  }

  async function attempt(entry) {
    entry.node.classList.remove("failed");
    const line = entry.node.querySelector(".meta");
    line.textContent = "";
    line.append(el("span", "send-state", T.sending));
    try {
      const m = await entry.send();
      if (m) addMessage(m);
    } catch (e) {
      if (e.status !== 401) failed(entry, e.message);
    }
  }

  // ``send`` reuses the same client_id on every retry: the server keeps the first one.
  function queue(preview, send, id) {
    const entry = { node: pendingNode(preview), send: send };
    state.pending.set(id, entry);
    attempt(entry);
  }

  function sendMessage(fields, preview) {
    const id = clientId();
    const payload = Object.assign({ client_id: id }, fields);
    queue(preview, function () { return api(messagesUrl(), { method: "POST", json: payload }); }, id);
  }

  function sendFile(file) {
    const id = clientId();
    queue(file.name, function () {
      const form = new FormData();
      form.append("file", file);
      form.append("client_id", id);
      return api("/api/v1/conversations/" + state.convId + "/attachments", { method: "POST", body: form });
    }, id);
  }

  const composer = document.getElementById("composer");
  const text = document.getElementById("composer-text");

  function submitText() {
    const value = text.value;
    if (!value.trim()) return;
    text.value = "";
    lastFill = null;
    hideHint();
    hideSuggest();
    sendMessage({ kind: "text", body: value }, value);
  }

  let typingSent = 0;
  function typed() {
    if (Date.now() - typingSent > 3000 && text.value && text.value[0] !== "/") {
      if (socketSend({ type: "typing", conversation_id: state.convId })) typingSent = Date.now();
    }
    lookupReplies();
  }

  // --- quick replies -------------------------------------------------------------------------

  const suggest = document.getElementById("reply-suggest");
  let replyTimer = null;
  let replies = [];
  let active = 0;

  function lookupReplies() {
    const match = /^\/(\S{0,32})$/.exec(text.value);
    clearTimeout(replyTimer);
    if (!match) { hideSuggest(); return; }
    replyTimer = setTimeout(async function () {
      try {
        const found = await api("/api/v1/reply-templates?q=" + encodeURIComponent(match[1]));
        if (!/^\//.test(text.value)) return;
        showSuggest(found.items || []);
      } catch (e) { hideSuggest(); }
    }, 150);
  }

  function showSuggest(items) {
    replies = items;
    active = 0;
    suggest.textContent = "";
    if (!items.length) {
      suggest.append(el("li", "muted small", T.no_replies));
    }
    items.slice(0, 8).forEach(function (item, i) {
      const li = el("li", "reply-option");
      li.setAttribute("role", "option");
      li.dataset.index = i;
      li.append(el("strong", null, "/" + item.shortcode), " ", el("span", null, item.title),
        el("div", "muted small reply-body", item.body.slice(0, 60)));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pickReply(i); });
      suggest.append(li);
    });
    paintActive();
    suggest.hidden = false;
  }

  function paintActive() {
    suggest.querySelectorAll(".reply-option").forEach(function (li, i) {
      li.setAttribute("aria-selected", i === active ? "true" : "false");
    });
  }

  function hideSuggest() {
    if (suggest) { suggest.hidden = true; suggest.textContent = ""; }
    replies = [];
  }

  // The order a quick reply speaks of: the one staff picked (in the panel or the composer's list),
  // or else the server's choice (the customer's latest order in play), named once filled in.
  const replyOrder = document.getElementById("reply-order");
  let replyOrderId = Number(new URLSearchParams(window.location.search).get("order")) || null;
  let lastFill = null; // {template, text}: the composer's text as a quick reply filled it

  function panelOrders() {
    return Array.from(document.querySelectorAll("#inbox-panel .panel-order"));
  }

  // Called whenever the panel is drawn: its orders are the choices.
  function syncReplyOrders() {
    if (!replyOrder) return;
    const orders = panelOrders();
    const ids = orders.map(function (li) { return Number(li.dataset.orderId); });
    if (ids.indexOf(replyOrderId) < 0) replyOrderId = null;
    replyOrder.textContent = "";
    const auto = el("option", null, T.reply_order_auto);
    auto.value = "";
    replyOrder.append(auto);
    orders.forEach(function (li) {
      const badge = li.querySelector(".badge");
      const option = el("option", null, "#" + li.querySelector(".number").textContent.trim() +
        (badge ? " · " + badge.textContent.trim() : ""));
      option.value = li.dataset.orderId;
      replyOrder.append(option);
    });
    replyOrder.value = replyOrderId ? String(replyOrderId) : "";
    document.getElementById("reply-order-field").hidden = !orders.length;
    orders.forEach(function (li) {
      const chosen = Number(li.dataset.orderId) === replyOrderId;
      li.classList.toggle("is-reply-order", chosen);
      const button = li.querySelector("[data-reply-order]");
      if (button) button.setAttribute("aria-pressed", chosen ? "true" : "false");
    });
  }

  // A reply already filled and left as it was follows the order staff switch to.
  function chooseReplyOrder(id) {
    if (id === replyOrderId) return;
    replyOrderId = id;
    syncReplyOrders();
    if (lastFill && text.value === lastFill.text) fillReply(lastFill.template);
  }

  async function fillReply(template) {
    const body = { template_id: template.id };
    if (replyOrderId) body.order_id = replyOrderId;
    let filled = { text: template.body, missing: [] };
    try {
      filled = await api("/api/v1/conversations/" + state.convId + "/reply-preview", { method: "POST", json: body });
    } catch (e) { toast("error", e.message); }
    text.value = filled.text;
    lastFill = { template: template, text: filled.text };
    text.focus();
    text.setSelectionRange(text.value.length, text.value.length);
    if (filled.order_id && !replyOrderId) { replyOrderId = filled.order_id; syncReplyOrders(); }
    const notes = [];
    if (filled.order_number) notes.push(fill(T.filled_from, { number: filled.order_number }));
    if (filled.missing && filled.missing.length) notes.push(fill(T.missing_vars, { names: filled.missing.join("、") }));
    if (notes.length) showHint(notes.join(" · ")); else hideHint();
  }

  function pickReply(i) {
    const item = replies[i];
    if (!item) return;
    hideSuggest();
    fillReply(item);
  }

  function showHint(message) {
    const hint = document.getElementById("composer-hint");
    hint.textContent = message;
    hint.hidden = false;
  }
  function hideHint() {
    const hint = document.getElementById("composer-hint");
    if (hint) hint.hidden = true;
  }

  // --- products and drafts -------------------------------------------------------------------

  const productDialog = document.getElementById("product-dialog");
  const draftDialog = document.getElementById("draft-dialog");
  let productTimer = null;
  let draftSource = null;

  function openProducts(mode) {
    productDialog.dataset.mode = mode;
    productDialog.querySelectorAll("[data-mode-title]").forEach(function (h) { h.hidden = h.dataset.modeTitle !== mode; });
    productDialog.showModal();
    const input = productDialog.querySelector("input[name=q]");
    input.focus();
    searchProducts(input.value);
  }

  async function searchProducts(q) {
    const results = document.getElementById("product-results");
    let page;
    try {
      page = await api("/api/v1/products?active=true&limit=20&q=" + encodeURIComponent(q.trim()));
    } catch (e) { results.textContent = ""; results.append(el("li", "error-message", e.message)); return; }
    results.textContent = "";
    if (!page.items.length) results.append(el("li", "muted", T.no_products));
    page.items.forEach(function (p) {
      const li = el("li", "product-result");
      const price = p.price_min === p.price_max ? yuan(p.price_min || 0) : yuan(p.price_min) + " – " + yuan(p.price_max);
      li.append(el("strong", null, p.name), " ", el("span", "muted", price));
      if (productDialog.dataset.mode === "card") {
        const send = el("button", "primary", T.send_card);
        send.type = "button";
        send.addEventListener("click", function () {
          productDialog.close();
          sendMessage({ kind: "product_card", product_id: p.id }, p.name);
        });
        li.append(" ", send);
      } else {
        const variants = el("div", "row");
        p.variants.filter(function (v) { return v.active; }).forEach(function (v) {
          const add = el("button", null, T.add + " " + (v.spec_label || "") + " " + yuan(v.price));
          add.type = "button";
          add.addEventListener("click", function () {
            addDraftLine({ variant_id: v.id, name: p.name, spec: v.spec_label, unit_price: v.price, quantity: 1 });
            productDialog.close();
          });
          variants.append(add);
        });
        li.append(variants);
      }
      results.append(li);
    });
  }

  function addDraftLine(item) {
    const lines = document.getElementById("draft-lines");
    const same = lines.querySelector('tr[data-variant="' + Number(item.variant_id) + '"] input');
    if (same) { same.value = Number(same.value) + (item.quantity || 1); return; }
    const tr = el("tr");
    tr.dataset.variant = item.variant_id;
    const name = el("td", null, item.name + (item.spec ? " · " + item.spec : ""));
    const qtyCell = el("td", "num");
    const qty = el("input");
    qty.type = "number";
    qty.min = 1;
    qty.max = 9999;
    qty.value = item.quantity || 1;
    qty.setAttribute("aria-label", item.name);
    qtyCell.append(qty);
    const remove = el("button", "link", T.remove);
    remove.type = "button";
    remove.addEventListener("click", function () { tr.remove(); });
    const tail = el("td", "num");
    tail.append(el("span", "muted", item.unit_price !== undefined ? yuan(item.unit_price) : ""), " ", remove);
    tr.append(name, qtyCell, tail);
    lines.append(tr);
  }

  function openDraft(items, sourceId, unmatched) {
    if (!draftDialog) return;
    document.getElementById("draft-lines").textContent = "";
    document.getElementById("draft-error").hidden = true;
    const note = document.getElementById("draft-unmatched");
    note.hidden = !(unmatched && unmatched.length);
    note.textContent = unmatched && unmatched.length ? fill(T.unmatched, { words: unmatched.join("、") }) : "";
    (items || []).forEach(addDraftLine);
    draftSource = sourceId || null;
    draftDialog.showModal();
  }

  async function createDraft(form) {
    const error = document.getElementById("draft-error");
    const items = Array.from(form.querySelectorAll("#draft-lines tr")).map(function (tr) {
      return { variant_id: Number(tr.dataset.variant), quantity: Number(tr.querySelector("input").value) };
    }).filter(function (i) { return i.quantity > 0; });
    if (!items.length) { error.textContent = T.draft_empty; error.hidden = false; return; }
    const body = { items: items, draft: true, remark: form.elements.remark.value.trim() };
    if (draftSource) body.source_message_id = draftSource;
    try {
      const order = await api("/api/v1/conversations/" + state.convId + "/orders", { method: "POST", json: body });
      draftDialog.close();
      form.elements.remark.value = "";
      toast("ok", fill(T.draft_created, { number: order.number }), { text: T.complete_draft, href: "/orders/" + order.id });
      refreshPanel();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  // Asked one message at a time: the recognition runs on the server and the answer is small.
  const suggestionQueue = [];
  let suggesting = false;
  let suggestionsAvailable = true;

  function askSuggestion(m) {
    if (!boot.can_chat || !draftDialog || !suggestionsAvailable) return;
    suggestionQueue.push(m);
    if (!suggesting) nextSuggestion();
  }

  async function nextSuggestion() {
    const m = suggestionQueue.shift();
    if (!m) { suggesting = false; return; }
    suggesting = true;
    try {
      const found = await api(messagesUrl() + "/" + m.id + "/suggestion");
      if (found && found.is_order && found.items.length) offerDraft(m, found);
    } catch (e) {
      if (e.status === 404 || e.status === 405) suggestionsAvailable = false;
    }
    nextSuggestion();
  }

  function offerDraft(m, found) {
    const node = state.byId.get(m.id);
    const slot = node && node.querySelector(".suggest-slot");
    if (!slot || slot.childElementCount) return;
    const button = el("button", "link draft-from-message", T.draft_from_message);
    button.type = "button";
    // An item whose words fit several variants comes without one: staff pick it in the dialog.
    const sure = found.items.filter(function (i) { return i.variant_id; });
    const unsure = found.items.filter(function (i) { return !i.variant_id; }).map(function (i) { return i.text || i.name; });
    button.addEventListener("click", function () { openDraft(sure, m.id, unsure.concat(found.unmatched || [])); });
    slot.append(" ", button);
  }

  // --- the side panel ------------------------------------------------------------------------

  let panelWanted = false;
  let panelTimer = null;

  function refreshPanel() {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(swapPanel, 150);
  }

  // Never under an open dialog: the swap would take it away while someone is typing in it. The
  // panel is fetched by hand, not by HTMX, whose swaps close every open dialog of the page.
  let panelAsked = 0;

  async function swapPanel() {
    if (document.querySelector("dialog[open]")) { panelWanted = true; return; }
    const asked = ++panelAsked;
    let fresh = null;
    try {
      const response = await fetch("/inbox/" + state.convId + "/panel", { credentials: "same-origin" });
      if (response.ok) fresh = (await app.serverFragment(response)).querySelector("#inbox-panel");
    } catch (e) { return; }
    if (asked !== panelAsked) return;
    const panel = document.getElementById("inbox-panel");
    if (document.querySelector("dialog[open]")) { panelWanted = true; return; }
    if (fresh && panel) { panel.replaceWith(fresh); syncReplyOrders(); showAssignee(fresh); }
  }

  // The chat's header names who handles it, as the freshly drawn panel says.
  function showAssignee(panel) {
    const head = document.getElementById("chat-assignee");
    if (head && panel.dataset.assignee) head.textContent = panel.dataset.assignee;
  }

  document.addEventListener("close", function () {
    if (panelWanted && !document.querySelector("dialog[open]")) { panelWanted = false; refreshPanel(); }
  }, true);

  async function orderStep(li, action, extra) {
    const body = Object.assign({ version: Number(li.dataset.version) }, extra || {});
    await api("/api/v1/orders/" + Number(li.dataset.orderId) + "/" + action, { method: "POST", json: body });
    toast("ok", T.saved);
    refreshPanel();
  }

  let dialogOrder = null;

  async function orderForm(form) {
    const error = form.querySelector("[data-form-error]");
    error.hidden = true;
    let extra;
    if (form.dataset.orderForm === "ship") {
      extra = { carrier_code: form.elements.carrier_code.value, tracking_number: form.elements.tracking_number.value.trim() };
    } else {
      // A reason code; the words typed go with it (needed for "other").
      const picked = form.querySelector("input[name=reason]:checked");
      const note = form.elements.other_reason.value.trim();
      extra = { reason: picked ? picked.value : "" };
      if (note) extra.reason_note = note;
    }
    try {
      await orderStep(dialogOrder, form.dataset.orderForm, extra);
      form.closest("dialog").close();
      form.reset();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  async function assign(value) {
    try {
      await api("/api/v1/conversations/" + state.convId + "/assignee",
        { method: "PUT", json: { assignee_id: value ? Number(value) : null } });
      toast("ok", T.saved);
      refreshPanel();
    } catch (e) { toast("error", e.message); }
  }

  async function setStatus(status) {
    try {
      await api("/api/v1/conversations/" + state.convId + "/status", { method: "PUT", json: { status: status } });
      toast("ok", T.saved);
      refreshPanel();
    } catch (e) { toast("error", e.message); }
  }

  // The device here is the customer it says it is: one customer from now on. The conversation
  // may have been merged into theirs, so the page moves to the one that lives on.
  async function linkClaim(customerId) {
    try {
      const kept = await api("/api/v1/conversations/" + state.convId + "/link-claimed",
        { method: "POST", json: { customer_id: Number(customerId) } });
      toast("ok", T.saved);
      if (kept.id !== state.convId) window.location.assign("/inbox/" + kept.id);
      else refreshPanel();
    } catch (e) { toast("error", e.message); }
  }

  async function sendOrder(li, what) {
    const orderId = Number(li.dataset.orderId);
    if (what === "card") {
      sendMessage({ kind: "order_card", order_id: orderId }, li.querySelector(".number").textContent);
      return;
    }
    if (what === "payment") {
      // The default amount: everything still unpaid. The note (how to pay) is typed as a text.
      sendMessage({ kind: "payment_request", order_id: orderId }, li.querySelector(".number").textContent);
      return;
    }
    try {
      const m = await api("/api/v1/orders/" + orderId + "/checkpoints/details", { method: "POST" });
      if (m && m.id) addMessage(m);
      toast("ok", T.sent);
    } catch (e) { toast("error", e.message); }
  }

  // --- wiring --------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (target.closest("[data-open-products]")) { openProducts(target.closest("[data-open-products]").dataset.openProducts); return; }
    if (target.closest("[data-open-draft]")) { openDraft([], null, []); return; }
    const li = target.closest(".panel-order");
    // Only "用于回复" picks the order quick replies fill from: a click on an order's other buttons
    // (confirm, ship, send) must not switch a reply already filled for another order.
    if (target.closest("[data-reply-order]")) {
      if (li) chooseReplyOrder(Number(li.dataset.orderId));
      return;
    }
    if (target.closest("[data-order-action]") && li) {
      orderStep(li, target.closest("[data-order-action]").dataset.orderAction).catch(function (e) { toast("error", e.message); });
      return;
    }
    const opener = target.closest("[data-order-dialog]");
    if (opener && li) {
      dialogOrder = li;
      const dialog = document.getElementById(opener.dataset.orderDialog);
      // Shipping an order not marked paid asks once: a tick the form requires.
      const unpaid = Number(li.dataset.unpaid) > 0;
      dialog.querySelectorAll("[data-unpaid-note]").forEach(function (n) { n.hidden = !unpaid; });
      const tick = dialog.querySelector("input[name=ship_unpaid]");
      if (tick) { tick.required = unpaid; tick.checked = false; }
      dialog.showModal();
      return;
    }
    const send = target.closest("[data-send-order]");
    if (send && li) { sendOrder(li, send.dataset.sendOrder); return; }
    const link = target.closest("[data-link-claim]");
    if (link) { link.disabled = true; linkClaim(link.dataset.linkClaim); return; }
    const me = target.closest("[data-assign-me]");
    if (me) { assign(me.dataset.assignMe); return; }
    const status = target.closest("[data-set-status]");
    if (status) setStatus(status.dataset.setStatus);
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "assignee") assign(event.target.value);
    if (event.target.id === "reply-order") chooseReplyOrder(Number(event.target.value) || null);
    if (event.target.id === "composer-file" && event.target.files.length) {
      Array.from(event.target.files).forEach(sendFile);
      event.target.value = "";
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches("[data-order-form]")) { event.preventDefault(); orderForm(form); }
    if (form.id === "draft-form") { event.preventDefault(); createDraft(form); }
    if (form.id === "product-search") { event.preventDefault(); searchProducts(form.elements.q.value); }
  });

  function onKey(event) {
    const shown = Math.min(replies.length, 8);
    if (!suggest.hidden && shown) {
      if (event.key === "ArrowDown") { active = (active + 1) % shown; paintActive(); event.preventDefault(); return; }
      if (event.key === "ArrowUp") { active = (active + shown - 1) % shown; paintActive(); event.preventDefault(); return; }
      if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); pickReply(active); return; }
    }
    if (event.key === "Escape") { hideSuggest(); return; }
    // Enter sends, but not while an input method is composing Chinese.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submitText(); }
  }

  app.askSuggestion = askSuggestion;
  app.refreshPanel = refreshPanel;
  // Deferred: the page is parsed by the time this runs.
  if (composer) {
    syncReplyOrders();
    composer.addEventListener("submit", function (event) { event.preventDefault(); submitText(); });
    text.addEventListener("input", typed);
    text.addEventListener("keydown", onKey);
    text.addEventListener("blur", function () { setTimeout(hideSuggest, 150); });
    productDialog.querySelector("input[name=q]").addEventListener("input", function (event) {
      clearTimeout(productTimer);
      productTimer = setTimeout(function () { searchProducts(event.target.value); }, 200);
    });
  }
})();
