// The order page's 售后 panel (orders/_aftersales.html) follows its requests live: an after-sales
// step taken elsewhere (the customer on their page, a colleague on the API) arrives on the staff
// socket as an "order.aftersale" frame ("shangliao:event", from alerts.js or inbox.js), and the
// order is drawn again the way a payment draws it (payments.js redrawOrderPage: not under an open
// dialog; the request's panel loads with the page). The inbox's cards follow in inbox.js.
(function () {
  "use strict";
  if (window.shangliaoAftersales) return; // the partial is drawn again with the page: one listener
  window.shangliaoAftersales = true;

  document.addEventListener("shangliao:event", function (event) {
    const frame = event.detail || {};
    if (frame.event !== "order.aftersale" || !frame.order || !window.shangliaoPayments) return;
    window.shangliaoPayments.redrawOrderPage(String(frame.order.order_id));
  });
})();
