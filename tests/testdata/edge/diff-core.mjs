// The runtime-independent half of the differential and benchmark harnesses: evaluates a
// batch of contexts exactly the way the Go side of tests/edge_differential_test.go does,
// and hashes the outputs so that only digests cross the process boundary.

/** Evaluates a batch; returns {count, digest} or, with full, {outputs}. */
export async function runBatch(evaluator, req) {
  const outputs = [];
  const { contexts, at, keys, every, start } = req;
  for (let i = 0; i < contexts.length; i++) {
    outputs.push(evaluator.evaluateAllJSON(contexts[i], at[i]));
    if ((start + i) % every === 0) {
      for (const key of keys) outputs.push(evaluator.evaluateJSON(key, contexts[i], at[i]));
    }
  }
  if (req.full) return { outputs };
  const bytes = new TextEncoder().encode(outputs.join("\n") + "\n");
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let digest = "";
  for (const b of sum) digest += b.toString(16).padStart(2, "0");
  return { count: outputs.length, digest };
}

/** Evaluates one context n times (one flag, or all flags when key is null). */
export function runBench(evaluator, { n, key, context, at }) {
  let size = 0;
  for (let i = 0; i < n; i++) {
    size += key == null ? evaluator.evaluateAllJSON(context, at).length : evaluator.evaluateJSON(key, context, at).length;
  }
  return { n, size };
}

/** Decodes base64 (atob exists in Node.js 16+ and workerd). */
export function fromBase64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
