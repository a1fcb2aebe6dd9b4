// Differential check of Evaluator.resolve against Evaluator.evaluateJSON (the results' JSON) in
// Node.js, with the module that EDGEFLAG_WASM names. Reads one JSON request on stdin:
// {snapshots: [base64, ...], contexts: [{...}], ats: [ms], keys: [flag key]}; loads each
// snapshot in turn and, for every context (and variants of it that evaluateJSON() refuses or
// resolve() does not check itself) and key, requires the same value, variant, reason and
// error code. Answers {compared, fast, mismatches: [...]} on stdout.
import { readFileSync } from "node:fs";
import { instantiate } from "../../../edge/lambda-edge/index.mjs";
import { EdgeflagError, Evaluator } from "../../../sdk/js/evaluator.mjs";

const req = JSON.parse(readFileSync(0, "utf8"));
const ev = await instantiate(readFileSync(process.env.EDGEFLAG_WASM), Evaluator);

// Counts the answers resolve() could not give itself.
let full = 0;
const resolveFull = ev.resolveFull.bind(ev);
ev.resolveFull = (...args) => {
  full++;
  return resolveFull(...args);
};

const outcome = (f) => {
  try {
    const r = f();
    return JSON.stringify(r.reason === "ERROR" ? [r.reason, r.errorCode] : [r.value, r.variant, r.reason]);
  } catch (err) {
    return err instanceof EdgeflagError ? JSON.stringify(["ERROR", err.code]) : `throws ${err.name}`;
  }
};

let compared = 0;
const mismatches = [];
function compare(key, ctx, at, opts, what) {
  // Both orders: resolve() must not depend on the context evaluateJSON() left in the module.
  const first = compared % 2 === 0;
  const got1 = first ? outcome(() => ev.resolve(key, ctx, at, opts)) : null;
  const want = outcome(() => JSON.parse(ev.evaluateJSON(key, ctx, at, opts)));
  const got = first ? got1 : outcome(() => ev.resolve(key, ctx, at, opts));
  compared++;
  if (got !== want && mismatches.length < 20) mismatches.push({ what, key, at, context: typeof ctx === "object" && ctx !== null ? Object.keys(ctx).slice(0, 12).map((k) => [k, String(ctx[k])]) : String(ctx), resolve: got, evaluate: want });
}

/** Variants of a context that evaluateJSON() refuses, or that resolve() leaves to it. */
function oddContexts(ctx) {
  class WithGetter {
    get country() {
      return "DE";
    }
  }
  const hidden = { ...ctx };
  Object.defineProperty(hidden, "country", { value: "DE", enumerable: false });
  const instance = new WithGetter(); // country: inherited, not an attribute
  for (const [k, v] of Object.entries(ctx)) if (k !== "country") instance[k] = v;
  const many = { ...ctx };
  for (let i = 0; i < 1030; i++) many[`a${i}`] = i;
  return {
    function: { ...ctx, extra: () => 1 },
    symbol: { ...ctx, extra: Symbol("x") },
    bigint: { ...ctx, extra: 10n },
    date: { ...ctx, extra: new Date(0) },
    object: { ...ctx, extra: { a: 1 } },
    nested: { ...ctx, extra: [1, [2]] },
    nan: { ...ctx, extra: NaN },
    infinity: { ...ctx, extra: [1, -Infinity] },
    emptyName: { ...ctx, "": "x" },
    undefinedValue: { ...ctx, extra: undefined, userId: undefined },
    nullValue: { ...ctx, userId: null },
    tooMany: many,
    listItems: { ...ctx, extra: new Array(4097).fill("x") },
    tooLarge: { ...ctx, extra: "x".repeat(70000) },
    nearLimit: { ...ctx, extra: "y".repeat(21000) },
    loneSurrogates: { ...ctx, "\ud800": "x", userId: `\udc00${ctx.userId ?? ""}` },
    prototypeNames: JSON.parse(`{"__proto__": "p", "constructor": "c", "toString": "t"}`),
    inherited: Object.assign(Object.create({ country: "DE", userId: "inherited" }), ctx),
    nullPrototype: Object.assign(Object.create(null), ctx),
    nonEnumerable: hidden,
    classInstance: instance,
    array: [ctx],
    json: JSON.stringify(ctx),
    badJSON: "{",
    bytes: new Uint8Array([0xec, 0]),
    number: 5,
    null: null,
    undefined,
  };
}

for (const snap of req.snapshots) {
  ev.load(new Uint8Array(Buffer.from(snap, "base64")));
  req.contexts.forEach((ctx, i) => {
    const at = req.ats[i];
    for (const key of req.keys) {
      compare(key, ctx, at, undefined, "generated");
      if (i % 10 === 0) compare(key, ctx, at, { stale: true }, "stale");
    }
    if (i % 25 === 0) {
      for (const [what, odd] of Object.entries(oddContexts(ctx))) {
        for (const key of req.keys) compare(key, odd, at, undefined, what);
      }
      for (const badAt of [NaN, Infinity, 2 ** 60, "1790000000000", at + 0.5]) compare(req.keys[0], ctx, badAt, undefined, `at ${String(badAt)}`);
    }
  });
}
process.stdout.write(JSON.stringify({ compared, fast: compared - full, mismatches }) + "\n");
