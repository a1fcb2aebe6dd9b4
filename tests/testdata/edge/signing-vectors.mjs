// Verifies the shared signing test vectors (signing/testdata/vectors.json, argv[2]) with
// the JavaScript edges' verifier (edge/shared/poller.mjs), with WebCrypto as given by
// globalThis.crypto (workerd's kind) and by node:crypto (Lambda@Edge's), and prints one
// JSON line: { keyIds, results: [{ name, kind }] } (kind "" when the case verifies).
import { readFile } from "node:fs/promises";
import { webcrypto } from "node:crypto";
import { importPublicKeys, verifySignature } from "../../../edge/shared/poller.mjs";

const v = JSON.parse(await readFile(process.argv[2], "utf8"));
const out = { keyIds: [], results: [] };
for (const [label, subtle] of [["globalThis.crypto", globalThis.crypto.subtle], ["node:crypto", webcrypto.subtle]]) {
  const keys = await importPublicKeys(v.publicKeys, subtle);
  out.keyIds = [...keys.keys()];
  for (const c of v.cases) {
    const bad = await verifySignature(keys, c.environment, c.snapshot, c.version, c.keyId, c.signature, subtle);
    out.results.push({ name: `${label}: ${c.name}`, kind: bad ? bad.kind : "" });
  }
}
const errors = [];
for (const [text, want] of [["", "no PEM"], [v.privateKeys[0], "want \"PUBLIC KEY\""]]) {
  try {
    await importPublicKeys(text);
    errors.push(`accepted ${JSON.stringify(text.slice(0, 30))}`);
  } catch (err) {
    if (!err.message.includes(want)) errors.push(err.message);
  }
}
out.importErrors = errors;
console.log(JSON.stringify(out));
