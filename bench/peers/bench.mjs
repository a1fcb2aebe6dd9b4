// edgeflag's module against the SDKs users would run at the edge instead, in one Node.js
// process, on the three flags of bench/peers/flags and 1,024 contexts (`make bench-peers`,
// docs/benchmarks.md).
//
//   node bench/peers/bench.mjs --wasm bin/edgeflag.wasm --snapshot out/bench-peers/production.snap \
//        --flags out/bench-peers/flags.json [--check] [--runs 5] [--ms 250]
//
// --flags is `edgeflag inspect --json` of the snapshot: the definitions of the other SDKs
// are generated from it (translate.mjs). Every run first cross-checks the answers (below);
// --check stops there. Then each SDK evaluates, for each column, one flag per call for the
// next of the 1,024 contexts in turn (the "all three" column: the three flags for one
// context), --ms milliseconds per measurement after a warm-up, --runs times with the SDKs
// interleaved; the table gives the median ns per call and the spread of the runs.
//
// The cross-check: for every context, the static flag and every answer that edgeflag
// decides by a rule or a ring with a condition (reason TARGETING_MATCH) must be the same in
// every SDK; answers decided by a percentage (each SDK buckets users its own way) must give
// each SDK a share of "on" within four standard deviations of the percentage. all() must
// agree with one() in every SDK.

import { parseArgs } from "node:util";
import { CONTEXTS, FLAG_KEYS, SDKS, makeContexts, readInput } from "./sdks.mjs";

const PERCENT = { "rollout-5": 5, targeted: 25 };

/** Runs the cross-check; returns the list of problems (empty: the SDKs agree) and a summary. */
export async function crossCheck(sdks, edge) {
  const problems = [];
  const lines = [];
  const ref = []; // ref[i][key] = edgeflag's details
  for (let i = 0; i < CONTEXTS; i++) {
    const row = {};
    for (const key of FLAG_KEYS) {
      const d = edge.details(key, i);
      if (d.errorCode) problems.push(`edgeflag: ${key} for context ${i}: ${d.errorCode} ${d.errorMessage}`);
      row[key] = d;
    }
    ref.push(row);
  }
  for (const sdk of sdks) {
    let exact = 0;
    const split = { "rollout-5": [0, 0], targeted: [0, 0] }; // [on, of]
    for (let i = 0; i < CONTEXTS; i++) {
      const values = [];
      for (const key of FLAG_KEYS) {
        const v = await sdk.one(key, i);
        values.push(v);
        if (typeof v !== "boolean") {
          problems.push(`${sdk.name}: ${key} for context ${i}: not a boolean: ${JSON.stringify(v)}`);
          continue;
        }
        const want = ref[i][key];
        if (key === "static" || want.reason === "TARGETING_MATCH") {
          exact++;
          if (v !== want.value) problems.push(`${sdk.name}: ${key} for context ${i}: ${v}, edgeflag ${want.value} (${want.reason})`);
        } else {
          split[key][0] += v ? 1 : 0;
          split[key][1]++;
        }
      }
      const all = await sdk.all(i);
      if (JSON.stringify(all) !== JSON.stringify(values)) problems.push(`${sdk.name}: context ${i}: all() ${JSON.stringify(all)}, one() ${JSON.stringify(values)}`);
    }
    const shares = [];
    for (const [key, [on, of]] of Object.entries(split)) {
      const p = PERCENT[key] / 100;
      const tolerance = 4 * Math.sqrt(of * p * (1 - p));
      shares.push(`${key} ${on}/${of} on (${((100 * on) / of).toFixed(1)}%, want ${PERCENT[key]}%)`);
      if (Math.abs(on - of * p) > tolerance) problems.push(`${sdk.name}: ${key}: ${on} of ${of} bucketed users on, want ${PERCENT[key]}% ± ${((100 * tolerance) / of).toFixed(1)}%`);
    }
    lines.push(`${sdk.name}: ${exact} exact answers; ${shares.join("; ")}`);
  }
  return { problems, lines };
}

async function time(call, n, start) {
  let i = start;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    sink ^= (await call(i)) ? 1 : 0;
    i = (i + 1) % CONTEXTS;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, sink };
}

function timeSync(call, n, start) {
  let i = start;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < n; k++) {
    sink ^= call(i) ? 1 : 0;
    i = (i + 1) % CONTEXTS;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { ns, sink };
}

/** Times call(i) over about ms milliseconds; returns ns per call. */
async function measure(call, ms, iterations) {
  const isAsync = call(0) instanceof Promise;
  const run = (n) => (isAsync ? time(call, n, 0) : timeSync(call, n, 0));
  let n = iterations.get(call);
  if (!n) {
    // Calibrate: double until a measurement takes a tenth of the budget.
    n = 64;
    for (;;) {
      const { ns } = await run(n);
      if (ns > ms * 1e5) {
        n = Math.max(1, Math.round((n * ms * 1e6) / ns));
        break;
      }
      n *= 2;
    }
    iterations.set(call, n);
  }
  const { ns } = await run(n);
  return ns / n;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const fmt = (ns) => Math.round(ns).toLocaleString("en-US");

async function main() {
  const { values: args } = parseArgs({
    options: {
      wasm: { type: "string" },
      snapshot: { type: "string" },
      flags: { type: "string" },
      check: { type: "boolean", default: false },
      runs: { type: "string", default: "5" },
      ms: { type: "string", default: "250" },
    },
  });
  for (const k of ["wasm", "snapshot", "flags"]) {
    if (!args[k]) throw new Error(`--${k} is required (see the comment at the top of bench.mjs)`);
  }
  const runs = Number(args.runs);
  const ms = Number(args.ms);
  if (!(runs >= 1 && Number.isInteger(runs)) || !(ms > 0)) throw new Error("--runs must be a positive integer and --ms a positive number");
  const input = await readInput(args);
  const contexts = makeContexts();
  const sdks = [];
  for (const create of Object.values(SDKS)) sdks.push(await create(input, contexts));
  const [edge, ...peers] = sdks;

  const { problems, lines } = await crossCheck(sdks, edge);
  for (const l of lines) console.log(`cross-check: ${l}`);
  if (problems.length) {
    for (const p of problems.slice(0, 20)) console.error(`cross-check: ${p}`);
    if (problems.length > 20) console.error(`cross-check: ... ${problems.length - 20} more`);
    throw new Error(`the SDKs disagree (${problems.length} problems)`);
  }
  console.log(`cross-check: ${peers.length} SDKs agree with edgeflag on ${CONTEXTS} contexts`);

  if (!args.check) {
    const columns = [
      ...FLAG_KEYS.map((key) => ({ name: key, call: (sdk) => (i) => sdk.one(key, i) })),
      { name: "all three", call: (sdk) => (i) => sdk.all(i) },
    ];
    const calls = sdks.map((sdk) => columns.map((c) => c.call(sdk)));
    const iterations = new Map();
    const results = sdks.map(() => columns.map(() => []));
    // Warm up: every call for a tenth of a measurement's budget, three times.
    for (let w = 0; w < 3; w++) for (const row of calls) for (const call of row) await measure(call, ms / 10, new Map());
    for (let r = 0; r < runs; r++) {
      for (let c = 0; c < columns.length; c++) {
        for (let k = 0; k < sdks.length; k++) {
          const s = (k + r) % sdks.length; // rotate the order between runs
          results[s][c].push(await measure(calls[s][c], ms, iterations));
        }
      }
    }
    console.log(`\nns per call, median of ${runs} runs (min–max); ${CONTEXTS} contexts, one flag per call ("all three": the three flags for one context)`);
    console.log(`Node.js ${process.versions.node}, V8 ${process.versions.v8}\n`);
    console.log(`| | ${columns.map((c) => c.name).join(" | ")} |`);
    console.log(`|---|${columns.map(() => "---").join("|")}|`);
    for (let s = 0; s < sdks.length; s++) {
      const cells = results[s].map((xs) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`);
      console.log(`| ${sdks[s].name} ${sdks[s].version} | ${cells.join(" | ")} |`);
    }
  }
  for (const sdk of sdks) await sdk.close?.();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`bench-peers: ${err.message}`);
    process.exit(1);
  },
);
