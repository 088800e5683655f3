/* 发票 on the customer's order page (shop/_invoice.html, storefront/invoice_api.py): read the order's
   invoice request, ask for one or change it until the shop has issued it, then show its number.
   While a request waits, the page asks again now and then (less often as time goes by), and at once
   when a socket on the page hears "order.invoice_issued" (shop.js's "shop:order"), so the number
   shows without a reload. */
(() => {
  "use strict";
  const section = document.getElementById("invoice");
  const configEl = document.getElementById("shop-config");
  if (!section || !configEl) return;
  const shop = JSON.parse(configEl.textContent).shop;
  const T = JSON.parse(document.getElementById("invoice-text").textContent);
  const orderId = Number(section.dataset.invoiceOrder);
  const url = `/s/${shop}/api/orders/${orderId}/invoice`;
  const q = (sel) => section.querySelector(sel);
  const form = q(".invoice-form");
  const shown = q(".invoice-shown");
  const open = q(".invoice-open");
  const error = q(".invoice-error");
  const taxLabel = q(".invoice-tax");
  let current = null;
  // How often a waiting request is read again: soon after it was asked, then up to twice a minute.
  const POLL_FIRST_MS = 5000;
  const POLL_MAX_MS = 30000;
  let pollMs = POLL_FIRST_MS;
  let timer = null;

  const yuan = (fen) =>
    "¥" + (fen / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function titleType() {
    const picked = form.querySelector("input[name=title_type]:checked");
    return picked ? picked.value : "personal";
  }

  function showTaxId() {
    taxLabel.hidden = titleType() !== "company";
  }

  function draw(data) {
    const invoice = data.invoice;
    current = invoice;
    section.hidden = !invoice && !data.can_request;
    open.hidden = Boolean(invoice) || !data.can_request;
    form.hidden = true;
    shown.hidden = !invoice;
    if (!invoice) return;
    const issued = invoice.status === "issued";
    section.dataset.invoiceStatus = invoice.status;
    q(".invoice-state").textContent = issued ? T.issued : T.requested;
    q(".invoice-title").textContent =
      `${invoice.title} (${T[invoice.title_type]})` + (invoice.tax_id ? ` · ${invoice.tax_id}` : "");
    q(".invoice-email").textContent = invoice.email;
    q(".invoice-number-line").hidden = !issued;
    q(".invoice-number").textContent = issued ? invoice.invoice_number : "";
    if (issued && invoice.amount) q(".invoice-state").textContent = `${T.issued} · ${T.amount} ${yuan(invoice.amount)}`;
    q(".invoice-change").hidden = issued || !data.can_request;
  }

  function edit() {
    error.textContent = "";
    if (current) {
      form.querySelector(`input[name=title_type][value=${current.title_type}]`).checked = true;
      form.elements.title.value = current.title;
      form.elements.tax_id.value = current.tax_id || "";
      form.elements.email.value = current.email;
    }
    showTaxId();
    open.hidden = true;
    shown.hidden = true;
    form.hidden = false;
    form.elements.title.focus();
  }

  async function send(event) {
    event.preventDefault();
    const button = form.querySelector("button");
    const company = titleType() === "company";
    const body = {
      title_type: titleType(),
      title: form.elements.title.value,
      tax_id: company ? form.elements.tax_id.value : "",
      email: form.elements.email.value,
    };
    button.disabled = true;
    error.textContent = "";
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) {
        error.textContent = (data.error && data.error.message) || T.failed;
        return;
      }
      draw(data);
      pollMs = POLL_FIRST_MS; // just asked: the shop may issue it soon
      follow();
    } catch (err) {
      error.textContent = T.failed;
    } finally {
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (response.ok) draw(await response.json());
    } catch (err) {
      /* the order page stays as it is; the next visit shows the invoice */
    }
  }

  // Read again while the request waits to be issued (not while the form is open: it keeps what is typed).
  function follow() {
    clearTimeout(timer);
    if (!current || current.status !== "requested") return;
    timer = setTimeout(async () => {
      if (document.visibilityState === "visible" && form.hidden) await load();
      pollMs = Math.min(pollMs * 1.5, POLL_MAX_MS);
      follow();
    }, pollMs);
  }

  document.addEventListener("shop:order", (ev) => {
    const frame = ev.detail || {};
    const order = frame.order || {};
    if (String(frame.event || "").startsWith("order.invoice_") && Number(order.order_id) === orderId) {
      load().then(follow);
    }
  });

  form.addEventListener("change", showTaxId);
  form.addEventListener("submit", send);
  open.addEventListener("click", edit);
  q(".invoice-change").addEventListener("click", edit);
  load().then(follow);
})();
