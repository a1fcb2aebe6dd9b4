// edgeflag as a Cloudflare Worker: ../shared/handler.mjs answers the health, flags and OFREP
// paths; other requests go on to the origin with x-flag-<key>: <variant> headers. Settings
// are the bindings of VARIABLES below (wrangler vars, or fromEnvironment in config.capnp);
// docs/deploy.md gives each one's default and meaning.
import wasmModule from "../../bin/edgeflag.wasm";
import { Evaluator } from "../shared/edgeflag.mjs";
import { Edge, json } from "../shared/handler.mjs";
import { instantiateWithShim } from "../shared/wasi.mjs";

// One edge per isolate, made on the first request (workerd refuses compiling at global scope).
let edge = null;
// Marks the requests an isolate forwards, so that one coming back is recognized.
const VIA_HEADER = "x-edgeflag-via";

// The settings of Edge (../shared/handler.mjs), EDGEFLAG_ORIGIN_URL (where requests go on)
// and the variables that give them. EDGEFLAG_CACHE_TTL_S: "0" turns the location cache off.
const VARIABLES = {
  storeURL: "EDGEFLAG_STORE_URL", environment: "EDGEFLAG_ENVIRONMENT", pollIntervalMs: "EDGEFLAG_POLL_INTERVAL_MS", graceMs: "EDGEFLAG_GRACE_MS",
  cacheTtl: "EDGEFLAG_CACHE_TTL_S", publicKeys: "EDGEFLAG_PUBLIC_KEYS", origin: "EDGEFLAG_ORIGIN_URL", path: "EDGEFLAG_PATH", ofrep: "EDGEFLAG_OFREP",
  userHeader: "EDGEFLAG_USER_HEADER", userCookie: "EDGEFLAG_USER_COOKIE", ofrepReasons: "EDGEFLAG_OFREP_REASONS",
  ofrepApiKeys: "EDGEFLAG_OFREP_API_KEYS", ofrepAllowOrigin: "EDGEFLAG_OFREP_ALLOW_ORIGIN",
};
function createEdge(env) {
  const settings = {};
  for (const [name, variable] of Object.entries(VARIABLES)) if ((env[variable] ?? "") !== "") settings[name] = env[variable];
  settings.cache = typeof caches !== "undefined" ? caches.default : null;
  try {
    const edge = new Edge(new Evaluator(instantiateWithShim(wasmModule)), settings);
    return Object.assign(edge, { origin: settings.origin, via: crypto.randomUUID() });
  } catch (err) {
    throw new Error(`edgeflag is misconfigured: ${err.message}${err.setting ? ` (${VARIABLES[err.setting]})` : ""}`);
  }
}

/**
 * Where a request goes on to (a URL), or why not (a message): EDGEFLAG_ORIGIN_URL, else on
 * Cloudflare (request.cf.colo is set) its own URL, which goes to the origin. A request that
 * would come back to the Worker is refused rather than looped.
 */
function originOf(request, url) {
  const onCloudflare = typeof request.cf?.colo === "string";
  const set = "set EDGEFLAG_ORIGIN_URL to the origin to forward requests to";
  if (!edge.origin && !onCloudflare) return `no origin configured: ${set}; the flags of this request are at ${edge.path}`;
  const target = edge.origin ? new URL(url.pathname + url.search, edge.origin) : url;
  const looped = request.headers.get(VIA_HEADER) === edge.via || (!onCloudflare && target.host === url.host);
  return looped ? `the origin ${target.origin} is this Worker itself: forwarding would loop; ${set}` : target;
}

/** Reads a request body up to a little over limit bytes (the handler refuses more). */
async function readBody(stream, limit) {
  const chunks = [];
  for (let reader = stream?.getReader(), n = 0; reader && n <= limit; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
  }
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

export default {
  async fetch(request, env, ctx) {
    try {
      edge ??= createEdge(env);
    } catch (err) {
      return Response.json({ errorCode: "GENERAL", errorMessage: err.message }, { status: 500 });
    }
    // Poll when due: awaited while nothing is loaded, in the background after that. A store
    // that is down is asked at most once per interval, however many requests come.
    const polled = edge.poller.due() ? edge.poller.poll() : edge.poller.inflight;
    if (!edge.poller.loaded) await polled;
    else if (polled) ctx.waitUntil(polled);
    const url = new URL(request.url);
    const res = await edge.answer({
      method: request.method,
      path: url.pathname,
      header: (name) => [request.headers.get(name)].filter((v) => v !== null),
      country: request.headers.get("cf-ipcountry") ?? request.cf?.country,
      body: (limit) => readBody(request.body, limit),
    });
    const target = res.forward ? originOf(request, url) : null;
    const { status, headers, body } = typeof target === "string" ? json({ errorCode: "GENERAL", errorMessage: target }, 502) : res;
    if (!(target instanceof URL)) return new Response(body || null, { status, headers });
    const forwarded = new Headers([...request.headers].filter(([name]) => !edge.owns(name)));
    for (const [name, value] of [...res.forward, [VIA_HEADER, edge.via]]) forwarded.set(name, value);
    return fetch(new Request(target, { method: request.method, headers: forwarded, body: request.body, redirect: "manual" }));
  },
};
