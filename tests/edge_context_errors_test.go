package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// edgeContextScript evaluates one flag in Node.js with the Evaluator of sdk/js for the
// context each case names, and prints {case: JSON result or "throws CODE: message"}.
const edgeContextScript = `
import { readFileSync } from "node:fs";
const { instantiate } = await import(process.env.EDGEFLAG_LAMBDA);
const { Evaluator } = await import(process.env.EDGEFLAG_SDK);
const ev = await instantiate(readFileSync(process.env.EDGEFLAG_WASM), Evaluator);
ev.load(new Uint8Array(readFileSync(process.env.EDGEFLAG_SNAPSHOT)));
const cases = {
  object: { userId: "u1", groups: ["a", 1, true, null] },
  null: null,
  undefined: undefined,
  nestedList: { userId: "u1", groups: [1, [2]] },
  function: { userId: () => 1 },
  nestedObject: { userId: "u1", extra: { a: 1 } },
  listOfObjects: { groups: [{ a: 1 }] },
  bigint: { n: 10n },
  jsonText: JSON.stringify({ userId: "u1" }),
  bytes: new Uint8Array([0xec, 0]),
  array: [{ userId: "u1" }],
  number: 5,
};
const out = {};
for (const [name, ctx] of Object.entries(cases)) {
  try {
    out[name] = JSON.parse(ev.evaluateJSON(process.env.EDGEFLAG_KEY, ctx, 1790000000000)).errorCode ?? "ok";
  } catch (err) {
    out[name] = "throws " + err.message;
  }
}
process.stdout.write(JSON.stringify(out));
`

// TestEdgeContextErrorsNode checks which contexts the JavaScript Evaluator encodes, and the
// errors of those it cannot: objects whose values are strings, numbers, booleans, null,
// undefined and lists of those; null and undefined stand for {}; anything else is an
// INVALID_CONTEXT error naming the attribute at fault.
func TestEdgeContextErrorsNode(t *testing.T) {
	out := edgeNodeScript(t, edgeContextScript)
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node answered %.300s: %v", out, err)
	}
	notObject := "throws INVALID_CONTEXT: the context must be an object"
	tests := []struct{ name, want string }{
		{"object", "ok"},
		{"null", "ok"},
		{"undefined", "ok"},
		{"nestedList", "throws INVALID_CONTEXT: attribute groups: nested list"},
		{"function", "throws INVALID_CONTEXT: attribute userId: unsupported value type function"},
		{"nestedObject", "throws INVALID_CONTEXT: attribute extra: unsupported value type object"},
		{"listOfObjects", "throws INVALID_CONTEXT: attribute groups: unsupported value type object"},
		{"bigint", "throws INVALID_CONTEXT: attribute n: unsupported value type bigint"},
		{"jsonText", notObject},
		{"bytes", notObject},
		{"array", notObject},
		{"number", notObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got[tt.name] != tt.want {
				t.Errorf("evaluateJSON = %q, want %q", got[tt.name], tt.want)
			}
		})
	}
}

// edgeStringContextsScript evaluates every flag for generated request contexts (userId,
// country, userAgent: strings with ASCII, accents, CJK, emoji, lone surrogates, long
// values, empty names left out as the edges do) twice on one module: through the edges'
// Evaluator (edge/shared, its encoder of string contexts) and through the SDK's (sdk/js,
// its general encoder). It prints the number of contexts and the first difference.
const edgeStringContextsScript = `
import { readFileSync } from "node:fs";
const { instantiate } = await import(process.env.EDGEFLAG_LAMBDA);
const { Evaluator } = await import(process.env.EDGEFLAG_SDK);
const wasm = readFileSync(process.env.EDGEFLAG_WASM);
const snap = new Uint8Array(readFileSync(process.env.EDGEFLAG_SNAPSHOT));
const edge = await instantiate(wasm);
const sdk = await instantiate(wasm, Evaluator);
edge.load(snap);
sdk.load(snap);
let seed = 42;
const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
const pieces = ["u", "user-", "42", "é", "Ünïcødé", "東京", "😀", "\ud800", "\udc00", " ", "\"", "\\", "\u0000", "x".repeat(300)];
const text = () => Array.from({ length: rand(6) }, () => pieces[rand(pieces.length)]).join("");
let n = 0;
let diff = null;
for (let i = 0; i < 3000 && !diff; i++, n++) {
  const attributes = { userId: text(), country: text().toUpperCase(), userAgent: text() };
  const ctx = Object.fromEntries(Object.entries(attributes).filter(([, v]) => v));
  const at = 1790000000000 + i * 3600000;
  const a = edge.evaluateAllJSON(ctx, at);
  const b = sdk.evaluateAllJSON(ctx, at);
  const va = JSON.stringify(edge.variants(ctx, at));
  const vb = JSON.stringify(sdk.variants(ctx, at));
  if (a !== b || va !== vb) diff = { ctx, edge: a.slice(0, 300), sdk: b.slice(0, 300) };
}
process.stdout.write(JSON.stringify({ n, diff }));
`

// TestEdgeStringContextsNode holds the edges' own encoder of request contexts to the SDK's
// general one: the same results and variants for 3,000 generated contexts of strings.
func TestEdgeStringContextsNode(t *testing.T) {
	out := edgeNodeScript(t, edgeStringContextsScript)
	var got struct {
		N    int
		Diff any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node answered %.300s: %v", out, err)
	}
	if got.Diff != nil {
		t.Fatalf("after %d contexts the edges' and the SDK's encoders differ: %v", got.N, got.Diff)
	}
	if got.N != 3000 {
		t.Fatalf("compared %d contexts, want 3000", got.N)
	}
}

// edgeNodeScript runs an ES module script in Node.js with the example production snapshot
// written to a file, and returns its standard output. The script finds EDGEFLAG_WASM (the
// module), EDGEFLAG_SNAPSHOT (the snapshot's file), EDGEFLAG_KEY (the snapshot's first
// flag), EDGEFLAG_LAMBDA (the Lambda@Edge function, whose instantiate it may use) and
// EDGEFLAG_SDK (sdk/js/evaluator.mjs) in its environment.
func edgeNodeScript(t *testing.T, script string) []byte {
	t.Helper()
	return edgeNodeScriptEnv(t, script)
}

// edgeNodeScriptEnv is edgeNodeScript with env (NAME=value) added to the script's environment.
func edgeNodeScriptEnv(t *testing.T, script string, env ...string) []byte {
	t.Helper()
	edgeRequireJS(t)
	s, data := edgeExampleSnapshot(t, "production")
	snap := filepath.Join(t.TempDir(), "production.snap")
	if err := os.WriteFile(snap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--no-warnings", "--input-type=module", "-e", script)
	cmd.Env = append(os.Environ(), "EDGEFLAG_WASM="+edgeWasm(t), "EDGEFLAG_SNAPSHOT="+snap, "EDGEFLAG_KEY="+s.Flags[0].Key,
		"EDGEFLAG_LAMBDA="+filepath.Join(edgeRoot(t), "edge/lambda-edge/index.mjs"),
		"EDGEFLAG_SDK="+filepath.Join(edgeRoot(t), "sdk/js/evaluator.mjs"))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	return out
}
