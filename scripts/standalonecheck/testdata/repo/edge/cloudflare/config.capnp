const w :Workerd.Worker = (
  modules = [
    (name = "edge/shared/a.mjs", esModule = embed "../shared/a.mjs"),
    (name = "bin/x.wasm", wasm = embed "../../bin/x.wasm"),
    (name = "spec", text = embed "../../../outside/specs/ofrep/openapi.yaml"),
  ],
);
