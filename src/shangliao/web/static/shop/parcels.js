/* The parcels of the customer's order page (shop/_parcels.html, shipping/parcel_api.py): each with
   its courier, tracking link and items, and 确认收货 for one that has not arrived yet. Confirming
   the last one completes the order, so the page reloads to show it. */
(() => {
  "use strict";
  const section = document.getElementById("parcels");
  const configEl = document.getElementById("shop-config");
  if (!section || !configEl) return;
  const shop = JSON.parse(configEl.textContent).shop;
  const T = JSON.parse(document.getElementById("parcels-text").textContent);
  const orderId = Number(section.dataset.parcelsOrder);
  const base = `/s/${shop}/api/orders/${orderId}/parcels`;
  const list = section.querySelector(".parcel-list");
  const error = section.querySelector(".parcels-error");
  const zh = (document.documentElement.lang || "").startsWith("zh");

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  };

  async function call(method, url) {
    try {
      const response = await fetch(url, { method, credentials: "same-origin" });
      const data = await response.json().catch(() => ({}));
      return { ok: response.ok, data };
    } catch (e) {
      return { ok: false, data: {} };
    }
  }

  function parcelItem(p, open) {
    const li = el("li", "parcel");
    li.dataset.parcel = p.id;
    li.dataset.delivered = p.delivered_at ? "yes" : "no";
    const head = el("p", "parcel-head");
    head.append(el("strong", "", T.parcel.replace("{n}", p.seq)), " ");
    head.append(`${(zh ? p.carrier_zh : p.carrier_en) || p.carrier_code} ${p.tracking_number} `);
    if (p.tracking_url) {
      const a = el("a", "", T.track);
      a.href = p.tracking_url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      head.append(a);
    }
    const items = el("ul", "lines parcel-items");
    for (const i of p.items) items.append(el("li", "", `${i.name}${i.spec ? " " + i.spec : ""} × ${i.quantity}`));
    li.append(head, items);
    if (p.delivered_at) {
      li.append(el("p", "muted small parcel-received", T.received));
    } else if (open) {
      const button = el("button", "primary wide parcel-receipt", T.confirm);
      button.type = "button";
      button.addEventListener("click", () => confirm(p.id, button));
      li.append(button);
    }
    return li;
  }

  async function confirm(parcelId, button) {
    button.disabled = true;
    error.textContent = "";
    const result = await call("POST", `${base}/${parcelId}/receipt`);
    if (!result.ok) {
      button.disabled = false;
      error.textContent = (result.data.error && result.data.error.message) || T.failed;
      return;
    }
    location.reload(); // the status, the timeline and maybe the order's completion changed
  }

  async function load() {
    const result = await call("GET", base);
    if (!result.ok) return;
    const { parcels, open } = result.data;
    // One parcel is the whole order: the page's own 确认收货 and tracking line say it already.
    if (!parcels || parcels.length < 2) return;
    list.replaceChildren(...parcels.map((p) => parcelItem(p, open)));
    section.hidden = false;
  }

  load();
})();
