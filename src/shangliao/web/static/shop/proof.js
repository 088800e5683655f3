/* The customer's payment screenshots on the order page (payments/proofs.py): send one, and read what
   the shop made of each (waiting, confirmed, or not confirmed with the reason, and then another may
   be sent). While one waits, the page asks again every few seconds, so a confirmation shows by
   itself (pay.js turns the payment block into 已付款 the same way). */
(() => {
  "use strict";
  const section = document.getElementById("proof");
  const textEl = document.getElementById("proof-text");
  const configEl = document.getElementById("shop-config");
  if (!section || !textEl || !configEl) return;
  const T = JSON.parse(textEl.textContent);
  const cfg = JSON.parse(configEl.textContent);
  const orderId = section.dataset.proofOrder;
  const base = `/s/${cfg.shop}/api/orders/${orderId}`;
  const list = document.getElementById("proof-list");
  const form = document.getElementById("proof-form");
  const error = document.getElementById("proof-error");
  const POLL_MS = 5000;
  let timer = null;

  const fill = (text, params) => text.replace(/\{(\w+)\}/g, (all, key) => (key in params ? params[key] : all));

  async function getJson(path) {
    try {
      const response = await fetch(base + path, { credentials: "same-origin" });
      return response.ok ? await response.json() : null;
    } catch (err) {
      return null;
    }
  }

  function draw(items, owed) {
    list.replaceChildren();
    items.forEach((proof) => {
      const li = document.createElement("li");
      li.className = "proof-item proof-" + proof.status;
      li.dataset.proof = proof.id;
      const words = document.createElement("span");
      words.textContent = T[proof.status] || proof.status;
      li.append(words);
      if (proof.status === "dismissed") {
        const why = document.createElement("span");
        why.className = "muted small";
        why.textContent = [proof.reason ? fill(T.reason, { reason: proof.reason }) : "", owed ? T.again : ""]
          .filter(Boolean)
          .join(" ");
        li.append(why);
      }
      list.append(li);
    });
    form.hidden = !owed;
    section.hidden = !owed && items.length === 0;
  }

  async function refresh() {
    const [proofs, order] = await Promise.all([getJson("/payment-proofs"), getJson("")]);
    if (!proofs || !order) return;
    const owed =
      ["unpaid", "partially_paid"].includes(order.payment_status) && !["draft", "cancelled"].includes(order.status);
    draw(proofs.items, owed);
    clearTimeout(timer);
    if (proofs.items.some((p) => p.status === "pending")) timer = setTimeout(refresh, POLL_MS);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    const label = button.textContent;
    error.textContent = "";
    button.disabled = true;
    button.textContent = T.sending;
    try {
      const response = await fetch(base + "/payment-proofs", {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
      });
      if (!response.ok) {
        const data = await response.json().catch(() => ({}));
        error.textContent = (data.error && data.error.message) || T.failed;
        return;
      }
      form.reset();
      await refresh();
    } catch (err) {
      error.textContent = T.failed;
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });

  refresh();
})();
