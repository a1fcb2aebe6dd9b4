// The request handling of both JavaScript edges: a runtime hands over its request and gets
// back a response to send, or the x-flag-<key>: <variant> headers with which the request goes
// on to the origin. The paths: /.edgeflag/health (the poller's state), /.edgeflag/flags (every
// flag for the request's context) and OFREP's POST /ofrep/v1/evaluate/flags[/{key}], which
// the module answers (Evaluator.ofrep: Go's package protocol); this file routes, checks API
// keys and adds CORS headers.

import { SnapshotPoller } from "./poller.mjs";

const HEALTH_PATH = "/.edgeflag/health";
const OFREP_SEGMENTS = ["ofrep", "v1", "evaluate", "flags"];
const TEXT = [["content-type", "text/plain; charset=utf-8"], ["x-content-type-options", "nosniff"]];
const utf8 = new TextEncoder();

/** A failure of a request's body(limit): kind "too large" or "unavailable" (else the body is unreadable). */
export function bodyError(kind, message) {
  return Object.assign(new Error(message), { kind });
}

/** A JSON response that no cache keeps. */
export function json(body, status) {
  return { status, headers: [["content-type", "application/json"], ["cache-control", "no-store"]], body: JSON.stringify(body) };
}

/** Percent-decodes a path segment to bytes (a flag key may be any bytes). */
function percentDecode(segment) {
  const parts = segment.split(/(%[0-9a-fA-F]{2})/);
  return new Uint8Array(parts.flatMap((p, i) => (i % 2 ? [Number.parseInt(p.slice(1), 16)] : [...utf8.encode(p)])));
}

/** The API keys of a setting (an array, a JSON array, or keys separated by commas); null when unset. */
function apiKeyList(setting) {
  if (setting === undefined || setting === null || setting === "") return null;
  const text = String(setting).trim();
  let keys = Array.isArray(setting) ? setting : null;
  if (!keys && text.startsWith("[")) {
    try {
      keys = JSON.parse(text);
    } catch (err) {
      throw new Error(`ofrep: ofrepApiKeys starts as a JSON array but is not one: ${err.message}`);
    }
  }
  keys ??= text.split(",");
  return keys.map((k) => utf8.encode(String(k).trim())).filter((k) => k.length > 0);
}

/** Returns the value of cookie name in a Cookie header (URL-decoded when it decodes), or undefined. */
function cookieValue(header, name) {
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
}

/**
 * The edge of one isolate or execution environment: the Evaluator and the SnapshotPoller
 * that loads it. settings (docs/edge.md) are named as in the Lambda@Edge function's
 * config.json, which the Worker's variables map to: the poller's (storeURL, environment,
 * pollIntervalMs, graceMs, publicKeys, cache, cacheTtl) and userHeader, userCookie, path,
 * ofrep (false or "off": OFREP goes on to the origin), ofrepReasons ("spec" or
 * "openfeature"), ofrepApiKeys, ofrepAllowOrigin (CORS).
 */
export class Edge {
  constructor(evaluator, settings) {
    const { userHeader = "x-user-id", userCookie = "edgeflag_uid", path = "/.edgeflag/flags", ofrep = true, ofrepReasons: reasons = "spec" } = settings;
    if (reasons !== "spec" && reasons !== "openfeature") throw new Error(`ofrep: reasons must be spec or openfeature, not ${JSON.stringify(reasons)}`);
    const ofrepOn = ofrep !== false && ofrep !== "off";
    Object.assign(this, { evaluator, userHeader: userHeader.toLowerCase(), userCookie, path, ofrep: ofrepOn, reasons, allowOrigin: settings.ofrepAllowOrigin ?? "" });
    this.apiKeys = apiKeyList(settings.ofrepApiKeys);
    this.maxBodyBytes = 64 << 10;
    this.poller = new SnapshotPoller({ ...settings, apply: (bytes) => evaluator.load(bytes) });
  }

  /** Whether a request header is the edge's own: clients' are dropped, so that they cannot forge them. */
  owns(name) {
    return /^x-(flag|edgeflag)-/i.test(name);
  }

  /**
   * Answers req {method, path, header(name) → [values], country, body(limit) → Promise<Uint8Array>}:
   * a response {status, headers: [[name, value]...], body}, or {forward: headers} for the origin.
   */
  async answer(req) {
    const { evaluator, poller } = this;
    const now = Date.now();
    const stale = poller.stale(now);
    if (req.path === HEALTH_PATH) return json(poller.status(now), poller.loaded ? 200 : 503);
    const segments = req.path.split("/");
    if (this.ofrep && segments[0] === "" && OFREP_SEGMENTS.every((s, i) => new TextDecoder().decode(percentDecode(segments[i + 1] ?? "")) === s)) {
      const res = await this.ofrepAnswer(req, segments, stale, now);
      if (this.allowOrigin) res.headers.push(["access-control-allow-origin", this.allowOrigin], ["access-control-expose-headers", "ETag"]);
      return res;
    }
    if (!poller.loaded) return json({ errorCode: "GENERAL", errorMessage: `no snapshot loaded: ${poller.lastError?.message}` }, 503);
    const user = req.header(this.userHeader)[0] || cookieValue(req.header("cookie").join("; "), this.userCookie);
    const attributes = { userId: user, country: req.country?.toUpperCase(), userAgent: req.header("user-agent")[0] };
    const context = Object.fromEntries(Object.entries(attributes).filter(([, v]) => v));
    if (req.path === this.path) {
      // The module's JSON passes through byte for byte, wrapped with the snapshot facts.
      const body = `{"snapshot":${JSON.stringify(evaluator.info.hash)},"stale":${stale},"context":${JSON.stringify(context)},"results":${evaluator.evaluateAllJSON(context, now, { stale })}}`;
      return { status: 200, headers: [["content-type", "application/json"], ["cache-control", "private, no-store"]], body };
    }
    const forward = evaluator.variants(context, now, { stale }).filter((r) => r.reason !== "ERROR").map((r) => [`x-flag-${r.key}`, r.variant]);
    forward.push(["x-edgeflag-snapshot", evaluator.info.hash]);
    if (stale) forward.push(["x-edgeflag-stale", "1"]);
    return { forward };
  }

  /** Answers a request on an OFREP path, as the Go handler of package ofrep does. */
  async ofrepAnswer(req, segments, stale, now) {
    if (segments.length !== 5 && !(segments.length === 6 && segments[5] !== "")) return { status: 404, headers: [...TEXT], body: "404 page not found\n" };
    const method = req.method.toUpperCase();
    if (method === "OPTIONS" && this.allowOrigin) {
      const allow = [["access-control-allow-methods", "POST, OPTIONS"], ["access-control-allow-headers", "Content-Type, Authorization, X-API-Key, If-None-Match"]];
      return { status: 204, headers: [...allow, ["access-control-max-age", "600"]], body: "" };
    }
    if (method !== "POST") return { status: 405, headers: [...TEXT, ["allow", this.allowOrigin ? "OPTIONS, POST" : "POST"]], body: "Method Not Allowed\n" };
    if (!this.authorized(req)) return { status: 401, headers: [["www-authenticate", 'Bearer realm="ofrep"']], body: "" };
    const request = { key: segments.length === 6 ? percentDecode(segments[5]) : null, inm: req.header("if-none-match").join(","), stale, now };
    try {
      request.body = await req.body(this.maxBodyBytes);
      if (request.body.length > this.maxBodyBytes) throw bodyError("too large", `request body larger than the limit of ${this.maxBodyBytes} bytes`);
    } catch (err) {
      request.bodyError = err.kind ?? "unreadable";
      request.body = utf8.encode(err.kind ? err.message : `cannot read the request body: ${err.message}`);
    }
    const res = this.evaluator.ofrep(request, this.reasons === "openfeature");
    const headers = res.body === "" ? [] : [["content-type", "application/json"]];
    if (res.etag) headers.push(["etag", res.etag]);
    return { status: res.status, headers, body: res.body };
  }

  /** The Go handler's APIKeys check: X-API-Key, else Authorization: Bearer; every key compared in full. */
  authorized(req) {
    if (this.apiKeys === null) return true;
    let given = req.header("x-api-key")[0] ?? "";
    if (given === "") given = /^bearer (.*)$/i.exec(req.header("authorization")[0] ?? "")?.[1].trim() ?? "";
    const g = utf8.encode(given);
    let ok = false;
    for (const k of this.apiKeys) ok = (k.length === g.length && k.every((b, i) => b === g[i])) || ok;
    return given !== "" && ok;
  }
}
