// The staff inbox, live. Every message is drawn with createElement/textContent: a customer's text
// is never parsed as HTML. Rows and the side panel are server-drawn fragments, refetched when an
// event touches them. The staff socket replays from the last event seq it saw after a drop, and
// messages are keyed by id (pending ones by client_id), so nothing is lost or shown twice.
(function () {
  "use strict";

  const RECALL_MS = 2 * 60 * 1000;
  const bootNode = document.getElementById("inbox-boot");
  const boot = bootNode ? JSON.parse(bootNode.textContent) : null;
  const listPane = document.getElementById("inbox-list");
  const rowsEl = document.getElementById("inbox-rows");
  const inboxEl = document.getElementById("inbox");
  const T = boot ? boot.text : {};
  const filter = listPane ? listPane.dataset.filter : "all";

  const state = {
    eventSeq: boot ? boot.event_seq : Number(listPane ? listPane.dataset.eventSeq : 0) || 0,
    convId: boot ? boot.conversation_id : null,
    customerId: boot ? boot.customer_id : null,
    customerReadSeq: boot ? boot.customer_read_seq : 0,
    sentReadSeq: boot ? boot.staff_read_seq : 0,
    maxSeq: 0,
    minSeq: Infinity,
    hasMore: boot ? boot.has_more : false,
    loadingEarlier: false,
    byId: new Map(), // message id -> node
    pending: new Map(), // client_id -> {node, send}
    orders: new Map(), // order id -> live card state
    asked: new Set(), // order ids whose live state was fetched
  };

  // --- small helpers -------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return params[k] !== undefined ? params[k] : ""; });
  }

  function yuan(fen) {
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(fen);
    return sign + "¥" + Math.floor(abs / 100).toLocaleString("en-US") + "." + String(abs % 100).padStart(2, "0");
  }

  function clientId() {
    // getRandomValues works on plain-HTTP LAN addresses too, unlike randomUUID.
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return "c" + Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  // Times in the shop's time zone, as the list rows show them (the browser's zone may differ).
  const inShopZone = new Intl.DateTimeFormat("en-CA", {
    timeZone: (boot && boot.timezone) || undefined,
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  function zoned(d) {
    const p = {};
    inShopZone.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p;
  }
  function shortTime(iso) {
    const d = zoned(new Date(iso));
    const today = zoned(new Date());
    const hm = d.hour + ":" + d.minute;
    if (d.year === today.year && d.month === today.month && d.day === today.day) return hm;
    return d.month + "-" + d.day + " " + hm;
  }

  function size(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    if (bytes >= 1024) return Math.round(bytes / 1024) + " KB";
    return bytes + " B";
  }

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(url, options) {
    const opts = options || {};
    const headers = { Accept: "application/json" };
    let body = opts.body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    }
    Object.assign(headers, opts.headers || {});
    let response;
    try {
      response = await fetch(url, { method: opts.method || "GET", headers: headers, body: body, credentials: "same-origin" });
    } catch (e) {
      throw new ApiError(T.network || "network", 0);
    }
    if (response.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
      throw new ApiError("", 401);
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const message = data && data.error ? data.error.message : response.statusText;
      throw new ApiError(message, response.status);
    }
    return data;
  }

  // A fragment the server drew (a row, the panel): its text was escaped there, as for any HTMX
  // swap. Message text never comes this way; it is drawn with textContent below.
  async function serverFragment(response) {
    const template = document.createElement("template");
    template.innerHTML = (await response.text()).trim();
    return template.content;
  }

  function toast(kind, text, link) {
    const area = document.getElementById("toast");
    if (!area) return;
    const box = el("div", "toast toast-" + kind);
    const span = el("span", null, text);
    if (link) {
      span.append(" ");
      const a = el("a", null, link.text);
      a.href = link.href;
      span.append(a);
    }
    const close = el("button", "link", "×");
    close.type = "button";
    close.addEventListener("click", function () { box.remove(); });
    box.append(span, close);
    area.append(box);
    if (kind === "ok") setTimeout(function () { box.remove(); }, link ? 12000 : 4000);
  }

  // --- the conversation list -----------------------------------------------------------------

  const rowTimers = new Map();

  function touchRow(conversationId) {
    if (!rowsEl) return;
    clearTimeout(rowTimers.get(conversationId));
    rowTimers.set(conversationId, setTimeout(function () { refreshRow(conversationId); }, 120));
  }

  const rowAsked = new Map();

  async function refreshRow(conversationId) {
    // Answers may overtake each other: only the newest question's answer is drawn.
    const asked = (rowAsked.get(conversationId) || 0) + 1;
    rowAsked.set(conversationId, asked);
    let response;
    let fragment = null;
    try {
      response = await fetch("/inbox/rows/" + conversationId + "?filter=" + encodeURIComponent(filter),
        { credentials: "same-origin" });
      if (response.status === 200) fragment = await serverFragment(response);
    } catch (e) { return; }
    if (rowAsked.get(conversationId) !== asked) return;
    const old = document.getElementById("row-" + conversationId);
    if (response.status === 204) { if (old) old.remove(); return; }
    if (!fragment) return;
    const row = fragment.querySelector(".inbox-row");
    if (!row) return;
    if (Number(row.dataset.id) === state.convId) {
      row.classList.add("current");
      row.querySelector("a").setAttribute("aria-current", "page");
      // The open conversation stays where it was clicked: once read it would sort below the
      // unread ones, and the list would jump under the pointer.
      if (old) { old.replaceWith(row); return; }
    }
    if (old) old.remove();
    placeRow(row);
  }

  function before(a, b) {
    // The server's order: unread first, then the latest activity, then the id.
    const ua = Number(a.dataset.unread) > 0 ? 1 : 0;
    const ub = Number(b.dataset.unread) > 0 ? 1 : 0;
    if (ua !== ub) return ua > ub;
    if (Number(a.dataset.at) !== Number(b.dataset.at)) return Number(a.dataset.at) > Number(b.dataset.at);
    return Number(a.dataset.id) > Number(b.dataset.id);
  }

  function placeRow(row) {
    const rows = Array.from(rowsEl.querySelectorAll(".inbox-row"));
    const next = rows.find(function (other) { return before(row, other); });
    const more = rowsEl.querySelector(".inbox-more");
    if (next) rowsEl.insertBefore(row, next);
    else if (!more) rowsEl.append(row);
    // else: it sorts below the loaded page; "load more" brings it.
    const none = document.querySelector(".inbox-none");
    if (none) none.remove();
  }

  // --- the socket ----------------------------------------------------------------------------

  let socket = null;
  let attempts = 0;
  let everOpened = false;
  let reconnectTimer = null;

  function setConnection(lost) {
    const note = document.getElementById("chat-connection");
    if (inboxEl) inboxEl.dataset.connection = lost ? "lost" : "live";
    if (!note) return;
    note.hidden = !lost;
    note.textContent = lost ? T.reconnecting : "";
  }

  function connect() {
    clearTimeout(reconnectTimer);
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + window.location.host + "/api/v1/ws?after=" + state.eventSeq);
    socket = ws;
    ws.addEventListener("open", function () {
      attempts = 0;
      setConnection(false);
      if (everOpened) catchUp();
      everOpened = true;
      markRead();
    });
    ws.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "event") onEvent(frame);
      else if (frame.type === "resync") window.location.reload(); // too far behind to replay
    });
    ws.addEventListener("close", function () {
      if (socket !== ws) return;
      socket = null;
      setConnection(true);
      attempts += 1;
      const delay = Math.min(10000, 400 * Math.pow(2, attempts - 1)) + Math.random() * 300;
      reconnectTimer = setTimeout(connect, delay);
    });
  }

  function socketSend(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  // The server closes a silent socket; a ping keeps it open (and tells us when it is gone).
  setInterval(function () { socketSend({ type: "ping" }); }, 25000);
  window.addEventListener("online", function () { if (!socket) connect(); });
  // Gone offline: say so now and drop the socket (it would only notice at the next ping), so
  // coming back online reconnects and replays at once.
  window.addEventListener("offline", function () {
    setConnection(true);
    if (socket) socket.close();
  });

  async function catchUp() {
    // The socket replays events after our seq; the open chat also asks for what came after the
    // newest message it shows, in case the replay was cut short.
    if (!state.convId || !state.maxSeq) return;
    try {
      const missed = await api(messagesUrl() + "?after_seq=" + state.maxSeq + "&limit=200");
      missed.forEach(addMessage);
      markRead();
    } catch (e) { /* the next reconnect tries again */ }
  }

  function onEvent(frame) {
    if (frame.seq !== null && frame.seq !== undefined) {
      if (frame.seq <= state.eventSeq) return; // already seen
      state.eventSeq = frame.seq;
    }
    // The nav badges and alerts (alerts.js) hear this page's socket rather than opening another.
    document.dispatchEvent(new CustomEvent("shangliao:event", { detail: frame }));
    const kind = frame.event;
    if (kind === "message.created" || kind === "message.recalled") {
      const m = frame.message;
      touchRow(m.conversation_id);
      if (m.conversation_id !== state.convId) return;
      if (kind === "message.created" && m.sender_type === "customer") hideTyping();
      addMessage(m);
      if (m.sender_type === "customer") {
        markRead();
        if (m.kind === "text" && !m.recalled) askSuggestion(m);
      }
    } else if (kind === "conversation.read") {
      touchRow(frame.conversation_id);
      if (frame.conversation_id === state.convId && frame.side === "customer") {
        state.customerReadSeq = Math.max(state.customerReadSeq, frame.read_seq);
        updateReceipts();
      }
    } else if (kind === "conversation.assigned" || kind === "conversation.status") {
      touchRow(frame.conversation_id);
      if (frame.conversation_id === state.convId) refreshPanel();
    } else if (kind === "typing") {
      if (frame.conversation_id === state.convId && frame.side === "customer") showTyping();
    } else if (kind.indexOf("order.") === 0 && frame.order) {
      setOrderState(frame.order);
      if (frame.customer_id === state.customerId) refreshPanel();
      // An after-sales step (aftersales/service.py record_step): its cards read the request again.
      if (kind === "order.aftersale" && frame.aftersale) {
        document.querySelectorAll('.card-aftersale[data-aftersale-id="' + Number(frame.aftersale.aftersale_id) + '"]')
          .forEach(paintAftersale);
      }
    }
  }

  // --- messages ------------------------------------------------------------------------------

  const box = document.getElementById("chat-messages");
  const list = document.getElementById("chat-list");

  function messagesUrl() { return "/api/v1/conversations/" + state.convId + "/messages"; }

  function nearBottom() { return box.scrollHeight - box.scrollTop - box.clientHeight < 120; }
  function toBottom() { box.scrollTop = box.scrollHeight; }

  function addMessage(m) {
    const known = state.byId.get(m.id);
    if (known && !m.recalled && known.dataset.recalled !== "true") return; // a duplicate
    const stick = nearBottom();
    const node = renderMessage(m);
    const pending = m.client_id ? state.pending.get(m.client_id) : null;
    if (known) known.replaceWith(node);
    else if (pending) { pending.node.replaceWith(node); state.pending.delete(m.client_id); }
    else insertBySeq(node, m.seq);
    state.byId.set(m.id, node);
    state.maxSeq = Math.max(state.maxSeq, m.seq);
    state.minSeq = Math.min(state.minSeq, m.seq);
    if (m.data && m.data.order_id && !state.orders.has(m.data.order_id)) askOrder(m.data.order_id);
    if (stick || m.sender_type !== "customer") toBottom();
  }

  function insertBySeq(node, seq) {
    const items = list.children;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const other = items[i];
      if (other.dataset.seq && Number(other.dataset.seq) < seq) { other.after(node); return; }
    }
    list.prepend(node);
  }

  function side(m) {
    if (m.sender_type === "customer") return "them";
    if (m.kind === "system" || m.sender_type === "system") return "system";
    return "me";
  }

  function renderMessage(m) {
    const li = el("li", "msg msg-" + side(m) + " kind-" + m.kind);
    li.id = "m" + m.seq;
    li.dataset.seq = m.seq;
    li.dataset.id = m.id;
    li.dataset.recalled = m.recalled ? "true" : "false";
    if (m.recalled) {
      li.classList.add("recalled");
      let note = T.recalled_other;
      if (m.sender_type !== "customer") note = m.sender_id === boot.staff_id ? T.recalled_mine : T.recalled_staff;
      li.append(el("span", "recall-note muted small", note));
      return li;
    }
    const bubble = el("div", "bubble");
    if (m.data && m.data.checkpoint) {
      bubble.append(el("span", "badge checkpoint", T["checkpoint_" + m.data.checkpoint] || m.data.checkpoint));
    }
    bubble.append(body(m));
    li.append(bubble, meta(m));
    return li;
  }

  function body(m) {
    const d = m.data || {};
    switch (m.kind) {
      case "text": return el("p", "text", m.body);
      case "system": return el("p", "text system-text", m.body);
      case "image": return imageBody(d);
      case "file": return fileBody(d);
      case "product_card": return productCard(d, m.body);
      case "order_card": return orderCard(d, m.body);
      case "order_request": return orderRequest(d);
      case "payment_request": return paymentCard(d, m.body);
      case "quote_card": return quoteCard(d, m.body);
      case "aftersale_card": return aftersaleCard(d, m.body);
      default: return el("p", "text", m.body || m.kind);
    }
  }

  function imageBody(d) {
    const a = el("a", "image-link");
    a.href = "/api/v1/attachments/" + Number(d.attachment_id);
    a.target = "_blank";
    a.rel = "noopener";
    const img = el("img", "thumb");
    img.src = a.href;
    img.alt = d.name || T.image;
    img.loading = "lazy";
    if (d.width && d.height) { img.width = Math.min(240, d.width); img.height = Math.round(img.width * d.height / d.width); }
    a.append(img);
    return a;
  }

  function fileBody(d) {
    const a = el("a", "file-link");
    a.href = "/api/v1/attachments/" + Number(d.attachment_id);
    a.setAttribute("download", d.name || "");
    a.append(el("span", "file-name", d.name || T.file), el("span", "muted small", " " + size(d.size || 0)));
    return a;
  }

  function productCard(d, note) {
    const card = el("div", "card-product");
    // The photo kept with the conversation when the card was sent (evidence, even once the
    // product's photo is deleted); an older card or an API image address shows its URL.
    const src = d.photo ? "/api/v1/attachments/" + Number(d.photo.attachment_id) : d.image;
    if (src) {
      const img = el("img", "card-image");
      img.src = src;
      img.alt = "";
      img.loading = "lazy";
      card.append(img);
    }
    const text = el("div");
    const name = el("a", "card-title", d.name);
    name.href = "/products/" + Number(d.product_id);
    const price = d.price_min === d.price_max ? yuan(d.price_min) : yuan(d.price_min) + " – " + yuan(d.price_max);
    text.append(el("div", "muted small", T.product), name, el("div", "price", price));
    if (note) text.append(el("p", "text", note));
    card.append(text);
    return card;
  }

  function itemsList(items) {
    const ul = el("ul", "card-items");
    (items || []).forEach(function (i) {
      const line = i.name + (i.spec ? " · " + i.spec : "") + " × " + i.quantity;
      ul.append(el("li", null, line));
    });
    return ul;
  }

  // A checkpoint's lines as the customer's page draws them (shop.js), from the server's list:
  // what the shop's screen shows as sent is what the customer saw, part for part.
  function shownParts(parts) {
    const ol = el("ol", "checkpoint-evidence");
    parts.forEach(function (part) { ol.append(el("li", null, part)); });
    return ol;
  }

  function orderCard(d, note) {
    const card = el("div", "card-order");
    card.dataset.orderId = d.order_id;
    const head = el("div", "card-head");
    const number = el("a", "number", d.number);
    number.href = "/orders/" + Number(d.order_id);
    head.append(el("span", "muted small", T.order + " "), number, el("span", "badge live-status"));
    if (Array.isArray(d.shown)) {
      card.append(head, shownParts(d.shown), el("div", "live-tracking small"));
      paintOrder(card, state.orders.get(d.order_id) || { status: d.status });
      return card;
    }
    card.append(head, itemsList(d.items));
    // What leads from the lines' sum to the total: 运费, and 优惠 when there is one.
    if (d.shipping_fee > 0) card.append(el("div", "card-extra small", T.shipping + " " + yuan(d.shipping_fee)));
    if (d.discount > 0) card.append(el("div", "card-extra small", T.discount + " -" + yuan(d.discount)));
    card.append(el("div", "card-total", T.total + " " + yuan(d.total || 0)));
    card.append(el("div", "live-tracking small"));
    if (note) card.append(el("p", "text", note));
    paintOrder(card, state.orders.get(d.order_id) || { status: d.status });
    return card;
  }

  // An after-sales request: its state is read as it is now (the order page's 售后 panel acts on it),
  // and again on each of its steps (onEvent).
  function aftersaleCard(d, title) {
    const card = el("div", "card-order card-aftersale");
    card.dataset.aftersaleId = Number(d.aftersale_id);
    const link = el("a", "number", title || d.number);
    link.href = "/orders/" + Number(d.order_id) + "#order-aftersales";
    card.append(link, el("span", "", " "), el("span", "card-status"));
    paintAftersale(card);
    return card;
  }

  function paintAftersale(card) {
    const turn = String((Number(card.dataset.turn) || 0) + 1); // two steps close together: the last wins
    card.dataset.turn = turn;
    fetch("/api/v1/aftersales/" + Number(card.dataset.aftersaleId), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a || card.dataset.turn !== turn) return;
        card.dataset.status = a.status;
        card.querySelector(".card-status").textContent = a.kind_label + " · " + a.status_label;
      })
      .catch(function () { /* offline: the next step or a reload paints it */ });
  }

  // Snapshots as sent: no data-order-id, so live order updates leave them alone.
  function paymentCard(d, note) {
    const card = el("div", "card-order card-payment");
    const head = el("div", "card-head");
    const number = el("a", "number", d.number);
    number.href = "/orders/" + Number(d.order_id);
    head.append(el("span", "muted small", T.payment_request + " "), number);
    card.append(head, el("div", "card-total", T.amount_due + " " + yuan(d.amount || 0)));
    card.append(el("div", "muted small", T.total + " " + yuan(d.total || 0) + " · " + T.paid + " " + yuan(d.paid_amount || 0)));
    if (d.methods && d.methods.length) card.append(el("div", "muted small card-methods", T.offered.replace("{methods}", d.methods.map(function (k) { return T["method_" + k] || k; }).join("、"))));
    if (note) card.append(el("p", "text", note));
    return card;
  }

  function quoteCard(d, note) {
    const card = el("div", "card-order card-quote");
    const ul = el("ul", "card-items");
    (d.items || []).forEach(function (i) {
      const line = i.name + (i.spec ? " · " + i.spec : "") + " " + yuan(i.unit_price) + " × " + i.quantity + " = " + yuan(i.amount);
      ul.append(el("li", null, line));
    });
    card.append(el("div", "muted small", T.quote), ul, el("div", "card-total", T.total + " " + yuan(d.total || 0)));
    if (note) card.append(el("p", "text", note));
    return card;
  }

  function orderRequest(d) {
    const card = el("div", "card-order card-request");
    card.dataset.orderId = d.order_id;
    const head = el("div", "card-head");
    head.append(el("strong", null, T.order_request), el("span", "badge live-status"));
    card.append(head, itemsList(d.items));
    if (d.remark) card.append(el("p", "text", T.remark + ": " + d.remark));
    const open = el("a", "button primary", T.open_draft);
    open.href = "/orders/" + Number(d.order_id);
    card.append(el("div", "live-tracking small"), open);
    paintOrder(card, state.orders.get(d.order_id) || { status: "draft" });
    return card;
  }

  function paintOrder(card, live) {
    const badge = card.querySelector(".live-status");
    if (live.status) {
      badge.textContent = boot.statuses[live.status] || live.status;
      badge.className = "badge live-status status-" + live.status;
      card.dataset.status = live.status;
    }
    const tracking = card.querySelector(".live-tracking");
    tracking.textContent = "";
    if (live.tracking_number) {
      tracking.append(T.tracking + ": " + (boot.couriers[live.carrier_code] || live.carrier_code || "") + " ");
      if (live.tracking_url) {
        const a = el("a", null, live.tracking_number);
        a.href = live.tracking_url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        tracking.append(a);
      } else tracking.append(live.tracking_number);
      if (live.parcels_shipped > 1 && live.order_id) paintParcels(tracking, live.order_id);
    }
  }

  // An order sent in several parcels: every parcel's number, "顺丰 SF1（包裹1）、中通 75（包裹2）"
  // (shipping/parcel_api.py), instead of the first parcel's alone.
  async function paintParcels(tracking, orderId) {
    let parcels;
    try { parcels = (await api("/api/v1/orders/" + Number(orderId) + "/parcels")).parcels; } catch (e) { return; }
    if (!parcels || parcels.length < 2) return;
    tracking.textContent = T.tracking + ": ";
    parcels.forEach(function (p, i) {
      if (i) tracking.append(T.parcel_separator);
      tracking.append((boot.couriers[p.carrier_code] || p.carrier_code || "") + " ");
      const a = el(p.tracking_url ? "a" : "span", null, p.tracking_number);
      if (p.tracking_url) { a.href = p.tracking_url; a.target = "_blank"; a.rel = "noopener noreferrer"; }
      tracking.append(a, T.parcel_n.replace("{n}", p.seq));
    });
  }

  function setOrderState(order) {
    state.orders.set(order.order_id, order);
    document.querySelectorAll('.card-order[data-order-id="' + Number(order.order_id) + '"]').forEach(function (card) {
      paintOrder(card, order);
    });
  }

  async function askOrder(orderId) {
    if (state.asked.has(orderId)) return;
    state.asked.add(orderId);
    try {
      const o = await api("/api/v1/orders/" + Number(orderId));
      setOrderState({ order_id: o.id, number: o.number, status: o.status, total: o.total,
        carrier_code: o.carrier_code, tracking_number: o.tracking_number, tracking_url: o.tracking_url });
    } catch (e) { /* the card keeps the state it was sent with */ }
  }

  function meta(m) {
    const line = el("div", "meta small muted");
    line.append(el("time", null, shortTime(m.created_at)));
    if (side(m) === "me") {
      const receipt = el("span", "receipt");
      line.append(" ", receipt);
      paintReceipt(receipt, m.seq);
      const left = RECALL_MS - (Date.now() - new Date(m.created_at).getTime());
      if (boot.can_chat && m.sender_type === "staff" && left > 0) {
        const recall = el("button", "link recall", T.recall);
        recall.type = "button";
        recall.dataset.recall = m.id;
        line.append(" ", recall);
        setTimeout(function () { recall.remove(); }, left);
      }
    }
    if (m.sender_type === "customer" && m.kind === "text") line.append(el("span", "suggest-slot"));
    return line;
  }

  function paintReceipt(node, seq) {
    const read = seq <= state.customerReadSeq;
    node.textContent = read ? T.read : T.unread;
    node.classList.toggle("is-read", read);
  }

  function updateReceipts() {
    list.querySelectorAll(".msg-me").forEach(function (li) {
      const receipt = li.querySelector(".receipt");
      if (receipt) paintReceipt(receipt, Number(li.dataset.seq));
    });
  }

  async function loadEarlier() {
    if (state.loadingEarlier || !state.hasMore || state.minSeq === Infinity) return;
    state.loadingEarlier = true;
    try {
      const older = await api(messagesUrl() + "?before_seq=" + state.minSeq + "&limit=" + boot.page_size);
      const height = box.scrollHeight;
      older.slice().reverse().forEach(function (m) {
        if (state.byId.has(m.id)) return;
        const node = renderMessage(m);
        list.prepend(node);
        state.byId.set(m.id, node);
        state.minSeq = Math.min(state.minSeq, m.seq);
        if (m.data && m.data.order_id && !state.orders.has(m.data.order_id)) askOrder(m.data.order_id);
      });
      box.scrollTop += box.scrollHeight - height;
      state.hasMore = older.length === boot.page_size;
      paintEarlier();
    } catch (e) {
      toast("error", e.message);
    } finally {
      state.loadingEarlier = false;
    }
  }

  function paintEarlier() {
    const button = document.getElementById("chat-earlier");
    button.disabled = !state.hasMore;
    button.textContent = state.hasMore ? T.load_earlier : T.no_more;
  }

  // --- reading, typing -----------------------------------------------------------------------

  function chatVisible() {
    return box && box.offsetParent !== null && document.visibilityState === "visible";
  }

  function markRead() {
    if (!state.convId || !chatVisible() || state.maxSeq <= state.sentReadSeq) return;
    const seq = state.maxSeq;
    state.sentReadSeq = seq;
    if (!socketSend({ type: "read", conversation_id: state.convId, seq: seq })) {
      api("/api/v1/conversations/" + state.convId + "/read", { method: "POST", json: { seq: seq } })
        .catch(function () { state.sentReadSeq = 0; });
    }
  }

  let typingTimer = null;
  function showTyping() {
    const note = document.getElementById("chat-typing");
    note.textContent = T.typing;
    note.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 5000);
  }
  function hideTyping() {
    const note = document.getElementById("chat-typing");
    if (note) note.hidden = true;
  }

  // --- wiring --------------------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    const target = event.target;
    const pane = target.closest("[data-pane-to]");
    if (pane && inboxEl) { inboxEl.dataset.pane = pane.dataset.paneTo; markRead(); return; }
    // Opening a conversation loads a new page: the list comes back scrolled where it was.
    if (rowsEl && target.closest(".inbox-row a")) sessionStorage.setItem(LIST_SCROLL, String(rowsEl.scrollTop));
    const recall = target.closest("[data-recall]");
    if (recall) {
      api(messagesUrl() + "/" + recall.dataset.recall + "/recall", { method: "POST" })
        .then(addMessage, function (e) { toast("error", e.message); });
    }
  });

  const LIST_SCROLL = "shangliao.inbox.listScroll";
  function keepListPlace() {
    const kept = sessionStorage.getItem(LIST_SCROLL);
    sessionStorage.removeItem(LIST_SCROLL);
    if (kept !== null) rowsEl.scrollTop = Number(kept);
    const current = rowsEl.querySelector(".inbox-row.current");
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function start() {
    // The page fills the screen below the top bar, whatever its height on this device.
    const bar = document.querySelector(".topbar");
    if (bar) document.documentElement.style.setProperty("--topbar-h", bar.offsetHeight + "px");
    if (rowsEl) { keepListPlace(); connect(); }
    if (!boot) return;
    (boot.orders ? Object.values(boot.orders) : []).forEach(function (o) { state.orders.set(o.order_id, o); });
    boot.messages.forEach(addMessage);
    paintEarlier();
    toBottom();
    markRead();
    boot.messages.filter(function (m) { return m.sender_type === "customer" && m.kind === "text" && !m.recalled; })
      .slice(-5).forEach(askSuggestion);
    document.getElementById("chat-earlier").addEventListener("click", loadEarlier);
    box.addEventListener("scroll", function () { if (box.scrollTop < 60) loadEarlier(); });
    document.addEventListener("visibilitychange", markRead);
  }

  function askSuggestion(m) { if (app.askSuggestion) app.askSuggestion(m); }
  function refreshPanel() { if (app.refreshPanel) app.refreshPanel(); }

  // What inbox-tools.js (the composer, quick replies, drafts, the side panel) works with; also
  // handy to the browser tests and the curious (the page's live socket).
  const app = window.shangliaoInbox = {
    get socket() { return socket; },
    state: state, boot: boot, text: T,
    el: el, fill: fill, yuan: yuan, clientId: clientId, api: api, toast: toast,
    serverFragment: serverFragment, socketSend: socketSend, addMessage: addMessage,
    messagesUrl: messagesUrl, toBottom: toBottom, list: list,
  };

  // After DOMContentLoaded: deferred inbox-tools.js has run by then and hooked itself in.
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
