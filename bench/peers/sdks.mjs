// The four SDKs of the comparison behind one interface, and the contexts they are given.
//
// Each SDK's create(input) returns {name, version, one(key, i), all(i)}: one evaluates
// flag key for context i and returns its boolean value (or a promise of it: LaunchDarkly's
// variation is asynchronous); all evaluates every flag of the comparison for context i
// and returns the values in FLAG_KEYS order. Contexts are built ahead in each SDK's own
// shape, so that what is timed is the SDK's work on a context it has not seen before.
//
// input: {wasm: module bytes, snapshot: snapshot bytes, defs: translate() output}.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { instantiate } from "../../edge/lambda-edge/index.mjs";
import { Evaluator } from "../../sdk/js/evaluator.mjs";

const require = createRequire(import.meta.url);

/** The flags of bench/peers/flags, in the order all() returns them. */
export const FLAG_KEYS = ["static", "rollout-5", "targeted"];

/** How many contexts the comparison cycles through. */
export const CONTEXTS = 1024;

/** The evaluation time given to edgeflag (the flags have no schedule: any time will do). */
const AT = Date.UTC(2026, 11, 1);

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * n contexts with every attribute the flags read, drawn with a fixed seed: 10% with a
 * company email, about 30% from the EU countries of the rule, 15% on an app version
 * before 2.0.0, 5% bots, 5% in the beta program. Every context has every attribute, so
 * that no SDK's handling of a missing attribute is what is compared.
 */
export function makeContexts(n = CONTEXTS, seed = 20261206) {
  const rnd = mulberry32(seed);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const out = [];
  for (let i = 0; i < n; i++) {
    const id = `user-${String(Math.floor(rnd() * 1e9)).padStart(9, "0")}`;
    out.push({
      userId: id,
      email: `${id}@${rnd() < 0.1 ? "company.com" : pick(["example.com", "mail.example.org", "company.com.example.net"])}`,
      country: rnd() < 0.3 ? pick(["DE", "FR", "NL"]) : pick(["US", "GB", "JP", "BR", "IN", "ES", "IT", "CA"]),
      appVersion: rnd() < 0.15 ? `1.${Math.floor(rnd() * 10)}.${Math.floor(rnd() * 10)}` : `${2 + Math.floor(rnd() * 3)}.${Math.floor(rnd() * 10)}.${Math.floor(rnd() * 10)}`,
      userAgent: rnd() < 0.05 ? "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)" : pick([
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
      ]),
      betaProgram: rnd() < 0.05,
    });
  }
  return out;
}

function version(pkg) {
  // Read from the file: not every package exports its package.json.
  return JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), "utf8")).version;
}

/**
 * edgeflag: the module as the Lambda@Edge function creates it, driven by the
 * Evaluator of sdk/js; evaluated with resolve(), its method for SDK-style use.
 */
async function edgeflag(input, contexts) {
  const evaluator = await instantiate(input.wasm, Evaluator);
  evaluator.load(input.snapshot);
  return {
    name: "edgeflag",
    version: "module via sdk/js",
    one: (key, i) => evaluator.resolve(key, contexts[i], AT).value,
    all: (i) => [evaluator.resolve(FLAG_KEYS[0], contexts[i], AT).value, evaluator.resolve(FLAG_KEYS[1], contexts[i], AT).value, evaluator.resolve(FLAG_KEYS[2], contexts[i], AT).value],
    details: (key, i) => {
      // The cross-check's reference: evaluateJSON() (the results' JSON), which resolve() must match.
      const d = JSON.parse(evaluator.evaluateJSON(key, contexts[i], AT));
      const r = evaluator.resolve(key, contexts[i], AT);
      if (r.value !== d.value || r.variant !== d.variant || r.reason !== d.reason || r.errorCode !== d.errorCode) {
        return { ...d, errorCode: "RESOLVE_MISMATCH", errorMessage: `resolve() ${JSON.stringify(r)}` };
      }
      return d;
    },
  };
}

/** LaunchDarkly's server SDK with its test data source: no network, no events. */
async function launchdarkly(input, contexts) {
  const ld = require("@launchdarkly/node-server-sdk");
  const td = new ld.integrations.TestData();
  for (const s of Object.values(input.defs.launchdarkly.segments)) await td.usePreconfiguredSegment(s);
  for (const f of Object.values(input.defs.launchdarkly.flags)) await td.usePreconfiguredFlag(f);
  const client = ld.init("sdk-key-offline", {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: ld.basicLogger({ level: "warn" }),
  });
  await client.waitForInitialization({ timeout: 10 });
  const ctx = contexts.map((c) => ({ kind: "user", key: c.userId, ...c }));
  return {
    name: "LaunchDarkly node-server-sdk",
    version: version("@launchdarkly/node-server-sdk"),
    one: (key, i) => client.variation(key, ctx[i], false),
    all: async (i) => [await client.variation(FLAG_KEYS[0], ctx[i], false), await client.variation(FLAG_KEYS[1], ctx[i], false), await client.variation(FLAG_KEYS[2], ctx[i], false)],
    close: () => client.close(),
  };
}

/** flagd's in-process core, in the interpreter mode edge runtimes allow (no new Function). */
async function flagd(input, contexts) {
  const { FlagdCore } = await import("@openfeature/flagd-core");
  const logger = { error() {}, warn() {}, info() {}, debug() {} };
  const core = new FlagdCore(undefined, logger, { disableDynamicCodeGeneration: true });
  core.setConfigurations(JSON.stringify(input.defs.flagd));
  const ctx = contexts.map((c) => ({ targetingKey: c.userId, ...c }));
  return {
    name: "flagd-core",
    version: version("@openfeature/flagd-core"),
    one: (key, i) => core.resolveBooleanEvaluation(key, false, ctx[i], logger).value,
    all: (i) => [
      core.resolveBooleanEvaluation(FLAG_KEYS[0], false, ctx[i], logger).value,
      core.resolveBooleanEvaluation(FLAG_KEYS[1], false, ctx[i], logger).value,
      core.resolveBooleanEvaluation(FLAG_KEYS[2], false, ctx[i], logger).value,
    ],
  };
}

/** The Unleash Node client, bootstrapped with the features: no polling, no metrics. */
async function unleash(input, contexts) {
  const { Unleash, InMemStorageProvider } = require("unleash-client");
  const client = new Unleash({
    appName: "edgeflag-bench",
    url: "http://127.0.0.1:9/api/", // never contacted: refreshInterval 0 turns polling off
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: input.defs.unleash.features, segments: input.defs.unleash.segments },
    skipInstanceCountWarning: true,
  });
  client.on("error", (err) => {
    throw err;
  });
  await new Promise((resolve) => client.once("ready", resolve));
  const ctx = contexts.map(({ userId, ...properties }) => ({ userId, properties: { ...properties, betaProgram: String(properties.betaProgram) } }));
  return {
    name: "unleash-client",
    version: version("unleash-client"),
    one: (key, i) => client.isEnabled(key, ctx[i]),
    all: (i) => [client.isEnabled(FLAG_KEYS[0], ctx[i]), client.isEnabled(FLAG_KEYS[1], ctx[i]), client.isEnabled(FLAG_KEYS[2], ctx[i])],
    close: () => client.destroy(),
  };
}

/** The SDKs by name, in the order of the results table. */
export const SDKS = { edgeflag, launchdarkly, flagd, unleash };

/** Reads the inputs of create(): the module, the snapshot and the generated definitions. */
export async function readInput({ wasm, snapshot, flags }) {
  const { translate } = await import("./translate.mjs");
  return {
    wasm: readFileSync(wasm),
    snapshot: new Uint8Array(readFileSync(snapshot)),
    defs: translate(JSON.parse(readFileSync(flags, "utf8"))),
  };
}
