// Small behaviours HTMX does not cover: confirmations, dialogs, select-all with shift-click ranges, and the
// bulk bar showing only the field its action needs.
(function () {
  "use strict";
  let lastTicked = null;

  // Any form with data-confirm asks first (delete a rule, a webhook, a shipping template, a
  // member's access). Captured, so a button elsewhere (form="…") is asked about too.
  document.addEventListener("submit", function (event) {
    const question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.open);
      if (dialog) {
        dialog.showModal();
        requote(dialog.querySelector("form"));  // a dialog with a running total shows it at once
      }
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
      addLine(add.closest("form"), add.dataset);
      return;
    }
    const remove = event.target.closest("[data-remove-line]");
    if (remove) {
      removeLine(remove.closest("tr"));
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

  // Order lines (the new-order form, and 修改商品 on an order): one line per variant and price;
  // adding it again raises the quantity instead. Added units take the catalog price, so a line 改价
  // re-priced is not raised: they get a line of their own, as the server prices them. After each
  // change the form's running total is asked again.
  function addLine(form, data) {
    const lines = form.querySelector("[data-lines] tbody");
    const existing = Array.from(lines.querySelectorAll('tr[data-variant="' + data.variant + '"]')).find(function (row) {
      return row.dataset.price === data.price;
    });
    if (existing) {
      existing.hidden = false;
      const qty = existing.querySelector("input[type=number]");
      qty.value = Number(qty.value) + 1;
      requote(form);
      return;
    }
    const row = form.querySelector("template[data-line-template]").content.firstElementChild.cloneNode(true);
    row.dataset.variant = data.variant;
    row.dataset.price = data.price;
    row.querySelector(".line-name").textContent = data.name;
    row.querySelector(".line-price").textContent = data.price;
    row.querySelector("input[name=variant_id]").value = data.variant;
    if (data.presale !== "1") row.querySelector("input[name=quantity]").max = data.available;
    lines.appendChild(row);
    requote(form);
  }

  // A line the order already has stays in the form with quantity 0 (the server drops it); a line
  // added here simply goes.
  function removeLine(row) {
    const form = row.closest("form");
    const kept = row.querySelector("input[name^=qty_]");
    if (kept) {
      kept.value = 0;
      row.hidden = true;
    } else {
      row.remove();
    }
    requote(form);
  }

  // The total is priced by the server (POST /orders/new/quote), never worked out here.
  function requote(form) {
    const totals = form && form.querySelector("#order-totals");
    if (totals) htmx.trigger(totals, "quote");
  }

  let quoteTimer = null;
  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-quotes]")) return;
    const form = event.target.form;
    clearTimeout(quoteTimer);
    quoteTimer = setTimeout(function () { requote(form); }, 300);
  });

  // Enter in a product search inside an order form searches; it does not submit the order.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("[data-pick-search]")) event.preventDefault();
  });

  // A swap that replaces what holds an open dialog closes it (the order page was redrawn); a swap
  // inside the dialog (the product picker of 修改商品) or beside it (the 售后 panel loading after
  // the page, a live count) leaves it open under the person's hands.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (!target) return;
    document.querySelectorAll("dialog[open]").forEach(function (d) {
      if (target.contains(d) && !d.contains(target)) d.close();
    });
  });

  // On a phone the nav scrolls sideways (console.css): the page's own entry is kept in view (also
  // once the counts arrive from alerts.js and widen the entries before it), and data-more says on
  // which edges entries are hidden, for the fade there.
  function followNav() {
    const nav = document.querySelector(".topbar .nav");
    if (!nav) return;
    const current = nav.querySelector("[aria-current=page]");
    let touched = false; // once the person scrolls it, the nav stays where they put it
    const mark = function () {
      const more = [];
      if (nav.scrollLeft > 1) more.push("start");
      if (nav.scrollLeft + nav.clientWidth < nav.scrollWidth - 1) more.push("end");
      nav.dataset.more = more.join(" ");
    };
    const showCurrent = function () {
      if (current && !touched && nav.scrollWidth > nav.clientWidth) {
        const box = current.getBoundingClientRect();
        const view = nav.getBoundingClientRect();
        if (box.left < view.left || box.right > view.right) {
          nav.scrollLeft += box.left + box.width / 2 - (view.left + view.width / 2);
        }
      }
      mark();
    };
    showCurrent();
    nav.addEventListener("scroll", mark, { passive: true });
    nav.addEventListener("touchstart", function () { touched = true; }, { passive: true });
    nav.addEventListener("wheel", function () { touched = true; }, { passive: true });
    window.addEventListener("resize", showCurrent);
    document.addEventListener("shangliao:counts", function () {
      window.requestAnimationFrame(showCurrent); // after the badges are drawn
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", followNav);
  else followNav();
})();
