# workerd configuration of the edgeflag Worker: `make edge-worker` (or
#   EDGEFLAG_STORE_URL=http://127.0.0.1:8080 edge/node_modules/.bin/workerd serve edge/cloudflare/config.capnp)
# serves it on 127.0.0.1:8787. Build the module first (`make wasm`): it is embedded from
# bin/edgeflag.wasm. Settings come from the environment (see worker.mjs).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edgeflag", worker = .edgeflagWorker),
    # Outbound fetches (the store, the origin) may go to loopback and private addresses
    # too, for local runs.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "edgeflag")],
);

const edgeflagWorker :Workerd.Worker = (
  modules = [
    (name = "edge/cloudflare/worker.mjs", esModule = embed "worker.mjs"),
    (name = "edge/shared/edgeflag.mjs", esModule = embed "../shared/edgeflag.mjs"),
    (name = "edge/shared/handler.mjs", esModule = embed "../shared/handler.mjs"),
    (name = "edge/shared/poller.mjs", esModule = embed "../shared/poller.mjs"),
    (name = "edge/shared/wasi.mjs", esModule = embed "../shared/wasi.mjs"),
    (name = "bin/edgeflag.wasm", wasm = embed "../../bin/edgeflag.wasm"),
  ],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "EDGEFLAG_STORE_URL", fromEnvironment = "EDGEFLAG_STORE_URL"),
    (name = "EDGEFLAG_ENVIRONMENT", fromEnvironment = "EDGEFLAG_ENVIRONMENT"),
    (name = "EDGEFLAG_POLL_INTERVAL_MS", fromEnvironment = "EDGEFLAG_POLL_INTERVAL_MS"),
    (name = "EDGEFLAG_GRACE_MS", fromEnvironment = "EDGEFLAG_GRACE_MS"),
    (name = "EDGEFLAG_CACHE_TTL_S", fromEnvironment = "EDGEFLAG_CACHE_TTL_S"),
    (name = "EDGEFLAG_PUBLIC_KEYS", fromEnvironment = "EDGEFLAG_PUBLIC_KEYS"),
    (name = "EDGEFLAG_ORIGIN_URL", fromEnvironment = "EDGEFLAG_ORIGIN_URL"),
    (name = "EDGEFLAG_USER_HEADER", fromEnvironment = "EDGEFLAG_USER_HEADER"),
    (name = "EDGEFLAG_USER_COOKIE", fromEnvironment = "EDGEFLAG_USER_COOKIE"),
    (name = "EDGEFLAG_PATH", fromEnvironment = "EDGEFLAG_PATH"),
    (name = "EDGEFLAG_OFREP", fromEnvironment = "EDGEFLAG_OFREP"),
    (name = "EDGEFLAG_OFREP_API_KEYS", fromEnvironment = "EDGEFLAG_OFREP_API_KEYS"),
    (name = "EDGEFLAG_OFREP_ALLOW_ORIGIN", fromEnvironment = "EDGEFLAG_OFREP_ALLOW_ORIGIN"),
    (name = "EDGEFLAG_OFREP_REASONS", fromEnvironment = "EDGEFLAG_OFREP_REASONS"),
  ],
  globalOutbound = "internet",
);
