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
// edgeflag_resolve's reason codes (protocol.ReasonCodes); 6, STALE, is set here.
const REASONS = [undefined, "STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT", "STALE"];

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
  /** buf: where to write, grown when full (but encodeReads' has READS_BUFFER bytes). */
  constructor(buf = new Uint8Array(2048)) {
    this.n = 0;
    this.utf8 = new TextEncoder();
    this.grow(buf);
  }

  /** The encoding is written in the first half of buf; the second half is string scratch. */
  grow(next) {
    if (this.buf) next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
    this.half = next.length >>> 1;
    this.scratch = next.subarray(this.half);
  }

  /** Returns a view of the encoding, valid until the next call. */
  encode(ctx) {
    if (ctx === null || typeof ctx !== "object" || Array.isArray(ctx) || ctx instanceof Uint8Array) {
      throw new EdgeflagError("INVALID_CONTEXT", "the context must be an object");
    }
    this.n = 0;
    this.byte(MARKER);
    const names = Object.keys(ctx);
    this.uvarint(names.length);
    for (const name of names) {
      this.string(name);
      this.value(name, ctx[name]);
    }
    return this.buf.subarray(0, this.n);
  }

  /**
   * Encodes values[k] as attribute reads[2k] ([index, name, ...]) in an indexed context
   * (protocol/resolve.go) at the start of buf, for values that validContext has checked and
   * bounded, and empties values; returns the length.
   */
  encodeReads(values, reads) {
    const buf = this.buf; // validContext bounds the encoding by MAX_CONTEXT_SIZE: no growing
    let count = 0;
    for (let k = 0; k < values.length; k++) if (values[k] !== undefined && values[k] !== null) count++;
    buf[0] = MARKER;
    let n = 1;
    for (; count >= 0x80; count >>>= 7) buf[n++] = (count & 0x7f) | 0x80;
    buf[n++] = count;
    for (let i = 0; i < reads.length; i += 2) {
      const v = values[i >> 1];
      values[i >> 1] = undefined; // ready for the next context
      if (v === undefined || v === null) continue;
      let a = reads[i];
      for (; a >= 0x80; a >>>= 7) buf[n++] = (a & 0x7f) | 0x80;
      buf[n++] = a;
      this.n = n;
      if (typeof v === "string") {
        buf[this.n++] = TAG_STRING;
        this.string(v);
      } else this.value("", v);
      n = this.n;
    }
    return n;
  }

  /** Writes v, the value of attribute name (list: v is an item of a list). */
  value(name, v, list = false) {
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
    if (v === null) return this.byte(TAG_NULL);
    if (!Array.isArray(v)) throw new EdgeflagError("INVALID_CONTEXT", `attribute ${name}: unsupported value type ${typeof v}`);
    if (list) throw new EdgeflagError("INVALID_CONTEXT", `attribute ${name}: nested list`);
    this.byte(TAG_LIST);
    this.uvarint(v.length);
    for (const item of v) this.value(name, item, true);
  }

  string(s) {
    // UTF-8 needs at most 3 bytes per UTF-16 unit; the length prefix at most 5 bytes.
    const len = s.length;
    this.reserve(5 + 3 * len);
    if (len < 32) {
      // One pass for ASCII, the common case; anything else is written again below.
      const buf = this.buf;
      const at = this.n + 1;
      let or = 0;
      for (let i = 0; i < len; i++) {
        const c = s.charCodeAt(i);
        or |= c;
        buf[at + i] = c;
      }
      if (or < 0x80) {
        buf[this.n] = len;
        this.n = at + len;
        return;
      }
    }
    const { written } = this.utf8.encodeInto(s, this.scratch); // faster than a loop for longer strings
    this.uvarint(written);
    this.buf.copyWithin(this.n, this.half, this.half + written);
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
    if (this.n + k <= this.half) return;
    let size = this.buf.length * 2;
    while (size / 2 < this.n + k) size *= 2;
    this.grow(new Uint8Array(size));
  }
}

/**
 * Whether encode() takes ctx and the module the encoding, checked without encoding: an
 * object (null, undefined: {}; not an array or bytes) of ≤ 1024 attributes with non-empty
 * names, whose values are strings, finite numbers, booleans, null, undefined or arrays of
 * those (≤ 4096 items), and whose size is below the limit by an upper bound. It puts the
 * value of an attribute named in slots (names, or a Map name → k) in values[k].
 */
function validContext(ctx, slots, values) {
  if (ctx === undefined || ctx === null) return true;
  if (typeof ctx !== "object" || Array.isArray(ctx) || ctx instanceof Uint8Array) return false;
  const names = Object.keys(ctx);
  if (names.length > 1024) return false;
  let size = 6;
  let items = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const v = ctx[name];
    if (name.length === 0) return false;
    size += 5 + 3 * name.length;
    if (slots !== null && Array.isArray(slots)) {
      for (let k = 0; k < slots.length; k++) if (slots[k] === name) values[k] = v;
    } else if (slots !== null) {
      const k = slots.get(name);
      if (k !== undefined) values[k] = v;
    }
    if (!Array.isArray(v)) size += scalarSize(v);
    else if ((items += v.length) > 4096) return false;
    else {
      size += 6; // the list's tag and count
      for (const item of v) size += scalarSize(item);
    }
    if (!(size > 0)) return false; // NaN: not a scalar
  }
  return size <= MAX_CONTEXT_SIZE;
}

/** An upper bound of the encoded size of a scalar context value; NaN when it is not one. */
function scalarSize(v) {
  if (typeof v === "string") return 6 + 3 * v.length;
  if (typeof v === "number") return v - v === 0 ? 9 : NaN; // not NaN or ±Infinity
  return typeof v === "boolean" || v === undefined || v === null ? 1 : NaN;
}

const READS_BUFFER = 2 * (MAX_CONTEXT_SIZE + 64); // the encoding and as much string scratch

function deepFreeze(v) {
  if (typeof v === "object" && v !== null) for (const x of Object.values(v)) deepFreeze(x);
  return Object.freeze(v); // a primitive as it is
}

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
    this.mem = new Uint8Array(0);
    this.flagTable = null; // the flags of the snapshot loaded, read by resolve
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
    this.flagTable = null;
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
   * Makes context (an object; null and undefined are {}) the one the module evaluates;
   * throws an EdgeflagError (INVALID_CONTEXT) when it cannot be encoded. A context the
   * module refuses makes the evaluations that follow errors.
   */
  setContext(context) {
    const b = this.encoder.encode(context ?? {});
    // Over the limit, the module answers INVALID_CONTEXT from the length alone.
    const c = b.length > MAX_CONTEXT_SIZE ? b.subarray(0, MAX_CONTEXT_SIZE + 1) : b;
    this.input([c], c.length);
    this.exports.edgeflag_context(c.length);
  }

  /**
   * Evaluates one flag and returns the result as JSON text: the bytes every edgeflag
   * runtime returns for the same snapshot, context and time. at: Unix milliseconds.
   */
  evaluateJSON(key, context, at = Date.now(), { stale = false } = {}) {
    this.setContext(context);
    const { written } = this.utf8.encodeInto(key, this.keyBuf);
    const k = this.keyBuf.subarray(0, Math.min(written, MAX_KEY_SIZE + 1));
    this.input([k], k.length);
    const f = this.outputBytes(this.exports.edgeflag_evaluate(k.length, BigInt(Math.trunc(at)), stale ? FLAG_STALE : 0));
    return this.decoder.decode(f[0] === 0 ? f.subarray(5, this.resultsEnd(f)) : f);
  }

  /** Evaluates every flag; returns the JSON text {"flags":[...]} or an error object. */
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

  /**
   * One flag for an SDK (OpenFeature): {value, variant, reason} or {reason: "ERROR",
   * errorCode, errorMessage}, frozen, as evaluateJSON() gives them, parsed (its EdgeflagError
   * becomes the error), never thrown. Only the attributes the flag reads cross into the module; a
   * flag that reads none and not the time is evaluated once per snapshot. The others are
   * checked (validContext); a context that fails takes evaluateJSON()'s path (docs/edge.md).
   */
  resolve(key, context, at = Date.now(), opts = undefined) {
    const f = (this.flagTable ?? this.readFlags()).get(key);
    if (f === undefined || !(Math.abs(at) < 2 ** 53)) return this.resolveFull(key, context, at, opts);
    if (!validContext(context, f.slots, f.values)) {
      f.values.fill(undefined);
      return this.resolveFull(key, context, at, opts);
    }
    let code = f.code;
    if (code === undefined) {
      const n = this.readsEncoder().encodeReads(f.values, f.reads);
      code = this.exports.edgeflag_resolve(f.index, n, Math.trunc(at));
      if (code === 0) return this.resolveFull(key, context, at, opts);
      if (f.constant) f.code = code;
    }
    if (opts?.stale) code = (code & ~7) | 6;
    return f.results[code] ?? this.resolved(f, code);
  }

  /** An encoder that writes straight into the module's input buffer (while it stays there). */
  readsEncoder() {
    const e = this.readsEnc;
    if (e?.buf.byteLength && e.buf.byteOffset === this.inPtr && this.inCap >= READS_BUFFER) return e;
    this.input([], READS_BUFFER);
    return (this.readsEnc = new ContextEncoder(new Uint8Array(this.exports.memory.buffer, this.inPtr, READS_BUFFER)));
  }

  resolved(f, code) {
    const v = code >>> 3;
    f.parsed[v] ??= deepFreeze(JSON.parse(f.variants[2 * v + 1]));
    return (f.results[code] = Object.freeze({ value: f.parsed[v], variant: f.variants[2 * v], reason: REASONS[code & 7] }));
  }

  /** resolve by evaluateJSON(): for errors, unknown flags and contexts resolve does not check. */
  resolveFull(key, context, at, opts) {
    let r;
    try {
      r = JSON.parse(this.evaluateJSON(key, context, at, opts));
    } catch (err) {
      if (!(err instanceof EdgeflagError)) throw err;
      r = { reason: "ERROR", errorCode: err.code, errorMessage: err.detail };
    }
    const { value, variant, reason, errorCode, errorMessage } = r;
    return Object.freeze(reason === "ERROR" ? { reason, errorCode, errorMessage } : { value: deepFreeze(value), variant, reason });
  }

  /**
   * Reads the flags frame (protocol/resolve.go) into a Map key → flag. Left to the full
   * path: a flag reading an attribute whose name has U+FFFD (what a name that is not
   * well-formed UTF-16 becomes in the module), a key over MAX_KEY_SIZE bytes.
   */
  readFlags() {
    const f = this.outputBytes(this.exports.edgeflag_flags());
    const r = new FrameReader(f, 0, this.decoder);
    const names = [];
    // Internalized, as Object.keys gives them, for fast comparisons.
    const internal = (s) => Object.keys({ [s]: 0 })[0];
    for (let n = r.uvarint(); n > 0; n--) names.push(internal(r.str()));
    this.flagTable = new Map();
    for (let index = 0, n = r.uvarint(); index < n; index++) {
      const key = internal(r.str());
      const time = f[r.off++] === 1;
      const variants = [];
      for (let k = r.uvarint(); k > 0; k--) variants.push(r.str(), r.str());
      const reads = [];
      for (let k = r.uvarint(); k > 0; k--) {
        const a = r.uvarint();
        reads.push(a, names[a]);
      }
      const long = key.length > MAX_KEY_SIZE / 3 && this.utf8.encode(key).length > MAX_KEY_SIZE; // FLAG_NOT_FOUND
      if (!long && !reads.some((x) => typeof x === "string" && x.includes("\ufffd"))) {
        // validContext collects the values: attributes are own enumerable properties.
        const names = reads.filter((x, i) => i % 2);
        const slots = names.length === 0 ? null : names.length <= 8 ? names : new Map(names.map((name, k) => [name, k]));
        const values = new Array(reads.length / 2);
        this.flagTable.set(key, { index, variants, reads, slots, values, constant: !time && !slots, code: undefined, parsed: [], results: [] });
      }
    }
    return this.flagTable;
  }
}
