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
  return { count: outputs.length, digest: await sha256Hex(outputs.join("\n") + "\n") };
}

/**
 * Evaluates one context n times (one flag, or all flags when key is null); with ofrep, as
 * an OFREP request whose body is {"context": context}, answered in the module.
 */
export function runBench(evaluator, { n, key, context, at, ofrep }) {
  let size = 0;
  if (ofrep) {
    const utf8 = new TextEncoder();
    const body = utf8.encode(JSON.stringify({ context }));
    const k = key == null ? null : utf8.encode(key);
    for (let i = 0; i < n; i++) size += evaluator.ofrep({ key: k, body, now: at }).body.length;
    return { n, size };
  }
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

/**
 * Answers a batch of OFREP requests in the module ({k: flag key or null for bulk, b: body in base64,
 * i: If-None-Match, s: stale, r: OpenFeature reasons, t: time}); returns {count, digest}
 * of the lines "status etag body", or with full, {outputs}.
 */
export async function runOFREP(evaluator, req) {
  const utf8 = new TextEncoder();
  const outputs = req.requests.map(({ k, b, i, s, r, t }) => {
    const a = evaluator.ofrep({ key: k == null ? null : utf8.encode(k), body: fromBase64(b), inm: i, stale: s, now: t }, r);
    return `${a.status} ${a.etag} ${a.body}`;
  });
  if (req.full) return { outputs };
  return { count: outputs.length, digest: await sha256Hex(outputs.join("\n") + "\n") };
}

async function sha256Hex(text) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let digest = "";
  for (const b of sum) digest += b.toString(16).padStart(2, "0");
  return digest;
}
