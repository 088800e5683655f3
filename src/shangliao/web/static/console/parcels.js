/* The order page follows its order live: alerts.js keeps the console's socket and re-reads the
   counts after every order event ("shangliao:counts"); when this order's version moved (a parcel
   shipped or signed for, a payment, the customer's 确认收货 …), the order part is drawn again.
   Not while a dialog is open: what someone is typing is kept, and the save answers with the
   order as it is then anyway. */
(() => {
  "use strict";
  const match = window.location.pathname.match(/^\/orders\/(\d+)$/);
  if (!match || !document.getElementById("order-detail")) return;
  const orderId = match[1];
  let busy = false;

  function shownVersion() {
    const detail = document.getElementById("order-detail");
    return detail ? detail.dataset.version : null;
  }

  async function follow() {
    if (busy || !window.htmx || document.querySelector("#order-detail dialog[open]")) return;
    busy = true;
    try {
      const response = await fetch("/api/v1/orders/" + orderId, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const order = await response.json();
      if (String(order.version) !== shownVersion()) {
        await window.htmx.ajax("GET", "/orders/" + orderId, { target: "#order-detail", swap: "outerHTML" });
      }
    } catch (e) {
      // the next event tries again
    } finally {
      busy = false;
    }
  }

  document.addEventListener("shangliao:counts", follow);
})();
