// Starts Swagger UI on the platform's own OpenAPI schema (kept out of the page for the CSP).
window.addEventListener("load", function () {
  "use strict";
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
