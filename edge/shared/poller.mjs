// Snapshot distribution for JavaScript edges, by the Go package poller's rules: poll the
// pointer with If-None-Match, fetch and load the snapshot it names, keep the last good one on
// any failure and report stale after a grace period. The store layout is Go's store/layout,
// held to its test vectors (store/layout/testdata/vectors.json; docs/store-layout.md).

/** The store's Cache-Control max-age of pointers, in seconds (Go: layout.PointerMaxAge). */
export const POINTER_MAX_AGE = 5;
/** The Cache-Control of snapshots, which their hash names (Go: layout.CacheImmutable). */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
const MAX_POINTER_SIZE = 64 << 10;
const utf8 = new TextEncoder();

/** Whether h is a content hash: 64 lower-case hex digits. */
export const validHash = (h) => typeof h === "string" && /^[0-9a-f]{64}$/.test(h);
/** Whether name is an environment name: lower-case letters, digits, '_' and '-', at most 63. */
export const validEnvironment = (name) => typeof name === "string" && /^[a-z0-9][a-z0-9_-]{0,62}$/.test(name);
/** An environment's pointer key: <env>/current.json. */
export const pointerKey = (environment) => `${environment}/current.json`;
/** A served snapshot's key: snapshots/<hash>.snap. */
export const snapshotKey = (hash) => `snapshots/${hash}.snap`;

const isString = (x) => typeof x === "string";
const isVersion = (x) => Number.isSafeInteger(x) && x >= 0;
const isTime = (x) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/.test(x) && !Number.isNaN(Date.parse(x));
// The checks of layout.ParsePointer: [fields, check, what the fields must be].
const POINTER_CHECKS = [
  [["snapshot", "base", "plan"], (x) => x === "" || validHash(x), "a SHA-256 hex digest"],
  [["history"], (x) => Array.isArray(x) && x.every(validHash), "a list of SHA-256 hex digests"],
  [["environment", "revision", "keyId", "signature"], isString, "a string"],
  [["killed"], (x) => Array.isArray(x) && x.every(isString), "a list of strings"],
  [["version", "killStateVersion", "rolloutStateVersion"], isVersion, "a whole number ≥ 0"],
  [["publishedAt"], (x) => isString(x) && isTime(x), "an RFC 3339 time"],
];

/**
 * Parses a pointer (text or bytes) of environment as Go's layout.ParsePointer: unknown fields
 * are ignored, null is absent. Throws "not a valid pointer: ..." naming the field at fault.
 */
export function parsePointer(input, environment) {
  const bytes = isString(input) ? utf8.encode(input) : input;
  const refused = (message) => new Error(`not a valid pointer: ${message}`);
  if (bytes.length > MAX_POINTER_SIZE) throw refused(`larger than ${MAX_POINTER_SIZE} bytes`);
  let p;
  try {
    p = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw refused(err.message);
  }
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw refused("not a JSON object");
  for (const [fields, ok, what] of POINTER_CHECKS) {
    for (const k of fields) if (p[k] != null && !ok(p[k])) throw refused(`${k} ${JSON.stringify(p[k])} is not ${what}`);
  }
  if (!validHash(p.snapshot)) throw refused(`snapshot ${JSON.stringify(p.snapshot ?? "")} is not a SHA-256 hex digest`);
  if ((p.environment ?? "") !== environment) throw refused(`it names environment ${JSON.stringify(p.environment ?? "")}, want ${JSON.stringify(environment)}`);
  return p;
}

const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

// Signed pointers (Go: package signing; docs/security.md): ECDSA P-256 with SHA-256 over
// "edgeflag-snapshot-v1\n" + environment + "\n" + snapshot hash + "\n" + version, the
// signature the base64 of its raw r||s form (64 bytes), which WebCrypto verifies as it is.
const ECDSA = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const REFUSALS = {
  unsigned: "the pointer is not signed",
  unknownKey: "the pointer is signed with a key this edge does not accept",
  badSignature: "the pointer's signature does not verify",
  older: "older than the pointer this edge serves",
};

/**
 * Imports the PEM "PUBLIC KEY" blocks of text (two while keys rotate) as a Map from key ID
 * (Go's signing.KeyID: the SHA-256 of the DER, first 8 bytes in hex) to ECDSA P-256 CryptoKey.
 */
export async function importPublicKeys(text, subtle = crypto.subtle) {
  const keys = new Map();
  const blocks = String(text ?? "").matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g);
  for (const [i, [, type, base64]] of [...blocks].entries()) {
    const fail = (message) => new Error(`public key ${i + 1}: ${message}`);
    if (type !== "PUBLIC KEY") throw fail(`a PEM "${type}" block, want "PUBLIC KEY"`);
    let der, key;
    try {
      der = fromBase64(base64.replace(/\s+/g, ""));
      key = await subtle.importKey("spki", der, ECDSA, false, ["verify"]);
    } catch (err) {
      throw fail(`not an ECDSA P-256 key in base64: ${err.message}`);
    }
    keys.set(hex(await subtle.digest("SHA-256", der)).slice(0, 16), key);
  }
  if (keys.size === 0) throw new Error('no PEM "PUBLIC KEY" block found (edgeflag keygen writes one)');
  return keys;
}

/**
 * Verifies that signature by keyId signs "environment serves hash as version". Resolves to
 * null, or to {kind: unsigned, unknownKey or badSignature, message}.
 */
export async function verifySignature(keys, environment, hash, version, keyId, signature, subtle = crypto.subtle) {
  const bad = (kind, detail) => ({ kind, message: `${REFUSALS[kind]}${detail ? `: ${detail}` : ""}` });
  if (!keyId && !signature) return bad("unsigned");
  if (!keys.has(keyId)) return bad("unknownKey", `key ${JSON.stringify(keyId)} (accepted: ${[...keys.keys()].join(", ")})`);
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) return bad("badSignature", "the signature is not the base64 of 64 bytes");
  const message = utf8.encode(`edgeflag-snapshot-v1\n${environment}\n${hash}\n${version}`);
  if (await subtle.verify(ECDSA, keys.get(keyId), fromBase64(signature), message)) return null;
  return bad("badSignature", `not a signature of environment ${JSON.stringify(environment)}, snapshot ${hash}, version ${version} by key ${keyId}`);
}

const fail = (url, message) => new Error(`poller: ${url}: ${message}`);

/** The number a setting [name, value (a number or its text), least] gives, or an error naming the setting. */
function setting([name, value, least]) {
  if (/^\s*\d+(\.\d+)?\s*$/.test(value) && Number(value) >= least) return Number(value);
  throw Object.assign(new Error(`poller: ${name} ${JSON.stringify(value)} is not a number${least ? ` ≥ ${least}` : " ≥ 0"}`), { setting: name });
}

export class SnapshotPoller {
  /**
   * storeURL: where the store is served; apply(bytes, pointer) loads a snapshot, throwing when
   * it does not verify; pollIntervalMs, graceMs, timeoutMs (numbers or their text); publicKeys:
   * PEM keys pointers must be signed with (text or a list; none: not checked); cache: a Cache
   * the isolates of a location share (a Worker's caches.default): the pointer is read from it
   * while younger than cacheTtl seconds (0: the cache is off), so one poll per location per cacheTtl reaches the
   * store, and loaded snapshots are kept there.
   */
  constructor({ storeURL, environment = "production", apply, pollIntervalMs = 5000, graceMs = 60000, timeoutMs = 5000, publicKeys = "", log = console.warn, cache = null, cacheTtl = POINTER_MAX_AGE }) {
    if (!storeURL) throw new Error("poller: storeURL is required");
    if (!validEnvironment(environment)) throw new Error(`poller: invalid environment ${JSON.stringify(environment)} (lower-case letters, digits, '_' and '-')`);
    const [interval, grace, timeout, ttl] = [["pollIntervalMs", pollIntervalMs, 1], ["graceMs", graceMs, 0], ["timeoutMs", timeoutMs, 1], ["cacheTtl", cacheTtl, 0]].map(setting);
    Object.assign(this, { baseURL: storeURL.replace(/\/+$/, ""), environment, apply, interval, grace, timeout, log, cache: ttl > 0 ? cache : null, cacheTtl: ttl });
    this.publicKeys = [publicKeys].flat().join("\n");
    // keys are imported on the first poll (a bad key fails every poll); pointer is the served one.
    Object.assign(this, { keys: null, etag: "", pointer: null, lastPoll: -Infinity, lastSuccess: -Infinity, lastError: null, inflight: null });
    this.counts = { polls: 0, failures: 0, notModified: 0, swaps: 0, storeRequests: 0, cacheHits: 0 };
  }

  /** Whether a poll is due at time now (ms). */
  due(now = Date.now()) {
    return now - this.lastPoll >= this.interval;
  }

  /** Whether a snapshot is loaded but no poll has succeeded within the grace period. */
  stale(now = Date.now()) {
    return this.loaded && now - this.lastSuccess > this.grace;
  }

  get loaded() {
    return this.pointer !== null;
  }

  /** Polls once (concurrent callers share the poll in flight). Resolves to null or the error. */
  poll() {
    if (!this.inflight) {
      this.lastPoll = Date.now();
      this.inflight = this.pollOnce().finally(() => (this.inflight = null));
    }
    return this.inflight;
  }

  async pollOnce() {
    this.counts.polls++;
    try {
      await this.step();
      this.lastSuccess = Date.now();
      this.lastError = null;
    } catch (err) {
      this.counts.failures++;
      if (err.message !== this.lastError?.message) this.log(`edgeflag: ${err.message}`);
      this.lastError = err;
    }
    return this.lastError;
  }

  async get(url, etag) {
    this.counts.storeRequests++;
    try {
      return await fetch(url, { headers: etag ? { "if-none-match": etag } : {}, signal: AbortSignal.timeout(this.timeout) });
    } catch (err) {
      throw fail(url, err.name === "TimeoutError" ? `timed out after ${this.timeout} ms` : err.message);
    }
  }

  /** The location cache's entry for url, or undefined; a cache that fails (workerd without one) is turned off. */
  async cached(url) {
    try {
      const hit = await this.cache.match(url);
      if (hit) this.counts.cacheHits++;
      return hit;
    } catch (err) {
      this.log(`edgeflag: the location cache is off: ${err.message}`);
      this.cache = null;
    }
  }

  /** Keeps a copy of body under url in the location cache (failures are logged). */
  async keep(url, body, headers) {
    await this.cache.put(url, new Response(body, { headers })).catch((err) => this.log(`edgeflag: the location cache: ${err.message}`));
  }

  /** The pointer: the location cache's copy while fresh, else the store's, kept for the rest of cacheTtl (less its Age). */
  async pointerThroughCache(url) {
    const hit = await this.cached(url);
    if (hit || !this.cache) return hit ?? this.get(url, this.etag);
    const resp = await this.get(url, "");
    if (resp.status !== 200) return resp;
    const body = await resp.arrayBuffer();
    const headers = { "content-type": "application/json", etag: resp.headers.get("etag") ?? "" };
    const ttl = this.cacheTtl - (Number.parseInt(resp.headers.get("age"), 10) || 0);
    if (ttl > 0) await this.keep(url, body.slice(0), { ...headers, "cache-control": `public, max-age=${ttl}` });
    return new Response(body, { headers });
  }

  async step() {
    const url = `${this.baseURL}/${pointerKey(this.environment)}`;
    const resp = this.cache ? await this.pointerThroughCache(url) : await this.get(url, this.etag);
    const etag = resp.headers.get("etag") || "";
    // Not modified: a 304, or the location's copy of the pointer served.
    if ((resp.status === 304 && this.etag) || (resp.status === 200 && this.cache && this.pointer && etag && etag === this.etag)) {
      this.counts.notModified++;
      return;
    }
    if (resp.status !== 200) throw fail(url, `status ${resp.status}`);
    const ptr = await resp.arrayBuffer().then((body) => parsePointer(new Uint8Array(body), this.environment)).catch((err) => {
      throw fail(url, err.message);
    });
    const served = this.publicKeys ? await this.checkSigned(url, ptr) : null;
    if (ptr.snapshot !== this.pointer?.snapshot) await this.swap(ptr);
    this.pointer = ptr;
    this.etag = etag;
    if (this.cache && served && (ptr.version ?? 0) > served.recorded) {
      await this.keep(this.servedURL(), JSON.stringify({ version: ptr.version, snapshot: ptr.snapshot }), { "cache-control": CACHE_IMMUTABLE });
    }
  }

  /** The key of the location cache's record of the newest signed pointer served there (never a store object). */
  servedURL() {
    return `${this.baseURL}/${this.environment}/.edgeflag-served-version`;
  }

  /**
   * The newest signed pointer served here {version, snapshot, recorded}: this isolate's, or
   * the location cache's record when newer (it outlives isolates, so a cold isolate refuses a
   * replay as a warm one does). recorded: the record's version, -1 without one.
   */
  async newestServed() {
    const hit = this.cache && (await this.cached(this.servedURL()));
    const shared = hit ? await hit.json().catch(() => null) : null;
    const recorded = Number.isSafeInteger(shared?.version) && validHash(shared.snapshot) ? shared.version : -1;
    const own = { version: this.pointer?.version ?? 0, snapshot: this.pointer?.snapshot, recorded };
    return recorded > own.version ? { ...shared, recorded } : own;
  }

  /** Loads the snapshot ptr names, from the location cache or the store (then kept there as immutable). */
  async swap(ptr) {
    const url = `${this.baseURL}/${snapshotKey(ptr.snapshot)}`;
    const hit = this.cache && (await this.cached(url));
    const resp = hit || (await this.get(url, ""));
    if (resp.status !== 200) throw fail(url, `status ${resp.status}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    try {
      // The header records the hash (bytes 8 to 40); the module checks that the payload hashes to it.
      const recorded = hex(bytes.subarray(8, 40));
      if (recorded !== ptr.snapshot) throw new Error(`snapshot records hash ${recorded}, pointer names ${ptr.snapshot}`);
      await this.apply(bytes, ptr);
    } catch (err) {
      if (hit) await this.cache.delete(url).catch(() => {}); // else refused again next time
      throw fail(`${url}${hit ? " (location cache)" : ""}`, err.message);
    }
    if (this.cache && !hit) await this.keep(url, bytes.slice(), { "content-type": "application/vnd.edgeflag.snapshot", "cache-control": CACHE_IMMUTABLE });
    this.counts.swaps++;
  }

  /** Refuses ptr unless it is signed for this environment and not older than the one served; returns the one served. */
  async checkSigned(url, ptr) {
    this.keys ??= await importPublicKeys(this.publicKeys).catch((err) => {
      throw new Error(`poller: the public keys: ${err.message}`);
    });
    const version = ptr.version ?? 0;
    const bad = await verifySignature(this.keys, this.environment, ptr.snapshot, version, ptr.keyId, ptr.signature);
    if (bad) throw fail(`${url} refused`, bad.message);
    const served = await this.newestServed();
    if (served.snapshot && (version < served.version || (version === served.version && ptr.snapshot !== served.snapshot))) {
      throw fail(`${url} refused`, `${REFUSALS.older}: version ${version} names snapshot ${ptr.snapshot}, the edge serves version ${served.version} (snapshot ${served.snapshot})`);
    }
    return served;
  }

  /** The poller's state, answered on the edges' health path. */
  status(now = Date.now()) {
    return {
      signatures: this.publicKeys ? "required" : "off",
      cache: this.cache ? `location, ${this.cacheTtl} s` : "off",
      pointerVersion: this.pointer?.version ?? null,
      keyId: this.pointer?.keyId ?? null,
      pointer: this.pointer,
      stale: this.stale(now),
      lastSuccess: Number.isFinite(this.lastSuccess) ? new Date(this.lastSuccess).toISOString() : null,
      lastError: this.lastError?.message ?? null,
      ...this.counts,
    };
  }
}
