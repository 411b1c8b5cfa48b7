// Thin client for the FaceID HTTP API (v1). Every call resolves to
// { status, data, retryAfter } for any HTTP answer, and throws NetworkError when the
// server cannot be reached at all. Interpreting answers is the caller's job.

export class NetworkError extends Error {
  constructor(cause) {
    super("network error");
    this.name = "NetworkError";
    this.cause = cause;
  }
}

/** The API origin: window.FACEID_CONFIG.apiBase, else <meta name="faceid-api">, else this page's origin. */
export function apiBase() {
  const fromConfig = globalThis.FACEID_CONFIG?.apiBase;
  if (typeof fromConfig === "string" && fromConfig.trim()) return fromConfig.trim().replace(/\/+$/, "");
  const meta = document.querySelector('meta[name="faceid-api"]')?.getAttribute("content");
  if (meta && meta.trim()) return meta.trim().replace(/\/+$/, "");
  return "";
}

async function call(path, { method = "GET", body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(apiBase() + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "omit",
      cache: "no-store",
    });
  } catch (e) {
    if (e?.name === "AbortError") throw e;
    throw new NetworkError(e);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null; // not JSON (e.g. a proxy's error page): the status still tells
  }
  const header = Number.parseInt(res.headers.get("Retry-After") ?? "", 10);
  const fromBody = Number(data?.error?.retry_after);
  const retryAfter = Number.isFinite(header) ? header : Number.isFinite(fromBody) ? fromBody : null;
  return { status: res.status, data, retryAfter };
}

export const createChallenge = (signal) => call("/v1/challenge", { method: "POST", body: {}, signal });

export const authenticate = ({ challengeId, userId, frames }, signal) =>
  call("/v1/authenticate", {
    method: "POST",
    body: { challenge_id: challengeId, ...(userId ? { user_id: userId } : {}), frames },
    signal,
  });

export const addFaces = (userId, images, token, signal) =>
  call(`/v1/users/${encodeURIComponent(userId)}/faces`, { method: "POST", body: { images }, token, signal });

export const session = (token, signal) => call("/v1/session", { token, signal });
