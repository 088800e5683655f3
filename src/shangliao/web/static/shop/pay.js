/* How the customer pays (payments/checkout.py): bank details with copy buttons, the shop's 收款码
   images and a native QR asked of WeChat Pay or Alipay, in the chat's payment-request cards
   (shop.js marks them with data-pay-order) and on the order page (#pay). Once the order is paid
   the block gives way to 已付款: the chat hears it on the socket (shop.js passes "shop:order"),
   the order page asks again every few seconds while something is owed. A payment request asking
   for part of what is owed (its data-pay-amount) shows and pays that part; the order page, all. */
(() => {
  "use strict";
  const textEl = document.getElementById("pay-text");
  const configEl = document.getElementById("shop-config");
  if (!textEl || !configEl) return;
  const T = JSON.parse(textEl.textContent);
  const cfg = JSON.parse(configEl.textContent);
  const api = `/s/${cfg.shop}/api`;
  const POLL_MS = 5000;

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  const yuan = (fen) =>
    "¥" + (fen / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const fill = (text, params) => text.replace(/\{(\w+)\}/g, (all, key) => (key in params ? params[key] : all));
  const label = (kind) => T["method_" + kind] || kind;

  async function call(method, path) {
    try {
      const response = await fetch(api + path, { method, credentials: "same-origin" });
      const data = await response.json().catch(() => ({}));
      return { ok: response.ok, data };
    } catch (err) {
      return { ok: false, data: {} };
    }
  }
  const errorText = (result) => (result.data.error && result.data.error.message) || T.failed;

  // --- drawing ------------------------------------------------------------------------------------

  function copyButton(value) {
    const button = el("button", "link pay-copy", T.copy);
    button.type = "button";
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(value);
      } catch (err) {
        return; // no clipboard (an old browser, no permission): the value is on screen to select
      }
      button.textContent = T.copied;
      setTimeout(() => {
        button.textContent = T.copy;
      }, 2000);
    });
    return button;
  }

  function row(list, name, value, copy) {
    if (!value) return;
    const dt = el("dt", "", name);
    const dd = el("dd");
    dd.append(el("span", "pay-value", value));
    if (copy) dd.append(copyButton(copy === true ? value : copy));
    list.append(dt, dd);
  }

  function bankBlock(bank, view) {
    const list = el("dl", "pay-bank");
    row(list, T.account_name, bank.account_name, true);
    row(list, T.bank, bank.bank, false);
    row(list, T.account_number, bank.account_number, bank.account_number.replace(/\s+/g, ""));
    row(list, T.branch, bank.branch, false);
    row(list, T.amount, yuan(view.amount), (view.amount / 100).toFixed(2));
    row(list, T.transfer_note, view.transfer_note, true);
    return [list, el("p", "muted small", T.note_hint)];
  }

  function nativeBlock(kind, view) {
    const button = el("button", "primary wide pay-native", fill(T.pay_with, { method: label(kind) }));
    button.type = "button";
    button.dataset.kind = kind;
    const qr = el("div", "pay-qr");
    qr.hidden = true;
    const error = el("p", "error");
    error.setAttribute("role", "alert");
    button.addEventListener("click", async () => {
      button.disabled = true;
      error.textContent = "";
      const result = await call("POST", `/orders/${view.order_id}/pay/${kind}${asking(view.asked)}`);
      button.disabled = false;
      if (!result.ok) {
        qr.hidden = true;
        error.textContent = errorText(result);
        return;
      }
      const picture = el("div", "pay-qr-code");
      picture.innerHTML = result.data.qr_svg; // drawn by our server (segno), no markup of anyone else's
      picture.setAttribute("role", "img");
      picture.setAttribute("aria-label", label(kind));
      const caption = el("p", "small", fill(T.qr_hint, { method: label(kind), amount: yuan(result.data.amount) }));
      qr.replaceChildren(picture, caption);
      if (/^https:\/\//.test(result.data.code_url)) {
        // Alipay's code is a link its app opens on the same phone too.
        const open = el("a", "pay-open", fill(T.open_app, { method: label(kind) }));
        open.href = result.data.code_url;
        open.rel = "noopener noreferrer";
        qr.append(open);
      }
      qr.hidden = false;
    });
    return [button, error, qr];
  }

  function methodBlock(option, view) {
    const block = el("section", "pay-method");
    block.dataset.kind = option.kind;
    block.append(el("h3", "", label(option.kind)));
    if (option.bank) block.append(...bankBlock(option.bank, view));
    if (option.static_code_url) {
      const img = el("img", "pay-static");
      img.src = option.static_code_url;
      img.alt = label(option.kind);
      img.loading = "lazy";
      block.append(img, el("p", "muted small", fill(T.static_hint, { method: label(option.kind) })));
    }
    if (option.native) block.append(...nativeBlock(option.kind, view));
    return block;
  }

  // ``box`` shows ``view`` (GET /orders/{id}/pay): the ways to pay while something is owed, 已付款 after.
  function draw(box, view) {
    box.dataset.payable = view.payable ? "true" : "false";
    box.dataset.paymentStatus = view.payment_status;
    if (!view.payable) {
      const paid = ["paid", "partially_refunded"].includes(view.payment_status);
      box.replaceChildren(...(paid ? [el("p", "pay-done", T.paid)] : []));
      box.hidden = !paid;
      return;
    }
    const total = el("p", "line total");
    total.append(el("span", "", T.amount_due), el("strong", "", yuan(view.amount)));
    box.replaceChildren(el("h2", "pay-title", T.how_to_pay), total, ...view.methods.map((o) => methodBlock(o, view)));
  }

  // A payment request's part of what is owed (fen), passed on; the server falls back to all that is
  // owed once the part is more than that (paid meanwhile).
  const asking = (amount) => (amount ? `?amount=${Number(amount)}` : "");

  async function refresh(orderId, asked) {
    const result = await call("GET", `/orders/${orderId}/pay${asking(asked)}`);
    return result.ok ? Object.assign(result.data, { asked: asked || null }) : null;
  }

  // --- the chat's payment-request cards -----------------------------------------------------------

  const orderOf = (card) => card.dataset.payOrder || card.dataset.order;
  const askedOf = (card) => card.dataset.payAmount || null; // set by shop.js on a part's request

  // A payment request always offers 怎么付款; an order card only while its order is owed money
  // (pay.css, by the data-payment-status shop.js sets from the customer's orders).
  function mountCard(card) {
    card.dataset.payMounted = "true";
    const toggle = el("button", "pay-toggle", T.how_to_pay);
    toggle.type = "button";
    const box = el("div", "pay-box");
    box.hidden = true;
    toggle.addEventListener("click", async () => {
      if (!box.hidden) {
        box.hidden = true;
        return;
      }
      toggle.disabled = true;
      const view = await refresh(orderOf(card), askedOf(card));
      toggle.disabled = false;
      if (!view) return;
      showOnCard(card, view, true);
    });
    const actions = card.querySelector(".card-actions");
    card.insertBefore(toggle, actions);
    card.insertBefore(box, actions);
  }

  function showOnCard(card, view, open) {
    const box = card.querySelector(":scope > .pay-box");
    const toggle = card.querySelector(":scope > .pay-toggle");
    draw(box, view);
    card.dataset.paymentStatus = view.payment_status;
    toggle.hidden = !view.payable;
    if (view.payable) box.hidden = !open;
  }

  function mountAll(root) {
    root.querySelectorAll(CARDS.map((c) => c + ":not([data-pay-mounted])").join(",")).forEach(mountCard);
  }

  const CARDS = [".pay-card[data-pay-order]", ".order-card[data-order]"];
  const messages = document.getElementById("messages");
  if (messages) {
    mountAll(messages);
    new MutationObserver(() => mountAll(messages)).observe(messages, { childList: true, subtree: true });
    document.addEventListener("shop:order", async (ev) => {
      const frame = ev.detail;
      const id = frame.order && frame.order.order_id;
      const n = Number(id);
      const cards = document.querySelectorAll(`.pay-card[data-pay-order="${n}"], .order-card[data-order="${n}"]`);
      if (!cards.length) return;
      const views = new Map(); // one ask per amount: every card of the order may ask for its own part
      for (const card of cards) {
        const box = card.querySelector(":scope > .pay-box");
        if (!box) continue;
        const asked = askedOf(card);
        if (!views.has(asked)) views.set(asked, await refresh(id, asked));
        const view = views.get(asked);
        if (view) showOnCard(card, view, !box.hidden);
      }
    });
  }

  // --- the order page ---------------------------------------------------------------------------------

  const section = document.getElementById("pay");
  if (section) {
    const data = section.querySelector(".pay-data");
    const view = JSON.parse(data.textContent);
    const box = el("div", "pay-box");
    section.replaceChildren(data, box);
    draw(box, view);
    section.hidden = box.hidden;
    let timer = null;
    const poll = async () => {
      if (document.visibilityState === "visible") {
        const fresh = await refresh(view.order_id);
        // Redraw only when the money moved: a redraw would take away a QR the customer is scanning.
        if (fresh && (fresh.payable !== view.payable || fresh.outstanding !== view.outstanding)) {
          Object.assign(view, fresh);
          draw(box, view);
          section.hidden = box.hidden;
        }
      }
      if (view.payable) timer = setTimeout(poll, POLL_MS);
    };
    if (view.payable) timer = setTimeout(poll, POLL_MS);
    window.shopPay = { stop: () => clearTimeout(timer) };
  }
})();
