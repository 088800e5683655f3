// Quick-reply editor: a variable chip inserts its {name} where the cursor is in the text box, and
// the input event it fires refreshes the live preview (HTMX listens for it).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const chip = event.target.closest("[data-insert]");
    if (!chip) return;
    const box = document.getElementById(chip.dataset.target);
    if (!box) return;
    const text = chip.dataset.insert;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    box.focus();
    box.setSelectionRange(start + text.length, start + text.length);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
