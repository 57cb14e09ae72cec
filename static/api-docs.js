// The API reference page (/api/v1/docs): Swagger UI on the OpenAPI document the page names.
// A file of its own, not an inline script: the Content-Security-Policy runs only files of ours.
(function () {
  "use strict";
  var root = document.getElementById("api-docs");
  if (!root || typeof window.SwaggerUIBundle !== "function") return;
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    // Requests from "Try it out" carry the login's cookie; a write also needs a token.
    withCredentials: true,
  });
})();
