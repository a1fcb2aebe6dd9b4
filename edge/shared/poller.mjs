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

export class SnapshotPoller {
  /**
   * baseURL: where the store's objects are served; environment: which pointer to follow;
   * apply(bytes, pointer): installs a verified snapshot (throws to refuse it);
   * interval, grace, timeout: milliseconds (defaults 5 s, 60 s, 5 s).
   */
  constructor({ baseURL, environment, apply, interval = 5000, grace = 60000, timeout = 5000, fetch = (input, init) => globalThis.fetch(input, init) }) {
    if (!baseURL) throw new Error("poller: baseURL is required");
    if (!environment || /[/?#]/.test(environment)) throw new Error(`poller: invalid environment ${JSON.stringify(environment)}`);
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.environment = environment;
    this.apply = apply;
    this.interval = interval;
    this.grace = grace;
    this.timeout = timeout;
    this.fetch = fetch;
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

  status(now = Date.now()) {
    return {
      pointer: this.pointer,
      stale: this.stale(now),
      lastSuccess: Number.isFinite(this.lastSuccess) ? new Date(this.lastSuccess).toISOString() : null,
      lastError: this.lastError ? String(this.lastError.message ?? this.lastError) : null,
      ...this.counts,
    };
  }
}
