// Nothing slips by: the navigation badges (pending orders on 订单, unread conversations on 聊天,
// unread notifications on 通知), a short tone and a browser notification when a customer writes or
// orders, and a toast for each of the member's own notifications, on every console page.
//
// The numbers always come from the server (/alerts): asked once when the page loads and again
// whenever the staff socket reports a change that may move them. The inbox page already has a
// socket (inbox.js), which hands each event over as a "shangliao:event"; other pages open their
// own, starting at the event seq read with the counts so nothing committed in between is missed.
(function () {
  "use strict";

  const root = document.getElementById("alerts");
  if (!root) return; // signed out: no badges
  const badges = Array.from(document.querySelectorAll("[data-alert-count]"));
  const soundButton = root.querySelector(".alerts-sound");
  const notifyButton = root.querySelector(".alerts-notify");
  const SOUND_KEY = "shangliao.alerts.sound";
  const T = root.dataset;

  let eventSeq = 0;
  const alerted = new Set(); // message ids already announced (a replay may repeat one)

  // --- the counts ------------------------------------------------------------------------------

  function show(badge, count) {
    const text = !count ? "" : count > 99 ? "99+" : String(count);
    badge.textContent = text;
    badge.dataset.count = String(count || 0);
    // The number alone says little to a screen reader: the label says what is counted.
    if (count) badge.setAttribute("aria-label", badge.dataset.alertLabel.replace("{count}", text));
    else badge.removeAttribute("aria-label");
  }

  async function refresh() {
    try {
      const response = await fetch("/alerts", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return null;
      const counts = await response.json();
      badges.forEach(function (badge) {
        const value = counts[badge.dataset.alertCount];
        if (value !== null && value !== undefined) show(badge, value);
      });
      eventSeq = Math.max(eventSeq, counts.event_seq || 0);
      readsChats = counts.chats_unread !== null && counts.chats_unread !== undefined;
      document.documentElement.dataset.alertsSeq = String(eventSeq);
      // For a page that shows the same numbers elsewhere (say the order list's tab counts).
      document.dispatchEvent(new CustomEvent("shangliao:counts", { detail: counts }));
      return counts;
    } catch (e) {
      return null; // shown again on the next change
    }
  }

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 250); // one request for a burst of events
  }

  // --- sound -----------------------------------------------------------------------------------

  function soundOn() {
    try { return window.localStorage.getItem(SOUND_KEY) !== "off"; } catch (e) { return true; }
  }

  function paintSound() {
    const on = soundOn();
    soundButton.textContent = on ? T.soundOn : T.soundOff;
    soundButton.setAttribute("aria-pressed", on ? "true" : "false");
  }

  let audio = null;
  function audioContext() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    return audio;
  }
  // Browsers keep audio silent until the page has had a click: the first one wakes it.
  document.addEventListener("pointerdown", function () {
    if (soundOn()) { const ctx = audioContext(); if (ctx && ctx.state === "suspended") ctx.resume(); }
  }, { once: true });

  function chime() {
    if (!soundOn()) return;
    const ctx = audioContext();
    if (!ctx || ctx.state !== "running") return;
    // Two short rising notes, made here: no sound file to ship or license.
    [[880, 0], [1320, 0.14]].forEach(function (note) {
      const start = ctx.currentTime + note[1];
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.13);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.14);
    });
    document.documentElement.dataset.alertsChimed = String(Number(document.documentElement.dataset.alertsChimed || 0) + 1);
  }

  soundButton.addEventListener("click", function () {
    const on = !soundOn();
    try { window.localStorage.setItem(SOUND_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
    paintSound();
    if (on) { const ctx = audioContext(); if (ctx) ctx.resume().then(chime, function () {}); }
  });

  // --- browser notifications -------------------------------------------------------------------

  function notificationsAsked() {
    return !("Notification" in window) || Notification.permission !== "default";
  }

  // Asked for only from the merchant's own click, never when a page loads.
  notifyButton.hidden = notificationsAsked();
  notifyButton.addEventListener("click", function () {
    Notification.requestPermission().then(function () { notifyButton.hidden = notificationsAsked(); });
  });

  function notify(message) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    // The page in front already shows it (badge, sound): a notification is for another tab or app.
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    const order = message.kind === "order_card";
    const body = order ? T.orderBody.replace("{number}", (message.data && message.data.number) || "") : T.messageBody;
    try {
      const shown = new Notification(order ? T.newOrder : T.newMessage, {
        body: body,
        tag: "shangliao-" + message.conversation_id, // one per conversation, the newest replacing it
      });
      shown.addEventListener("click", function () {
        window.focus();
        window.location.href = "/inbox/" + message.conversation_id;
        shown.close();
      });
    } catch (e) { /* some browsers only notify from a service worker */ }
  }

  // --- the member's own notifications (notification.created, shown to that member only) -------

  const LINKS = { order: "/orders/", conversation: "/inbox/", product: "/products/" };
  const toasted = new Set(); // notification ids already shown (a replay may repeat one)

  function noteText(frame) {
    // data-note-order-new etc. (base.html): the kind's sentence, with the numbers the event holds.
    const key = "note" + (frame.kind || "").split("_").map(function (w) { return w.charAt(0).toUpperCase() + w.slice(1); }).join("");
    const status = frame.status ? (T["status" + frame.status.charAt(0).toUpperCase() + frame.status.slice(1)] || frame.status) : "";
    return (T[key] || T.notification)
      .replace("{number}", frame.number || "")
      .replace("{status}", status)
      .replace("{available}", frame.available === undefined ? "" : String(frame.available))
      .replace("{count}", "1");
  }

  function toast(frame) {
    const text = noteText(frame);
    const link = (LINKS[frame.target_type] || "/notifications") + (LINKS[frame.target_type] ? frame.target_id : "");
    let box = document.getElementById("live-toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "live-toasts";
      box.className = "live-toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    const item = document.createElement("a");
    item.className = "live-toast";
    item.href = link;
    item.dataset.kind = frame.kind || "";
    item.textContent = text;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
    return [text, link];
  }

  function notifyBrowser(text, link, id) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    try {
      const shown = new Notification(T.notification, { body: text, tag: "shangliao-note-" + id });
      shown.addEventListener("click", function () { window.focus(); window.location.href = link; shown.close(); });
    } catch (e) { /* some browsers only notify from a service worker */ }
  }

  let readsChats = false; // set from /alerts: the customer's own message already rings for them

  function onNotification(frame) {
    if (toasted.has(frame.notification_id)) return;
    toasted.add(frame.notification_id);
    const shown = toast(frame);
    // A customer's message or shop-page order already rang (and notified) for one who reads
    // chats: once is enough. Everything else, and everyone else, hears it here.
    if (readsChats && (frame.kind === "order_new" || frame.kind === "message")) return;
    chime();
    notifyBrowser(shown[0], shown[1], frame.notification_id);
  }

  // --- the live feed ---------------------------------------------------------------------------

  function onEvent(frame) {
    const kind = frame.event || "";
    if (kind === "message.created" && frame.message && frame.message.sender_type === "customer") {
      const m = frame.message;
      if (!alerted.has(m.id)) {
        alerted.add(m.id);
        chime();
        notify(m);
      }
    }
    if (kind === "notification.created") onNotification(frame);
    if (kind.indexOf("message.") === 0 || kind.indexOf("order.") === 0 || kind.indexOf("conversation.") === 0 ||
        kind === "notification.created") {
      refreshSoon();
    }
  }

  let socket = null;
  let attempts = 0;
  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + window.location.host + "/api/v1/ws?after=" + eventSeq);
    socket = ws;
    ws.addEventListener("open", function () {
      if (attempts > 0) refresh(); // what moved while the socket was away
      attempts = 0;
    });
    ws.addEventListener("message", function (event) {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "event") {
        if (typeof frame.seq === "number") {
          if (frame.seq <= eventSeq) return; // already counted
          eventSeq = frame.seq;
        }
        // Parts of the page that redraw live (payments.js) hear this socket too, as on the inbox.
        document.dispatchEvent(new CustomEvent("shangliao:event", { detail: frame }));
        onEvent(frame);
      } else if (frame.type === "resync") {
        // Too far behind to replay: the counts are read again and the socket goes on from there.
        eventSeq = Math.max(eventSeq, frame.seq || 0);
        refresh();
      }
    });
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 1008) return; // signed out or not allowed: nothing to listen to
      attempts += 1;
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, attempts - 1)) + Math.random() * 300);
    });
  }

  async function start() {
    paintSound();
    root.hidden = false;
    const inboxSocket = Boolean(document.getElementById("inbox-rows"));
    if (inboxSocket) document.addEventListener("shangliao:event", function (event) { onEvent(event.detail); });
    const counts = await refresh();
    if (!inboxSocket && counts && (counts.chats_unread !== null || counts.orders_pending !== null)) {
      // Staff who may read chats or orders have a socket; it carries only what they may read.
      connect();
      // The server closes a silent socket; a ping keeps it open.
      setInterval(function () {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
