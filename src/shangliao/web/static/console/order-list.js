// The order list after a bulk action: once its outcome is shown, no order stays ticked and the
// bulk bar is back to "Bulk action…", so the next action starts from a clean slate. The changed
// rows and the tab counts arrive from the server (out-of-band swaps); this only resets the bar.
// And the tab counts follow orders made elsewhere while the list is open (see the end).
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

  // The tab counts follow a new order (or any change the nav badge hears of, alerts.js announces
  // each fresh count as "shangliao:counts"). They are counted for the view on screen: its filters
  // as last shown, not what may be half typed in the search box. Only the numbers change: the
  // rows, their ticks, an open preview and the focus stay as they are.
  function shownFilters() {
    const form = document.getElementById("filters");
    return form ? new URLSearchParams(new FormData(form)).toString() : null;
  }

  let shown = shownFilters();
  let lastSeq = null;
  let latest = 0; // the newest question: an older answer arriving late must not win

  // The filters as sent when the list is asked for (the box may be typed in again before the
  // answer is on screen); they become the view's once that answer is shown.
  let asking = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "order-list") asking = shownFilters();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "order-list" && asking !== null) {
      shown = asking;
      asking = null;
    }
  });

  async function refreshTabCounts() {
    const asked = shown;
    if (asked === null || !document.getElementById("order-tabs")) return;
    const ticket = ++latest;
    try {
      const response = await fetch("/orders/tab-counts", {
        method: "POST",
        body: new URLSearchParams(asked),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok || asked !== shown) return; // another view is shown meanwhile: its own counts came with it
      const counts = await response.json();
      if (ticket !== latest) return;
      document.querySelectorAll("#order-tabs button.tab").forEach(function (tab) {
        const count = counts[tab.value];
        if (count === undefined) return;
        let number = tab.querySelector(".count");
        if (!number) {
          number = document.createElement("span");
          number.className = "count";
          tab.append(" ", number);
        }
        number.textContent = String(count);
      });
    } catch (e) {
      // the next change asks again
    }
  }

  function countsMoved(event) {
    const seq = event.detail ? event.detail.event_seq : null;
    if (seq === lastSeq) return; // nothing happened since the counts on screen (or heard twice)
    lastSeq = seq;
    refreshTabCounts();
  }
  // alerts.js announces on the document; listening on the window too keeps this working if the
  // announcement moves there (one event heard on both is counted once, by its seq).
  document.addEventListener("shangliao:counts", countsMoved);
  window.addEventListener("shangliao:counts", countsMoved);
})();
