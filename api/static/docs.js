// Swagger UI on this service's own document; nothing is fetched from elsewhere
// (validatorUrl: null stops the badge that would call validator.swagger.io).
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
