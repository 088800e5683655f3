// 运费模板 (web/console/shipping_pages.py) and the shipping fee of the new-order form.
(function () {
  "use strict";

  // Deleting a template asks first: its products fall back to the default one.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches(".shipping-edit form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // The fee depends on the province: a new one (or a saved address picked) prices the total again.
  document.addEventListener("change", function (event) {
    if (!event.target.matches("select[name=province_code], input[name=address_id]")) return;
    const totals = event.target.form && event.target.form.querySelector("#order-totals");
    if (totals && window.htmx) window.htmx.trigger(totals, "quote");
  });
})();
