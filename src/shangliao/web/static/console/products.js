// The products pages: copying the share link, the variants table of a new product (rows added by
// hand or one per combination of option values), and the stock row's "Adjust" shortcut.
// Everything is delegated from document, so it keeps working after HTMX redraws a part.
(function () {
  "use strict";
  if (window.shangliaoProducts) return; // included by the page, never twice
  window.shangliaoProducts = true;

  document.addEventListener("click", function (event) {
    const copy = event.target.closest("[data-copy]");
    if (copy) { copyField(copy); return; }
    if (event.target.closest("[data-add-variant-row]")) { addRow(); return; }
    const remove = event.target.closest("[data-remove-variant-row]");
    if (remove) { removeRow(remove.closest("tr")); return; }
    if (event.target.closest("[data-generate-variants]")) { generateRows(); return; }
    const adjust = event.target.closest("[data-adjust]");
    if (adjust) { pickForAdjustment(adjust.dataset.adjust); }
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("input[data-option]")) showOptionColumns();
  });
  document.addEventListener("DOMContentLoaded", showOptionColumns);

  // navigator.clipboard exists only on https or localhost; a shop on a LAN address over plain
  // http falls back to selecting the text and the older copy command.
  function copyField(button) {
    const input = document.getElementById(button.dataset.copy);
    if (!input) return;
    const done = function () {
      if (!button.dataset.label) button.dataset.label = button.textContent;
      button.textContent = button.dataset.copied;
      button.classList.add("copied");
      setTimeout(function () {
        button.textContent = button.dataset.label;
        button.classList.remove("copied");
      }, 2000);
    };
    const fallback = function () {
      input.focus();
      input.select();
      if (document.execCommand("copy")) done();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  function rowsBody() { return document.getElementById("variant-rows"); }

  function addRow(values) {
    const body = rowsBody();
    const template = document.getElementById("variant-row-template");
    if (!body || !template) return null;
    const row = template.content.firstElementChild.cloneNode(true);
    Object.keys(values || {}).forEach(function (name) {
      const input = row.querySelector('input[name="' + name + '"]');
      if (input) input.value = values[name];
    });
    body.appendChild(row);
    showOptionColumns();
    return row;
  }

  function removeRow(row) {
    const body = rowsBody();
    if (body && body.rows.length > 1) row.remove();
    else row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
  }

  function isBlank(row) {
    return Array.from(row.querySelectorAll("input")).every(function (input) { return !input.value.trim(); });
  }

  // The named options with their values split on commas (Chinese or Latin), 、 or spaces.
  function optionValues() {
    const found = [];
    document.querySelectorAll("input[data-option]").forEach(function (nameInput) {
      const n = nameInput.dataset.option;
      const valuesInput = document.querySelector('input[data-values="' + n + '"]');
      const values = (valuesInput ? valuesInput.value : "").split(/[,，、\s]+/).filter(Boolean);
      if (nameInput.value.trim() && values.length) found.push({ column: n, values: values });
    });
    return found;
  }

  function generateRows() {
    const options = optionValues();
    if (!options.length) return;
    let combos = [{}];
    options.forEach(function (option) {
      const next = [];
      combos.forEach(function (combo) {
        option.values.forEach(function (value) {
          const extended = Object.assign({}, combo);
          extended["spec" + option.column] = value;
          next.push(extended);
        });
      });
      combos = next;
    });
    const body = rowsBody();
    const key = function (values) {
      return options.map(function (o) { return values["spec" + o.column] || ""; }).join("\u0000");
    };
    const present = new Set();
    Array.from(body.rows).forEach(function (row) {
      if (isBlank(row)) { row.remove(); return; }
      const values = {};
      row.querySelectorAll("input").forEach(function (input) { values[input.name] = input.value.trim(); });
      present.add(key(values));
    });
    combos.slice(0, 200).forEach(function (combo) {
      if (!present.has(key(combo))) addRow(combo);
    });
    if (!body.rows.length) addRow();
  }

  // A spec column shows the option's name as its heading; columns without an option are hidden.
  function showOptionColumns() {
    document.querySelectorAll("input[data-option]").forEach(function (input) {
      const n = input.dataset.option;
      const name = input.value.trim();
      const head = document.querySelector('[data-spec-head="' + n + '"]');
      if (head) {
        if (!head.dataset.placeholder) head.dataset.placeholder = head.textContent;
        head.textContent = name || head.dataset.placeholder;
      }
      document.querySelectorAll('[data-spec-col="' + n + '"]').forEach(function (cell) {
        cell.hidden = !name;
        const field = cell.querySelector("input");
        if (field && name) field.setAttribute("aria-label", name);
      });
    });
  }

  function pickForAdjustment(variantId) {
    const form = document.getElementById("stock-adjust");
    if (!form) return;
    form.querySelector("select[name=variant_id]").value = variantId;
    const quantity = form.querySelector("input[name=quantity]");
    form.scrollIntoView({ block: "center" });
    quantity.focus();
  }
})();
