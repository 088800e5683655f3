// Starts Swagger UI on /api/v1/docs. It lives in a file because the Content-Security-Policy allows
// no inline script (web/security_headers.py). The API has grown past what one page lists well (and
// past what Swagger UI renders expanded at once: it stops partway through ~140 operations), so the
// groups start folded, with a filter box to find an operation by its group.
(function () {
  "use strict";
  const node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: node.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    docExpansion: "none",
    filter: true,
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();
