// Differential and benchmark harness for workerd: the module runs as a wasm module binding
// with the Worker's WASI shim, driven by the Evaluator of sdk/js. POST /load (the snapshot
// bytes), /batch, /ofrep and /bench (JSON).
import wasmModule from "../../bin/edgeflag.wasm";
import { Evaluator } from "../../sdk/js/evaluator.mjs";
import { instantiateWithShim } from "../../edge/shared/wasi.mjs";
import { runBatch, runBench, runOFREP } from "./diff-core.mjs";

let evaluator = null;

export default {
  async fetch(request) {
    evaluator ??= new Evaluator(instantiateWithShim(wasmModule));
    const path = new URL(request.url).pathname;
    try {
      let answer;
      if (path === "/load") answer = evaluator.load(new Uint8Array(await request.arrayBuffer()));
      else if (path === "/batch") answer = await runBatch(evaluator, await request.json());
      else if (path === "/ofrep") answer = await runOFREP(evaluator, await request.json());
      else if (path === "/bench") answer = runBench(evaluator, await request.json());
      else return new Response("not found", { status: 404 });
      return Response.json(answer);
    } catch (err) {
      return new Response(String(err?.stack ?? err), { status: 500 });
    }
  },
};
