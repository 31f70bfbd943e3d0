/* Starts the vendored Swagger UI on this server's OpenAPI document (the CSP forbids inline
 * scripts, hence this file). "Try it out" calls this origin, with the key typed in "Authorize". */
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  validatorUrl: null,
  tryItOutEnabled: false,
});
