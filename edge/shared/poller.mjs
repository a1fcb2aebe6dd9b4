// Snapshot distribution for JavaScript edges: poll the store's pointer with If-None-Match,
// fetch the snapshot it names, check that the bytes hash to that name, and apply it; keep
// the last good snapshot on any failure and report stale after a grace period. The same
// rules as the Go package poller (see docs/store-layout.md); the store layout (keys,
// hashes, environment names, pointers) is the Go package store/layout's, held to the same
// test vectors (store/layout/testdata/vectors.json).

const HEADER_SIZE = 40; // magic, format version, bucketing version, SHA-256 of the payload

// The store layout (Go: package store/layout).
/** The store's Cache-Control max-age of pointers, in seconds (Go: layout.PointerMaxAge). */
export const POINTER_MAX_AGE = 5;
/** The Cache-Control of snapshots, which their hash names (Go: layout.CacheImmutable). */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
const SNAPSHOT_CONTENT_TYPE = "application/vnd.edgeflag.snapshot";
/** The largest pointer read, in bytes. */
export const MAX_POINTER_SIZE = 64 << 10;
const HASH_PATTERN = /^[0-9a-f]{64}$/;
const ENV_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Whether h is a content hash: 64 lower-case hex digits. */
export function validHash(h) {
  return typeof h === "string" && HASH_PATTERN.test(h);
}

/** Whether name is an environment name: lower-case letters, digits, '_' and '-', at most 63. */
export function validEnvironment(name) {
  return typeof name === "string" && ENV_PATTERN.test(name);
}

/** An environment's pointer key: <env>/current.json. */
export function pointerKey(environment) {
  return `${environment}/current.json`;
}

/** A served snapshot's key: snapshots/<hash>.snap. */
export function snapshotKey(hash) {
  return `snapshots/${hash}.snap`;
}

const POINTER_STRINGS = ["environment", "snapshot", "base", "revision", "plan", "keyId", "signature", "publishedAt"];
const POINTER_VERSIONS = ["version", "killStateVersion", "rolloutStateVersion"];
const POINTER_LISTS = ["killed", "history"];

function refused(message) {
  return new Error(`not a valid pointer: ${message}`);
}

/**
 * Parses and checks a pointer read from environment's pointer key (text or bytes), as Go's
 * layout.ParsePointer: a JSON object of at most MAX_POINTER_SIZE bytes naming environment,
 * its snapshot, base and plan (when set) and history entries content hashes, versions whole
 * and not negative. Unknown fields are ignored; null is an absent field. Throws an Error
 * "not a valid pointer: ..." naming the field at fault.
 */
export function parsePointer(input, environment) {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  if (bytes.length > MAX_POINTER_SIZE) throw refused(`larger than ${MAX_POINTER_SIZE} bytes`);
  let v;
  try {
    v = JSON.parse(typeof input === "string" ? input : new TextDecoder().decode(input));
  } catch (err) {
    throw refused(err.message);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw refused("not a JSON object");
  const p = {};
  for (const [k, x] of Object.entries(v)) if (x !== null) p[k] = x;
  for (const k of POINTER_STRINGS) {
    if (k in p && typeof p[k] !== "string") throw refused(`${k} is not a string`);
  }
  for (const k of POINTER_VERSIONS) {
    if (k in p && !Number.isSafeInteger(p[k])) throw refused(`${k} ${JSON.stringify(p[k])} is not a whole number`);
    if (p[k] < 0) throw refused(`${k} ${p[k]} is negative`);
  }
  for (const k of POINTER_LISTS) {
    if (k in p && !(Array.isArray(p[k]) && p[k].every((x) => typeof x === "string"))) throw refused(`${k} is not a list of strings`);
  }
  if ("publishedAt" in p && !(RFC3339.test(p.publishedAt) && !Number.isNaN(Date.parse(p.publishedAt)))) {
    throw refused(`publishedAt ${JSON.stringify(p.publishedAt)} is not an RFC 3339 time`);
  }
  const env = p.environment ?? "";
  if (env !== environment) throw refused(`it names environment ${JSON.stringify(env)}, want ${JSON.stringify(environment)}`);
  if (!validHash(p.snapshot)) throw refused(`snapshot ${JSON.stringify(p.snapshot ?? "")} is not a SHA-256 hex digest`);
  for (const k of ["base", "plan"]) {
    if (p[k] && !validHash(p[k])) throw refused(`${k} ${JSON.stringify(p[k])} is not a SHA-256 hex digest`);
  }
  for (const [i, h] of (p.history ?? []).entries()) {
    if (!validHash(h)) throw refused(`history[${i}] ${JSON.stringify(h)} is not a SHA-256 hex digest`);
  }
  return p;
}

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
   * log(message): where a change of the poll's error is reported (default console.warn);
   * cache: a location-wide cache with the Cache API's match(url) and put(url, response)
   * (a Worker's caches.default), shared by the isolates of a location: the pointer is read
   * from it while its copy is younger than cacheTtl seconds (default 5, the store's own
   * max-age), so about one poll per location per cacheTtl reaches the store; snapshots,
   * named by their hash, are kept in it as immutable once verified. Unset: every poll asks
   * the store (a Lambda@Edge function asks CloudFront, which caches the same way).
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
    cache = null,
    cacheTtl = POINTER_MAX_AGE,
  }) {
    if (!baseURL) throw new Error("poller: baseURL is required");
    if (!validEnvironment(environment)) {
      throw new Error(`poller: invalid environment ${JSON.stringify(environment)} (lower-case letters, digits, '_' and '-')`);
    }
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.environment = environment;
    this.apply = apply;
    this.interval = interval;
    this.grace = grace;
    this.timeout = timeout;
    this.fetch = fetch;
    this.subtle = subtle;
    this.log = log;
    this.cache = cache;
    this.cacheTtl = cacheTtl;
    // Imported on the first poll (importing is asynchronous); a bad key fails every poll.
    this.publicKeys = publicKeys || "";
    this.keys = null;
    this.etag = "";
    this.pointer = null; // pointer of the snapshot in use
    this.lastPoll = -Infinity; // when the last poll started
    this.lastSuccess = -Infinity;
    this.lastError = null;
    this.inflight = null;
    this.counts = { polls: 0, failures: 0, notModified: 0, swaps: 0, storeRequests: 0, cacheHits: 0 };
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
    this.counts.storeRequests++;
    try {
      return await Promise.race([this.fetch(url, { headers }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The location cache's entry for url, or undefined. A cache that fails (workerd without a
   * cache service says "No Cache was configured") is turned off: the poller then asks the
   * store itself, with If-None-Match.
   */
  async cached(url) {
    let hit;
    try {
      hit = await this.cache.match(url);
    } catch (err) {
      this.log(`edgeflag: the location cache is off: ${err?.message ?? err}`);
      this.cache = null;
      return undefined;
    }
    if (hit) this.counts.cacheHits++;
    return hit;
  }

  /** Stores a copy of body under url in the location cache (failures are logged, not fatal). */
  async keep(url, body, headers) {
    try {
      await this.cache.put(url, new Response(body, { headers }));
    } catch (err) {
      this.log(`edgeflag: the location cache: ${err?.message ?? err}`);
    }
  }

  /**
   * The pointer through the location cache: its copy while fresh; else the store's, kept for
   * the rest of cacheTtl (less the Age a cache in front of the store gave it), so that the
   * copy is never older than cacheTtl.
   */
  async pointerThroughCache(url) {
    const hit = await this.cached(url);
    if (hit) return hit;
    if (!this.cache) return this.get(url, this.etag);
    const resp = await this.get(url, "");
    if (resp.status !== 200) return resp;
    const body = await resp.arrayBuffer();
    const headers = new Headers({ "content-type": "application/json" });
    const etag = resp.headers.get("etag");
    if (etag) headers.set("etag", etag);
    const ttl = this.cacheTtl - (Number.parseInt(resp.headers.get("age") ?? "0", 10) || 0);
    if (ttl > 0) {
      headers.set("cache-control", `public, max-age=${ttl}`);
      await this.keep(url, body.slice(0), headers);
    }
    return new Response(body, { status: 200, headers });
  }

  /** A snapshot's verified bytes, from the location cache or the store (then cached as immutable). */
  async snapshotBytes(snapURL, hash) {
    const hit = this.cache ? await this.cached(snapURL) : undefined;
    const resp = hit ?? (await this.get(snapURL, ""));
    if (resp.status !== 200) throw new Error(`poller: ${snapURL}: status ${resp.status}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    const problem = await verifySnapshot(bytes, hash);
    if (problem) {
      if (hit) {
        try {
          await this.cache.delete(snapURL);
        } catch {
          // An entry that cannot be deleted is verified (and refused) again next time.
        }
      }
      throw new Error(`poller: ${snapURL}${hit ? " (location cache)" : ""}: ${problem}`);
    }
    if (this.cache && !hit) {
      await this.keep(snapURL, bytes.slice(), { "content-type": SNAPSHOT_CONTENT_TYPE, "cache-control": CACHE_IMMUTABLE });
    }
    return bytes;
  }

  async step() {
    const url = `${this.baseURL}/${pointerKey(this.environment)}`;
    const resp = this.cache ? await this.pointerThroughCache(url) : await this.get(url, this.etag);
    if (resp.status === 304 && this.etag) {
      this.counts.notModified++;
      return;
    }
    if (resp.status !== 200) throw new Error(`poller: ${url}: status ${resp.status}`);
    const etag = resp.headers.get("etag") || "";
    if (this.cache && this.pointer && etag && etag === this.etag) {
      this.counts.notModified++; // the location's copy is the pointer served
      await resp.arrayBuffer();
      return;
    }
    let ptr;
    try {
      ptr = parsePointer(new Uint8Array(await resp.arrayBuffer()), this.environment);
    } catch (err) {
      throw new Error(`poller: ${url}: ${err.message}`);
    }
    if (this.publicKeys) await this.checkSigned(url, ptr);
    if (!this.pointer || ptr.snapshot !== this.pointer.snapshot) {
      const bytes = await this.snapshotBytes(`${this.baseURL}/${snapshotKey(ptr.snapshot)}`, ptr.snapshot);
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
      cache: this.cache ? `location, ${this.cacheTtl} s` : "off",
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
