// The edgeflag WASM module's calling convention for JavaScript runtimes (workerd, Node.js),
// as the edges use it: load snapshots, answer OFREP, evaluate every flag for a request's
// context. The module is instantiated with ./wasi.mjs, the WASI both edges and sdk/js use;
// see wasm/guest and protocol/abi.go in the Go sources. The SDK (sdk/js) builds on this class.

export const ABI_VERSION = 5;
export const MAX_SNAPSHOT_SIZE = 32 << 20; // snapshot.MaxSize
export const MAX_CONTEXT_SIZE = 64 << 10;
export const FLAG_STALE = 1;
const FLAG_OPENFEATURE_REASONS = 2;
const FLAG_BULK = 4;
const BODY_ERROR_FLAGS = { "too large": 8, unreadable: 16, unavailable: 32 };
const LOAD_VERIFIED = 1; // protocol.LoadVerified
const utf8 = new TextEncoder();

/** An error the module reported, with an OpenFeature error code. */
export class EdgeflagError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
  }
}

/** Appends v as a uvarint to the byte array out. */
const pushUvarint = (out, v) => {
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v & 0x7f) | 0x80);
  out.push(v);
};

/** The binary context (package protocol: 0xEC count (name 1 value)*) of an object of strings. */
function encodeStrings(context) {
  const out = [0xec];
  const put = (s) => {
    const b = utf8.encode(s);
    pushUvarint(out, b.length);
    for (const c of b) out.push(c);
  };
  const names = Object.keys(context);
  pushUvarint(out, names.length);
  for (const name of names) {
    put(name);
    out.push(1); // a string value
    put(String(context[name]));
  }
  return Uint8Array.from(out);
}

/** Reads the uvarints and strings of the module's binary frames (package protocol). */
export class FrameReader {
  constructor(bytes, off, decoder) {
    Object.assign(this, { bytes, off, decoder });
  }

  uvarint() {
    let v = 0;
    for (let shift = 1; ; shift *= 128) {
      const c = this.bytes[this.off++];
      v += (c & 0x7f) * shift;
      if (c < 0x80) return v;
    }
  }

  str() {
    const n = this.uvarint();
    return this.decoder.decode(this.bytes.subarray(this.off, (this.off += n)));
  }
}

/**
 * Evaluator drives one instance of the module. One instance runs one call at a time; in a
 * JavaScript isolate calls are synchronous, so one Evaluator per isolate is enough.
 */
export class Evaluator {
  /** instance: a WebAssembly.Instance whose _initialize has run. */
  constructor(instance) {
    this.exports = instance.exports;
    const abi = this.exports.edgeflag_abi();
    if (abi !== ABI_VERSION) {
      throw new Error(`edgeflag module speaks ABI ${abi}, this host ${ABI_VERSION}`);
    }
    Object.assign(this, { utf8, decoder: new TextDecoder(), info: null, inPtr: 0, inCap: 0, mem: new Uint8Array(0) });
  }

  memory() {
    // A view of the module's memory, made again when growing the memory detached it.
    if (this.mem.byteLength === 0) this.mem = new Uint8Array(this.exports.memory.buffer);
    return this.mem;
  }

  /** Copies input into the module's input buffer, whose address changes when it grows and after a load. */
  input(parts, total) {
    if (total > this.inCap) {
      const ptr = this.exports.edgeflag_buffer(total);
      if (ptr === 0) throw new EdgeflagError("GENERAL", `input of ${total} bytes refused`);
      this.inPtr = ptr;
      this.inCap = total;
    }
    const mem = this.memory();
    let off = this.inPtr;
    for (const p of parts) {
      mem.set(p, off);
      off += p.length;
    }
  }

  outputBytes(packed) {
    const p = BigInt.asUintN(64, packed);
    const ptr = Number(p >> 32n);
    return this.memory().subarray(ptr, ptr + Number(p & 0xffffffffn));
  }

  /**
   * Loads an encoded snapshot (Uint8Array). Returns {hash, environment, revision, flags};
   * throws an EdgeflagError and keeps the previous snapshot when it does not verify.
   * verified: the caller has checked the bytes' SHA-256 against the hash the pointer names,
   * and the module does not hash them again.
   */
  load(bytes, verified = false) {
    if (bytes.length > MAX_SNAPSHOT_SIZE) {
      throw new EdgeflagError("PARSE_ERROR", `snapshot larger than ${MAX_SNAPSHOT_SIZE} bytes`);
    }
    this.input([bytes], bytes.length);
    // The load frame (package protocol): 0 hash environment revision flags, or 1 code message.
    const f = this.outputBytes(this.exports.edgeflag_load(bytes.length, verified ? LOAD_VERIFIED : 0));
    this.inCap = 0; // the module drops a large input buffer after a load
    const r = new FrameReader(f, 1, this.decoder);
    if (f[0] === 1) throw new EdgeflagError(r.str(), r.str());
    this.info = { hash: r.str(), environment: r.str(), revision: r.str(), flags: r.uvarint() };
    return this.info;
  }

  /**
   * Answers an OFREP request in the module: {key (bytes; null for every flag), body
   * (bytes), inm (If-None-Match), stale, now, bodyError ("too large", "unreadable" or
   * "unavailable": body holds the reason)}. Returns {status, etag, body}.
   */
  ofrep({ key, body, inm = "", stale = false, now = Date.now(), bodyError }, openfeatureReasons = false) {
    const k = key ?? new Uint8Array(0);
    const m = utf8.encode(inm);
    this.input([k, body, m], k.length + body.length + m.length);
    let flags = (stale ? FLAG_STALE : 0) | (openfeatureReasons ? FLAG_OPENFEATURE_REASONS : 0) | (key === null ? FLAG_BULK : 0);
    flags |= BODY_ERROR_FLAGS[bodyError] ?? 0;
    const f = this.outputBytes(this.exports.edgeflag_ofrep(k.length, body.length, m.length, BigInt(Math.trunc(now)), flags));
    // The OFREP frame: status:uint16le etagLen:uint8 etag body.
    const n = 3 + f[2];
    return { status: f[0] | (f[1] << 8), etag: this.decoder.decode(f.subarray(3, n)), body: this.decoder.decode(f.subarray(n)) };
  }

  /** Makes context, an object of string attributes (what an edge reads from a request), the one the module evaluates. */
  setContext(context) {
    this.setContextBytes(encodeStrings(context ?? {}));
  }

  /** Hands the module an encoded context; over the limit, it answers INVALID_CONTEXT from the length alone. */
  setContextBytes(b) {
    const c = b.length > MAX_CONTEXT_SIZE ? b.subarray(0, MAX_CONTEXT_SIZE + 1) : b;
    this.input([c], c.length);
    this.exports.edgeflag_context(c.length);
  }

  /** Evaluates every flag; returns the JSON text {"flags":[...]} or an error object. at: Unix milliseconds. */
  evaluateAllJSON(context, at = Date.now(), { stale = false } = {}) {
    const f = this.allResults(context, at, stale);
    return f[0] === 0 ? `{"flags":[${this.decoder.decode(f.subarray(5, this.resultsEnd(f)))}]}` : this.decoder.decode(f);
  }

  /**
   * Evaluates every flag and returns [{key, variant, reason}] (reason "ERROR" for an error
   * result) from the module's index of its results, without their JSON: what the x-flag-*
   * headers need. Throws EdgeflagError when the module refuses.
   */
  variants(context, at = Date.now(), { stale = false } = {}) {
    const f = this.allResults(context, at, stale);
    if (f[0] !== 0) {
      const e = JSON.parse(this.decoder.decode(f));
      throw new EdgeflagError(e.errorCode, e.errorMessage);
    }
    const entries = [];
    // Each entry: key, variant, ok:uint8, the result's JSON length (skipped).
    for (const r = new FrameReader(f, this.resultsEnd(f), this.decoder); r.off < f.length; r.uvarint()) {
      entries.push({ key: r.str(), variant: r.str(), reason: f[r.off++] === 1 ? undefined : "ERROR" });
    }
    return entries;
  }

  /** The results frame (package protocol) of every flag: 0 jsonLen:uint32le json index, or the error object. */
  allResults(context, at, stale) {
    this.setContext(context);
    return this.outputBytes(this.exports.edgeflag_evaluate_all(BigInt(Math.trunc(at)), stale ? FLAG_STALE : 0));
  }

  /** Where the results' JSON of results frame f ends. */
  resultsEnd(f) {
    return 5 + (f[1] | (f[2] << 8) | (f[3] << 16)) + f[4] * 2 ** 24;
  }
}
