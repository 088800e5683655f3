// 运费模板 (web/console/shipping_pages.py) and the shipping fee of the new-order form.
(function () {
  "use strict";

  // The fee depends on the province: a new one (picked, a saved address chosen, or the fields
  // filled by 智能地址识别) prices the total again.
  function requote(form) {
    const totals = form && form.querySelector("#order-totals");
    if (totals && window.htmx) window.htmx.trigger(totals, "quote");
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=province_code], input[name=address_id]")) requote(event.target.form);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    const source = event.detail && event.detail.elt;
    const fields = document.getElementById("address-fields");
    if (fields && source && source.matches && source.matches("[data-recognise], #address-fields")) {
      requote(fields.closest("form"));
    }
  });
})();
