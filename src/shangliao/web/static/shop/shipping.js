// The shipping fee on the product-link order form (shipping/shop_api.py): priced by the server for
// the variant, the quantity and the province typed, shown as its own 运费 line, and the total
// with it. shop.js draws the items' total at once; this answer follows and completes it.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  const match = location.pathname.match(/^\/s\/([^/]+)\/p\/([^/]+)/);
  if (!form || !match) return;
  const url = "/s/" + match[1] + "/api/products/" + match[2] + "/shipping";
  const line = document.getElementById("order-shipping");
  const yuan = (fen) => "¥" + (fen / 100).toFixed(2);
  let timer = null;
  let asked = 0;

  async function price() {
    const variant = form.querySelector("input[name=variant_id]").value;
    if (!variant) return;
    const params = new URLSearchParams({
      variant_id: variant,
      quantity: form.querySelector("input[name=quantity]").value || "1",
    });
    const province = form.querySelector("[name=province]");
    if (province && province.value) params.set("province", province.value);
    const mine = ++asked;
    const answer = await fetch(url + "?" + params.toString(), { headers: { Accept: "application/json" } });
    if (mine !== asked) return; // a newer question was asked meanwhile
    const body = await answer.json().catch(() => null);
    if (!answer.ok || !body) {
      line.hidden = false;
      line.querySelector("[data-shipping-fee]").textContent = (body && body.error && body.error.message) || "";
      return;
    }
    line.hidden = !body.by_template && !body.shipping_fee;
    line.querySelector("[data-shipping-fee]").textContent = body.shipping_fee ? yuan(body.shipping_fee) : line.dataset.free;
    document.getElementById("order-total").textContent = yuan(body.total);
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(price, 250);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("click", (event) => {
    if (event.target.closest("button[data-step], [data-address-choice], label")) later();
  });
  document.addEventListener("DOMContentLoaded", later);
  later();
})();
