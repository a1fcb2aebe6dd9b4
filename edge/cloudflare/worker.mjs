// edgeflag as a Cloudflare Worker: evaluates every flag for each request with the WASM
// evaluator and either answers with the results as JSON (on the flags path), answers OFREP
// requests (POST /ofrep/v1/evaluate/flags[/{key}], see ../shared/ofrep.mjs) or forwards
// the request to the origin with one x-flag-<key>: <variant> header per flag.
//
// Bindings (wrangler vars, or fromEnvironment in workerd's config.capnp):
//   EDGEFLAG_STORE_URL        where the store is served (CloudFront, the dev server)
//   EDGEFLAG_ENVIRONMENT      the environment whose pointer to follow (default production)
//   EDGEFLAG_POLL_INTERVAL_MS how often to check the pointer (default 5000)
//   EDGEFLAG_GRACE_MS         after this long without a successful poll, results are STALE (default 60000)
//   EDGEFLAG_CACHE_TTL_S      how long the location's cache (caches.default, shared by the isolates of
//                             a data center) keeps the pointer, in seconds (default 5); snapshots are
//                             kept there as immutable. "0" turns the location cache off: every isolate
//                             then asks the store itself (docs/edge.md has the arithmetic)
//   EDGEFLAG_PUBLIC_KEYS      PEM "PUBLIC KEY" blocks (edgeflag keygen; two while rotating keys):
//                             pointers must then be signed for EDGEFLAG_ENVIRONMENT by one of them
//                             and be no older than the one served, else they are refused and the
//                             last good snapshot kept (unset: signatures are not checked)
//   EDGEFLAG_ORIGIN_URL       origin to forward to. Unset: on Cloudflare (a route; request.cf
//                             names the data center) the request goes on to its own URL, which Cloudflare sends to
//                             the origin; elsewhere (workerd, `make edge-worker`) there is no
//                             origin and other paths than the flags and OFREP paths answer 502.
//                             Forwarding to the Worker itself answers 502 instead of looping.
//   EDGEFLAG_USER_HEADER, EDGEFLAG_USER_COOKIE, EDGEFLAG_PATH   see DEFAULT_REQUEST_CONFIG
//   EDGEFLAG_OFREP            "off" leaves /ofrep/ paths to the origin (default: answered here)
//   EDGEFLAG_OFREP_API_KEYS   keys OFREP clients must send (X-API-Key or Bearer), comma-separated
//                             or a JSON array; unset: no authentication (use a secret binding)
//   EDGEFLAG_OFREP_ALLOW_ORIGIN  CORS Access-Control-Allow-Origin for browser providers (e.g. *)
//   EDGEFLAG_OFREP_REASONS    "spec" (default) or "openfeature", see ../shared/ofrep.mjs
//
// GET /.edgeflag/health answers the poller's state (the Go edge's /healthz): the pointer
// served, whether signatures are required, and the last poll error (why a pointer was
// refused); 503 until a snapshot is loaded. Poll errors are also logged (console.warn).
import wasmModule from "../../bin/edgeflag.wasm";
import {
  DEFAULT_REQUEST_CONFIG,
  Evaluator,
  isEdgeflagHeader,
  requestContext,
  resultHeaders,
} from "../shared/edgeflag.mjs";
import { OFREPHandler, parseAPIKeys, readBodyStream } from "../shared/ofrep.mjs";
import { POINTER_MAX_AGE, SnapshotPoller } from "../shared/poller.mjs";
import { instantiateWithShim } from "../shared/wasi.mjs";

/** The path of the poller's state. */
const HEALTH_PATH = "/.edgeflag/health";

// One evaluator and poller per isolate, created on the first request: workerd refuses
// compiling and random values at global scope.
let edge = null;

function setting(env, name, fallback) {
  const v = env[name];
  return v === undefined || v === null || v === "" ? fallback : v;
}

function createEdge(env) {
  const evaluator = new Evaluator(instantiateWithShim(wasmModule));
  const cfg = {
    ...DEFAULT_REQUEST_CONFIG,
    userHeader: setting(env, "EDGEFLAG_USER_HEADER", DEFAULT_REQUEST_CONFIG.userHeader).toLowerCase(),
    userCookie: setting(env, "EDGEFLAG_USER_COOKIE", DEFAULT_REQUEST_CONFIG.userCookie),
    path: setting(env, "EDGEFLAG_PATH", DEFAULT_REQUEST_CONFIG.path),
  };
  const poller = new SnapshotPoller({
    baseURL: setting(env, "EDGEFLAG_STORE_URL", ""),
    environment: setting(env, "EDGEFLAG_ENVIRONMENT", "production"),
    interval: Number(setting(env, "EDGEFLAG_POLL_INTERVAL_MS", 5000)),
    grace: Number(setting(env, "EDGEFLAG_GRACE_MS", 60000)),
    publicKeys: setting(env, "EDGEFLAG_PUBLIC_KEYS", ""),
    apply: (bytes) => evaluator.load(bytes, true), // the poller verified the bytes
    ...locationCache(env),
  });
  const ofrep =
    setting(env, "EDGEFLAG_OFREP", "on") === "off"
      ? null
      : new OFREPHandler({
          reasons: setting(env, "EDGEFLAG_OFREP_REASONS", "spec"),
          apiKeys: parseAPIKeys(setting(env, "EDGEFLAG_OFREP_API_KEYS", "")),
          allowOrigin: setting(env, "EDGEFLAG_OFREP_ALLOW_ORIGIN", ""),
        });
  return {
    evaluator,
    poller,
    cfg,
    ofrep,
    origin: setting(env, "EDGEFLAG_ORIGIN_URL", ""),
    // Marks the requests this isolate forwards, so that one coming back is recognized.
    via: crypto.randomUUID(),
  };
}

/** The poller's location cache settings: caches.default for EDGEFLAG_CACHE_TTL_S seconds. */
function locationCache(env) {
  const ttl = Number(setting(env, "EDGEFLAG_CACHE_TTL_S", POINTER_MAX_AGE));
  if (!Number.isFinite(ttl) || ttl < 0) throw new Error(`EDGEFLAG_CACHE_TTL_S: ${JSON.stringify(env.EDGEFLAG_CACHE_TTL_S)} is not a number of seconds`);
  if (ttl === 0 || typeof caches === "undefined") return {};
  return { cache: caches.default, cacheTtl: ttl };
}

/** The header that carries the forwarding isolate's mark (an x-edgeflag- header: clients' are dropped). */
const VIA_HEADER = "x-edgeflag-via";

/**
 * Where a request goes on to, or a 502 answer: with EDGEFLAG_ORIGIN_URL, that origin; without
 * it, the request's own URL on Cloudflare (request.cf.colo is set; a Worker's fetch of its own
 * route goes to the origin), and no origin elsewhere, where fetching the own URL would come
 * back to the Worker. A request that reaches the Worker itself is refused rather than looped.
 */
function originFor(edge, request, url) {
  // Cloudflare names the data center that took the request; workerd alone passes an empty cf.
  const onCloudflare = typeof request.cf?.colo === "string";
  let target;
  if (edge.origin) {
    target = new URL(url.pathname + url.search, edge.origin);
  } else if (onCloudflare) {
    target = url;
  } else {
    return {
      error: json(
        {
          errorCode: "GENERAL",
          errorMessage:
            "no origin configured: set EDGEFLAG_ORIGIN_URL to the origin to forward requests to; " +
            `the flags of this request are at ${edge.cfg.path}`,
        },
        502,
      ),
    };
  }
  const looped = request.headers.get(VIA_HEADER) === edge.via;
  if (looped || (!onCloudflare && target.host === url.host)) {
    return {
      error: json(
        {
          errorCode: "GENERAL",
          errorMessage:
            `the origin ${target.origin} is this Worker itself: forwarding would loop; ` +
            "set EDGEFLAG_ORIGIN_URL to the origin to forward requests to",
        },
        502,
      ),
    };
  }
  return { target };
}

/** Answers an OFREP request (evaluated whether or not a snapshot is loaded, as in Go). */
async function serveOFREP(edge, request, url) {
  const { evaluator, poller } = edge;
  const now = Date.now();
  const res = await edge.ofrep.serve(
    {
      method: request.method,
      path: url.pathname,
      header: (name) => {
        const v = request.headers.get(name);
        return v === null ? [] : [v];
      },
      body: (limit) => readBodyStream(request.body, limit),
    },
    { evaluator, loaded: poller.loaded, stale: poller.stale(now), now },
  );
  return new Response(res.body === "" ? null : res.body, { status: res.status, headers: res.headers });
}

function json(body, status = 200) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

export default {
  async fetch(request, env, ctx) {
    edge ??= createEdge(env);
    const { evaluator, poller, cfg } = edge;
    // Poll when due: awaited while nothing is loaded, in the background after that. A store
    // that is down is asked at most once per interval, however many requests come.
    if (poller.due()) {
      const polled = poller.poll();
      if (poller.loaded) ctx.waitUntil(polled);
      else await polled;
    } else if (!poller.loaded && poller.inflight) {
      await poller.inflight;
    }
    const url = new URL(request.url);
    if (url.pathname === HEALTH_PATH) return json(poller.status(), poller.loaded ? 200 : 503);
    if (edge.ofrep?.owns(url.pathname)) return serveOFREP(edge, request, url);
    if (!poller.loaded) {
      return json({ errorCode: "GENERAL", errorMessage: "no snapshot loaded: " + String(poller.lastError?.message) }, 503);
    }
    const now = Date.now();
    const stale = poller.stale(now);
    const context = requestContext((h) => request.headers.get(h) ?? undefined, request.headers.get("cf-ipcountry") ?? request.cf?.country, cfg);
    if (url.pathname === cfg.path) {
      const out = evaluator.evaluateAllJSON(context, now, { stale });
      // The module's JSON is passed through byte for byte, wrapped with the snapshot facts.
      const body = `{"snapshot":${JSON.stringify(evaluator.info.hash)},"stale":${stale},"context":${JSON.stringify(context)},"results":${out}}`;
      return new Response(body, {
        headers: { "content-type": "application/json", "cache-control": "private, no-store" },
      });
    }
    const origin = originFor(edge, request, url);
    if (origin.error) return origin.error;
    const results = evaluator.variants(context, now, { stale });
    const headers = new Headers();
    for (const [name, value] of request.headers) {
      if (!isEdgeflagHeader(name, cfg)) headers.set(name, value);
    }
    for (const [name, value] of resultHeaders(results, evaluator.info, stale, cfg)) headers.set(name, value);
    headers.set(VIA_HEADER, edge.via);
    return fetch(new Request(origin.target, { method: request.method, headers, body: request.body, redirect: "manual" }));
  },
};
