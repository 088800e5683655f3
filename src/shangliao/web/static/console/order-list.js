// The order list after a bulk action: once its outcome is shown, no order stays ticked and the
// bulk bar is back to "Bulk action…", so the next action starts from a clean slate. The changed
// rows and the tab counts arrive from the server (out-of-band swaps); this only resets the bar.
(function () {
  "use strict";

  function resetBulkBar() {
    const bar = document.getElementById("bulk");
    if (!bar) return;
    bar.reset();
    bar.querySelectorAll("[data-for-action]").forEach(function (field) { field.hidden = true; });
    document.querySelectorAll('input[type=checkbox][name=ids]').forEach(function (box) { box.checked = false; });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "bulk-result"
        && event.detail.target.querySelector(".bulk-result")) {
      resetBulkBar();
    }
  });

  // "Go back" on a preview and "Close" on an outcome: nothing is sent, the card goes away and
  // the focus returns to the bulk bar.
  document.addEventListener("click", function (event) {
    const dismiss = event.target.closest("[data-dismiss-bulk]");
    if (!dismiss) return;
    const box = document.getElementById("bulk-result");
    if (box) box.replaceChildren();
    const action = document.querySelector("#bulk [data-bulk-action]");
    if (action) action.focus();
  });
})();
