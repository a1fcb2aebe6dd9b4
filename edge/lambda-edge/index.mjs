// edgeflag as a Lambda@Edge viewer-request function (Node.js 20): evaluates every flag
// for the viewer with the WASM evaluator under node:wasi and either answers with the
// results as JSON (on the flags path), answers OFREP requests with a generated response
// (POST /ofrep/v1/evaluate/flags[/{key}], see ../shared/ofrep.mjs), or lets the request
// continue to the origin with one x-flag-<key>: <variant> header per flag.
//
// Lambda@Edge has no environment variables: settings come from config.json beside this
// file (EDGEFLAG_CONFIG may name another file, for local runs):
//   storeURL        where the store is served (the CloudFront distribution of the bucket)
//   environment     the environment whose pointer to follow (default production)
//   pollIntervalMs  how often to check the pointer (default 5000)
//   graceMs         after this long without a successful poll, results are STALE (default 60000)
//   wasmPath        the module (default bin/edgeflag.wasm two levels up, the repository layout)
//   publicKeys      PEM "PUBLIC KEY" blocks (edgeflag keygen, or the KMS key's; two while
//                   rotating): pointers must be signed for the environment by one of them and
//                   be no older than the one served (verified with node:crypto); absent:
//                   signatures are not checked
//   userHeader, userCookie, path   see DEFAULT_REQUEST_CONFIG
//   ofrep           false leaves /ofrep/ paths to the origin (default true: answered here)
//   ofrepApiKeys    keys OFREP clients must send (X-API-Key or Bearer); absent: no authentication
//   ofrepAllowOrigin  CORS Access-Control-Allow-Origin for browser providers (e.g. "*")
//   ofrepReasons    "spec" (default) or "openfeature", see ../shared/ofrep.mjs
//
// GET /.edgeflag/health answers the poller's state: the pointer served, whether signatures
// are required, and the last poll error (why a pointer was refused); poll errors are also
// logged (console.warn, in CloudWatch Logs).
//
// OFREP requests are POSTs: the distribution's cache behavior must allow POST, and the
// function's viewer-request association must include the body (IncludeBody: true), which
// CloudFront then hands over base64-encoded in request.body.data, truncated past 40 KB.
import { webcrypto } from "node:crypto";
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import {
  DEFAULT_REQUEST_CONFIG,
  Evaluator,
  isEdgeflagHeader,
  requestContext,
  resultHeaders,
} from "../shared/edgeflag.mjs";
import { BodyTooLarge, BodyUnavailable, OFREPHandler, parseAPIKeys } from "../shared/ofrep.mjs";
import { SnapshotPoller } from "../shared/poller.mjs";

/** The path of the poller's state. */
const HEALTH_PATH = "/.edgeflag/health";

/** Instantiates the module bytes under node:wasi and returns an Evaluator. */
export async function instantiate(wasmBytes) {
  const wasi = new WASI({ version: "preview1", returnOnExit: true, args: [], env: {} });
  const { instance } = await WebAssembly.instantiate(wasmBytes, wasi.getImportObject());
  wasi.initialize(instance);
  return new Evaluator(instance);
}

/** Reads the configuration: config.json beside this file, or the file EDGEFLAG_CONFIG names. */
export async function loadConfig() {
  const path = process.env.EDGEFLAG_CONFIG || new URL("./config.json", import.meta.url);
  const raw = JSON.parse(await readFile(path, "utf8"));
  return {
    environment: "production",
    pollIntervalMs: 5000,
    graceMs: 60000,
    wasmPath: new URL("../../bin/edgeflag.wasm", import.meta.url),
    ...DEFAULT_REQUEST_CONFIG,
    ...raw,
  };
}

/** Creates the evaluator and poller of one execution environment. */
export async function createEdge(config) {
  const evaluator = await instantiate(await readFile(config.wasmPath));
  const poller = new SnapshotPoller({
    baseURL: config.storeURL,
    environment: config.environment,
    interval: config.pollIntervalMs,
    grace: config.graceMs,
    publicKeys: Array.isArray(config.publicKeys) ? config.publicKeys.join("\n") : (config.publicKeys ?? ""),
    subtle: webcrypto.subtle,
    apply: (bytes) => evaluator.load(bytes, true), // the poller verified the bytes
  });
  const ofrep =
    config.ofrep === false
      ? null
      : new OFREPHandler({
          reasons: config.ofrepReasons ?? "spec",
          apiKeys: parseAPIKeys(config.ofrepApiKeys),
          allowOrigin: config.ofrepAllowOrigin ?? "",
        });
  return { evaluator, poller, config, ofrep };
}

/**
 * The body of a CloudFront request: base64 in request.body.data when the association
 * includes the body, truncated by CloudFront past 40 KB (inputTruncated).
 */
function requestBody(request, limit) {
  const b = request.body;
  if (!b || typeof b.data !== "string") {
    throw new BodyUnavailable(
      "the request body did not reach the function: the viewer-request association of the function must include the body (IncludeBody: true)",
    );
  }
  if (b.inputTruncated) {
    throw new BodyTooLarge(limit, "request body larger than the 40 KB CloudFront passes to a viewer-request function");
  }
  const bytes = b.encoding === "text" ? Buffer.from(b.data, "utf8") : Buffer.from(b.data, "base64");
  if (bytes.length > limit) throw new BodyTooLarge(limit);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

const STATUS_TEXT = {
  200: "OK",
  204: "No Content",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
};

const HEADER_NAMES = { etag: "ETag", "www-authenticate": "WWW-Authenticate" };

/** A header name as CloudFront shows it: Content-Type, ETag... */
function headerKey(name) {
  return HEADER_NAMES[name] ?? name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());
}

/** Answers an OFREP request with a generated response. */
async function serveOFREP(edge, request) {
  const { evaluator, poller } = edge;
  const now = Date.now();
  const res = await edge.ofrep.serve(
    {
      method: request.method,
      path: request.uri,
      header: (name) => (request.headers[name] ?? []).map((h) => h.value),
      body: async (limit) => requestBody(request, limit),
    },
    { evaluator, loaded: poller.loaded, stale: poller.stale(now), now },
  );
  const headers = {};
  for (const [name, value] of res.headers) headers[name] = [{ key: headerKey(name), value }];
  const out = { status: String(res.status), statusDescription: STATUS_TEXT[res.status] ?? "", headers };
  if (res.body !== "") out.body = res.body;
  return out;
}

/**
 * Handles one CloudFront viewer-request event for edge. Between invocations the execution
 * environment is frozen, so a due poll is awaited (a 304 costs one round trip) rather than
 * left running in the background.
 */
export async function handle(edge, event) {
  const { evaluator, poller, config } = edge;
  const request = event.Records[0].cf.request;
  if (poller.due()) await poller.poll();
  if (request.uri === HEALTH_PATH) {
    return respond(poller.loaded ? "200" : "503", poller.loaded ? "OK" : "Service Unavailable", poller.status());
  }
  if (edge.ofrep?.owns(request.uri)) return serveOFREP(edge, request);
  if (!poller.loaded) {
    return respond("503", "Service Unavailable", {
      errorCode: "GENERAL",
      errorMessage: "no snapshot loaded: " + String(poller.lastError?.message),
    });
  }
  const now = Date.now();
  const stale = poller.stale(now);
  const header = (name) => request.headers[name]?.[0]?.value;
  const context = requestContext(
    (name) => (name === "cookie" ? request.headers.cookie?.map((c) => c.value).join("; ") : header(name)),
    header("cloudfront-viewer-country"),
    config,
  );
  if (request.uri === config.path) {
    const out = evaluator.evaluateAllJSON(context, now, { stale });
    const body = `{"snapshot":${JSON.stringify(evaluator.info.hash)},"stale":${stale},"context":${JSON.stringify(context)},"results":${out}}`;
    return {
      status: "200",
      statusDescription: "OK",
      headers: {
        "content-type": [{ key: "Content-Type", value: "application/json" }],
        "cache-control": [{ key: "Cache-Control", value: "private, no-store" }],
      },
      body,
    };
  }
  const results = evaluator.variants(context, now, { stale });
  for (const name of Object.keys(request.headers)) {
    if (isEdgeflagHeader(name, config)) delete request.headers[name];
  }
  for (const [name, value] of resultHeaders(results, evaluator.info, stale, config)) {
    request.headers[name] = [{ key: name, value }];
  }
  return request;
}

function respond(status, statusDescription, body) {
  return {
    status,
    statusDescription,
    headers: {
      "content-type": [{ key: "Content-Type", value: "application/json" }],
      "cache-control": [{ key: "Cache-Control", value: "no-store" }],
    },
    body: JSON.stringify(body),
  };
}

let edgePromise = null;

/** The Lambda@Edge entry point (handler: index.handler). */
export async function handler(event) {
  edgePromise ??= loadConfig().then(createEdge);
  let edge;
  try {
    edge = await edgePromise;
  } catch (err) {
    edgePromise = null; // try again on the next invocation
    throw err;
  }
  return handle(edge, event);
}
