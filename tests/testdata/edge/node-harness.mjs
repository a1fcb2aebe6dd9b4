// Differential and benchmark harness for Node.js: the module runs on the WASI shim through
// the Lambda@Edge function's own instantiate(). One JSON request per input line, one JSON
// answer per output line.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { instantiate } from "../../../edge/lambda-edge/index.mjs";
import { Evaluator } from "../../../sdk/js/evaluator.mjs";
import { fromBase64, runBatch, runBench, runOFREP } from "./diff-core.mjs";

const evaluator = await instantiate(readFileSync(process.env.EDGEFLAG_WASM), Evaluator);
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  let answer;
  try {
    const req = JSON.parse(line);
    switch (req.op) {
      case "load":
        answer = evaluator.load(fromBase64(req.snapshot));
        break;
      case "batch":
        answer = await runBatch(evaluator, req);
        break;
      case "ofrep":
        answer = await runOFREP(evaluator, req);
        break;
      case "bench":
        answer = runBench(evaluator, req);
        break;
      default:
        answer = { error: `unknown op ${req.op}` };
    }
  } catch (err) {
    answer = { error: String(err?.stack ?? err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
