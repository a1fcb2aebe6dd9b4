// edgeflag as a Cloudflare Worker: evaluates every flag for each request with the WASM
// evaluator and either answers with the results as JSON (on the flags path) or forwards
// the request to the origin with one x-flag-<key>: <variant> header per flag.
//
// Bindings (wrangler vars, or fromEnvironment in workerd's config.capnp):
//   EDGEFLAG_STORE_URL        where the store is served (CloudFront, the dev server)
//   EDGEFLAG_ENVIRONMENT      the environment whose pointer to follow (default production)
//   EDGEFLAG_POLL_INTERVAL_MS how often to check the pointer (default 5000)
//   EDGEFLAG_GRACE_MS         after this long without a successful poll, results are STALE (default 60000)
//   EDGEFLAG_ORIGIN_URL       origin to forward to (default: the request's own URL, as on a route)
//   EDGEFLAG_USER_HEADER, EDGEFLAG_USER_COOKIE, EDGEFLAG_PATH   see DEFAULT_REQUEST_CONFIG
import wasmModule from "../../bin/edgeflag.wasm";
import {
  DEFAULT_REQUEST_CONFIG,
  Evaluator,
  isEdgeflagHeader,
  requestContext,
  resultHeaders,
} from "../shared/edgeflag.mjs";
import { SnapshotPoller } from "../shared/poller.mjs";
import { instantiateWithShim } from "../shared/wasi.mjs";

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
    apply: (bytes) => evaluator.load(bytes),
  });
  return { evaluator, poller, cfg, origin: setting(env, "EDGEFLAG_ORIGIN_URL", "") };
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
    if (!poller.loaded) {
      return json({ errorCode: "GENERAL", errorMessage: "no snapshot loaded: " + String(poller.lastError?.message) }, 503);
    }
    const now = Date.now();
    const stale = poller.stale(now);
    const context = requestContext((h) => request.headers.get(h) ?? undefined, request.headers.get("cf-ipcountry") ?? request.cf?.country, cfg);
    const url = new URL(request.url);
    if (url.pathname === cfg.path) {
      const out = evaluator.evaluateAllJSON(context, now, { stale });
      // The module's JSON is passed through byte for byte, wrapped with the snapshot facts.
      const body = `{"snapshot":${JSON.stringify(evaluator.info.hash)},"stale":${stale},"context":${JSON.stringify(context)},"results":${out}}`;
      return new Response(body, {
        headers: { "content-type": "application/json", "cache-control": "private, no-store" },
      });
    }
    const results = evaluator.evaluateAll(context, now, { stale });
    const headers = new Headers();
    for (const [name, value] of request.headers) {
      if (!isEdgeflagHeader(name, cfg)) headers.set(name, value);
    }
    for (const [name, value] of resultHeaders(results, evaluator.info, stale, cfg)) headers.set(name, value);
    const target = edge.origin ? new URL(url.pathname + url.search, edge.origin) : url;
    return fetch(new Request(target, { method: request.method, headers, body: request.body, redirect: "manual" }));
  },
};
