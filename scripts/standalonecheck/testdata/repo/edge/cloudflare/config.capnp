const w :Workerd.Worker = (
  modules = [
    (name = "edge/common/a.mjs", esModule = embed "../common/a.mjs"),
    (name = "bin/x.wasm", wasm = embed "../../bin/x.wasm"),
    (name = "spec", text = embed "../../../outside/specs/ofrep/openapi.yaml"),
  ],
);
