// Snapshot distribution for JavaScript edges: poll the store's pointer with If-None-Match,
// fetch the snapshot it names, check that the bytes hash to that name, and apply it; keep
// the last good snapshot on any failure and report stale after a grace period. The same
// rules as the Go package poller (see docs/store-layout.md).

const HEADER_SIZE = 40; // magic, format version, bucketing version, SHA-256 of the payload

/** Lower-case hex of bytes. */
function hex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Checks an encoded snapshot against the hash the pointer names: the recorded header
 * hash and the SHA-256 of the payload must both equal it. Returns an error message or "".
 */
export async function verifySnapshot(bytes, hash) {
  if (bytes.length < HEADER_SIZE) return "truncated snapshot";
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "EFSN") return "not a snapshot (bad magic)";
  const recorded = hex(bytes.subarray(8, HEADER_SIZE));
  if (recorded !== hash) return `snapshot records hash ${recorded}, pointer names ${hash}`;
  const sum = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.subarray(HEADER_SIZE))));
  if (sum !== hash) return "content hash mismatch";
  return "";
}

// Signed pointers (package signing in Go, docs/security.md): ECDSA P-256 with SHA-256 over
//   "edgeflag-snapshot-v1\n" + environment + "\n" + snapshot hash + "\n" + version
// the signature the base64 of its raw r||s form (64 bytes), which WebCrypto verifies as it is.
export const MESSAGE_PREFIX = "edgeflag-snapshot-v1\n";
const SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{86}==$/; // base64 of 64 bytes

/** The reasons a pointer is refused, as the Go verifier words them. */
export const REFUSALS = {
  unsigned: "the pointer is not signed",
  unknownKey: "the pointer is signed with a key this edge does not accept",
  badSignature: "the pointer's signature does not verify",
  older: "older than the pointer this edge serves",
};

/** The bytes a pointer's signature covers. */
export function signedMessage(environment, hash, version) {
  return new TextEncoder().encode(`${MESSAGE_PREFIX}${environment}\n${hash}\n${version}`);
}

function base64Bytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Imports the PEM "PUBLIC KEY" blocks of text (one, or two while keys are rotated) as
 * ECDSA P-256 verification keys. Resolves to a Map from key ID (the first 8 bytes of the
 * SHA-256 of the key's DER, in hex, as Go's signing.KeyID) to CryptoKey; rejects a block
 * of another type, a key not on P-256, or text without a key.
 */
export async function importPublicKeys(text, subtle = globalThis.crypto.subtle) {
  const keys = new Map();
  const blocks = [...String(text ?? "").matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  for (const [i, m] of blocks.entries()) {
    if (m[1] !== "PUBLIC KEY") throw new Error(`public key ${i + 1}: a PEM "${m[1]}" block, want "PUBLIC KEY"`);
    let der;
    try {
      der = base64Bytes(m[2].replace(/\s+/g, ""));
    } catch {
      throw new Error(`public key ${i + 1}: not base64`);
    }
    let key;
    try {
      key = await subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    } catch (err) {
      throw new Error(`public key ${i + 1}: not an ECDSA P-256 key: ${err.message}`);
    }
    const id = hex(new Uint8Array(await subtle.digest("SHA-256", der)).subarray(0, 8));
    keys.set(id, key);
  }
  if (keys.size === 0) throw new Error('no PEM "PUBLIC KEY" block found (edgeflag keygen writes one)');
  return keys;
}

/**
 * Verifies that signature (base64 of r||s) by keyId signs "environment serves hash as
 * version". Resolves to null, or to { kind, message } with kind one of unsigned,
 * unknownKey, badSignature.
 */
export async function verifySignature(keys, environment, hash, version, keyId, signature, subtle = globalThis.crypto.subtle) {
  if (!keyId && !signature) return { kind: "unsigned", message: REFUSALS.unsigned };
  const key = keys.get(keyId);
  if (!key) {
    return { kind: "unknownKey", message: `${REFUSALS.unknownKey}: key ${JSON.stringify(keyId)} (accepted: ${[...keys.keys()].join(", ")})` };
  }
  if (typeof signature !== "string" || !SIGNATURE_PATTERN.test(signature)) {
    return { kind: "badSignature", message: `${REFUSALS.badSignature}: the signature is not the base64 of 64 bytes` };
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    return { kind: "badSignature", message: `${REFUSALS.badSignature}: version ${JSON.stringify(version)} is not a whole number` };
  }
  const ok = await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, base64Bytes(signature), signedMessage(environment, hash, version));
  if (!ok) {
    return {
      kind: "badSignature",
      message: `${REFUSALS.badSignature}: not a signature of environment ${JSON.stringify(environment)}, snapshot ${hash}, version ${version} by key ${keyId}`,
    };
  }
  return null;
}

export class SnapshotPoller {
  /**
   * baseURL: where the store's objects are served; environment: which pointer to follow;
   * apply(bytes, pointer): installs a verified snapshot (throws to refuse it);
   * interval, grace, timeout: milliseconds (defaults 5 s, 60 s, 5 s);
   * publicKeys: PEM text of the keys pointers must be signed with (unset or "": signatures
   * are not checked); subtle: the WebCrypto implementation (default globalThis.crypto.subtle);
   * log(message): where a change of the poll's error is reported (default console.warn).
   */
  constructor({
    baseURL,
    environment,
    apply,
    interval = 5000,
    grace = 60000,
    timeout = 5000,
    fetch = (input, init) => globalThis.fetch(input, init),
    publicKeys = "",
    subtle = globalThis.crypto?.subtle,
    log = (message) => console.warn(message),
  }) {
    if (!baseURL) throw new Error("poller: baseURL is required");
    if (!environment || /[/?#]/.test(environment)) throw new Error(`poller: invalid environment ${JSON.stringify(environment)}`);
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.environment = environment;
    this.apply = apply;
    this.interval = interval;
    this.grace = grace;
    this.timeout = timeout;
    this.fetch = fetch;
    this.subtle = subtle;
    this.log = log;
    // Imported on the first poll (importing is asynchronous); a bad key fails every poll.
    this.publicKeys = publicKeys || "";
    this.keys = null;
    this.etag = "";
    this.pointer = null; // pointer of the snapshot in use
    this.lastPoll = -Infinity; // when the last poll started
    this.lastSuccess = -Infinity;
    this.lastError = null;
    this.inflight = null;
    this.counts = { polls: 0, failures: 0, notModified: 0, swaps: 0 };
  }

  /** Whether a poll is due at time now (ms). */
  due(now = Date.now()) {
    return now - this.lastPoll >= this.interval;
  }

  /** Whether a snapshot is loaded but no poll has succeeded within the grace period. */
  stale(now = Date.now()) {
    return this.pointer !== null && now - this.lastSuccess > this.grace;
  }

  get loaded() {
    return this.pointer !== null;
  }

  /** Polls once (concurrent callers share the poll in flight). Resolves to null or the error. */
  poll() {
    if (!this.inflight) {
      this.lastPoll = Date.now();
      this.inflight = this.pollOnce().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  async pollOnce() {
    this.counts.polls++;
    try {
      await this.step();
      this.lastSuccess = Date.now();
      this.lastError = null;
      return null;
    } catch (err) {
      this.counts.failures++;
      if (String(err?.message) !== String(this.lastError?.message)) this.log(`edgeflag: ${err?.message ?? err}`);
      this.lastError = err;
      return err;
    }
  }

  async get(url, etag) {
    const headers = etag ? { "if-none-match": etag } : {};
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`poller: ${url}: timed out after ${this.timeout} ms`)), this.timeout);
    });
    try {
      return await Promise.race([this.fetch(url, { headers }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async step() {
    const url = `${this.baseURL}/${this.environment}/current.json`;
    const resp = await this.get(url, this.etag);
    if (resp.status === 304 && this.etag) {
      this.counts.notModified++;
      return;
    }
    if (resp.status !== 200) throw new Error(`poller: ${url}: status ${resp.status}`);
    const etag = resp.headers.get("etag") || "";
    let ptr;
    try {
      ptr = JSON.parse(await resp.text());
    } catch (err) {
      throw new Error(`poller: ${url}: not a pointer: ${err.message}`);
    }
    if (ptr === null || typeof ptr !== "object") throw new Error(`poller: ${url}: not a pointer`);
    if (ptr.environment !== this.environment) {
      throw new Error(`poller: ${url} names environment ${JSON.stringify(ptr.environment)}, want ${JSON.stringify(this.environment)}`);
    }
    if (typeof ptr.snapshot !== "string" || !/^[0-9a-f]{64}$/.test(ptr.snapshot)) {
      throw new Error(`poller: ${url}: snapshot ${JSON.stringify(ptr.snapshot)} is not a SHA-256 hex digest`);
    }
    if (this.publicKeys) await this.checkSigned(url, ptr);
    if (!this.pointer || ptr.snapshot !== this.pointer.snapshot) {
      const snapURL = `${this.baseURL}/snapshots/${ptr.snapshot}.snap`;
      const sresp = await this.get(snapURL, "");
      if (sresp.status !== 200) throw new Error(`poller: ${snapURL}: status ${sresp.status}`);
      const bytes = new Uint8Array(await sresp.arrayBuffer());
      const problem = await verifySnapshot(bytes, ptr.snapshot);
      if (problem) throw new Error(`poller: ${snapURL}: ${problem}`);
      await this.apply(bytes, ptr);
      this.counts.swaps++;
    }
    this.pointer = ptr;
    this.etag = etag;
  }

  /** Refuses ptr unless it is signed for this environment and not older than the one served. */
  async checkSigned(url, ptr) {
    if (!this.keys) {
      try {
        this.keys = await importPublicKeys(this.publicKeys, this.subtle);
      } catch (err) {
        throw new Error(`poller: the public keys: ${err.message}`);
      }
    }
    const version = ptr.version ?? 0;
    const bad = await verifySignature(this.keys, this.environment, ptr.snapshot, version, ptr.keyId, ptr.signature, this.subtle);
    if (bad) throw new Error(`poller: ${url} refused: ${bad.message}`);
    const served = this.pointer;
    if (!served) return; // a fresh edge takes the first valid pointer it sees
    const servedVersion = served.version ?? 0;
    if (version < servedVersion) {
      throw new Error(
        `poller: ${url} refused: ${REFUSALS.older}: version ${version} (snapshot ${ptr.snapshot}), the edge serves version ${servedVersion} (snapshot ${served.snapshot})`,
      );
    }
    if (version === servedVersion && ptr.snapshot !== served.snapshot) {
      throw new Error(
        `poller: ${url} refused: ${REFUSALS.older}: version ${version} names snapshot ${ptr.snapshot}, the edge serves snapshot ${served.snapshot} as that version`,
      );
    }
  }

  status(now = Date.now()) {
    return {
      signatures: this.publicKeys ? "required" : "off",
      pointerVersion: this.pointer?.version ?? null,
      keyId: this.pointer?.keyId ?? null,
      pointer: this.pointer,
      stale: this.stale(now),
      lastSuccess: Number.isFinite(this.lastSuccess) ? new Date(this.lastSuccess).toISOString() : null,
      lastError: this.lastError ? String(this.lastError.message ?? this.lastError) : null,
      ...this.counts,
    };
  }
}
