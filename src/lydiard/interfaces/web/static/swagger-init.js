/* Starts the vendored Swagger UI on /api/docs (no inline script: strict CSP). */
(function () {
  "use strict";
  function start() {
    var el = document.getElementById("swagger-ui");
    if (!el || !window.SwaggerUIBundle) { return; }
    window.ui = window.SwaggerUIBundle({
      url: el.getAttribute("data-openapi-url") || "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      validatorUrl: null
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
