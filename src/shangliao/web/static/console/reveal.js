// 显示 (查看完整号码): a button with data-reveal="<POST url>" reads one record's personal data in
// full (customers/reveal.py records each press in the audit log) and puts it where the page shows
// masks, inside the button's [data-reveal-scope]:
//   - elements with data-pii="address.phone" / "phones.12.phone" get the value as their text
//     (a number in the path picks the list item with that id);
//   - with data-reveal-form="address" (a path to one address), the empty receiver, phone and street
//     inputs of that scope's address form are filled, so the value is edited, never retyped.
// The page never holds the values before the press; a refusal (429: too many reveals) is shown
// in the button's [data-reveal-error] sibling.
(function () {
  "use strict";

  function pick(data, path) {
    return path.split(".").reduce(function (node, key) {
      if (node === null || node === undefined) return undefined;
      if (Array.isArray(node)) {
        return node.find(function (item) { return String(item.id) === key; });
      }
      return node[key];
    }, data);
  }

  function fill(scope, data, formPath) {
    scope.querySelectorAll("[data-pii]").forEach(function (el) {
      const value = pick(data, el.dataset.pii);
      if (value !== undefined && value !== null) el.textContent = value;
    });
    const address = formPath ? pick(data, formPath) : null;
    if (!address) return;
    ["receiver", "phone", "detail"].forEach(function (field) {
      scope.querySelectorAll("[data-address-fields] [data-field='" + field + "']").forEach(function (input) {
        if (!input.value && address[field]) input.value = address[field];
      });
    });
  }

  async function reveal(button) {
    const scope = button.closest("[data-reveal-scope]") || document;
    const error = button.parentElement.querySelector("[data-reveal-error]");
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.reveal, {
        method: "POST",
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json().catch(function () { return null; });
      if (!response.ok) {
        if (error) error.textContent = data && data.error ? data.error.message : response.statusText;
        button.disabled = false;
        return;
      }
      fill(scope, data, button.dataset.revealForm);
      if (error) error.textContent = "";
      button.hidden = true;
    } catch (e) {
      if (error) error.textContent = button.dataset.revealFailed || "";
      button.disabled = false;
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-reveal]");
    if (button) {
      event.preventDefault();
      reveal(button);
    }
  });
})();
