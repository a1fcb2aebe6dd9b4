// OFREP, the OpenFeature Remote Evaluation Protocol (v0.3.0), for the JavaScript edges (the
// Cloudflare Worker and the Lambda@Edge function):
//
//   POST /ofrep/v1/evaluate/flags/{key}   one flag: 200, or 400/404/500 with an OFREP error body
//   POST /ofrep/v1/evaluate/flags         every flag: 200 with an ETag, 304 on If-None-Match
//
// The answers are those of the Go handler (package ofrep in the Go sources) for the same
// snapshot, context and time, byte for byte: the same bodies, status codes, reasons,
// metadata and ETags. To get there this file reads request bodies the way Go's
// encoding/json does (its grammar, its error messages and byte offsets, its handling of
// invalid UTF-8 and lone surrogates), flattens contexts the way package ofconv does, and
// writes JSON the way the Go handler does. The evaluation itself is the WASM module's,
// through the Evaluator of ./edgeflag.mjs.
//
// The runtimes adapt their requests and responses: OFREPHandler.serve takes a plain request
// object ({method, path, header(name), body(limit)}) and returns {status, headers, body}.

/** The bulk evaluation path; a single flag is this path, "/", and the flag key. */
export const OFREP_FLAGS_PATH = "/ofrep/v1/evaluate/flags";

/** The largest request body accepted unless the options say otherwise (as in Go). */
export const DEFAULT_MAX_BODY_BYTES = 64 << 10;

/**
 * How the reasons OFREP does not list (DEFAULT, STALE) are reported. "spec": DEFAULT goes
 * out as UNKNOWN with the evaluator's reason in metadata "reason", and a stale snapshot keeps
 * the real reason and adds metadata "stale": true. "openfeature": DEFAULT as is, and STALE
 * for every result of a stale snapshot (the real reason in metadata).
 */
export const REASON_STYLES = ["spec", "openfeature"];

/**
 * Thrown by a request's body(limit) when the body is larger than limit bytes (message: why,
 * when it is not this handler's limit).
 */
export class BodyTooLarge extends Error {
  constructor(limit, message = `request body larger than the limit of ${limit} bytes`) {
    super(message);
    this.limit = limit;
  }
}

/** Thrown by a request's body(limit) when the runtime did not hand the body over. */
export class BodyUnavailable extends Error {}

const OFREP_REASONS = new Set(["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "UNKNOWN"]);
const FAILURE_CODES = new Set(["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL"]);
const PATH_SEGMENTS = ["ofrep", "v1", "evaluate", "flags"];
const MAX_CONTEXT_DEPTH = 32; // ofconv.MaxDepth
// The evaluator's context limits (evaluator.MaxContextAttributes, MaxContextListItems),
// applied while flattening as ofconv.Fill does, so that a context over them gets 400 here
// as from the Go handler, whatever the module would answer.
const MAX_CONTEXT_ATTRIBUTES = 1024;
const MAX_CONTEXT_LIST_ITEMS = 4096;
const utf8 = new TextEncoder();

/** Returns the HTTP status of an evaluation error of one flag (ofconv.HTTPStatus). */
function errorStatus(code) {
  switch (code) {
    case "FLAG_NOT_FOUND":
      return 404;
    case "PARSE_ERROR":
    case "INVALID_CONTEXT":
    case "TARGETING_KEY_MISSING":
      return 400;
  }
  return 500;
}

/**
 * Serves the two OFREP endpoints. Options:
 *   reasons       "spec" (default) or "openfeature", see REASON_STYLES
 *   apiKeys       when an array, requests must carry one of the keys as "X-API-Key: <key>"
 *                 or "Authorization: Bearer <key>" (401 otherwise; an empty array refuses all)
 *   allowOrigin   when set (for example "*"), sent as Access-Control-Allow-Origin, with ETag
 *                 exposed and preflight requests answered, for browser providers
 *   maxBodyBytes  the largest request body (default DEFAULT_MAX_BODY_BYTES)
 */
export class OFREPHandler {
  constructor({ reasons = "spec", apiKeys = null, allowOrigin = "", maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = {}) {
    if (!REASON_STYLES.includes(reasons)) {
      throw new Error(`ofrep: reasons must be one of ${REASON_STYLES.join(", ")}, not ${JSON.stringify(reasons)}`);
    }
    if (apiKeys !== null && !Array.isArray(apiKeys)) throw new Error("ofrep: apiKeys must be an array of strings");
    if (!(Number.isInteger(maxBodyBytes) && maxBodyBytes > 0)) {
      throw new Error(`ofrep: maxBodyBytes must be a positive integer, not ${JSON.stringify(maxBodyBytes)}`);
    }
    this.reasons = reasons;
    this.apiKeys = apiKeys === null ? null : apiKeys.filter((k) => typeof k === "string" && k !== "").map((k) => utf8.encode(k));
    this.allowOrigin = allowOrigin || "";
    this.maxBodyBytes = maxBodyBytes;
  }

  /** Whether the handler answers path (as sent, percent-encoded, without the query). */
  owns(path) {
    const segs = path.split("/");
    if (segs[0] !== "" || segs.length < 5) return false;
    for (let i = 0; i < PATH_SEGMENTS.length; i++) {
      if (percentDecodeText(segs[i + 1]) !== PATH_SEGMENTS[i]) return false;
    }
    return true;
  }

  /**
   * Answers one request. request: {method, path (percent-encoded, no query),
   * header(name) → every value of a header as an array, body(limit) → Promise<Uint8Array>
   * that throws BodyTooLarge or BodyUnavailable}. source: {evaluator (an Evaluator of
   * edgeflag.mjs), loaded (a snapshot is installed), stale, now (Unix ms)}. Returns
   * {status, headers: [[name, value]...], body: string} (body "" when there is none).
   */
  async serve(request, source) {
    const res = await this.route(request, source);
    if (this.allowOrigin) {
      res.headers.push(["access-control-allow-origin", this.allowOrigin], ["access-control-expose-headers", "ETag"]);
    }
    return res;
  }

  async route(request, source) {
    const segs = request.path.split("/");
    let key = null; // null: bulk; bytes: one flag
    if (segs.length === 6 && segs[5] !== "") {
      key = percentDecode(segs[5]);
    } else if (segs.length !== 5) {
      return plain(404, "404 page not found\n");
    }
    const method = request.method.toUpperCase();
    if (method === "OPTIONS" && this.allowOrigin) {
      return {
        status: 204,
        headers: [
          ["access-control-allow-methods", "POST, OPTIONS"],
          ["access-control-allow-headers", "Content-Type, Authorization, X-API-Key, If-None-Match"],
          ["access-control-max-age", "600"],
        ],
        body: "",
      };
    }
    if (method !== "POST") {
      const res = plain(405, "Method Not Allowed\n");
      res.headers.push(["allow", this.allowOrigin ? "OPTIONS, POST" : "POST"]);
      return res;
    }
    const refused = this.authenticate(request);
    if (refused) return refused;

    let body;
    try {
      body = await request.body(this.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return this.badRequest(key, "INVALID_CONTEXT", err.message);
      if (err instanceof BodyUnavailable) return json(500, generalError(err.message));
      return this.badRequest(key, "PARSE_ERROR", "cannot read the request body: " + String(err?.message ?? err));
    }
    const req = parseRequest(body);
    if (req.code) return this.badRequest(key, req.code, req.details);
    return key === null ? this.evaluateAll(request, source, req.ctx) : this.evaluateOne(key, source, req.ctx);
  }

  /** The Go handler's Authenticate with APIKeys: null when the request may go on. */
  authenticate(request) {
    if (this.apiKeys === null) return null;
    let given = first(request.header("x-api-key"));
    if (given === "") {
      const auth = first(request.header("authorization"));
      const sp = auth.indexOf(" ");
      if (sp < 0 || auth.slice(0, sp).toLowerCase() !== "bearer") return unauthorized();
      given = goTrimSpace(auth.slice(sp + 1));
    }
    if (given === "") return unauthorized();
    const g = utf8.encode(given);
    let ok = false;
    for (const k of this.apiKeys) ok = constantTimeEqual(k, g) || ok;
    return ok ? null : unauthorized();
  }

  badRequest(key, code, details) {
    if (key === null) {
      return json(400, `{"errorCode":${jsonString(code)},"errorDetails":${jsonString(details)}}`);
    }
    return json(400, failure(keyJSON(key), code, details, null));
  }

  evaluateOne(keyBytes, source, ctx) {
    const key = goDecodeUTF8(keyBytes);
    if (!source.loaded) {
      return json(500, generalError(`flag ${goQuoteBytes(keyBytes)}: GENERAL: no snapshot loaded`));
    }
    const v = version(source);
    let r;
    try {
      r = readResult(source.evaluator.evaluateJSON(key, ctx, source.now));
    } catch (err) {
      return json(500, generalError(`flag ${goQuoteBytes(keyBytes)}: GENERAL: ${String(err?.message ?? err)}`));
    }
    if (r.reason === "ERROR") {
      const status = errorStatus(r.errorCode);
      if (status === 500) {
        return json(500, generalError(`flag ${goQuoteBytes(keyBytes)}: ${r.errorCode}: ${r.errorMessage}`));
      }
      let details = r.errorMessage;
      if (r.errorCode === "FLAG_NOT_FOUND") {
        details = `flag ${goQuoteBytes(keyBytes)} not found`;
        if (v.snapshot !== "") {
          details += ` in snapshot ${v.snapshot.slice(0, 12)}`;
          if (v.environment !== "") details += ` of environment ${v.environment}`;
        }
        return json(404, `{"key":${keyJSON(keyBytes)},"errorCode":"FLAG_NOT_FOUND","errorDetails":${jsonString(details)}${snapshotMeta(v)}}`);
      }
      return json(status, failure(keyJSON(keyBytes), r.errorCode, r.errorMessage, v));
    }
    r.key = key;
    return json(200, this.success(r, v, keyJSON(keyBytes)));
  }

  async evaluateAll(request, source, ctx) {
    if (!source.loaded) return json(500, generalError("cannot evaluate: no snapshot loaded yet"));
    const v = version(source);
    let out;
    try {
      out = source.evaluator.evaluateAllJSON(ctx, source.now);
    } catch (err) {
      return json(500, generalError("cannot evaluate: " + String(err?.message ?? err)));
    }
    const top = members(out);
    if (!top.has("flags")) {
      // The module refused the whole evaluation: a context over one of its limits is the
      // client's to fix, anything else is ours.
      const e = JSON.parse(out);
      if (e.errorCode === "INVALID_CONTEXT" || e.errorCode === "PARSE_ERROR") {
        return json(400, `{"errorCode":${jsonString(e.errorCode)},"errorDetails":${jsonString(e.errorMessage)}}`);
      }
      return json(500, generalError("cannot evaluate: " + e.errorMessage));
    }
    let b = '{"flags":[';
    let i = 0;
    for (const raw of elements(out, top.get("flags"))) {
      if (i++ > 0) b += ",";
      const r = readResult(raw);
      b += r.reason === "ERROR" ? failure(jsonString(r.key), r.errorCode, r.errorMessage, v) : this.success(r, v, jsonString(r.key));
    }
    b += "]";
    const meta = [["snapshot", v.snapshot], ["environment", v.environment]];
    if (v.revision !== "") meta.push(["revision", v.revision]);
    if (v.stale) meta.push(["stale", true]);
    b += metadataJSON(meta) + "}";

    // As in Go: the ETag covers the snapshot, the context and the body, so it changes
    // when an input changes and when the same inputs give other results.
    const etag = await bulkETag(v.snapshot, ctx, b);
    if (etagMatches(request.header("if-none-match"), etag)) {
      return { status: 304, headers: [["etag", etag]], body: "" };
    }
    const res = json(200, b);
    res.headers.push(["etag", etag]);
    return res;
  }

  /** An OFREP evaluationSuccess object (the Go handler's appendSuccess). */
  success(r, version, keyText) {
    const v = { ...version };
    const exact = r.reason;
    let reason = exact;
    if (reason === "STALE") v.stale = true; // a module in stale mode reports only STALE
    if (this.reasons === "spec" && !OFREP_REASONS.has(reason)) reason = "UNKNOWN";
    else if (this.reasons === "openfeature" && v.stale) reason = "STALE";
    let b = `{"key":${keyText},"reason":${jsonString(reason)},"variant":${jsonString(r.variant)}`;
    if (r.value !== undefined && r.value !== "") b += `,"value":${r.value}`;
    const d = r.decision ?? {};
    const meta = [["decision", d.kind]];
    if (d.name) {
      const field = { rule: "rule", ring: "ring", prerequisite: "prerequisite" }[d.kind];
      if (field) meta.push([field, d.name]);
    }
    if (d.segment) meta.push(["segment", d.segment]);
    if (d.step !== undefined) meta.push(["scheduleStep", d.step]);
    if (d.bucket !== undefined) meta.push(["bucket", d.bucket], ["threshold", d.threshold]);
    if (v.snapshot !== "") meta.push(["snapshot", v.snapshot]);
    if (reason !== exact) meta.push(["reason", exact]);
    if (v.stale) meta.push(["stale", true]);
    return b + metadataJSON(meta) + "}";
  }
}

/** The version facts of the snapshot the evaluator holds. */
function version(source) {
  const info = source.evaluator.info ?? {};
  return {
    snapshot: info.hash ?? "",
    environment: info.environment ?? "",
    revision: info.revision ?? "",
    stale: Boolean(source.stale),
  };
}

/**
 * An OFREP evaluationFailure object (the Go handler's appendFailure without not-found):
 * codes the failure schema does not list become GENERAL, the original code in the details.
 */
function failure(keyText, code, details, v) {
  if (code === "TARGETING_KEY_MISSING") {
    details += " (send a targetingKey, or the attribute itself)";
  } else if (!FAILURE_CODES.has(code)) {
    details = `${code}: ${details}`;
    code = "GENERAL";
  }
  return `{"key":${keyText},"errorCode":${jsonString(code)},"errorDetails":${jsonString(details)}${v ? snapshotMeta(v) : ""}}`;
}

function snapshotMeta(v) {
  return v.snapshot !== "" ? `,"metadata":{"snapshot":${jsonString(v.snapshot)}}` : "";
}

function generalError(details) {
  return `{"errorDetails":${jsonString(details)}}`;
}

function metadataJSON(fields) {
  let b = ',"metadata":{';
  fields.forEach(([k, val], i) => {
    if (i > 0) b += ",";
    b += jsonString(k) + ":";
    if (typeof val === "string") b += jsonString(val);
    else if (typeof val === "boolean" || Number.isInteger(val)) b += String(val);
    else b += "null";
  });
  return b + "}";
}

function json(status, body) {
  return { status, headers: [["content-type", "application/json"]], body };
}

function plain(status, body) {
  return {
    status,
    headers: [
      ["content-type", "text/plain; charset=utf-8"],
      ["x-content-type-options", "nosniff"],
    ],
    body,
  };
}

function unauthorized() {
  return { status: 401, headers: [["www-authenticate", 'Bearer realm="ofrep"']], body: "" };
}

function first(values) {
  return values && values.length > 0 ? values[0] : "";
}

function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// ---------------------------------------------------------------------------------------
// Reading the module's results.

/**
 * Reads one result object of the module ({"key","value","variant","reason","decision"} or
 * an error result). value stays JSON text, exactly as the snapshot holds it.
 */
function readResult(text) {
  const r = JSON.parse(text);
  if (r.reason !== "ERROR") {
    const span = members(text).get("value");
    r.value = span ? text.slice(span[0], span[1]) : undefined;
  }
  return r;
}

/** The members of the JSON object in text (trusted JSON): name → [start, end) of the value. */
function members(text) {
  const out = new Map();
  let i = skipSpace(text, 0);
  if (text[i] !== "{") return out;
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] !== "}") {
    const nameEnd = skipValue(text, i);
    const name = JSON.parse(text.slice(i, nameEnd));
    i = skipSpace(text, nameEnd);
    i = skipSpace(text, i + 1); // the colon
    const end = skipValue(text, i);
    out.set(name, [i, end]);
    i = skipSpace(text, end);
    if (text[i] === ",") i = skipSpace(text, i + 1);
  }
  return out;
}

/** Yields the elements (as text) of the JSON array at span in text. */
function* elements(text, [start, end]) {
  let i = skipSpace(text, start + 1);
  while (i < end && text[i] !== "]") {
    const e = skipValue(text, i);
    yield text.slice(i, e);
    i = skipSpace(text, e);
    if (text[i] === ",") i = skipSpace(text, i + 1);
  }
}

function skipSpace(text, i) {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** Returns the index just after the JSON value that starts at i (trusted JSON). */
function skipValue(text, i) {
  let depth = 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      if (depth === 0) return i + 1;
    } else if (c === "{" || c === "[") {
      depth++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return i + 1;
    } else if (depth === 0) {
      while (i < text.length && !",}] \t\r\n".includes(text[i])) i++;
      return i;
    }
  }
  return i;
}

// ---------------------------------------------------------------------------------------
// Request bodies, read as Go's encoding/json reads them.

/**
 * Reads an OFREP request body, {"context":{...}}, into a flat context (attribute name →
 * string, number, boolean or list), or an error {code, details}. A body without "context",
 * or with "context": null, evaluates with an empty context.
 */
export function parseRequest(body) {
  if (goIsBlank(body)) return { code: "PARSE_ERROR", details: 'empty request body: send {"context":{...}}' };
  const syntax = checkValid(body);
  if (syntax) {
    return { code: "PARSE_ERROR", details: `request body is not valid JSON: ${syntax.msg} (at byte ${syntax.offset})` };
  }
  const p = new Parser(body);
  const top = p.value(0);
  if (top === null) return { ctx: Object.create(null) };
  if (!(top instanceof Map)) return { code: "PARSE_ERROR", details: 'request body must be a JSON object: {"context":{...}}' };
  const context = top.has("context") ? top.get("context") : null;
  if (context === null) return { ctx: Object.create(null) };
  if (!(context instanceof Map)) return { code: "INVALID_CONTEXT", details: '"context" must be a JSON object of attributes' };
  const ctx = new Map();
  const count = { items: 0 };
  const err = fill(ctx, "", context, 0, count);
  if (err) return { code: "INVALID_CONTEXT", details: err };
  const tk = ctx.get("targetingKey");
  if (typeof tk === "string") {
    if (tk === "") ctx.delete("targetingKey");
    else if (!ctx.has("userId")) {
      ctx.set("userId", tk);
      const over = overLimit(ctx, count);
      if (over) return { code: "INVALID_CONTEXT", details: over };
    }
  } else if (tk !== undefined) {
    return { code: "INVALID_CONTEXT", details: contextError("targetingKey", "must be a string") };
  }
  const out = Object.create(null);
  for (const [name, val] of ctx) out[name] = val;
  return { ctx: out };
}

/** A number as written in the body: its value, and its text for messages. */
class GoNumber {
  constructor(text) {
    this.text = text;
    this.value = Number(text);
  }
}

function contextError(attr, reason) {
  return attr === "" ? "context: " + reason : `context attribute ${goQuote(attr)}: ${reason}`;
}

/** The reason ctx is over a context limit (Context.LimitError), or null. */
function overLimit(ctx, count) {
  if (ctx.size > MAX_CONTEXT_ATTRIBUTES) return contextError("", `more than ${MAX_CONTEXT_ATTRIBUTES} attributes`);
  if (count.items > MAX_CONTEXT_LIST_ITEMS) return contextError("", `more than ${MAX_CONTEXT_LIST_ITEMS} list items`);
  return null;
}

/**
 * ofconv.Fill: flattens nested objects with dots, in sorted order, into ctx, counting list
 * items in count.items; refuses a context over the limits as soon as it passes them.
 */
function fill(ctx, prefix, attrs, depth, count) {
  if (depth >= MAX_CONTEXT_DEPTH) {
    return contextError(prefix.endsWith(".") ? prefix.slice(0, -1) : prefix, `objects nested deeper than ${MAX_CONTEXT_DEPTH} levels`);
  }
  const names = [...attrs.keys()].sort(compareCodePoints);
  for (const name of names) {
    const full = prefix + name;
    if (name === "") return contextError(full, "empty attribute name");
    const raw = attrs.get(name);
    if (raw instanceof Map) {
      const err = fill(ctx, full + ".", raw, depth + 1, count);
      if (err) return err;
      continue;
    }
    const v = attrValue(full, raw, false);
    if (v instanceof AttrError) return v.message;
    if (v === null) continue;
    if (ctx.has(full)) return contextError(full, "given twice (as a dotted name and inside an object)");
    ctx.set(full, v);
    if (Array.isArray(v)) count.items += v.length;
    const over = overLimit(ctx, count);
    if (over) return over;
  }
  return null;
}

class AttrError {
  constructor(message) {
    this.message = message;
  }
}

/** ofconv's value: one JSON value as an attribute (null: unset), or an AttrError. */
function attrValue(name, raw, inList) {
  if (raw === null || typeof raw === "string" || typeof raw === "boolean") return raw;
  if (raw instanceof GoNumber) {
    if (!Number.isFinite(raw.value)) return new AttrError(contextError(name, `number ${raw.text} is out of range`));
    return raw.value;
  }
  if (raw instanceof Map || raw === DEEP_OBJECT) {
    return new AttrError(contextError(name, "lists may hold only strings, numbers and bools, not objects"));
  }
  if (inList) return new AttrError(contextError(name, "nested lists are not supported"));
  const items = [];
  for (const item of raw === DEEP_ARRAY ? [] : raw) {
    const v = attrValue(name, item, true);
    if (v instanceof AttrError) return v;
    if (v !== null) items.push(v);
  }
  return items;
}

// Objects and lists nested deeper than fill ever looks (it stops at MAX_CONTEXT_DEPTH, and
// looks one level into lists) are kept only as their kind.
const DEEP_OBJECT = Symbol("deep object");
const DEEP_ARRAY = Symbol("deep array");

/** Beyond this nesting the parser keeps only whether a value is an object or a list. */
const BUILD_DEPTH = MAX_CONTEXT_DEPTH + 4;

/**
 * Builds values from bytes that checkValid accepted: objects as Maps (a repeated name keeps
 * its last value, as in Go), lists as arrays, numbers as GoNumber, strings decoded as Go
 * decodes them.
 */
class Parser {
  constructor(data) {
    this.data = data;
    this.i = 0;
  }

  space() {
    const d = this.data;
    while (this.i < d.length && isSpace(d[this.i])) this.i++;
  }

  value(depth) {
    this.space();
    const d = this.data;
    const c = d[this.i];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth >= BUILD_DEPTH) {
        this.skip();
        return c === 0x7b ? DEEP_OBJECT : DEEP_ARRAY;
      }
      return c === 0x7b ? this.object(depth) : this.array(depth);
    }
    if (c === 0x22) return this.string();
    if (c === 0x74) return (this.i += 4), true;
    if (c === 0x66) return (this.i += 5), false;
    if (c === 0x6e) return (this.i += 4), null;
    const start = this.i;
    while (this.i < d.length && isNumberByte(d[this.i])) this.i++;
    return new GoNumber(latin1(d, start, this.i));
  }

  object(depth) {
    const m = new Map();
    this.i++;
    this.space();
    if (this.data[this.i] === 0x7d) return this.i++, m;
    for (;;) {
      this.space();
      const name = this.string();
      this.space();
      this.i++; // :
      m.set(name, this.value(depth + 1));
      this.space();
      if (this.data[this.i++] === 0x7d) return m; // } or ,
    }
  }

  array(depth) {
    const a = [];
    this.i++;
    this.space();
    if (this.data[this.i] === 0x5d) return this.i++, a;
    for (;;) {
      a.push(this.value(depth + 1));
      this.space();
      if (this.data[this.i++] === 0x5d) return a; // ] or ,
    }
  }

  /** Skips a valid object or list without building it. */
  skip() {
    const d = this.data;
    let depth = 0;
    for (; this.i < d.length; this.i++) {
      const c = d[this.i];
      if (c === 0x22) {
        for (this.i++; d[this.i] !== 0x22; this.i++) if (d[this.i] === 0x5c) this.i++;
      } else if (c === 0x7b || c === 0x5b) {
        depth++;
      } else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) {
          this.i++;
          return;
        }
      }
    }
  }

  /** A string literal, decoded as Go's unquote does (invalid UTF-8 and lone surrogates become U+FFFD). */
  string() {
    const d = this.data;
    let i = this.i + 1;
    let s = "";
    let run = i; // start of a run of plain ASCII
    for (;;) {
      const c = d[i];
      if (c === 0x22 || c === 0x5c || c >= 0x80) {
        s += latin1(d, run, i);
        if (c === 0x22) break;
        if (c === 0x5c) {
          const e = d[i + 1];
          if (e === 0x75 /* u */) {
            let r = hex4(d, i + 2);
            i += 6;
            if (r >= 0xd800 && r < 0xe000) {
              const r2 = d[i] === 0x5c && d[i + 1] === 0x75 ? hex4(d, i + 2) : -1;
              if (r < 0xdc00 && r2 >= 0xdc00 && r2 < 0xe000) {
                r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
                i += 6;
              } else {
                r = 0xfffd;
              }
            }
            s += String.fromCodePoint(r);
          } else {
            s += { 0x62: "\b", 0x66: "\f", 0x6e: "\n", 0x72: "\r", 0x74: "\t" }[e] ?? String.fromCharCode(e);
            i += 2;
          }
        } else {
          const [r, size] = goDecodeRune(d, i);
          s += String.fromCodePoint(r);
          i += size;
        }
        run = i;
      } else {
        i++;
      }
    }
    this.i = i + 1;
    return s;
  }
}

function isNumberByte(c) {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function hex4(d, i) {
  return parseInt(latin1(d, i, i + 4), 16);
}

/** Bytes [start, end) as a string of the same code units (for ASCII runs). */
function latin1(d, start, end) {
  let s = "";
  for (let i = start; i < end; i += 4096) s += String.fromCharCode(...d.subarray(i, Math.min(end, i + 4096)));
  return s;
}

// The scanner of Go's encoding/json (scanner.go), for its error messages and offsets.

const SCAN_CONTINUE = 0;
const SCAN_END = 1;
const SCAN_ERROR = 2;
const PARSE_OBJECT_KEY = 0;
const PARSE_OBJECT_VALUE = 1;
const PARSE_ARRAY_VALUE = 2;
const MAX_NESTING_DEPTH = 10000;

function isSpace(c) {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Go's checkValid: null, or the syntax error {msg, offset}. */
function checkValid(data) {
  const s = { step: stateBeginValue, stack: [], err: null, endTop: false, bytes: 0 };
  for (let i = 0; i < data.length; i++) {
    s.bytes++;
    if (s.step(s, data[i]) === SCAN_ERROR) return s.err;
  }
  // eof
  if (s.err) return s.err;
  if (s.endTop) return null;
  s.step(s, 0x20);
  if (s.endTop) return null;
  if (!s.err) s.err = { msg: "unexpected end of JSON input", offset: s.bytes };
  return s.err;
}

function scanError(s, c, context) {
  s.step = stateError;
  s.err = { msg: `invalid character ${quoteChar(c)} ${context}`, offset: s.bytes };
  return SCAN_ERROR;
}

function stateError() {
  return SCAN_ERROR;
}

function pushState(s, c, state) {
  s.stack.push(state);
  if (s.stack.length > MAX_NESTING_DEPTH) return scanError(s, c, "exceeded max depth");
  return SCAN_CONTINUE;
}

function popState(s) {
  s.stack.pop();
  if (s.stack.length === 0) {
    s.step = stateEndTop;
    s.endTop = true;
  } else {
    s.step = stateEndValue;
  }
}

function stateBeginValueOrEmpty(s, c) {
  if (isSpace(c)) return SCAN_CONTINUE;
  if (c === 0x5d) return stateEndValue(s, c);
  return stateBeginValue(s, c);
}

function stateBeginValue(s, c) {
  if (isSpace(c)) return SCAN_CONTINUE;
  switch (c) {
    case 0x7b:
      s.step = stateBeginStringOrEmpty;
      return pushState(s, c, PARSE_OBJECT_KEY);
    case 0x5b:
      s.step = stateBeginValueOrEmpty;
      return pushState(s, c, PARSE_ARRAY_VALUE);
    case 0x22:
      s.step = stateInString;
      return SCAN_CONTINUE;
    case 0x2d:
      s.step = stateNeg;
      return SCAN_CONTINUE;
    case 0x30:
      s.step = state0;
      return SCAN_CONTINUE;
    case 0x74:
      s.step = literal("rue", "true");
      return SCAN_CONTINUE;
    case 0x66:
      s.step = literal("alse", "false");
      return SCAN_CONTINUE;
    case 0x6e:
      s.step = literal("ull", "null");
      return SCAN_CONTINUE;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return scanError(s, c, "looking for beginning of value");
}

function stateBeginStringOrEmpty(s, c) {
  if (isSpace(c)) return SCAN_CONTINUE;
  if (c === 0x7d) {
    s.stack[s.stack.length - 1] = PARSE_OBJECT_VALUE;
    return stateEndValue(s, c);
  }
  return stateBeginString(s, c);
}

function stateBeginString(s, c) {
  if (isSpace(c)) return SCAN_CONTINUE;
  if (c === 0x22) {
    s.step = stateInString;
    return SCAN_CONTINUE;
  }
  return scanError(s, c, "looking for beginning of object key string");
}

function stateEndValue(s, c) {
  const n = s.stack.length;
  if (n === 0) {
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) {
    s.step = stateEndValue;
    return SCAN_CONTINUE;
  }
  switch (s.stack[n - 1]) {
    case PARSE_OBJECT_KEY:
      if (c === 0x3a) {
        s.stack[n - 1] = PARSE_OBJECT_VALUE;
        s.step = stateBeginValue;
        return SCAN_CONTINUE;
      }
      return scanError(s, c, "after object key");
    case PARSE_OBJECT_VALUE:
      if (c === 0x2c) {
        s.stack[n - 1] = PARSE_OBJECT_KEY;
        s.step = stateBeginString;
        return SCAN_CONTINUE;
      }
      if (c === 0x7d) {
        popState(s);
        return SCAN_CONTINUE;
      }
      return scanError(s, c, "after object key:value pair");
    default:
      if (c === 0x2c) {
        s.step = stateBeginValue;
        return SCAN_CONTINUE;
      }
      if (c === 0x5d) {
        popState(s);
        return SCAN_CONTINUE;
      }
      return scanError(s, c, "after array element");
  }
}

function stateEndTop(s, c) {
  if (!isSpace(c)) scanError(s, c, "after top-level value");
  return SCAN_END;
}

function stateInString(s, c) {
  if (c === 0x22) {
    s.step = stateEndValue;
    return SCAN_CONTINUE;
  }
  if (c === 0x5c) {
    s.step = stateInStringEsc;
    return SCAN_CONTINUE;
  }
  if (c < 0x20) return scanError(s, c, "in string literal");
  return SCAN_CONTINUE;
}

function stateInStringEsc(s, c) {
  switch (c) {
    case 0x62:
    case 0x66:
    case 0x6e:
    case 0x72:
    case 0x74:
    case 0x5c:
    case 0x2f:
    case 0x22:
      s.step = stateInString;
      return SCAN_CONTINUE;
    case 0x75:
      s.step = hexEscape(4);
      return SCAN_CONTINUE;
  }
  return scanError(s, c, "in string escape code");
}

function hexEscape(left) {
  return (s, c) => {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)) {
      s.step = left === 1 ? stateInString : hexEscape(left - 1);
      return SCAN_CONTINUE;
    }
    return scanError(s, c, "in \\u hexadecimal character escape");
  };
}

function stateNeg(s, c) {
  if (c === 0x30) {
    s.step = state0;
    return SCAN_CONTINUE;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return scanError(s, c, "in numeric literal");
}

function state1(s, c) {
  if (c >= 0x30 && c <= 0x39) {
    s.step = state1;
    return SCAN_CONTINUE;
  }
  return state0(s, c);
}

function state0(s, c) {
  if (c === 0x2e) {
    s.step = stateDot;
    return SCAN_CONTINUE;
  }
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateDot(s, c) {
  if (c >= 0x30 && c <= 0x39) {
    s.step = stateDot0;
    return SCAN_CONTINUE;
  }
  return scanError(s, c, "after decimal point in numeric literal");
}

function stateDot0(s, c) {
  if (c >= 0x30 && c <= 0x39) return SCAN_CONTINUE;
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return SCAN_CONTINUE;
  }
  return stateEndValue(s, c);
}

function stateE(s, c) {
  if (c === 0x2b || c === 0x2d) {
    s.step = stateESign;
    return SCAN_CONTINUE;
  }
  return stateESign(s, c);
}

function stateESign(s, c) {
  if (c >= 0x30 && c <= 0x39) {
    s.step = stateE0;
    return SCAN_CONTINUE;
  }
  return scanError(s, c, "in exponent of numeric literal");
}

function stateE0(s, c) {
  if (c >= 0x30 && c <= 0x39) return SCAN_CONTINUE;
  return stateEndValue(s, c);
}

/** The states after the first letter of true, false or null. */
function literal(rest, word) {
  return (s, c) => {
    if (c === rest.charCodeAt(0)) {
      s.step = rest.length === 1 ? stateEndValue : literal(rest.slice(1), word);
      return SCAN_CONTINUE;
    }
    return scanError(s, c, `in literal ${word} (expecting ${quoteChar(rest.charCodeAt(0))})`);
  };
}

/** Go's quoteChar: a byte as a quoted rune for messages. */
function quoteChar(c) {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const q = goQuoteRunes([c]);
  return "'" + q.slice(1, -1) + "'";
}

// ---------------------------------------------------------------------------------------
// Go's text conventions: UTF-8 decoding, strconv.Quote, bytes.TrimSpace, JSON strings.

/** Go's utf8.DecodeRune: [rune, size]; an invalid byte is [U+FFFD, 1]. */
function goDecodeRune(d, i) {
  const c = d[i];
  if (c < 0x80) return [c, 1];
  let n, lo = 0x80, hi = 0xbf, r;
  if (c >= 0xc2 && c <= 0xdf) (n = 2), (r = c & 0x1f);
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    r = c & 0x0f;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    r = c & 0x07;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return [0xfffd, 1];
  for (let k = 1; k < n; k++) {
    const b = d[i + k];
    if (b === undefined || b < lo || b > hi) return [0xfffd, 1];
    r = (r << 6) | (b & 0x3f);
    lo = 0x80;
    hi = 0xbf;
  }
  return [r, n];
}

/** Decodes UTF-8 bytes the Go way: each invalid byte becomes U+FFFD. */
function goDecodeUTF8(d) {
  let s = "";
  for (let i = 0; i < d.length; ) {
    const [r, size] = goDecodeRune(d, i);
    s += String.fromCodePoint(r);
    i += size;
  }
  return s;
}

/** Go's unicode.IsSpace. */
function goIsSpaceRune(r) {
  switch (r) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
  }
  return r >= 0x2000 && r <= 0x200a;
}

/** Whether bytes.TrimSpace(d) is empty. */
function goIsBlank(d) {
  for (let i = 0; i < d.length; ) {
    const [r, size] = goDecodeRune(d, i);
    if (size === 1 && r === 0xfffd) return false;
    if (!goIsSpaceRune(r)) return false;
    i += size;
  }
  return true;
}

/** strings.TrimSpace. */
function goTrimSpace(s) {
  const cps = [...s];
  let a = 0;
  let b = cps.length;
  while (a < b && goIsSpaceRune(cps[a].codePointAt(0))) a++;
  while (b > a && goIsSpaceRune(cps[b - 1].codePointAt(0))) b--;
  return cps.slice(a, b).join("");
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.IsPrint. */
function goIsPrint(r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  return PRINTABLE.test(String.fromCodePoint(r));
}

const HEX = "0123456789abcdef";

/** strconv.Quote of a sequence of runes (-1 - b stands for the invalid byte b). */
function goQuoteRunes(runes) {
  let q = '"';
  for (const r of runes) {
    if (r < 0) {
      const b = -1 - r;
      q += "\\x" + HEX[b >> 4] + HEX[b & 15];
    } else if (r === 0x22 || r === 0x5c) {
      q += "\\" + String.fromCharCode(r);
    } else if (goIsPrint(r)) {
      q += String.fromCodePoint(r);
    } else {
      const esc = { 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v" }[r];
      if (esc) q += esc;
      else if (r < 0x20 || r === 0x7f) q += "\\x" + HEX[r >> 4] + HEX[r & 15];
      else if (r < 0x10000) q += "\\u" + r.toString(16).padStart(4, "0");
      else q += "\\U" + r.toString(16).padStart(8, "0");
    }
  }
  return q + '"';
}

/** strconv.Quote of UTF-8 bytes. */
function goQuoteBytes(d) {
  const runes = [];
  for (let i = 0; i < d.length; ) {
    const [r, size] = goDecodeRune(d, i);
    runes.push(size === 1 && r === 0xfffd ? -1 - d[i] : r);
    i += size;
  }
  return goQuoteRunes(runes);
}

/** strconv.Quote of a string. */
function goQuote(s) {
  return goQuoteBytes(utf8.encode(s));
}

/**
 * A JSON string as the Go handler writes it: ", \, \n, \r, \t escaped, other control
 * characters as \u00XX, everything else as is (a lone surrogate, which UTF-8 cannot carry,
 * as \ufffd).
 */
export function jsonString(s) {
  let q = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc = null;
    if (c < 0x20 || c === 0x22 || c === 0x5c) {
      esc = { 0x22: '\\"', 0x5c: "\\\\", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t" }[c] ?? "\\u00" + HEX[c >> 4] + HEX[c & 15];
    } else if (c >= 0xd800 && c < 0xe000) {
      const next = s.charCodeAt(i + 1);
      if (c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        i++;
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc !== null) {
      q += s.slice(run, i) + esc;
      run = i + 1;
    }
  }
  return q + s.slice(run) + '"';
}

/** A flag key (bytes from the URL) as the Go handler writes it: invalid bytes as \ufffd. */
function keyJSON(d) {
  let q = "";
  let run = 0;
  for (let i = 0; i < d.length; ) {
    const [r, size] = goDecodeRune(d, i);
    if (size === 1 && r === 0xfffd) {
      q += jsonString(goDecodeUTF8(d.subarray(run, i))).slice(1, -1) + "\\ufffd";
      run = i + 1;
    }
    i += size;
  }
  return '"' + q + jsonString(goDecodeUTF8(d.subarray(run))).slice(1, -1) + '"';
}

/** Compares strings by code point, the order of Go's byte-wise string comparison. */
function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i);
    const y = b.codePointAt(i);
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** Percent-decodes a path segment to bytes; a malformed escape stays as written. */
function percentDecode(seg) {
  const raw = utf8.encode(seg);
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === 0x25 && i + 2 < raw.length && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(raw[i + 1], raw[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

function percentDecodeText(seg) {
  return goDecodeUTF8(percentDecode(seg));
}

function isHex(c) {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

// ---------------------------------------------------------------------------------------
// The bulk ETag: the Go handler's, bit for bit.

/**
 * The canonical form of a flat context: attributes sorted by name, nulls left out, every
 * value tagged with its kind, so that attribute order does not matter.
 */
function canonicalContext(ctx) {
  let b = "";
  for (const name of Object.keys(ctx).sort(compareCodePoints)) {
    const v = ctx[name];
    if (v === null || v === undefined) continue;
    b += `${utf8.encode(name).length}:${name}${canonicalValue(v)}`;
  }
  return b;
}

const f64 = new DataView(new ArrayBuffer(8));

function canonicalValue(v) {
  switch (typeof v) {
    case "string":
      return `s${utf8.encode(v).length}:${v}`;
    case "number":
      f64.setFloat64(0, v);
      return "n" + f64.getBigUint64(0).toString(16);
    case "boolean":
      return v ? "t" : "f";
  }
  if (Array.isArray(v)) return `l${v.length}:` + v.map(canonicalValue).join("");
  return "0";
}

async function bulkETag(snapshotHash, ctx, body) {
  const head = utf8.encode(snapshotHash + canonicalContext(ctx));
  const tail = utf8.encode(body);
  const all = new Uint8Array(head.length + 1 + tail.length);
  all.set(head, 0);
  all.set(tail, head.length + 1);
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  let hex = "";
  for (const b of sum.subarray(0, 16)) hex += HEX[b >> 4] + HEX[b & 15];
  return `"${hex}"`;
}

/** The weak comparison of If-None-Match (RFC 9110, 13.1.2), as the Go handler does it. */
function etagMatches(headers, etag) {
  const want = etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const h of headers ?? []) {
    for (let tag of h.split(",")) {
      tag = goTrimSpace(tag);
      if (tag === "*") return true;
      if (tag.startsWith("W/")) tag = tag.slice(2);
      if (tag === want || `"${tag}"` === want) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Runtime adapters.

/**
 * Reads a ReadableStream (a fetch Request's body) up to limit bytes; throws BodyTooLarge
 * as soon as it holds more.
 */
export async function readBodyStream(stream, limit) {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > limit) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Parses an API key list setting: a JSON array, or keys separated by commas. */
export function parseAPIKeys(setting) {
  if (setting === undefined || setting === null || setting === "") return null;
  if (Array.isArray(setting)) return setting.map(String);
  const text = String(setting).trim();
  if (text.startsWith("[")) {
    const keys = JSON.parse(text);
    if (!Array.isArray(keys)) throw new Error("ofrep: the API key list must be an array");
    return keys.map(String);
  }
  return text.split(",").map((k) => k.trim()).filter((k) => k !== "");
}
