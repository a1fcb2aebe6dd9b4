using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "harness", worker = .harness)],
  sockets = [(name = "http", address = "127.0.0.1:8788", http = (), service = "harness")],
);

const harness :Workerd.Worker = (
  modules = [
    (name = "tests/harness/harness-worker.mjs", esModule = embed "harness-worker.mjs"),
    (name = "tests/harness/diff-core.mjs", esModule = embed "diff-core.mjs"),
    (name = "edge/shared/edgeflag.mjs", esModule = embed "../../edge/shared/edgeflag.mjs"),
    (name = "sdk/js/evaluator.mjs", esModule = embed "../../sdk/js/evaluator.mjs"),
    (name = "edge/shared/poller.mjs", esModule = embed "../../edge/shared/poller.mjs"),
    (name = "edge/shared/wasi.mjs", esModule = embed "../../edge/shared/wasi.mjs"),
    (name = "bin/edgeflag.wasm", wasm = embed "../../bin/edgeflag.wasm"),
  ],
  compatibilityDate = "2026-11-01",
);
