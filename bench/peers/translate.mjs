// Translates compiled edgeflag flags (the JSON of `edgeflag inspect --json`) into the flag
// definitions of the SDKs edgeflag is compared with: LaunchDarkly (server-side flag and
// segment JSON, as its test data source and file data source take them), flagd (a flag
// configuration for flagd-core, JSONLogic targeting) and Unleash (client API features and
// segments, as the Node client's bootstrap takes them).
//
// Only what every one of them can express exactly is translated: boolean flags with the
// variants on/off; a fixed or percentage rollout; rules that serve a plain variant; the
// rings of a release whose condition is one clause or a segment, or a percentage; and
// clauses with the operators in, equals, contains, startsWith, endsWith and semverLt/Gt
// (case-sensitive). Anything else is an error naming the flag and what is not supported.
//
//   node bench/peers/translate.mjs <inspect.json> <dir>   writes <dir>/{launchdarkly,flagd,unleash}.json

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** An edgeflag construct the peers cannot express the same way. */
export class UnsupportedError extends Error {}

const LD_OPS = { in: "in", equals: "in", contains: "contains", startsWith: "startsWith", endsWith: "endsWith", semverLt: "semVerLessThan", semverGt: "semVerGreaterThan" };
const UNLEASH_OPS = { in: "IN", equals: "IN", contains: "STR_CONTAINS", startsWith: "STR_STARTS_WITH", endsWith: "STR_ENDS_WITH", semverLt: "SEMVER_LT", semverGt: "SEMVER_GT" };

/** A clause of the compiled snapshot: {attribute, op, values[]}, checked. */
function clause(where, c) {
  if (!c || typeof c.attribute !== "string") throw new UnsupportedError(`${where}: only single clauses and segments are supported, got ${JSON.stringify(c)}`);
  if (!(c.op in LD_OPS)) throw new UnsupportedError(`${where}: operator ${c.op} is not supported`);
  if (c.ignoreCase) throw new UnsupportedError(`${where}: ignoreCase is not supported (flagd has no case folding)`);
  const values = c.values ?? [c.value];
  for (const v of values) {
    if (typeof v !== "string" && typeof v !== "boolean") throw new UnsupportedError(`${where}: value ${JSON.stringify(v)}: only strings and booleans are supported`);
  }
  if (c.op.startsWith("semver") && values.length !== 1) throw new UnsupportedError(`${where}: ${c.op} with several values`);
  return { attribute: c.attribute, op: c.op, values };
}

/**
 * Reads one flag into the decision list every SDK is generated from: an ordered list of
 * {name, when, variant} steps, where when is a clause, {segment}, or null (everyone),
 * and percentage (0..100, of users bucketed by bucketBy) is set on the last step only.
 */
function decisions(f, segments) {
  const where = `flag ${f.key}`;
  if (f.type !== "boolean") throw new UnsupportedError(`${where}: only boolean flags are supported`);
  const names = f.variants.map((v) => v.name).join(",");
  if (names !== "on,off" || f.variants[0].value !== true || f.variants[1].value !== false) {
    throw new UnsupportedError(`${where}: only the variants on: true, off: false are supported`);
  }
  if (!f.enabled || f.killed) throw new UnsupportedError(`${where}: disabled or killed flags are not supported`);
  for (const k of ["prerequisites", "schedule"]) if (f[k]) throw new UnsupportedError(`${where}: ${k} is not supported`);
  const cond = (w, when) => {
    if (when === undefined || when === null) return null;
    if (when.segment !== undefined) {
      if (!segments.has(when.segment)) throw new UnsupportedError(`${w}: unknown segment ${when.segment}`);
      return { segment: when.segment };
    }
    return clause(w, when);
  };
  const steps = [];
  for (const r of f.rules ?? []) {
    const s = r.serve ?? {};
    if (typeof s.variant !== "string" || s.percentage !== undefined || s.split || s.schedule) {
      throw new UnsupportedError(`${where}, rule ${r.name}: only rules serving a plain variant are supported`);
    }
    steps.push({ name: r.name, when: cond(`${where}, rule ${r.name}`, r.when), variant: s.variant });
  }
  let tail = null; // the percentage step that ends the list, if any
  if (f.release) {
    for (const ring of f.rings ?? []) {
      if (!ring.released) continue;
      const w = `${where}, ring ${ring.name}`;
      if (ring.schedule) throw new UnsupportedError(`${w}: schedules are not supported`);
      if (ring.when !== undefined && ring.percentage !== undefined) throw new UnsupportedError(`${w}: a condition and a percentage together are not supported`);
      if (tail) throw new UnsupportedError(`${w}: only the last released ring may be a percentage`);
      if (ring.percentage !== undefined) tail = { name: ring.name, variant: f.release.variant, percentage: ring.percentage };
      else steps.push({ name: ring.name, when: cond(w, ring.when), variant: f.release.variant });
    }
  }
  const ro = f.rollout ?? { variant: f.defaultVariant };
  if (ro.split || ro.schedule) throw new UnsupportedError(`${where}: rollout: only a variant or a percentage is supported`);
  if (tail && ro.variant !== f.defaultVariant) throw new UnsupportedError(`${where}: a percentage ring followed by a rollout is not supported`);
  if (!tail && ro.percentage !== undefined) tail = { name: "rollout", variant: ro.variant, percentage: ro.percentage };
  const fallback = tail ? f.defaultVariant : ro.variant;
  if (tail && tail.variant === fallback) tail = null;
  if (tail && f.bucketBy !== "userId") throw new UnsupportedError(`${where}: only bucketBy userId is supported`);
  return { key: f.key, steps, tail, fallback };
}

/** The flags of an `edgeflag inspect --json` document as decision lists, and its segments. */
export function readSnapshot(inspected) {
  const segments = new Map();
  for (const s of inspected.segments ?? []) segments.set(s.key, clause(`segment ${s.key}`, s.when));
  return { segments, flags: inspected.flags.map((f) => decisions(f, segments)) };
}

const VARIATION = { on: 0, off: 1 };

function launchDarkly({ segments, flags }) {
  const ldClause = (c) =>
    c.segment !== undefined
      ? { contextKind: "user", attribute: "", op: "segmentMatch", values: [c.segment], negate: false }
      : { contextKind: "user", attribute: c.attribute, op: LD_OPS[c.op], values: c.values, negate: false };
  const out = { flags: {}, segments: {} };
  for (const [key, c] of segments) {
    out.segments[key] = { key, version: 1, salt: key, included: [], excluded: [], rules: [{ id: "when", clauses: [ldClause(c)] }] };
  }
  for (const f of flags) {
    const rules = [];
    for (const s of f.steps) {
      if (s.when === null) throw new UnsupportedError(`flag ${f.key}, ${s.name}: a step without a condition before the end`);
      rules.push({ id: s.name, clauses: [ldClause(s.when)], variation: VARIATION[s.variant], trackEvents: false });
    }
    const fallthrough = f.tail
      ? {
          rollout: {
            bucketBy: "userId",
            variations: [
              { variation: VARIATION[f.tail.variant], weight: Math.round(f.tail.percentage * 1000) },
              { variation: VARIATION[f.fallback], weight: 100000 - Math.round(f.tail.percentage * 1000) },
            ],
          },
        }
      : { variation: VARIATION[f.fallback] };
    out.flags[f.key] = {
      key: f.key, version: 1, on: true, salt: f.key, variations: [true, false], offVariation: VARIATION.off,
      targets: [], contextTargets: [], prerequisites: [], rules, fallthrough, trackEvents: false, trackEventsFallthrough: false,
    };
  }
  return out;
}

function flagd({ segments, flags }) {
  const logic = (c) => {
    if (c.segment !== undefined) return { $ref: c.segment };
    const v = { var: c.attribute };
    switch (c.op) {
      case "in":
      case "equals":
        return c.values.length === 1 ? { "===": [v, c.values[0]] } : { in: [v, c.values] };
      case "contains":
        return anyOf(c.values.map((x) => ({ in: [x, v] })));
      case "startsWith":
        return anyOf(c.values.map((x) => ({ starts_with: [v, x] })));
      case "endsWith":
        return anyOf(c.values.map((x) => ({ ends_with: [v, x] })));
      case "semverLt":
        return { sem_ver: [v, "<", c.values[0]] };
      case "semverGt":
        return { sem_ver: [v, ">", c.values[0]] };
    }
    throw new UnsupportedError(`operator ${c.op}`);
  };
  const anyOf = (xs) => (xs.length === 1 ? xs[0] : { or: xs });
  const out = { flags: {}, $evaluators: {} };
  for (const [key, c] of segments) out.$evaluators[key] = logic(c);
  for (const f of flags) {
    const def = { state: "ENABLED", variants: { on: true, off: false }, defaultVariant: f.fallback };
    const tail = f.tail
      ? { fractional: [{ cat: [{ var: "$flagd.flagKey" }, { var: "userId" }] }, [f.tail.variant, f.tail.percentage], [f.fallback, 100 - f.tail.percentage]] }
      : f.fallback;
    if (f.steps.length > 0 || f.tail) {
      const branches = [];
      for (const s of f.steps) branches.push(logic(s.when), s.variant);
      def.targeting = branches.length ? { if: [...branches, tail] } : tail;
    }
    out.flags[f.key] = def;
  }
  return out;
}

function unleash({ segments, flags }) {
  // Unleash answers whether a toggle is enabled: a strategy that matches enables it, in
  // any order. An ordered list of steps becomes one strategy per step serving on, each
  // with the negations of the earlier steps serving off as constraints.
  const segmentIDs = new Map([...segments.keys()].map((k, i) => [k, i + 1]));
  const constraint = (c, inverted) => {
    const u = { contextName: c.attribute, operator: UNLEASH_OPS[c.op], inverted, caseInsensitive: false };
    if (c.op.startsWith("semver")) u.value = c.values[0];
    else u.values = c.values.map(String);
    return u;
  };
  const out = { features: [], segments: [] };
  for (const [key, c] of segments) out.segments.push({ id: segmentIDs.get(key), name: key, constraints: [constraint(c, false)] });
  for (const f of flags) {
    const strategies = [];
    const offBefore = [];
    const add = (name, parameters, when) => {
      const s = { name, parameters, constraints: offBefore.map((c) => constraint(c, true)), segments: [] };
      if (when?.segment !== undefined) s.segments.push(segmentIDs.get(when.segment));
      else if (when) s.constraints.push(constraint(when, false));
      strategies.push(s);
    };
    for (const s of f.steps) {
      if (s.variant === "on") add("default", {}, s.when);
      else if (s.when.segment !== undefined) throw new UnsupportedError(`flag ${f.key}, ${s.name}: a segment serving off cannot be negated in Unleash`);
      else offBefore.push(s.when);
    }
    if (f.tail && f.tail.variant === "on") {
      add("flexibleRollout", { rollout: String(f.tail.percentage), stickiness: "userId", groupId: f.key }, null);
    } else if (f.tail) {
      throw new UnsupportedError(`flag ${f.key}: a percentage serving off is not supported for Unleash`);
    }
    if (f.fallback === "on") add("default", {}, null);
    out.features.push({ name: f.key, type: "release", enabled: true, stale: false, impressionData: false, project: "default", strategies, variants: [] });
  }
  return out;
}

/** The definitions of every SDK for an `edgeflag inspect --json` document. */
export function translate(inspected) {
  const s = readSnapshot(inspected);
  return { launchdarkly: launchDarkly(s), flagd: flagd(s), unleash: unleash(s) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [input, dir] = process.argv.slice(2);
  if (!input || !dir) {
    console.error("usage: node translate.mjs <inspect.json> <dir>");
    process.exit(2);
  }
  const defs = translate(JSON.parse(readFileSync(input, "utf8")));
  for (const [name, def] of Object.entries(defs)) writeFileSync(join(dir, `${name}.json`), JSON.stringify(def, null, 2) + "\n");
}
