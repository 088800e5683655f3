// An order's money section (web/console/payment_pages.py): loaded where orders/_payments.html holds
// its place (the order page, each order of the inbox's panel), and drawn again when that order's
// money moves. The staff socket's events arrive as "shangliao:event" (inbox.js, or alerts.js on the
// other pages): a payment, a refund, or a payment proof sent, recorded or dismissed.
(function () {
  "use strict";
  if (window.shangliaoPayments) return; // the partial is drawn once per order: one listener is enough
  // Other live parts of the order page (aftersales.js) redraw it the same way.
  window.shangliaoPayments = { redrawOrderPage: redrawOrderPage };

  const LIVE = new Set([
    "order.paid", "order.refunded", "order.proof_uploaded", "order.proof_recorded", "order.proof_dismissed",
  ]);

  function busy(slot) {
    // Someone is typing into one of its dialogs: redrawn once they close it, not under their hands.
    return Boolean(slot.querySelector("dialog[open]"));
  }

  async function load(slot) {
    if (slot.dataset.loading) return;
    if (busy(slot)) {
      slot.dataset.stale = "1";
      return;
    }
    slot.dataset.loading = "1";
    try {
      const response = await fetch(slot.dataset.paymentsUrl, { credentials: "same-origin" });
      if (!response.ok || !slot.isConnected) return;
      const holder = document.createElement("div");
      holder.innerHTML = await response.text();
      const fresh = holder.querySelector(".order-money");
      if (!fresh) return;
      slot.replaceWith(fresh);
      if (window.htmx) window.htmx.process(fresh);
    } catch (e) {
      /* offline: the next event or reload draws it */
    } finally {
      delete slot.dataset.loading;
    }
  }

  function loadNew(root) {
    root.querySelectorAll(".order-money[data-payments-url]:not([data-loaded])").forEach(load);
  }

  // On the order page the whole order is drawn again (its header says the payment status too);
  // elsewhere (the inbox panel) only the section.
  function redrawOrderPage(id) {
    const detail = document.getElementById("order-detail");
    const slot = detail && detail.querySelector('.order-money[data-order-id="' + id + '"]');
    if (!slot || !window.htmx) return false;
    if (detail.querySelector("dialog[open]")) {
      slot.dataset.stale = "1"; // drawn once the dialog closes (the section alone)
      return true;
    }
    window.htmx.ajax("GET", "/orders/" + id, { target: "#order-detail", swap: "outerHTML" });
    return true;
  }

  document.addEventListener("shangliao:event", function (event) {
    const frame = event.detail || {};
    if (!LIVE.has(frame.event) || !frame.order) return;
    const id = String(frame.order.order_id);
    if (redrawOrderPage(id)) return;
    document.querySelectorAll('.order-money[data-order-id="' + id + '"]').forEach(load);
  });

  document.addEventListener("close", function (event) {
    const slot = event.target.closest && event.target.closest(".order-money[data-stale]");
    if (slot) {
      delete slot.dataset.stale;
      load(slot);
    }
  }, true);

  function start() {
    loadNew(document);
    // The inbox draws its panel, and htmx redraws the order page, after this ran.
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1) return;
          if (node.matches(".order-money[data-payments-url]:not([data-loaded])")) load(node);
          else loadNew(node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
