// Checks the JavaScript poller (edge/shared/poller.mjs) against the store layout's test
// vectors (store/layout/testdata/vectors.json, argv[2]), which the Go package store/layout
// is tested with: hashes and environment names valid or not, the pointer and snapshot
// keys, pointers parsed or refused (with the field the error must name). Prints one JSON
// line: { checks, failures: [message] }.
import { readFile } from "node:fs/promises";
import { CACHE_IMMUTABLE, POINTER_MAX_AGE, parsePointer, pointerKey, snapshotKey, validEnvironment, validHash } from "../../../edge/shared/poller.mjs";

const v = JSON.parse(await readFile(process.argv[2], "utf8"));
const failures = [];
let checks = 0;
function expect(ok, message) {
  checks++;
  if (!ok) failures.push(message);
}

for (const h of v.hashes.valid) expect(validHash(h), `validHash(${JSON.stringify(h)}) = false, want true`);
for (const h of v.hashes.invalid) expect(!validHash(h), `validHash(${JSON.stringify(h)}) = true, want false`);
for (const e of v.environments.valid) expect(validEnvironment(e), `validEnvironment(${JSON.stringify(e)}) = false, want true`);
for (const e of v.environments.invalid) expect(!validEnvironment(e), `validEnvironment(${JSON.stringify(e)}) = true, want false`);
for (const k of v.keys) {
  expect(pointerKey(k.environment) === k.pointer, `pointerKey(${k.environment}) = ${pointerKey(k.environment)}, want ${k.pointer}`);
  expect(snapshotKey(k.hash) === k.snapshot, `snapshotKey(${k.hash}) = ${snapshotKey(k.hash)}, want ${k.snapshot}`);
}
for (const h of v.headers) {
  if (h.key.startsWith("snapshots/") && h.public) expect(h.cacheControl === CACHE_IMMUTABLE, `CACHE_IMMUTABLE ${CACHE_IMMUTABLE}, the store's ${h.cacheControl}`);
  if (h.key.endsWith("/current.json") && h.public) {
    expect(h.cacheControl === `public, max-age=${POINTER_MAX_AGE}`, `POINTER_MAX_AGE ${POINTER_MAX_AGE}, the store's ${h.cacheControl}`);
  }
}
for (const c of v.pointers) {
  // As text and as the bytes a fetch gives.
  for (const input of [c.text, new TextEncoder().encode(c.text)]) {
    const kind = typeof input === "string" ? "text" : "bytes";
    let p = null;
    let err = null;
    try {
      p = parsePointer(input, c.environment);
    } catch (e) {
      err = e;
    }
    if (c.ok) {
      expect(err === null, `${c.name} (${kind}): refused: ${err?.message}`);
      if (p) {
        expect(p.snapshot === c.snapshot && (p.version ?? 0) === c.version && p.environment === c.environment,
          `${c.name} (${kind}): parsed as ${JSON.stringify(p).slice(0, 200)}`);
      }
    } else {
      expect(err !== null, `${c.name} (${kind}): accepted`);
      if (err) {
        expect(err.message.startsWith("not a valid pointer: ") && err.message.includes(c.error),
          `${c.name} (${kind}): error ${JSON.stringify(err.message)} does not mention ${JSON.stringify(c.error)}`);
      }
    }
  }
}
console.log(JSON.stringify({ checks, failures }));
