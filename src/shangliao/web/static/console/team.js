// The Team page (templates/team/): copy an invitation link, and grey out "also unassigned" where a
// role sees the whole shop. No inline script (CSP).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    var done = function () { button.textContent = button.getAttribute("data-copied") || button.textContent; };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  function syncScope(fieldset) {
    var all = fieldset.querySelector('input[name="data_scope"][value="all"]');
    var unassigned = fieldset.querySelector('input[name="sees_unassigned"]');
    if (all && unassigned) unassigned.disabled = all.checked;
  }

  document.addEventListener("change", function (event) {
    var fieldset = event.target.closest && event.target.closest(".scope-fields");
    if (fieldset) syncScope(fieldset);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".scope-fields").forEach(syncScope);
  });
})();
