package compiler

import (
	"slices"
	"strings"
	"testing"
)

// TestSchemaErrors covers how each kind of schema failure is explained: the position, the
// field path and the message.
func TestSchemaErrors(t *testing.T) {
	long := strings.Repeat("x", 201)
	tests := []struct {
		name string
		file string // f.yaml, beside the base project
		want []string
	}{
		{
			name: "empty list",
			file: "kind: Flag\nkey: f\ntype: boolean\nstages: []\n",
			want: []string{`f.yaml:4:9: stages: needs at least 1 item`},
		},
		{
			name: "empty mapping",
			file: "kind: Flag\nkey: f\ntype: string\nvariants: {}\noffVariant: a\ndefaultVariant: a\n",
			want: []string{`f.yaml:4:11: variants: needs at least 1 entry`},
		},
		{
			name: "empty string",
			file: "kind: Flag\nkey: f\ntype: boolean\nowner: \"\"\n",
			want: []string{`f.yaml:4:8: owner: must not be empty`},
		},
		{
			name: "string too long",
			file: "kind: Flag\nkey: " + long + "\ntype: boolean\n",
			want: []string{`f.yaml:2:6: key: must be at most 200 characters long, not 201`},
		},
		{
			name: "name too long",
			file: "kind: Flag\nkey: f\ntype: string\nvariants: { " + long + ": a }\noffVariant: " + long + "\ndefaultVariant: " + long + "\n",
			want: []string{
				`f.yaml:4:13: variants: invalid name "` + long[:40] + `"… (201 bytes): must be at most 200 characters long, not 201`,
				`f.yaml:5:13: offVariant: must be at most 200 characters long, not 201`,
				`f.yaml:6:17: defaultVariant: must be at most 200 characters long, not 201`,
			},
		},
		{
			name: "escaped name",
			file: "kind: Flag\nkey: f\ntype: string\nvariants: { \"a/b~c d\": x, ok: y }\noffVariant: ok\ndefaultVariant: ok\n",
			want: []string{`f.yaml:4:13: variants: invalid name "a/b~c d": a variant name is letters, digits, '.', '_' and '-', starting with a letter or digit`},
		},
		{
			name: "wrong type",
			file: "kind: Flag\nkey: f\ntype: boolean\nenabled: yes please\nrules: { name: r }\n",
			want: []string{
				`f.yaml:4:10: enabled: expected boolean, but got string`,
				`f.yaml:5:8: rules: expected array, but got object`,
			},
		},
		{
			name: "unknown fields",
			file: "kind: Flag\nkey: f\ntype: boolean\nowners: a\nrules:\n  - { name: r, serve: on, whn: { segment: staff } }\n",
			want: []string{
				`f.yaml:4:1: unknown field "owners" (did you mean "owner"?)`,
				`f.yaml:6:27: rules[0]: unknown field "whn" (did you mean "when"?)`,
			},
		},
		{
			name: "condition forms",
			file: "kind: Segment\nkey: s\nwhen: { all: [ { segment: staff } ], not: { segment: staff }, extra: 1 }\n",
			want: []string{
				`f.yaml:3:38: when: a condition has one form: "not" cannot be combined with "all"`,
				`f.yaml:3:63: when: unknown field "extra"`,
			},
		},
		{
			name: "condition forms in order",
			file: "kind: Segment\nkey: s\nwhen: { any: [ { segment: a } ], segment: b, op: present, bucketBy: x }\n",
			want: []string{
				`f.yaml:3:9: when: a condition has one form: "any" cannot be combined with "segment"`,
				`f.yaml:3:46: when: a condition has one form: "op" cannot be combined with "segment"`,
				`f.yaml:3:59: when: a condition has one form: "bucketBy" cannot be combined with "segment"`,
			},
		},
		{
			name: "clause and another form",
			file: "kind: Segment\nkey: s\nwhen: { attribute: a, op: present, percentage: 5 }\n",
			want: []string{`f.yaml:3:36: when: a condition has one form: "percentage" cannot be combined with "attribute"`},
		},
		{
			name: "condition without its form field",
			file: "kind: Segment\nkey: s\nwhen: { value: 1 }\n---\nkind: Segment\nkey: t\nwhen: { bucketBy: accountId }\n",
			want: []string{
				`f.yaml:3:7: when: missing required fields "attribute", "op"`,
				`f.yaml:7:7: when: missing required field "percentage"`,
			},
		},
		{
			name: "empty condition",
			file: "kind: Segment\nkey: s\nwhen: {}\n",
			want: []string{`f.yaml:3:7: when: an empty condition: write a clause { attribute, op, value }, { all: [...] }, { any: [...] }, { not: ... }, { segment: KEY } or { percentage: P }`},
		},
		{
			name: "serve forms",
			file: "kind: Flag\nkey: f\ntype: boolean\nrollout: { split: { on: 100 }, variant: on }\n---\nkind: Flag\nkey: g\ntype: boolean\nrollout: { bucketBy: accountId }\n",
			want: []string{
				`f.yaml:4:32: rollout: "variant" cannot be combined with "split"`,
				`f.yaml:9:10: rollout: missing required field "variant"`,
			},
		},
		{
			name: "step with at and after",
			file: "kind: Flag\nkey: f\ntype: boolean\nrollout: { variant: on, schedule: { steps: [ { at: 2026-01-01, after: 1h, percentage: 5 } ] } }\n",
			want: []string{`f.yaml:4:64: rollout.schedule.steps[0]: "after" cannot be combined with "at"`},
		},
		{
			name: "duplicate list item",
			file: "kind: Flag\nkey: f\ntype: boolean\n---\nkind: Project\nenvironments: [a, b, b, a]\n",
			want: []string{`f.yaml:6:22: environments[2]: "b" is listed twice (also item 1)`},
		},
		{
			name: "not a mapping",
			file: "just text\n---\n42\n",
			want: []string{
				`f.yaml:1:1: a document must be a mapping with a kind (Project, Segment or Flag), not "just text"`,
				`f.yaml:3:1: a document must be a mapping with a kind (Project, Segment or Flag), not 42`,
			},
		},
		{
			name: "no kind",
			file: "key: f\ntype: boolean\n",
			want: []string{`f.yaml:1:1: missing required field "kind"`},
		},
		{
			name: "enum of a mapping",
			file: "kind: { a: 1 }\n",
			want: []string{`f.yaml:1:7: kind: must be one of "Project", "Segment", "Flag"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(mapFS(map[string]string{"f.yaml": tt.file}))
			got := errorLines(t, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s", diffLines(got, tt.want))
			}
		})
	}
}

func TestPointerTokens(t *testing.T) {
	tests := []struct {
		ptr  string
		want []string
	}{
		{"", nil},
		{"/", []string{""}},
		{"/rules/0/when", []string{"rules", "0", "when"}},
		{"/variants/a~1b~0c%20d", []string{"variants", "a/b~c d"}},
		{"/$defs/condition/then/then/properties/values", []string{"$defs", "condition", "then", "then", "properties", "values"}},
		{"/a~01", []string{"a~1"}},
	}
	for _, tt := range tests {
		if got := pointerTokens(tt.ptr); !slices.Equal(got, tt.want) {
			t.Errorf("pointerTokens(%q) = %q, want %q", tt.ptr, got, tt.want)
		}
	}
}
