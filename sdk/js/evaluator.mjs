// edgeflag for JavaScript applications: flags evaluated in process by the edgeflag WASM
// module, SDK-style. Evaluator extends the edges' calling convention (edge/shared/edgeflag.mjs)
// with contexts of any attribute type, one flag's result as JSON (evaluateJSON) and resolve(),
// which hands the module only the attributes a flag reads. The edges do not use this file.
import { EdgeflagError, Evaluator as ModuleEvaluator, FLAG_STALE, FrameReader, MAX_CONTEXT_SIZE } from "../../edge/shared/edgeflag.mjs";
import { instantiateWithShim } from "../../edge/shared/wasi.mjs";

export { EdgeflagError };
export { SnapshotPoller } from "../../edge/shared/poller.mjs";

export const MAX_KEY_SIZE = 256;

// Binary context encoding (package protocol).
const MARKER = 0xec;
const TAG_NULL = 0;
const TAG_STRING = 1;
const TAG_NUMBER = 2;
const TAG_FALSE = 3;
const TAG_TRUE = 4;
const TAG_LIST = 5;
// edgeflag_resolve's reason codes (protocol.ReasonCodes); 6, STALE, is set here.
const REASONS = [undefined, "STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT", "STALE"];

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

/**
 * Evaluator drives one instance of the module for an application: every method of the edges'
 * Evaluator (load, ofrep, evaluateAllJSON, variants), with contexts that are objects of
 * strings, finite numbers, booleans, null, undefined (unset) and arrays of those (null and
 * undefined are {}; one it cannot encode is an EdgeflagError with code INVALID_CONTEXT).
 */
export class Evaluator extends ModuleEvaluator {
  /** instance: a WebAssembly.Instance whose _initialize has run. */
  constructor(instance) {
    super(instance);
    this.encoder = new ContextEncoder();
    this.keyBuf = new Uint8Array(MAX_KEY_SIZE * 3 + 1);
    this.flagTable = null; // the flags of the snapshot loaded, read by resolve
  }

  /**
   * Instantiates the module (its bytes, or a compiled WebAssembly.Module) with the WASI shim of
   * edge/shared/wasi.mjs, which any runtime with WebAssembly and WebCrypto offers, and returns
   * an Evaluator with no snapshot loaded.
   */
  static async create(wasm) {
    return new this(instantiateWithShim(wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm)));
  }

  load(bytes, verified = false) {
    const info = super.load(bytes, verified);
    this.flagTable = null;
    return info;
  }

  /**
   * Makes context (an object; null and undefined are {}) the one the module evaluates;
   * throws an EdgeflagError (INVALID_CONTEXT) when it cannot be encoded. A context the
   * module refuses makes the evaluations that follow errors.
   */
  setContext(context) {
    this.setContextBytes(this.encoder.encode(context ?? {}));
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
