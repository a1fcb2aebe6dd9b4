// edgeflag as a Lambda@Edge viewer-request function (Node.js 20): evaluates every flag
// for the viewer with the WASM evaluator under node:wasi and either answers with the
// results as JSON (on the flags path) or lets the request continue to the origin with one
// x-flag-<key>: <variant> header per flag.
//
// Lambda@Edge has no environment variables: settings come from config.json beside this
// file (EDGEFLAG_CONFIG may name another file, for local runs):
//   storeURL        where the store is served (the CloudFront distribution of the bucket)
//   environment     the environment whose pointer to follow (default production)
//   pollIntervalMs  how often to check the pointer (default 5000)
//   graceMs         after this long without a successful poll, results are STALE (default 60000)
//   wasmPath        the module (default bin/edgeflag.wasm two levels up, the repository layout)
//   userHeader, userCookie, path   see DEFAULT_REQUEST_CONFIG
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import {
  DEFAULT_REQUEST_CONFIG,
  Evaluator,
  isEdgeflagHeader,
  requestContext,
  resultHeaders,
} from "../shared/edgeflag.mjs";
import { SnapshotPoller } from "../shared/poller.mjs";

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
    apply: (bytes) => evaluator.load(bytes),
  });
  return { evaluator, poller, config };
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
  const results = evaluator.evaluateAll(context, now, { stale });
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
