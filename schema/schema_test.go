package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

func decode(t *testing.T, doc string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad test document %s: %v", doc, err)
	}
	return v
}

// keyword returns the keyword a leaf validation error failed: the last step of its
// absolute location, or "false" when the location is a false subschema (additionalProperties
// and additionalItems set to false are keywords of their schema).
func keyword(t *testing.T, err *jsonschema.ValidationError) string {
	t.Helper()
	var doc any
	if e := json.Unmarshal(JSON, &doc); e != nil {
		t.Fatal(e)
	}
	_, frag, _ := strings.Cut(err.AbsoluteKeywordLocation, "#")
	toks := strings.Split(strings.TrimPrefix(frag, "/"), "/")
	cur := doc
	for _, tok := range toks {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, e := strconv.Atoi(tok)
			if e != nil || i >= len(c) {
				t.Fatalf("location %s is not in the schema", err.AbsoluteKeywordLocation)
			}
			cur = c[i]
		default:
			t.Fatalf("location %s is not in the schema", err.AbsoluteKeywordLocation)
		}
	}
	last := toks[len(toks)-1]
	if cur == false && last != "additionalProperties" && last != "additionalItems" {
		return "false"
	}
	return last
}

// leaves returns "/instance/location: keyword: message" for every leaf of a validation error.
func leaves(t *testing.T, err *jsonschema.ValidationError) []string {
	t.Helper()
	if len(err.Causes) == 0 {
		return []string{err.InstanceLocation + ": " + keyword(t, err) + ": " + err.Message}
	}
	var out []string
	for _, c := range err.Causes {
		out = append(out, leaves(t, c)...)
	}
	return out
}

func TestCompile(t *testing.T) {
	s, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Compile()
	if err != nil || again != s {
		t.Fatalf("Compile is not memoised: %p %p %v", s, again, err)
	}
	if !bytes.Contains(JSON, []byte(`"$schema": "https://json-schema.org/draft/2020-12/schema"`)) {
		t.Error("schema does not declare draft 2020-12")
	}
}

// TestNoRemoteRefs keeps the schema usable offline by editors: every $ref is internal.
func TestNoRemoteRefs(t *testing.T) {
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					if s, _ := x.(string); !strings.HasPrefix(s, "#/$defs/") {
						t.Errorf("$ref %q is not an internal $defs reference", s)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var doc any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	walk(doc)
}

// TestStrictObjects checks that every object schema with properties also closes them
// (additionalProperties false), except the dispatching wrappers whose branches do.
func TestStrictObjects(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	open := map[string]bool{"": true}
	for name, def := range doc["$defs"].(map[string]any) {
		d := def.(map[string]any)
		if _, ok := d["properties"]; !ok || open[name] {
			continue
		}
		if d["additionalProperties"] != false {
			t.Errorf("$defs/%s has properties but does not set additionalProperties: false", name)
		}
	}
}

// TestServeVariantName checks that a serve written as a string is checked as a variant
// name: the serve schema repeats the string keywords of $defs/variantName.
func TestServeVariantName(t *testing.T) {
	var doc struct {
		Defs map[string]map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	serve, name := doc.Defs["serve"], doc.Defs["variantName"]
	for _, k := range []string{"maxLength", "pattern", "patternErrorMessage"} {
		if name[k] == nil || serve[k] != name[k] {
			t.Errorf("serve has %s %v, $defs/variantName %v", k, serve[k], name[k])
		}
	}
}

func TestValid(t *testing.T) {
	s, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"project": `{"kind":"Project","environments":["staging","production"],"defaultBucketBy":"userId",
			"rings":[{"name":"developers","when":{"segment":"developers"}},
				{"name":"canary","when":{"any":[{"segment":"beta"},{"percentage":5}]}},
				{"name":"early","percentage":25,"bucketBy":"accountId"},
				{"name":"scheduled","schedule":{"steps":[{"at":"2026-12-01","percentage":50}]}},
				{"name":"everyone"}],
			"checks":{"offVariant":"error","owner":"warning","expiry":"off","successCriteria":"warning","rolloutPlan":"error"}}`,
		"segment": `{"kind":"Segment","key":"internal-employees","description":"staff",
			"when":{"attribute":"email","op":"endsWith","value":"@company.com","ignoreCase":true}}`,
		"minimal boolean flag": `{"kind":"Flag","key":"a","type":"boolean"}`,
		"full flag": `{"kind":"Flag","key":"new-search","description":"d","owner":"team@x","lifecycle":"temporary",
			"created":"2026-11-02","expires":"2026-12-31","type":"boolean","variants":{"on":true,"off":false},
			"offVariant":"off","defaultVariant":"off","enabled":true,"killed":false,"bucketBy":"userId","salt":"s",
			"prerequisites":[{"flag":"index-v2","variant":"on"}],
			"rules":[
				{"name":"staff","when":{"segment":"internal"},"serve":"on"},
				{"name":"pct","when":{"all":[{"attribute":"country","op":"in","values":["US","CA"]},{"not":{"attribute":"beta","op":"equals","value":true}}]},"serve":{"variant":"on","percentage":12.5}},
				{"name":"sched","serve":{"variant":"on","schedule":{"start":"2026-12-01T09:00:00Z","steps":[{"after":"15m","percentage":1},{"after":"30m","percentage":5}]}}},
				{"name":"split","serve":{"split":{"on":50,"off":50},"bucketBy":"accountId"}},
				{"name":"ops","when":{"all":[
					{"attribute":"age","op":"gte","value":18},
					{"attribute":"app","op":"semverGte","value":"2.0.0-rc.1"},
					{"attribute":"created","op":"before","value":"now-365d"},
					{"attribute":"since","op":"after","value":"2026-01-01T00:00:00+01:00"},
					{"attribute":"path","op":"matches","values":["^/a","^/b"]},
					{"attribute":"email","op":"present"},
					{"attribute":"plan","op":"notIn","values":["free",1,false]}]},"serve":"off"}],
			"release":{"ring":"canary","variant":"on"},
			"rollout":{"variant":"on","percentage":0.0001},
			"stages":[{"percentage":5,"duration":"30m","successCriteria":[{"metric":"error_rate","threshold":"< 0.5%"},{"metric":"p99","threshold":"<500ms"}]},
				{"percentage":25,"duration":"2h","successCriteria":[{"metric":"rev","threshold":">= baseline * 0.95"}]},
				{"percentage":100,"duration":"infinity"}],
			"environments":{"staging":{"release":{"ring":"everyone","variant":"on"},"killed":true,"rollout":"on"}}}`,
		"json flag":   `{"kind":"Flag","key":"cfg","type":"json","variants":{"a":{"x":1},"b":[1,2]},"offVariant":"a","defaultVariant":"b"}`,
		"number flag": `{"kind":"Flag","key":"n","type":"number","variants":{"low":1,"high":2.5},"offVariant":"low","defaultVariant":"low"}`,
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			if err := s.Validate(decode(t, doc)); err != nil {
				var ve *jsonschema.ValidationError
				if errors.As(err, &ve) {
					t.Fatalf("unexpected errors: %q", leaves(t, ve))
				}
				t.Fatal(err)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	s, err := Compile()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, doc string
		want      string // one expected leaf, "/instance/location: keyword[: message]" prefix
	}{
		{"no kind", `{"key":"a"}`, `: required: missing properties: 'kind'`},
		{"unknown kind", `{"kind":"Flagg"}`, `/kind: enum`},
		{"unknown field", `{"kind":"Flag","key":"a","type":"boolean","colour":"red"}`, `: additionalProperties: additionalProperties 'colour' not allowed`},
		{"bad key", `{"kind":"Flag","key":"New Search","type":"boolean"}`, `/key: pattern`},
		{"bad type", `{"kind":"Flag","key":"a","type":"bool"}`, `/type: enum: value must be one of "boolean", "string", "number", "json"`},
		{"string flag needs variants", `{"kind":"Flag","key":"a","type":"string"}`, `: required: missing properties: 'variants', 'offVariant', 'defaultVariant'`},
		{"variant type", `{"kind":"Flag","key":"a","type":"number","variants":{"x":"1"},"offVariant":"x","defaultVariant":"x"}`, `/variants/x: type: expected number, but got string`},
		{"boolean variant type", `{"kind":"Flag","key":"a","type":"boolean","variants":{"on":"yes"}}`, `/variants/on: type: expected boolean, but got string`},
		{"bad op", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"equal","value":1}}`, `/when/op: enum`},
		{"lt needs number", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"lt","value":"x"}}`, `/when/value: type: expected number, but got string`},
		{"equals takes value", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"equals","values":[1]}}`, `/when: required: missing properties: 'value'`},
		{"in takes values", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"in","value":1,"values":[1]}}`, `/when/value: false: not allowed`},
		{"present takes nothing", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"present","value":1}}`, `/when/value: false: not allowed`},
		{"startsWith strings", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"startsWith","values":["a",2]}}`, `/when/values/1: type`},
		{"startsWith needs a value", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"startsWith"}}`, `/when: required: missing properties: 'value'`},
		{"ignoreCase on lt", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"lt","value":1,"ignoreCase":true}}`, `/when/ignoreCase: false: not allowed`},
		{"semver shape", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"semverLt","value":"1.2"}}`, `/when/value: pattern`},
		{"time shape", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"before","value":"yesterday"}}`, `/when/value: pattern`},
		{"two condition kinds", `{"kind":"Segment","key":"s","when":{"segment":"a","percentage":5}}`, `/when/percentage: false: not allowed`},
		{"empty all", `{"kind":"Segment","key":"s","when":{"all":[]}}`, `/when/all: minItems`},
		{"percentage range", `{"kind":"Segment","key":"s","when":{"percentage":101}}`, `/when/percentage: maximum`},
		{"negative percentage", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","percentage":-1}}`, `/rollout/percentage: minimum`},
		{"percentage and schedule", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","percentage":1,"schedule":{"steps":[{"at":"2026-01-01","percentage":1}]}}}`, `/rollout/schedule: false: not allowed`},
		{"serve type", `{"kind":"Flag","key":"a","type":"boolean","rollout":true}`, `/rollout: type: expected string or object, but got boolean`},
		{"step needs time", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","schedule":{"steps":[{"percentage":1}]}}}`, `/rollout/schedule/steps/0: required`},
		{"step at and after", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","schedule":{"steps":[{"at":"2026-01-01","after":"1h","percentage":1}]}}}`, `/rollout/schedule/steps/0/after: false: not allowed`},
		{"bad duration", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","schedule":{"start":"2026-01-01","steps":[{"after":"15 minutes","percentage":1}]}}}`, `/rollout/schedule/steps/0/after: pattern`},
		{"infinity is for stages", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"variant":"on","schedule":{"start":"2026-01-01","steps":[{"after":"infinity","percentage":1}]}}}`, `/rollout/schedule/steps/0/after: pattern`},
		{"bad threshold", `{"kind":"Flag","key":"a","type":"boolean","stages":[{"percentage":5,"duration":"1h","successCriteria":[{"metric":"m","threshold":"about 5"}]}]}`, `/stages/0/successCriteria/0/threshold: pattern`},
		{"bad severity", `{"kind":"Project","environments":["p"],"checks":{"owner":"fatal"}}`, `/checks/owner: enum`},
		{"unknown check", `{"kind":"Project","environments":["p"],"checks":{"ownr":"error"}}`, `/checks: additionalProperties`},
		{"no environments", `{"kind":"Project","environments":[]}`, `/environments: minItems`},
		{"duplicate environment", `{"kind":"Project","environments":["a","a"]}`, `/environments: uniqueItems`},
		{"bad environment name", `{"kind":"Project","environments":["Prod"]}`, `/environments/0: pattern`},
		{"ring percentage and schedule", `{"kind":"Project","environments":["p"],"rings":[{"name":"r","percentage":5,"schedule":{"steps":[{"at":"2026-01-01","percentage":1}]}}]}`, `/rings/0/schedule: false: not allowed`},
		{"override field", `{"kind":"Flag","key":"a","type":"boolean","environments":{"p":{"type":"string"}}}`, `/environments/p: additionalProperties`},
		{"bad date", `{"kind":"Flag","key":"a","type":"boolean","expires":"31/12/2026"}`, `/expires: pattern`},
		{"rule needs serve", `{"kind":"Flag","key":"a","type":"boolean","rules":[{"name":"r"}]}`, `/rules/0: required`},
		{"split weight", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"split":{"on":"half"}}}`, `/rollout/split/on: type`},
		{"split and variant", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"split":{"on":100},"variant":"on"}}`, `/rollout/variant: false: not allowed`},
		{"serve without variant", `{"kind":"Flag","key":"a","type":"boolean","rollout":{"percentage":5}}`, `/rollout: required: missing properties: 'variant'`},
		{"serve variant name", `{"kind":"Flag","key":"a","type":"boolean","rollout":"bad name"}`, `/rollout: pattern`},
		{"empty condition", `{"kind":"Segment","key":"s","when":{}}`, `/when: minProperties`},
		{"op without attribute", `{"kind":"Segment","key":"s","when":{"op":"present"}}`, `/when: required: missing properties: 'attribute'`},
		{"bucketBy without percentage", `{"kind":"Segment","key":"s","when":{"bucketBy":"a"}}`, `/when: required: missing properties: 'percentage'`},
		{"clause and segment", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"present","segment":"b"}}`, `/when/segment: false: not allowed`},
		{"matches ignoreCase", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"matches","value":"x","ignoreCase":true}}`, `/when/ignoreCase: false: not allowed`},
		{"startsWith value and values", `{"kind":"Segment","key":"s","when":{"attribute":"a","op":"startsWith","value":"x","values":["y"]}}`, `/when/values: false: not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Validate(decode(t, tt.doc))
			var ve *jsonschema.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			got := leaves(t, ve)
			for _, l := range got {
				if strings.HasPrefix(l, tt.want) {
					return
				}
			}
			t.Errorf("no error starting with %q in %q", tt.want, got)
		})
	}
}

// TestDescriptions checks that every property an editor can complete has a description
// (constraint-only subschemas under if/then/else and dependentSchemas are exempt).
func TestDescriptions(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(JSON, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, x := range m {
			switch k {
			case "if", "then", "else", "dependentSchemas":
				continue
			case "properties":
				for name, p := range x.(map[string]any) {
					if pm, ok := p.(map[string]any); ok {
						if d, _ := pm["description"].(string); d == "" {
							t.Errorf("%s/properties/%s has no description", path, name)
						}
					}
				}
			}
			walk(path+"/"+k, x)
		}
	}
	walk("#", doc)
}
