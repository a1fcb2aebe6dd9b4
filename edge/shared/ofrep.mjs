// OFREP (v0.3.0) for the JavaScript edges: runtime glue only. The protocol — the request
// body read into a context, evaluation, status codes, error bodies, reasons, ETags and
// 304 — is answered inside the WASM module by the Go package protocol, the code the native
// Go handler runs, so every runtime answers the same bytes. This file routes, checks API
// keys, adds CORS headers and reads the body.
//
//   POST /ofrep/v1/evaluate/flags/{key}   one flag
//   POST /ofrep/v1/evaluate/flags         every flag, with an ETag, 304 on If-None-Match

export const OFREP_FLAGS_PATH = "/ofrep/v1/evaluate/flags";
export const DEFAULT_MAX_BODY_BYTES = 64 << 10;
export const REASON_STYLES = ["spec", "openfeature"];
const SEGMENTS = ["ofrep", "v1", "evaluate", "flags"];
const utf8 = new TextEncoder();

/** Thrown by a request's body(limit) when the body is larger than limit bytes. */
export class BodyTooLarge extends Error {
  constructor(limit, message = `request body larger than the limit of ${limit} bytes`) {
    super(message);
    this.limit = limit;
  }
}

/** Thrown by a request's body(limit) when the runtime did not hand the body over. */
export class BodyUnavailable extends Error {}

/**
 * Serves the OFREP endpoints. Options: reasons ("spec" or "openfeature"), apiKeys (an
 * array: requests must carry one as X-API-Key or Bearer), allowOrigin (CORS), maxBodyBytes.
 */
export class OFREPHandler {
  constructor({ reasons = "spec", apiKeys = null, allowOrigin = "", maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = {}) {
    if (!REASON_STYLES.includes(reasons)) throw new Error(`ofrep: reasons must be one of ${REASON_STYLES.join(", ")}, not ${JSON.stringify(reasons)}`);
    if (apiKeys !== null && !Array.isArray(apiKeys)) throw new Error("ofrep: apiKeys must be an array of strings");
    this.reasons = reasons;
    this.apiKeys = apiKeys?.filter((k) => typeof k === "string" && k !== "").map((k) => utf8.encode(k)) ?? null;
    this.allowOrigin = allowOrigin || "";
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Whether path (percent-encoded, without the query) is an OFREP path. */
  owns(path) {
    const segs = path.split("/");
    return segs[0] === "" && segs.length >= 5 && SEGMENTS.every((s, i) => new TextDecoder().decode(percentDecode(segs[i + 1])) === s);
  }

  /**
   * Answers a request {method, path, header(name) → values, body(limit) → Promise<Uint8Array>}
   * for source {evaluator, stale, now}: returns {status, headers: [[name, value]...], body}.
   */
  async serve(request, source) {
    const res = await this.route(request, source);
    if (this.allowOrigin) res.headers.push(["access-control-allow-origin", this.allowOrigin], ["access-control-expose-headers", "ETag"]);
    return res;
  }

  async route(request, { evaluator, stale, now }) {
    const segs = request.path.split("/");
    if (segs.length !== 5 && !(segs.length === 6 && segs[5] !== "")) {
      return { status: 404, headers: [["content-type", "text/plain; charset=utf-8"], ["x-content-type-options", "nosniff"]], body: "404 page not found\n" };
    }
    const method = request.method.toUpperCase();
    if (method === "OPTIONS" && this.allowOrigin) {
      const allow = [["access-control-allow-methods", "POST, OPTIONS"], ["access-control-allow-headers", "Content-Type, Authorization, X-API-Key, If-None-Match"]];
      return { status: 204, headers: [...allow, ["access-control-max-age", "600"]], body: "" };
    }
    if (method !== "POST") {
      const headers = [["content-type", "text/plain; charset=utf-8"], ["x-content-type-options", "nosniff"], ["allow", this.allowOrigin ? "OPTIONS, POST" : "POST"]];
      return { status: 405, headers, body: "Method Not Allowed\n" };
    }
    if (!this.authorized(request)) return { status: 401, headers: [["www-authenticate", 'Bearer realm="ofrep"']], body: "" };
    const req = { key: segs.length === 6 ? percentDecode(segs[5]) : null, inm: request.header("if-none-match").join(","), stale, now };
    try {
      req.body = await request.body(this.maxBodyBytes);
    } catch (err) {
      req.body = utf8.encode(err instanceof BodyTooLarge || err instanceof BodyUnavailable ? err.message : "cannot read the request body: " + String(err?.message ?? err));
      req.bodyError = err instanceof BodyTooLarge ? "too large" : err instanceof BodyUnavailable ? "unavailable" : "unreadable";
    }
    const res = evaluator.ofrep(req, this.reasons === "openfeature");
    const headers = res.body === "" ? [] : [["content-type", "application/json"]];
    if (res.etag) headers.push(["etag", res.etag]);
    return { status: res.status, headers, body: res.body };
  }

  /** The Go handler's APIKeys check. */
  authorized(request) {
    if (this.apiKeys === null) return true;
    let given = request.header("x-api-key")[0] ?? "";
    if (given === "") {
      const auth = request.header("authorization")[0] ?? "";
      const sp = auth.indexOf(" ");
      if (sp < 0 || auth.slice(0, sp).toLowerCase() !== "bearer") return false;
      given = auth.slice(sp + 1).trim();
    }
    const g = utf8.encode(given);
    let ok = false;
    for (const k of this.apiKeys) ok = (k.length === g.length && k.every((b, i) => b === g[i])) || ok;
    return given !== "" && ok;
  }
}

/** Percent-decodes a path segment to bytes (a flag key may be any bytes). */
function percentDecode(seg) {
  const raw = utf8.encode(seg);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const hex = String.fromCharCode(raw[i + 1], raw[i + 2]);
    if (raw[i] === 0x25 && i + 2 < raw.length && /^[0-9a-fA-F]{2}$/.test(hex)) {
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = raw[i];
  }
  return out.subarray(0, n);
}

/** Reads a ReadableStream up to limit bytes; throws BodyTooLarge as soon as it holds more. */
export async function readBodyStream(stream, limit) {
  if (!stream) return new Uint8Array(0);
  const chunks = [];
  let n = 0;
  for (const reader = stream.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    if ((n += value.length) > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  chunks.reduce((off, c) => (out.set(c, off), off + c.length), 0);
  return out;
}

/** Parses an API key list setting: a JSON array, or keys separated by commas. */
export function parseAPIKeys(setting) {
  if (setting === undefined || setting === null || setting === "") return null;
  if (Array.isArray(setting)) return setting.map(String);
  const text = String(setting).trim();
  if (!text.startsWith("[")) return text.split(",").map((k) => k.trim()).filter((k) => k !== "");
  const keys = JSON.parse(text);
  if (!Array.isArray(keys)) throw new Error("ofrep: the API key list must be an array");
  return keys.map(String);
}
