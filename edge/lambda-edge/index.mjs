// edgeflag as a Lambda@Edge viewer-request function (Node.js 20): ../shared/handler.mjs
// answers the health, flags and OFREP paths; other requests go on to the origin with
// x-flag-<key>: <variant> headers. The settings of Edge, and wasmPath, come from config.json
// beside this file, or the file EDGEFLAG_CONFIG names (docs/edge.md). OFREP needs POST
// allowed and the body included (IncludeBody: true): CloudFront passes it in
// request.body.data, cut at 40 KB.
import { readFile } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { Evaluator } from "../shared/edgeflag.mjs";
import { Edge, bodyError } from "../shared/handler.mjs";
import { instantiateWithShim } from "../shared/wasi.mjs";

/** Compiles the module bytes, instantiates them with ../shared/wasi.mjs (as in workerd) and returns an Evaluator (or an Evaluator of sdk/js). */
export async function instantiate(wasmBytes, EvaluatorClass = Evaluator) {
  return new EvaluatorClass(instantiateWithShim(await WebAssembly.compile(wasmBytes)));
}

/** Creates the edge of one execution environment from its configuration file; errors name the file. */
async function createEdge() {
  const file = process.env.EDGEFLAG_CONFIG || new URL("./config.json", import.meta.url);
  try {
    const config = JSON.parse(await readFile(file, "utf8"));
    const evaluator = await instantiate(await readFile(config.wasmPath ?? new URL("../../bin/edgeflag.wasm", import.meta.url)));
    return new Edge(evaluator, config);
  } catch (err) {
    throw new Error(`edgeflag is misconfigured: ${file instanceof URL ? file.pathname : file}: ${err.message}`);
  }
}

/** The body of a CloudFront request: base64 in request.body.data when the association includes it. */
function requestBody(request) {
  const b = request.body;
  if (typeof b?.data !== "string") {
    throw bodyError("unavailable", "the request body did not reach the function: the viewer-request association of the function must include the body (IncludeBody: true)");
  }
  if (b.inputTruncated) throw bodyError("too large", "request body larger than the 40 KB CloudFront passes to a viewer-request function");
  const bytes = Buffer.from(b.data, b.encoding === "text" ? "utf8" : "base64");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Handles one CloudFront viewer-request event for edge. Between invocations the execution
 * environment is frozen, so a due poll is awaited (a 304 costs one round trip).
 */
export async function handle(edge, event) {
  const request = event.Records[0].cf.request;
  if (edge.poller.due()) await edge.poller.poll();
  const header = (name) => (request.headers[name] ?? []).map((h) => h.value);
  const res = await edge.answer({ method: request.method, path: request.uri, header, country: header("cloudfront-viewer-country")[0], body: async () => requestBody(request) });
  if (res.forward) {
    for (const name of Object.keys(request.headers)) if (edge.owns(name)) delete request.headers[name];
    for (const [name, value] of res.forward) request.headers[name] = [{ key: name, value }];
    return request;
  }
  const headers = {};
  for (const [name, value] of res.headers) headers[name] = [{ key: name.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()), value }];
  return { status: String(res.status), statusDescription: STATUS_CODES[res.status] ?? "", headers, ...(res.body ? { body: res.body } : {}) };
}

let edgePromise = null;

/** The Lambda@Edge entry point (handler: index.handler). */
export async function handler(event) {
  edgePromise ??= createEdge();
  try {
    return handle(await edgePromise, event);
  } catch (err) {
    edgePromise = null; // try again on the next invocation
    throw err;
  }
}
