// Deployment settings for the FaceID page. Edit this file (or the <meta name="faceid-api">
// tag in index.html) when the API is not served from the same origin as the page, e.g.
//   window.FACEID_CONFIG = { apiBase: "https://abc123.execute-api.eu-west-1.amazonaws.com" };
// The API must then allow this page's origin (FACEID_CORS_ORIGIN on the server).
window.FACEID_CONFIG = {
  apiBase: "",
};
