// Starts Swagger UI on /api/v1/docs with FastAPI's default settings. It lives in a file because the
// Content-Security-Policy allows no inline script (web/security_headers.py).
(function () {
  "use strict";
  const node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
