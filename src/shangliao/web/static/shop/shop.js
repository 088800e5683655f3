/* The customer's shop page: chat (live over a socket that replays what it missed), ordering from a
   product link, and an order's page. Text comes translated from the server (#shop-config). */
(() => {
  "use strict";
  const configEl = document.getElementById("shop-config");
  if (!configEl) return;
  const cfg = JSON.parse(configEl.textContent);
  const T = cfg.text;
  const base = `/s/${cfg.shop}`;

  // --- small helpers ------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };
  const yuan = (fen) =>
    "¥" + (fen / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const newId = () => {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "c" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  };
  const statusText = (status) => cfg.status[status] || status;

  async function call(method, path, body, headers) {
    let response;
    try {
      response = await fetch(`${base}/api${path}`, {
        method,
        credentials: "same-origin",
        headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...(headers || {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      return { ok: false, status: 0, data: { error: { message: T.failed } } };
    }
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }
  const errorText = (result) => (result.data && result.data.error && result.data.error.message) || T.failed;

  // --- order cards (chat page, product page) -----------------------------------------------------------
  // Each card carries data-order; a live update (socket event or a fetched order) rewrites its state.
  function orderCard(data, kindLabel) {
    const card = el("div", "order-card");
    card.dataset.order = data.order_id;
    const head = el("div", "card-head");
    head.append(el("span", "muted small", kindLabel || ""), el("span", "number small", data.number || ""));
    card.append(head);
    if (Array.isArray(data.shown)) {
      // A checkpoint (details to check, tracking): the server's lines, the shop's record of what
      // was shown here, drawn as they are and in their order (the inbox draws the same).
      const shown = el("ol", "checkpoint-evidence");
      for (const part of data.shown) shown.append(el("li", "", part));
      card.append(shown);
    } else {
      const lines = el("ul", "lines");
      for (const item of data.items || []) {
        const li = el("li");
        const name = el("span", "", `${item.name}${item.spec ? " " + item.spec : ""} × ${item.quantity}`);
        li.append(name, el("span", "", item.amount !== undefined ? yuan(item.amount) : ""));
        lines.append(li);
      }
      card.append(lines);
      // What leads from the lines' sum to the total: 运费, and 优惠 when there is one.
      const extra = (label, text) => {
        const line = el("p", "line extra");
        line.append(el("span", "", label), el("span", "", text));
        card.append(line);
      };
      if (data.shipping_fee > 0) extra(T.shipping, yuan(data.shipping_fee));
      if (data.discount > 0) extra(T.discount, "-" + yuan(data.discount));
      if (data.total !== undefined) {
        const total = el("p", "line total");
        total.append(el("span", "", T.total), el("strong", "total-value", yuan(data.total)));
        card.append(total);
      }
      if (data.remark) card.append(el("p", "muted small", data.remark));
    }
    card.append(el("p", "card-status", statusText(data.status)));
    const track = el("a", "track", T.track);
    track.target = "_blank";
    track.rel = "noopener noreferrer";
    track.hidden = true;
    const receipt = el("button", "primary receipt", T.confirm_receipt);
    receipt.type = "button";
    receipt.hidden = true;
    receipt.addEventListener("click", () => confirmReceipt(data.order_id, receipt));
    const view = el("a", "view", T.view_order);
    view.href = `${base}/orders/${data.order_id}`;
    const actions = el("div", "card-actions");
    actions.append(track, receipt, view);
    card.append(actions);
    applyOrder(card, data);
    return card;
  }

  // Payment requests and quotes are snapshots: no data-order on them, so live order updates
  // (which rewrite an order card's status) leave them as they were sent.
  function paymentCard(data, note) {
    const card = el("div", "order-card pay-card");
    card.dataset.payOrder = Number(data.order_id); // pay.js adds how to pay and follows the order
    if (data.part !== false && data.amount) card.dataset.payAmount = Number(data.amount); // a part of what is owed
    const head = el("div", "card-head");
    head.append(el("span", "muted small", T.payment_request), el("span", "number small", data.number || ""));
    const due = el("p", "line total");
    due.append(el("span", "", T.amount_due), el("strong", "", yuan(data.amount)));
    card.append(head, due);
    if (note) card.append(el("p", "description small", note));
    const view = el("a", "view", T.view_order);
    view.href = `${base}/orders/${Number(data.order_id)}`;
    const actions = el("div", "card-actions");
    actions.append(view);
    card.append(actions);
    return card;
  }

  function quoteCard(data, note, messageId) {
    const card = el("div", "order-card quote-card");
    const head = el("div", "card-head");
    head.append(el("span", "muted small", T.quote));
    const lines = el("ul", "lines");
    for (const item of data.items || []) {
      const li = el("li");
      const name = `${item.name}${item.spec ? " " + item.spec : ""} ${yuan(item.unit_price)} × ${item.quantity}`;
      li.append(el("span", "", name), el("span", "", yuan(item.amount)));
      lines.append(li);
    }
    const total = el("p", "line total");
    total.append(el("span", "", T.total), el("strong", "", yuan(data.total || 0)));
    card.append(head, lines, total);
    if (note) card.append(el("p", "description small", note));
    if (messageId) {
      const accept = el("a", "button primary small", T.accept_quote);
      accept.href = `${base}/quotes/${messageId}`;
      card.append(accept);
    }
    return card;
  }

  // ``order`` is a socket card state ({order_id, status, total, tracking_url, tracking_number}) or a
  // public order from the API ({id, status, total, delivery: {...}}).
  function applyOrder(card, order) {
    const status = order.status;
    if (status) {
      card.dataset.status = status;
      card.querySelector(".card-status").textContent = statusText(status);
    }
    const url = order.tracking_url || (order.delivery && order.delivery.tracking_url);
    const number = order.tracking_number || (order.delivery && order.delivery.tracking_number);
    const track = card.querySelector(".track");
    if (url) {
      track.href = url;
      track.textContent = `${T.track} ${number || ""}`.trim();
      track.hidden = false;
    }
    if (order.total !== undefined && card.querySelector(".total-value")) {
      card.querySelector(".total-value").textContent = yuan(order.total);
    }
    // Sent in several parcels: each one's number, and 确认收货 per parcel on the order page.
    const split = order.parcels_shipped > 1;
    card.querySelector(".receipt").hidden = !(status === "shipped" && !order.archived) || split;
    if (split) showParcels(card, order.order_id || order.id);
    if (order.payment_status) card.dataset.paymentStatus = order.payment_status; // pay.css offers 怎么付款 by it
  }

  // "中通 SF1（包裹1）、顺丰 75（包裹2）" under the card, in place of the first parcel's link alone.
  async function showParcels(card, orderId) {
    const result = await call("GET", `/orders/${Number(orderId)}/parcels`);
    const parcels = result.ok && result.data.parcels;
    if (!parcels || parcels.length < 2) return;
    const zh = (document.documentElement.lang || "").startsWith("zh");
    let line = card.querySelector(".tracks");
    if (!line) {
      line = el("p", "tracks small");
      card.querySelector(".card-actions").before(line);
    }
    line.replaceChildren();
    parcels.forEach((p, i) => {
      if (i) line.append(T.parcel_separator);
      line.append(`${(zh ? p.carrier_zh : p.carrier_en) || p.carrier_code} `);
      const number = el(p.tracking_url ? "a" : "span", "", p.tracking_number);
      if (p.tracking_url) Object.assign(number, { href: p.tracking_url, target: "_blank", rel: "noopener noreferrer" });
      line.append(number, T.parcel_n.replace("{n}", p.seq));
    });
    card.querySelector(".track").hidden = true;
  }

  function updateCards(order) {
    const id = order.order_id || order.id;
    document.querySelectorAll(`.order-card[data-order="${id}"]`).forEach((card) => applyOrder(card, order));
  }

  async function confirmReceipt(orderId, button) {
    button.disabled = true;
    const result = await call("POST", `/orders/${orderId}/receipt`);
    button.disabled = false;
    if (!result.ok) {
      alert(errorText(result));
      return;
    }
    updateCards(result.data);
  }

  // --- chat page ----------------------------------------------------------------------------------------
  function chatPage() {
    const list = $("messages");
    const byId = new Map(); // message id -> <li>
    const pending = new Map(); // client id -> {li, body, sent}
    let lastSeq = cfg.event_seq || 0; // the last shop event seen: the socket replays after it
    let socket = null;
    let retries = 0;
    let oldestSeq = null;
    let readUpTo = 0;
    let typingTimer = null;
    let lastTypingSent = 0;
    let reconnectTimer = null;

    const banner = $("conn");
    const showBanner = (on) => {
      banner.hidden = !on;
    };

    function bubble(m) {
      const li = el("li", `msg from-${m.sender_type} kind-${m.kind}`);
      li.dataset.seq = m.seq;
      li.dataset.id = m.id;
      if (m.client_id) li.dataset.client = m.client_id;
      fill(li, m);
      return li;
    }

    function fill(li, m) {
      li.replaceChildren();
      if (m.recalled) {
        li.classList.add("recalled");
        li.append(el("span", "muted small", T.recalled));
        return;
      }
      const d = m.data || {};
      if (m.kind === "text") {
        li.append(el("div", "bubble", m.body));
      } else if (m.kind === "image" && d.attachment_id) {
        const img = el("img", "photo");
        img.src = `${base}/api/attachments/${d.attachment_id}`;
        img.alt = d.name || "";
        img.loading = "lazy";
        li.append(img);
      } else if (m.kind === "file" && d.attachment_id) {
        const link = el("a", "bubble file", `${T.file}: ${d.name || ""}`);
        link.href = `${base}/api/attachments/${d.attachment_id}`;
        li.append(link);
      } else if (m.kind === "product_card") {
        const link = el("a", "product-card");
        link.href = `${base}/p/${d.share_token}`;
        // The photo the card was sent with, kept with this conversation (see chat/card_photos.py).
        const src = d.photo ? `${base}/api/attachments/${Number(d.photo.attachment_id)}` : d.image;
        if (src) {
          const img = el("img");
          img.src = src;
          img.alt = "";
          link.append(img);
        }
        const text = el("span");
        const price = d.price_min === d.price_max ? yuan(d.price_min) : `${yuan(d.price_min)} – ${yuan(d.price_max)}`;
        text.append(el("strong", "", d.name), el("span", "muted", price));
        link.append(text);
        li.append(link);
      } else if (m.kind === "order_card") {
        li.append(orderCard(d, ""));
      } else if (m.kind === "aftersale_card") {
        // An after-sales request: aftersales.js fills it from the request as it is now, and redraws it.
        const card = el("div", "order-card aftersale-card");
        card.dataset.aftersale = d.aftersale_id;
        card.append(el("div", "muted small", m.body), el("div", "aftersale-body"));
        li.append(card);
      } else if (m.kind === "payment_request") {
        li.append(paymentCard(d, m.body));
      } else if (m.kind === "quote_card") {
        li.append(quoteCard(d, m.body, m.sender_type === "staff" && m.id));
      } else if (m.kind === "order_request") {
        const items = (d.items || []).map((i) => ({ ...i, amount: i.unit_price * i.quantity }));
        li.append(orderCard({ order_id: d.order_id, status: "draft", items, remark: d.remark }, T.order_request));
      } else {
        li.append(el("div", "notice", m.body || ""));
      }
      if (m.sender_type === "customer") {
        li.append(el("span", "state small muted", ""));
        offerRecall(li, m);
      }
    }

    // Like the chat apps customers know: their own message can be taken back for two minutes.
    const RECALL_MS = 2 * 60 * 1000;
    function offerRecall(li, m) {
      const left = RECALL_MS - (Date.now() - Date.parse(m.created_at));
      if (!m.id || ["order_request", "order_card", "aftersale_card"].includes(m.kind) || left <= 0) return;
      const button = el("button", "link small recall", T.recall);
      button.type = "button";
      button.addEventListener("click", async () => {
        const result = await call("POST", `/messages/${m.id}/recall`);
        if (result.ok) show(result.data);
        else alert(errorText(result));
      });
      li.append(button);
      setTimeout(() => button.remove(), left);
    }

    function place(li) {
      const seq = Number(li.dataset.seq);
      let after = list.lastElementChild;
      while (after && (after.dataset.seq === undefined || Number(after.dataset.seq) > seq)) {
        after = after.previousElementSibling;
      }
      if (after) after.after(li);
      else list.prepend(li);
      if (oldestSeq === null || seq < oldestSeq) oldestSeq = seq;
    }

    function show(m) {
      if (byId.has(m.id)) {
        const known = byId.get(m.id);
        if (m.recalled) fill(known, m);
        return known;
      }
      let li = null;
      const mine = m.client_id && pending.get(m.client_id);
      if (mine) {
        li = mine.li;
        pending.delete(m.client_id);
        li.classList.remove("pending", "failed");
        li.dataset.seq = m.seq;
        li.dataset.id = m.id;
        fill(li, m);
        li.remove();
      } else {
        li = bubble(m);
      }
      byId.set(m.id, li);
      place(li);
      markRead();
      return li;
    }

    function scrollDown() {
      window.scrollTo(0, document.body.scrollHeight);
    }

    function setReadMarks(seq) {
      list.querySelectorAll("li.from-customer").forEach((li) => {
        const state = li.querySelector(".state");
        if (state && li.dataset.seq && Number(li.dataset.seq) <= seq) state.textContent = T.read;
      });
    }

    function markRead() {
      let newest = 0;
      list.querySelectorAll("li.from-staff, li.from-system").forEach((li) => {
        newest = Math.max(newest, Number(li.dataset.seq || 0));
      });
      if (newest > readUpTo && document.visibilityState === "visible" && socketOpen()) {
        readUpTo = newest;
        socket.send(JSON.stringify({ type: "read", seq: newest }));
      }
    }

    const socketOpen = () => socket && socket.readyState === WebSocket.OPEN;

    function onEvent(frame) {
      document.dispatchEvent(new CustomEvent("shop:event", { detail: frame })); // for aftersales.js
      if (typeof frame.seq === "number" && frame.seq > lastSeq) lastSeq = frame.seq;
      const kind = frame.event;
      if (kind === "message.created" || kind === "message.recalled") {
        show(frame.message);
        if (kind === "message.created") scrollDown();
      } else if (kind === "conversation.read" && frame.side === "staff") {
        setReadMarks(frame.read_seq);
      } else if (kind === "typing" && frame.side === "staff") {
        $("typing").hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(() => {
          $("typing").hidden = true;
        }, 4000);
      } else if (kind && kind.startsWith("order.") && frame.order) {
        updateCards(frame.order);
        document.dispatchEvent(new CustomEvent("shop:order", { detail: frame })); // pay.js listens
      }
    }

    function connect() {
      clearTimeout(reconnectTimer);
      if (!navigator.onLine) {
        showBanner(true);
        return; // the "online" event brings us back
      }
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}${base}/ws?after=${lastSeq}`);
      socket = ws;
      ws.onopen = () => {
        retries = 0;
        showBanner(false);
        for (const [clientId, item] of pending) send(clientId, item); // resend what was not acknowledged
        markRead();
      };
      ws.onmessage = (msg) => {
        const frame = JSON.parse(msg.data);
        if (frame.type === "event") onEvent(frame);
        else if (frame.type === "ack") acked(frame);
        else if (frame.type === "ping" && frame.seq > lastSeq) lastSeq = frame.seq;
        else if (frame.type === "error") failed(null, frame.message);
        else if (frame.type === "resync") location.reload(); // too far behind to replay: start afresh
      };
      ws.onclose = () => {
        if (socket !== ws) return;
        socket = null;
        showBanner(true);
        // Back off (0.5 s, 1 s, 2 s … up to 15 s), with jitter so a restarted server is not stormed.
        const wait = Math.min(15000, 500 * 2 ** retries) * (0.75 + Math.random() / 2);
        retries += 1;
        reconnectTimer = setTimeout(connect, wait);
      };
    }

    window.addEventListener("offline", () => {
      showBanner(true);
      if (socket) socket.close();
    });
    window.addEventListener("online", () => {
      retries = 0;
      if (!socket) connect();
    });
    document.addEventListener("visibilitychange", markRead);
    setInterval(() => {
      if (socketOpen()) socket.send(JSON.stringify({ type: "ping" }));
    }, 25000);

    // Sending: shown at once as "sending", acknowledged by the server; a retry carries the same id.
    function send(clientId, item) {
      item.li.classList.remove("failed");
      item.li.querySelector(".state").textContent = T.sending;
      if (socketOpen()) socket.send(JSON.stringify({ type: "send", body: item.body, client_id: clientId }));
    }

    function acked(frame) {
      const item = pending.get(frame.client_id);
      if (!item) return;
      item.li.querySelector(".state").textContent = "";
      item.li.classList.remove("pending");
    }

    function failed(clientId, message) {
      for (const [id, item] of pending) {
        if (clientId && id !== clientId) continue;
        if (!item.li.classList.contains("pending")) continue;
        item.li.classList.add("failed");
        item.li.querySelector(".state").textContent = message ? `${message} ${T.not_sent}` : T.not_sent;
      }
    }

    $("composer").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = $("compose-text");
      const body = input.value.trim();
      if (!body) return;
      input.value = "";
      const clientId = newId();
      const li = el("li", "msg from-customer kind-text pending");
      li.dataset.client = clientId;
      li.append(el("div", "bubble", body), el("span", "state small muted", T.sending));
      li.addEventListener("click", () => {
        const item = pending.get(clientId);
        if (item && li.classList.contains("failed")) send(clientId, item);
      });
      list.append(li);
      const item = { li, body };
      pending.set(clientId, item);
      send(clientId, item);
      scrollDown();
    });

    $("compose-text").addEventListener("input", () => {
      const now = Date.now();
      if (socketOpen() && now - lastTypingSent > 3000) {
        lastTypingSent = now;
        socket.send(JSON.stringify({ type: "typing" }));
      }
    });

    // One more than a page is asked for: the button shows only when older messages really exist
    // (a page of exactly 30 would otherwise offer "earlier messages" that are not there).
    const PAGE = 30;
    async function loadEarlier() {
      const query = oldestSeq === null ? `limit=${PAGE + 1}` : `limit=${PAGE + 1}&before_seq=${oldestSeq}`;
      const result = await call("GET", `/messages?${query}`);
      if (!result.ok) return;
      const height = document.body.scrollHeight;
      const more = result.data.length > PAGE;
      result.data.slice(more ? 1 : 0).forEach(show); // oldest first: the extra one is the oldest
      $("earlier").hidden = !more;
      if (oldestSeq !== null) window.scrollBy(0, document.body.scrollHeight - height);
    }
    $("earlier").addEventListener("click", loadEarlier);

    async function refreshOrders() {
      const result = await call("GET", "/orders");
      if (result.ok) result.data.items.forEach(updateCards);
    }

    // A code texted to the number this device typed: the right one makes it that customer's.
    function claimCode() {
      const form = $("claim-code");
      if (!form) return;
      $("claim-send").addEventListener("click", async () => {
        $("claim-error").textContent = "";
        const result = await call("POST", "/phone-code");
        if (!result.ok) {
          $("claim-error").textContent = errorText(result);
          return;
        }
        $("claim-sent").textContent = T.code_sent;
      });
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const result = await call("POST", "/phone-code/check", { code: new FormData(form).get("code") });
        if (!result.ok) {
          $("claim-error").textContent = errorText(result);
          return;
        }
        window.location.reload(); // now the customer's device: their conversation and orders
      });
    }

    async function start() {
      $("thread").hidden = false;
      $("composer").hidden = false;
      await loadEarlier();
      await refreshOrders();
      scrollDown();
      connect();
    }

    const intro = $("intro");
    if (intro) {
      intro.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const form = new FormData(intro);
        const result = await call("POST", "/visitor", { name: form.get("name"), phone: form.get("phone") });
        if (!result.ok) {
          $("intro-error").textContent = errorText(result);
          return;
        }
        intro.remove();
        // A typed number proves nothing by itself, known or not (the answer does not say which).
        $("claim-note").hidden = false;
        if ($("claim-code")) $("claim-code").hidden = false;
        start();
      });
    } else {
      start();
    }
    claimCode();
    picker();
    window.shopChat = {
      get socket() {
        return socket;
      },
      get lastSeq() {
        return lastSeq;
      },
    };
  }

  // --- the "pick products" sheet: an order request for the shop ---------------------------------------
  function picker() {
    const dialog = $("picker");
    const listEl = $("picker-list");
    const picks = new Map(); // variant id -> quantity
    let cursor = null;
    let searchTimer = null;

    const refreshSend = () => {
      const count = [...picks.values()].reduce((a, b) => a + b, 0);
      $("picker-send").disabled = count === 0;
      $("picker-send").dataset.count = count;
    };

    function productRow(p) {
      const li = el("li", "pick-product");
      const cover = (p.photos || [])[0];
      if (cover) {
        // The cover's thumbnail, sized up front so the list does not jump as photos arrive.
        const img = el("img", "pick-cover");
        Object.assign(img, { src: cover.thumb, width: cover.thumb_width, height: cover.thumb_height, alt: p.name, loading: "lazy" });
        li.append(img);
      }
      li.append(el("strong", "", p.name));
      for (const v of p.variants) {
        const row = el("div", "pick-variant");
        row.append(el("span", "", v.spec_label || p.name), el("span", "muted", yuan(v.price)));
        if (v.availability === "sold_out") {
          row.append(el("span", "tag", T.sold_out));
        } else {
          if (v.availability === "presale") row.append(el("span", "tag", T.presale));
          const qty = el("input");
          qty.type = "number";
          qty.min = "0";
          qty.max = "999";
          qty.value = String(picks.get(v.id) || 0);
          qty.dataset.variant = v.id;
          qty.setAttribute("aria-label", `${p.name} ${v.spec_label}`);
          qty.addEventListener("input", () => {
            const n = Math.max(0, Math.min(999, parseInt(qty.value || "0", 10) || 0));
            if (n) picks.set(v.id, n);
            else picks.delete(v.id);
            refreshSend();
          });
          row.append(qty);
        }
        li.append(row);
      }
      return li;
    }

    async function load(reset) {
      const q = $("picker-q").value.trim();
      if (reset) cursor = null;
      const params = new URLSearchParams();
      if (q) params.set("q", q);
      if (cursor) params.set("cursor", cursor);
      const result = await call("GET", `/products?${params}`);
      if (!result.ok) {
        $("picker-error").textContent = errorText(result);
        return;
      }
      if (reset) listEl.replaceChildren();
      result.data.items.forEach((p) => listEl.append(productRow(p)));
      if (reset && !result.data.items.length) listEl.append(el("li", "muted", T.no_products));
      cursor = result.data.next_cursor;
      $("picker-more").hidden = !cursor;
    }

    $("open-picker").addEventListener("click", () => {
      picks.clear();
      refreshSend();
      $("picker-error").textContent = "";
      dialog.showModal();
      load(true);
    });
    $("picker-more").addEventListener("click", () => load(false));
    $("picker-q").addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => load(true), 250);
    });
    let requestId = null;
    $("picker-send").addEventListener("click", async () => {
      requestId = requestId || newId(); // kept until it succeeds: a retried tap sends one request
      const items = [...picks].map(([variant_id, quantity]) => ({ variant_id, quantity }));
      $("picker-send").disabled = true;
      const result = await call("POST", "/order-requests", {
        items,
        remark: $("picker-remark").value.trim(),
        client_id: requestId,
      });
      $("picker-send").disabled = false;
      if (!result.ok) {
        $("picker-error").textContent = errorText(result);
        return;
      }
      requestId = null;
      $("picker-remark").value = "";
      dialog.close();
    });
  }

  // --- product page: option chips ------------------------------------------------------------------------
  // One chip group per option (颜色, 尺码). A chip is disabled when no variant on offer with that value
  // and the other groups' picks can be ordered (sold out, or no such combination); a pick that
  // becomes impossible is dropped. ``refresh`` returns the variant the picks name, if complete.
  function optionChips(form) {
    const variants = cfg.product.variants;
    const groups = [...form.querySelectorAll("fieldset.chips")];
    const orderable = (v) => v.availability !== "sold_out";
    const picks = () => {
      const out = {};
      for (const g of groups) {
        const checked = g.querySelector("input:checked");
        if (checked) out[g.dataset.key] = checked.value;
      }
      return out;
    };
    // ``v`` agrees with every group picked so far, the group ``except`` left out.
    const fits = (v, picked, except) =>
      groups.every((g) => {
        const k = g.dataset.key;
        return k === except || !(k in picked) || v.choice[k] === picked[k];
      });

    function settle() {
      for (let round = 0; round <= groups.length; round += 1) {
        const picked = picks();
        let dropped = false;
        for (const g of groups) {
          const k = g.dataset.key;
          for (const input of g.querySelectorAll("input")) {
            const same = variants.filter((v) => v.choice[k] === input.value && fits(v, picked, k));
            const open = same.some(orderable);
            input.disabled = !open;
            const note = input.closest(".chip").querySelector(".chip-note");
            note.textContent = same.length && !open ? T.sold_out : ""; // none at all: no such combination
            if (!open && input.checked) {
              input.checked = false;
              dropped = true;
            }
          }
        }
        if (!dropped) return picked;
      }
      return picks();
    }

    const missing = () => {
      const picked = picks();
      const g = groups.find((group) => !(group.dataset.key in picked));
      return g ? T.choose_option.replace("{option}", g.querySelector("legend").textContent) : "";
    };

    function refresh() {
      const picked = settle();
      const complete = groups.every((g) => g.dataset.key in picked);
      let variant = null;
      if (!groups.length) variant = variants.length === 1 ? variants[0] : null;
      else if (complete) variant = variants.find((v) => fits(v, picked, null));
      $("variant-id").value = variant ? String(variant.id) : "";
      showVariantPhoto(variant);
      const line = $("variant-line");
      const price = $("price");
      if (variant) {
        price.textContent = yuan(variant.price);
        const says = { sold_out: T.sold_out, presale: T.presale_note, in_stock: T.in_stock };
        line.textContent = says[variant.availability] || "";
        line.dataset.availability = variant.availability;
      } else {
        const offered = variants.filter(orderable);
        line.textContent = offered.length ? missing() : T.sold_out;
        line.dataset.availability = offered.length ? "" : "sold_out";
      }
      $("order-submit").disabled = !variant || !orderable(variant);
      return variant;
    }

    // Start from the first variant that can be ordered, so the usual order is one tap away.
    const first = variants.find(orderable);
    if (first) {
      for (const g of groups) {
        const input = [...g.querySelectorAll("input")].find((i) => i.value === first.choice[g.dataset.key]);
        if (input) input.checked = true;
      }
    }
    return { refresh, missing };
  }

  // A variant with a photo of its own (the red one) brings that photo into view when it is picked.
  let photoShown = null;
  function showVariantPhoto(variant) {
    const id = variant ? String(variant.id) : null;
    if (id === photoShown) return; // a quantity change keeps the photo the customer scrolled to
    photoShown = id;
    const photo = id && document.querySelector(`.gallery img[data-variant="${id}"]`);
    if (photo) photo.parentElement.scrollTo({ left: photo.offsetLeft - photo.parentElement.offsetLeft, behavior: "smooth" });
  }

  // --- product page: order from a share link -----------------------------------------------------------
  function productPage() {
    const form = $("order-form");
    let key = null; // one Idempotency-Key per attempt at the same order; a changed form gets a new one
    const choose = optionChips(form);
    // A new device: name and mobile are the receiver's unless the customer orders for someone else.
    const forMe = $("for-me");
    const aboutYou = () => {
      $("about-you").hidden = forMe.checked;
      $("about-you").querySelectorAll("input").forEach((i) => {
        i.disabled = forMe.checked;
      });
    };
    if (forMe) {
      forMe.addEventListener("change", aboutYou);
      aboutYou();
    }
    const qty = form.querySelector("input[name=quantity]");
    const total = () => {
      const picked = choose.refresh();
      const n = parseInt(qty.value || "0", 10) || 0;
      $("order-total").textContent = picked ? yuan(picked.price * n) : "";
    };
    form.querySelectorAll("button[data-step]").forEach((b) =>
      b.addEventListener("click", () => {
        qty.value = String(Math.max(1, Math.min(999, (parseInt(qty.value, 10) || 1) + Number(b.dataset.step))));
        key = null;
        total();
      }),
    );
    form.addEventListener("input", () => {
      key = null;
      total();
    });
    total();
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const picked = choose.refresh();
      if (!picked || picked.availability === "sold_out") {
        $("order-error").textContent = choose.missing() || T.sold_out;
        return;
      }
      const body = {
        token: cfg.product.share_token,
        variant_id: picked.id,
        quantity: parseInt(f.get("quantity"), 10) || 1,
        remark: (f.get("remark") || "").trim(),
      };
      Object.assign(body, addressOf(form, f));
      if (forMe && forMe.checked && body.address) {
        body.name = body.address.receiver;
        body.phone = body.address.phone;
      } else if (f.has("name")) {
        body.name = f.get("name").trim();
        body.phone = f.get("phone").trim();
      }
      key = key || newId();
      $("order-submit").disabled = true;
      $("order-error").textContent = "";
      const result = await call("POST", "/orders", body, { "Idempotency-Key": key });
      $("order-submit").disabled = false;
      if (!result.ok) {
        $("order-error").textContent = errorText(result);
        return;
      }
      showPlaced(form, result.data.order);
    });
  }

  // The order form's address: a masked saved one is named by id (its street never reached this page).
  function addressOf(form, f) {
    const saved = form.querySelector("input[data-address-choice][data-address-id]:checked");
    if (saved) return { address_id: parseInt(saved.dataset.addressId, 10) };
    return {
      address: {
        receiver: f.get("receiver").trim(),
        phone: f.get("address_phone").trim(),
        province: f.get("province").trim(),
        city: f.get("city").trim(),
        district: (f.get("district") || "").trim(),
        detail: f.get("detail").trim(),
      },
    };
  }

  // The form gives way to shop/_placed.html: the order's card, 查看订单, and 去付款 when something is
  // still to pay and the shop takes payments (it opens the order page at its how-to-pay block).
  function showPlaced(form, order) {
    form.hidden = true;
    const placed = $("placed");
    placed.hidden = false;
    const placedCard = orderCard({ ...order, order_id: order.id }, "");
    placedCard.querySelector(".view").remove(); // the panel's own 查看订单 button is the one
    $("placed-card").replaceChildren(placedCard);
    $("placed-link").href = `${base}/orders/${order.id}`;
    const payLink = $("placed-pay");
    payLink.hidden = !(cfg.pays && order.status !== "draft" && order.total > (order.paid_amount || 0));
    payLink.href = `${base}/orders/${order.id}#pay`;
    // Where the customer is looking: the confirmation comes into view and takes the focus, so a
    // screen reader reads it out (the form they were in is gone).
    placed.scrollIntoView({ block: "start" });
    placed.focus({ preventScroll: true });
  }

  // --- quote page: a quote card accepted into an order (storefront/quotes.py) ---------------------------
  function quotePage() {
    const form = $("order-form");
    if (!form) return; // accepted already: the page shows the order instead
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const body = { remark: (f.get("remark") || "").trim(), ...addressOf(form, f) };
      $("order-submit").disabled = true;
      $("order-error").textContent = "";
      const result = await call("POST", `/quotes/${cfg.quote_id}/order`, body);
      $("order-submit").disabled = false;
      if (!result.ok) {
        $("order-error").textContent = errorText(result);
        return;
      }
      showPlaced(form, result.data.order);
    });
  }

  // --- order page ------------------------------------------------------------------------------------------
  function orderPage() {
    const button = $("receipt");
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      const result = await call("POST", `/orders/${cfg.order_id}/receipt`);
      if (!result.ok) {
        button.disabled = false;
        $("receipt-error").textContent = errorText(result);
        return;
      }
      location.reload();
    });
  }

  const page = document.querySelector("[data-page]");
  const kind = page && page.dataset.page;
  if (kind === "chat") chatPage();
  else if (kind === "product") productPage();
  else if (kind === "order") orderPage();
  else if (kind === "quote") quotePage();
})();
