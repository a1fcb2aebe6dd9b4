// The edgeflag WASM evaluator for JavaScript runtimes (workerd, Node.js). The module is
// instantiated by the runtime's own WASI (node:wasi) or by ./wasi.mjs; this file speaks the
// module's calling convention (see wasm/guest and protocol/abi.go in the Go sources).

export const ABI_VERSION = 5;
export const MAX_SNAPSHOT_SIZE = 32 << 20; // snapshot.MaxSize
export const MAX_CONTEXT_SIZE = 64 << 10;
export const MAX_KEY_SIZE = 256;
const FLAG_STALE = 1;
const FLAG_OPENFEATURE_REASONS = 2;
const FLAG_BULK = 4;
const BODY_ERROR_FLAGS = { "too large": 8, unreadable: 16, unavailable: 32 };
const LOAD_VERIFIED = 1; // protocol.LoadVerified

// Binary context encoding (package wire).
const MARKER = 0xec;
const TAG_NULL = 0;
const TAG_STRING = 1;
const TAG_NUMBER = 2;
const TAG_FALSE = 3;
const TAG_TRUE = 4;
const TAG_LIST = 5;

/** An error the module reported, with an OpenFeature error code. */
export class EdgeflagError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
    this.detail = message;
  }
}

/**
 * Encodes a context object ({userId: "u1", country: "DE", groups: ["a"], ...}) in the
 * module's binary encoding. Values are strings, finite numbers, booleans, null/undefined
 * (unset) and arrays of those. Anything else is an INVALID_CONTEXT error.
 */
export class ContextEncoder {
  constructor() {
    this.buf = new Uint8Array(1024);
    this.view = new DataView(this.buf.buffer);
    this.n = 0;
    this.utf8 = new TextEncoder();
  }

  /** Returns a view of the encoding, valid until the next call. */
  encode(ctx) {
    if (ctx === null || typeof ctx !== "object" || Array.isArray(ctx)) {
      throw new EdgeflagError("INVALID_CONTEXT", "the context must be an object");
    }
    this.n = 0;
    this.byte(MARKER);
    const names = Object.keys(ctx);
    this.uvarint(names.length);
    for (const name of names) {
      this.string(name);
      const v = ctx[name];
      if (Array.isArray(v)) {
        this.byte(TAG_LIST);
        this.uvarint(v.length);
        for (const item of v) {
          if (Array.isArray(item)) {
            throw new EdgeflagError("INVALID_CONTEXT", `attribute ${name}: nested list`);
          }
          this.scalar(name, item);
        }
      } else {
        this.scalar(name, v);
      }
    }
    return this.buf.subarray(0, this.n);
  }

  scalar(name, v) {
    switch (typeof v) {
      case "string":
        this.byte(TAG_STRING);
        this.string(v);
        return;
      case "number":
        this.byte(TAG_NUMBER);
        this.reserve(8);
        this.view.setFloat64(this.n, v, true);
        this.n += 8;
        return;
      case "boolean":
        this.byte(v ? TAG_TRUE : TAG_FALSE);
        return;
      case "undefined":
        this.byte(TAG_NULL);
        return;
    }
    if (v === null) {
      this.byte(TAG_NULL);
      return;
    }
    throw new EdgeflagError("INVALID_CONTEXT", `attribute ${name}: unsupported value type ${typeof v}`);
  }

  string(s) {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; the length prefix at most 5 bytes.
    this.reserve(5 + 3 * s.length);
    if (s.length < 128 && isASCII(s)) {
      this.buf[this.n++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
      return;
    }
    const start = this.n + 5;
    const { written } = this.utf8.encodeInto(s, this.buf.subarray(start));
    this.uvarint(written);
    this.buf.copyWithin(this.n, start, start + written);
    this.n += written;
  }

  uvarint(v) {
    this.reserve(5);
    while (v >= 0x80) {
      this.buf[this.n++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }

  byte(b) {
    this.reserve(1);
    this.buf[this.n++] = b;
  }

  reserve(k) {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

const isASCII = (s) => /^[\x00-\x7f]*$/.test(s);

/** Reads the uvarints and strings of the module's binary frames (package protocol). */
class FrameReader {
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
    this.encoder = new ContextEncoder();
    this.utf8 = new TextEncoder();
    this.decoder = new TextDecoder();
    this.keyBuf = new Uint8Array(MAX_KEY_SIZE * 3 + 1);
    this.info = null;
    this.inPtr = 0;
    this.inCap = 0;
  }

  memory() {
    return new Uint8Array(this.exports.memory.buffer);
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
   * verified: the caller has checked the bytes' SHA-256 against the hash the pointer names
   * (the poller's apply receives such bytes), and the module does not hash them again.
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
    const m = this.utf8.encode(inm);
    this.input([k, body, m], k.length + body.length + m.length);
    let flags = (stale ? FLAG_STALE : 0) | (openfeatureReasons ? FLAG_OPENFEATURE_REASONS : 0) | (key === null ? FLAG_BULK : 0);
    flags |= BODY_ERROR_FLAGS[bodyError] ?? 0;
    const f = this.outputBytes(this.exports.edgeflag_ofrep(k.length, body.length, m.length, BigInt(Math.trunc(now)), flags));
    // The OFREP frame: status:uint16le etagLen:uint8 etag body.
    const n = 3 + f[2];
    return { status: f[0] | (f[1] << 8), etag: this.decoder.decode(f.subarray(3, n)), body: this.decoder.decode(f.subarray(n)) };
  }

  /**
   * The context in the binary encoding: an object is encoded; a string, or bytes without the
   * binary marker, are JSON text, parsed (PARSE_ERROR) then encoded; other bytes pass as they are.
   */
  contextBytes(context) {
    let b;
    if (context instanceof Uint8Array && (context.length === 0 || context[0] === MARKER)) b = context;
    else if (typeof context === "string" || context instanceof Uint8Array) {
      const text = typeof context === "string" ? context : this.decoder.decode(context);
      let parsed;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new EdgeflagError("PARSE_ERROR", `context: ${err.message}`);
      }
      b = this.encoder.encode(parsed);
    } else b = this.encoder.encode(context ?? {});
    // Over the limit, the module answers INVALID_CONTEXT from the length alone.
    return b.length > MAX_CONTEXT_SIZE ? b.subarray(0, MAX_CONTEXT_SIZE + 1) : b;
  }

  /** Makes context the one the module evaluates (one it refuses makes the evaluations that follow errors). */
  setContext(context) {
    const c = this.contextBytes(context);
    this.input([c], c.length);
    this.exports.edgeflag_context(c.length);
  }

  /**
   * Reads a results frame (package protocol): {json, refused}, json the results' JSON joined by
   * commas or the module's error object. With index, entries [{key, variant, reason}] instead,
   * read from the frame's index (reason "ERROR" for an error result, else undefined).
   */
  results(packed, index = false) {
    const f = this.outputBytes(packed);
    if (f[0] !== 0) return { json: this.decoder.decode(f), refused: true };
    const end = 5 + (f[1] | (f[2] << 8) | (f[3] << 16)) + f[4] * 2 ** 24;
    if (!index) return { json: this.decoder.decode(f.subarray(5, end)) };
    const entries = [];
    // Each entry: key, variant, ok:uint8, the result's JSON length (skipped).
    for (const r = new FrameReader(f, end, this.decoder); r.off < f.length; r.uvarint()) {
      entries.push({ key: r.str(), variant: r.str(), reason: f[r.off++] === 1 ? undefined : "ERROR" });
    }
    return { json: "", entries };
  }

  /** Evaluates flag key for the context of the last setContext; returns the result as JSON text. */
  evaluateKeyJSON(key, at = Date.now(), { stale = false } = {}) {
    const { written } = this.utf8.encodeInto(key, this.keyBuf);
    const k = this.keyBuf.subarray(0, Math.min(written, MAX_KEY_SIZE + 1));
    this.input([k], k.length);
    const flags = stale ? FLAG_STALE : 0;
    return this.results(this.exports.edgeflag_evaluate(k.length, BigInt(Math.trunc(at)), flags)).json;
  }

  /**
   * Evaluates one flag and returns the result as JSON text: the bytes every edgeflag
   * runtime returns for the same snapshot, context and time. at: Unix milliseconds.
   */
  evaluateJSON(key, context, at = Date.now(), opts = {}) {
    this.setContext(context);
    return this.evaluateKeyJSON(key, at, opts);
  }

  /** Evaluates every flag; returns the JSON text {"flags":[...]} or an error object. */
  evaluateAllJSON(context, at = Date.now(), { stale = false } = {}) {
    this.setContext(context);
    const flags = stale ? FLAG_STALE : 0;
    const r = this.results(this.exports.edgeflag_evaluate_all(BigInt(Math.trunc(at)), flags));
    return r.refused ? r.json : `{"flags":[${r.json}]}`;
  }

  /** evaluateJSON, parsed. */
  evaluate(key, context, at, opts) {
    return JSON.parse(this.evaluateJSON(key, context, at, opts));
  }

  /**
   * Evaluates every flag and returns [{key, variant, reason}] (reason "ERROR" for an error
   * result) from the module's index of its results, without their JSON: what the x-flag-*
   * headers need. Throws EdgeflagError when the module refuses.
   */
  variants(context, at = Date.now(), { stale = false } = {}) {
    this.setContext(context);
    const r = this.results(this.exports.edgeflag_evaluate_all(BigInt(Math.trunc(at)), stale ? FLAG_STALE : 0), true);
    if (r.refused) {
      const e = JSON.parse(r.json);
      throw new EdgeflagError(e.errorCode, e.errorMessage);
    }
    return r.entries;
  }

  /** evaluateAllJSON, parsed: the array of results; throws EdgeflagError on error. */
  evaluateAll(context, at, opts) {
    const out = JSON.parse(this.evaluateAllJSON(context, at, opts));
    if (out.errorCode) throw new EdgeflagError(out.errorCode, out.errorMessage);
    return out.flags;
  }
}
