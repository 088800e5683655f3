// Small behaviours HTMX does not cover: dialogs, select-all with shift-click ranges, and the
// bulk bar showing only the field its action needs.
(function () {
  "use strict";
  let lastTicked = null;

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.open);
      if (dialog) dialog.showModal();
      return;
    }
    // A toast's close button (no onclick= in the markup: the Content-Security-Policy forbids it).
    const dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.parentElement.remove();
      return;
    }
    if (event.target.closest("[data-close]")) {
      const dialog = event.target.closest("dialog");
      if (dialog) dialog.close();
      return;
    }
    const add = event.target.closest("[data-add-line]");
    if (add) {
      addLine(add.dataset);
      return;
    }
    const remove = event.target.closest("[data-remove-line]");
    if (remove) {
      remove.closest("tr").remove();
      return;
    }
    const box = event.target.closest('input[type=checkbox][name=ids]');
    if (box) {
      // Shift-click ticks (or unticks) every order between this one and the previous click.
      if (event.shiftKey && lastTicked && lastTicked !== box) {
        const boxes = Array.from(document.querySelectorAll('input[type=checkbox][name=ids]'));
        const [a, b] = [boxes.indexOf(lastTicked), boxes.indexOf(box)].sort((x, y) => x - y);
        boxes.slice(a, b + 1).forEach(function (other) { other.checked = box.checked; });
      }
      lastTicked = box;
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll('input[type=checkbox][name=ids]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-bulk-action]")) {
      const form = event.target.form;
      form.querySelectorAll("[data-for-action]").forEach(function (field) {
        field.hidden = field.dataset.forAction !== event.target.value;
      });
    }
  });

  // New order: one line per variant; adding it again raises the quantity instead.
  function addLine(data) {
    const lines = document.querySelector("#lines tbody");
    const existing = lines.querySelector('input[name=variant_id][value="' + data.variant + '"]');
    if (existing) {
      const qty = existing.closest("tr").querySelector("input[name=quantity]");
      qty.value = Number(qty.value) + 1;
      return;
    }
    const row = document.getElementById("line-template").content.firstElementChild.cloneNode(true);
    row.querySelector(".line-name").textContent = data.name;
    row.querySelector(".line-price").textContent = data.price;
    row.querySelector("input[name=variant_id]").value = data.variant;
    if (data.presale !== "1") row.querySelector("input[name=quantity]").max = data.available;
    lines.appendChild(row);
  }

  // A swap that replaced a dialog's contents closes it (the order page was redrawn).
  document.addEventListener("htmx:beforeSwap", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });
})();
