/* 售后 on the shop page (shop/_aftersales.html, storefront/aftersales_api.py).
   On the order page: the order's requests, the form to ask for one (photos go up through the
   chat's upload first), withdrawing, and the return parcel's courier and number.
   In the chat: each after-sales card (kind aftersale_card, drawn empty by shop.js) is filled from
   the request as it is now, and redrawn when the shop's socket says it changed. */
(() => {
  "use strict";
  const configEl = document.getElementById("shop-config");
  const textEl = document.getElementById("aftersale-text");
  if (!configEl || !textEl) return;
  const shop = JSON.parse(configEl.textContent).shop;
  const T = JSON.parse(textEl.textContent);
  const api = `/s/${shop}/api`;
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  const yuan = (fen) =>
    "¥" + (fen / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  async function call(method, path, body) {
    let response;
    try {
      response = await fetch(`${api}${path}`, {
        method,
        credentials: "same-origin",
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      return { ok: false, data: {} };
    }
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, data };
  }
  const errorText = (r) => (r.data && r.data.error && r.data.error.message) || T.failed;

  // --- one request, as both the order page and the chat card show it -----------------------------
  function requestView(a, options) {
    const box = el("div", "aftersale-item stack");
    box.dataset.aftersale = a.id;
    box.dataset.status = a.status;
    const head = el("div", "card-head");
    head.append(el("span", "small", `${a.kind_label} · ${a.number}`), el("strong", "aftersale-status", a.status_label));
    box.append(head);
    const lines = el("ul", "lines");
    for (const line of a.lines) {
      const li = el("li");
      li.append(el("span", "", `${line.name}${line.spec ? " " + line.spec : ""} × ${line.quantity}`));
      lines.append(li);
    }
    box.append(lines);
    if (a.kind !== "exchange") {
      const amount = el("p", "line");
      amount.append(el("span", "", T.amount), el("span", "", yuan(a.requested_amount)));
      box.append(amount);
    }
    if (a.staff_message) box.append(el("p", "small", `${T.shop_says}: ${a.staff_message}`));
    // The order page's form says the parcel was sent (actionsFor); elsewhere this line does.
    const sentShown = options && options.actions && a.status === "awaiting_return";
    if (a.return_tracking && !sentShown) {
      box.append(el("p", "small muted", `${T.return_parcel}: ${a.return_carrier_name || a.return_carrier} ${a.return_tracking}`));
    }
    box.append(el("p", "aftersale-next small", a.next_step_text));
    if (options && options.actions) actionsFor(box, a, options);
    return box;
  }

  function actionsFor(box, a, options) {
    const error = el("p", "error small");
    error.setAttribute("role", "alert");
    if (a.status === "awaiting_return") {
      const form = el("form", "aftersale-return stack");
      const select = el("select");
      select.name = "carrier_code";
      select.setAttribute("aria-label", T.courier);
      for (const c of options.couriers || []) {
        const opt = el("option", "", c.name);
        opt.value = c.code;
        if (c.code === a.return_carrier) opt.selected = true;
        select.append(opt);
      }
      const input = el("input");
      Object.assign(input, { name: "tracking_number", maxLength: 40, placeholder: T.tracking, autocomplete: "off" });
      input.setAttribute("aria-label", T.tracking);
      input.value = a.return_tracking || "";
      const send = el("button", "primary", T.send_return);
      form.append(select, input, send);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        send.disabled = true;
        const body = { carrier_code: select.value, tracking_number: input.value.trim(), version: a.version };
        const r = await call("POST", `/aftersales/${a.id}/return`, body);
        send.disabled = false;
        if (!r.ok) error.textContent = errorText(r);
        else options.reload();
      });
      if (a.return_tracking) {
        // Sent already: say so, with 修改 reopening the form until the shop confirms arrival.
        form.hidden = true;
        const sent = el("p", "aftersale-return-sent small");
        const parcel = `${a.return_carrier_name || a.return_carrier} ${a.return_tracking}`;
        sent.append(el("span", "", T.return_sent.replace("{parcel}", parcel) + " "));
        const change = el("button", "link small aftersale-return-change", T.change_return);
        change.type = "button";
        change.addEventListener("click", () => {
          sent.hidden = true;
          form.hidden = false;
          input.focus();
        });
        sent.append(change);
        box.append(sent);
      }
      box.append(form);
    }
    if (["requested", "approved", "awaiting_return"].includes(a.status)) {
      const withdraw = el("button", "link small aftersale-withdraw", T.withdraw);
      withdraw.type = "button";
      withdraw.addEventListener("click", async () => {
        if (!window.confirm(T.withdraw_confirm)) return;
        const r = await call("POST", `/aftersales/${a.id}/withdraw`, { version: a.version });
        if (!r.ok) error.textContent = errorText(r);
        else options.reload();
      });
      box.append(withdraw);
    }
    box.append(error);
  }

  // --- chat cards -------------------------------------------------------------------------------------
  async function fillCard(card) {
    const id = Number(card.dataset.aftersale);
    const r = await call("GET", `/aftersales/${id}`);
    if (!r.ok) return;
    const body = card.querySelector(".aftersale-body");
    body.replaceChildren(requestView(r.data));
    card.dataset.status = r.data.status;
  }

  function cardsOf(root) {
    const found = root.matches && root.matches(".aftersale-card[data-aftersale]") ? [root] : [];
    return found.concat(Array.from(root.querySelectorAll ? root.querySelectorAll(".aftersale-card[data-aftersale]") : []));
  }

  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        for (const card of cardsOf(node)) {
          if (!card.dataset.filled) {
            card.dataset.filled = "1";
            fillCard(card);
          }
        }
      }
    }
  }).observe(document.body, { childList: true, subtree: true });

  const page = document.getElementById("aftersales");
  let reloadPage = null;

  // shop.js hands over every socket frame; an after-sales step redraws that request's cards.
  document.addEventListener("shop:event", (ev) => {
    const frame = ev.detail || {};
    if (frame.event !== "order.aftersale" || !frame.aftersale) return;
    const id = Number(frame.aftersale.aftersale_id);
    document.querySelectorAll(`.aftersale-card[data-aftersale="${id}"]`).forEach(fillCard);
    if (reloadPage) reloadPage();
  });

  // --- the order page -----------------------------------------------------------------------------------
  if (!page) return;
  const orderId = Number(page.dataset.aftersaleOrder);
  const q = (sel) => page.querySelector(sel);
  const form = q(".aftersale-form");
  const open = q(".aftersale-open");
  const error = q(".aftersale-error");
  let state = null;

  async function loadPage() {
    const r = await call("GET", `/orders/${orderId}/aftersales`);
    if (!r.ok) return;
    state = r.data;
    const list = q(".aftersale-list");
    list.replaceChildren(
      ...state.items.map((a) => requestView(a, { actions: true, couriers: state.couriers, reload: loadPage }))
    );
    page.hidden = !state.items.length && !state.kinds.length;
    open.hidden = !state.kinds.length;
    form.hidden = true;
  }

  function drawForm() {
    const kinds = q(".aftersale-kinds");
    kinds.replaceChildren(
      ...state.kinds.map((kind, i) => {
        const label = el("label", "chip");
        const radio = el("input");
        Object.assign(radio, { type: "radio", name: "kind", value: kind, checked: i === 0 });
        label.append(radio, el("span", "", T.kinds[kind]));
        return label;
      })
    );
    const lines = q(".aftersale-lines");
    lines.querySelectorAll(".aftersale-line").forEach((n) => n.remove());
    for (const line of state.lines) {
      if (!line.left) continue;
      const row = el("label", "aftersale-line row");
      const qty = el("input");
      Object.assign(qty, { type: "number", min: "0", max: String(line.left), value: String(line.left) });
      qty.dataset.item = line.order_item_id;
      row.append(el("span", "", `${line.name}${line.spec ? " " + line.spec : ""} · ${yuan(line.unit_price)}`), qty);
      lines.append(row);
    }
    const reason = q(".aftersale-reason");
    reason.replaceChildren(
      ...Object.entries(T.reasons).map(([code, words]) => {
        const opt = el("option", "", words);
        opt.value = code;
        return opt;
      })
    );
    error.textContent = "";
    form.hidden = false;
    open.hidden = true;
  }

  // Photos go up as chat photos first (the shop keeps them with the conversation); the request names them.
  async function upload(files) {
    const ids = [];
    for (const file of Array.from(files).slice(0, 9)) {
      const data = new FormData();
      data.append("file", file);
      const response = await fetch(`${api}/attachments`, { method: "POST", credentials: "same-origin", body: data });
      const sent = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error((sent.error && sent.error.message) || T.failed);
      ids.push(sent.data.attachment_id);
    }
    return ids;
  }

  open.addEventListener("click", drawForm);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const lines = Array.from(form.querySelectorAll(".aftersale-line input"))
      .map((input) => ({ order_item_id: Number(input.dataset.item), quantity: parseInt(input.value || "0", 10) || 0 }))
      .filter((line) => line.quantity > 0);
    if (!lines.length) {
      error.textContent = T.pick_lines;
      return;
    }
    const button = form.querySelector("button.primary");
    button.disabled = true;
    let photos = [];
    try {
      const files = form.querySelector("input[type=file]").files;
      if (files.length) {
        error.textContent = T.uploading;
        photos = await upload(files);
        error.textContent = "";
      }
    } catch (err) {
      error.textContent = err.message;
      button.disabled = false;
      return;
    }
    const picked = form.querySelector("input[name=kind]:checked");
    const body = {
      kind: picked ? picked.value : state.kinds[0],
      reason: form.querySelector(".aftersale-reason").value,
      note: form.querySelector("textarea[name=note]").value.trim(),
      lines,
      photos,
    };
    const r = await call("POST", `/orders/${orderId}/aftersales`, body);
    button.disabled = false;
    if (!r.ok) {
      error.textContent = errorText(r);
      return;
    }
    form.reset();
    loadPage();
  });

  reloadPage = loadPage;
  loadPage();
})();
