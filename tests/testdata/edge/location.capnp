# One data center with two isolates of the edgeflag Worker (as Cloudflare runs many) that
# share the location's cache (location-cache.mjs, workerd's cacheApiOutbound): /a/... goes
# to one isolate, /b/... to the other. The test copies this beside edge/cloudflare.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "front", worker = .front),
    (name = "edgeflag-a", worker = .edgeflag),
    (name = "edgeflag-b", worker = .edgeflag),
    (name = "location-cache", worker = .locationCache),
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8789", http = (), service = "front")],
);

const front :Workerd.Worker = (
  modules = [(name = "front.mjs", esModule = embed "front.mjs")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "A", service = "edgeflag-a"), (name = "B", service = "edgeflag-b")],
);

const locationCache :Workerd.Worker = (
  modules = [(name = "location-cache.mjs", esModule = embed "location-cache.mjs")],
  compatibilityDate = "2026-11-01",
);

const edgeflag :Workerd.Worker = (
  modules = [
    (name = "edge/cloudflare/worker.mjs", esModule = embed "../../edge/cloudflare/worker.mjs"),
    (name = "edge/shared/edgeflag.mjs", esModule = embed "../../edge/shared/edgeflag.mjs"),
    (name = "edge/shared/handler.mjs", esModule = embed "../../edge/shared/handler.mjs"),
    (name = "edge/shared/poller.mjs", esModule = embed "../../edge/shared/poller.mjs"),
    (name = "edge/shared/wasi.mjs", esModule = embed "../../edge/shared/wasi.mjs"),
    (name = "bin/edgeflag.wasm", wasm = embed "../../bin/edgeflag.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "EDGEFLAG_STORE_URL", fromEnvironment = "EDGEFLAG_STORE_URL"),
    (name = "EDGEFLAG_POLL_INTERVAL_MS", fromEnvironment = "EDGEFLAG_POLL_INTERVAL_MS"),
    (name = "EDGEFLAG_CACHE_TTL_S", fromEnvironment = "EDGEFLAG_CACHE_TTL_S"),
    (name = "EDGEFLAG_PUBLIC_KEYS", fromEnvironment = "EDGEFLAG_PUBLIC_KEYS"),
  ],
  globalOutbound = "internet",
  cacheApiOutbound = "location-cache",
);
