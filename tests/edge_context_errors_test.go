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
	edgeRequireJS(t)
	s, data := edgeExampleSnapshot(t, "production")
	snap := filepath.Join(t.TempDir(), "production.snap")
	if err := os.WriteFile(snap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--no-warnings", "--input-type=module", "-e", edgeContextScript)
	cmd.Env = append(os.Environ(), "EDGEFLAG_WASM="+edgeWasm(t), "EDGEFLAG_SNAPSHOT="+snap, "EDGEFLAG_KEY="+s.Flags[0].Key,
		"EDGEFLAG_LAMBDA="+filepath.Join(edgeRoot(t), "edge/lambda-edge/index.mjs"),
		"EDGEFLAG_SDK="+filepath.Join(edgeRoot(t), "sdk/js/evaluator.mjs"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
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
