// The payment methods page (templates/settings/payments.html): shows the chosen payment code
// image before it is uploaded. A data: URL, because the page's CSP allows data: images, not blob:.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches(".code-form input[type=file]")) return;
    var preview = input.closest(".code-form").querySelector(".code-preview");
    var file = input.files && input.files[0];
    if (!preview) return;
    if (!file || !/^image\//.test(file.type)) {
      preview.hidden = true;
      preview.removeAttribute("src");
      return;
    }
    var reader = new FileReader();
    reader.onload = function () {
      preview.src = reader.result;
      preview.hidden = false;
    };
    reader.readAsDataURL(file);
  });
})();
