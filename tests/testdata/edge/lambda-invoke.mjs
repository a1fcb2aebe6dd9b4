// Invokes the Lambda@Edge handler the way the Lambda runtime does: one CloudFront event
// per input line (JSON), one handler result per output line. Settings come from the file
// EDGEFLAG_CONFIG names, as in local runs of the function.
import { createInterface } from "node:readline";
import { handler } from "../../../edge/lambda-edge/index.mjs";

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  let answer;
  try {
    answer = await handler(JSON.parse(line));
  } catch (err) {
    answer = { error: String(err?.stack ?? err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
