package compiler

import (
	"slices"
	"testing"
)

// TestSemanticChecks covers each check of docs/flag-language.md ("Semantic checks"), and
// the schema's view of the same mistakes, with the exact position and message.
func TestSemanticChecks(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // added to baseProject; "" removes a base file
		want  []string
	}{
		{
			name: "duplicate flag keys",
			files: map[string]string{
				"a.yaml": "kind: Flag\nkey: x\ntype: boolean\n",
				"b.yaml": "kind: Flag\nkey: x\ntype: boolean\n",
			},
			want: []string{`b.yaml:2:6: key: duplicate flag key "x" (first at a.yaml:2)`},
		},
		{
			name: "duplicate segment keys",
			files: map[string]string{
				"more.yaml": "kind: Segment\nkey: staff\nwhen: { attribute: a, op: present }\n",
			},
			want: []string{`segments.yaml:2:6: key: duplicate segment key "staff" (first at more.yaml:2)`},
		},
		{
			name:  "duplicate variant names",
			files: map[string]string{"f.yaml": "kind: Flag\nkey: f\ntype: string\nvariants:\n  a: x\n  a: y\noffVariant: a\ndefaultVariant: a\n"},
			want:  []string{`f.yaml:6:3: duplicate key "a" (first at line 5)`},
		},
		{
			name: "duplicate rule names",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rules:
  - { name: staff, when: { segment: staff }, serve: on }
  - { name: staff, serve: off }
`},
			want: []string{`f.yaml:6:13: rules[1].name: duplicate rule name "staff" (first at line 5)`},
		},
		{
			name: "duplicate ring names",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rings:
  - name: one
  - name: one
release: { ring: one, variant: on }
`},
			want: []string{`f.yaml:6:11: rings[1].name: duplicate ring name "one" (first at line 5)`},
		},
		{
			name: "unknown segment",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rules:
  - { name: r, when: { not: { segment: staf } }, serve: on }
`},
			want: []string{`f.yaml:5:40: rules[0].when.not.segment: unknown segment "staf" (did you mean "staff"?)`},
		},
		{
			name: "unknown prerequisite flag and variant",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
prerequisites:
  - { flag: g, variant: on }
  - { flag: h, variant: yes }
---
kind: Flag
key: h
type: boolean
`},
			want: []string{
				`f.yaml:5:13: prerequisites[0].flag: unknown flag "g" (did you mean "f"?)`,
				`f.yaml:6:25: prerequisites[1].variant: flag "h" has no variant "yes" (known: off, on)`,
			},
		},
		{
			name: "unknown variants",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
offVariant: of
rules:
  - { name: r, serve: { variant: onn, percentage: 5 } }
  - { name: s, serve: { split: { on: 50, maybe: 50 } } }
release: { ring: canary, variant: yes }
rollout: none
environments:
  staging: { defaultVariant: ON }
`},
			want: []string{
				`f.yaml:4:13: offVariant: unknown variant "of" (did you mean "off"?)`,
				`f.yaml:6:34: rules[0].serve.variant: unknown variant "onn" (did you mean "on"?)`,
				`f.yaml:7:42: rules[1].serve.split.maybe: unknown variant "maybe" (known: off, on)`,
				`f.yaml:8:35: release.variant: unknown variant "yes" (known: off, on)`,
				`f.yaml:9:10: rollout: unknown variant "none" (known: off, on)`,
				`f.yaml:11:30: environments.staging.defaultVariant: unknown variant "ON" (did you mean "on"?)`,
			},
		},
		{
			name: "unknown ring",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
release: { ring: canery, variant: on }
environments:
  production: { release: { ring: beta, variant: on } }
`},
			want: []string{
				`f.yaml:4:18: release.ring: unknown ring "canery" (did you mean "canary"?)`,
				`f.yaml:6:34: environments.production.release.ring: unknown ring "beta" (known: canary, everyone, internal)`,
			},
		},
		{
			name: "unknown environment",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
environments:
  prod: { enabled: false }
`},
			want: []string{`f.yaml:5:3: environments: unknown environment "prod" (known: production, staging)`},
		},
		{
			name: "prerequisite cycle",
			files: map[string]string{"f.yaml": `kind: Flag
key: a
type: boolean
prerequisites: [ { flag: b, variant: on } ]
---
kind: Flag
key: b
type: boolean
prerequisites: [ { flag: a, variant: on } ]
`},
			want: []string{`f.yaml:9:18: prerequisites[0].flag: prerequisite cycle: a → b → a`},
		},
		{
			name: "prerequisite cycle in one environment",
			files: map[string]string{"f.yaml": `kind: Flag
key: a
type: boolean
prerequisites: [ { flag: b, variant: on } ]
---
kind: Flag
key: b
type: boolean
environments:
  staging:
    prerequisites: [ { flag: a, variant: off } ]
`},
			want: []string{`f.yaml:11:22: environments.staging.prerequisites[0].flag: prerequisite cycle: a → b → a in environment "staging"`},
		},
		{
			name:  "own prerequisite",
			files: map[string]string{"f.yaml": "kind: Flag\nkey: a\ntype: boolean\nprerequisites: [ { flag: a, variant: on } ]\n"},
			want:  []string{`f.yaml:4:26: prerequisites[0].flag: a flag cannot be its own prerequisite`},
		},
		{
			name: "segment cycle",
			files: map[string]string{"s.yaml": `kind: Segment
key: a
when: { all: [ { segment: b }, { segment: staff } ] }
---
kind: Segment
key: b
when: { any: [ { segment: a } ] }
`},
			want: []string{`s.yaml:7:27: when.any[0].segment: segment reference cycle: a → b → a`},
		},
		{
			name: "variant types",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: number
variants: { low: 1, high: "2" }
offVariant: low
defaultVariant: low
---
kind: Flag
key: g
type: json
variants: { a: { x: 1 }, b: 3 }
offVariant: a
defaultVariant: a
`},
			want: []string{
				`f.yaml:4:27: variants.high: a number flag's variant values must be numbers`,
				`f.yaml:11:29: variants.b: a json flag's variant values must be objects or arrays`,
			},
		},
		{
			name: "split weights",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rollout: { split: { on: 50.5, off: 50 } }
`},
			want: []string{`f.yaml:4:19: rollout.split: split weights add up to 100.5, not 100`},
		},
		{
			name: "schedule steps out of order",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rollout:
  variant: on
  schedule:
    start: 2026-12-01T09:00:00Z
    steps:
      - { after: 1h, percentage: 1 }
      - { at: 2026-12-01T10:00:00Z, percentage: 5 }
      - { after: 1d, percentage: 50 }
`},
			want: []string{`f.yaml:10:9: rollout.schedule.steps[1]: schedule steps out of order: this step (2026-12-01T10:00:00Z) is not after the previous one`},
		},
		{
			name: "schedule after without start",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rollout: { variant: on, schedule: { steps: [ { after: 1h, percentage: 1 } ] } }
`},
			want: []string{`f.yaml:4:55: rollout.schedule.steps[0].after: a step with "after" needs the schedule's "start"`},
		},
		{
			name: "stage percentages and durations",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rollout: { variant: on }
stages:
  - { percentage: 10, duration: infinity }
  - { percentage: 10, duration: 1h }
  - { percentage: 50, duration: 0s }
`},
			want: []string{
				`f.yaml:6:33: stages[0].duration: only the last stage may last for infinity`,
				`f.yaml:7:19: stages[1].percentage: stage percentages must increase: 10% does not exceed the previous stage's 10%`,
				`f.yaml:8:33: stages[2].duration: a stage must last longer than 0`,
			},
		},
		{
			name: "invalid regex, semver, time and duration literals",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
expires: 2026-02-29
rules:
  - { name: re, when: { attribute: path, op: matches, value: "a(?=b)" }, serve: on }
  - { name: sv, when: { attribute: v, op: semverLt, value: "1.2.3-rc..1" }, serve: on }
  - { name: t, when: { attribute: t, op: after, value: "2026-12-01T25:00:00Z" }, serve: on }
  - { name: rel, when: { attribute: t, op: before, value: now-9999999999999999999d }, serve: on }
  - name: d
    serve: { variant: on, schedule: { start: 2026-01-01, steps: [ { after: 99999w, percentage: 5 } ] } }
`},
			want: []string{
				`f.yaml:4:10: expires: invalid date "2026-02-29": day out of range`,
				`f.yaml:6:62: rules[0].when.value: invalid regular expression (RE2): invalid or unsupported Perl syntax: ` + "`(?=`",
				`f.yaml:7:60: rules[1].when.value: invalid semantic version "1.2.3-rc..1"`,
				`f.yaml:8:56: rules[2].when.value: invalid time "2026-12-01T25:00:00Z": hour out of range`,
				`f.yaml:9:59: rules[3].when.value: invalid relative time "now-9999999999999999999d": duration "9999999999999999999d" is too long (at most 100 years)`,
				`f.yaml:11:76: rules[4].serve.schedule.steps[0].after: duration "99999w" is too long (at most 100 years)`,
			},
		},
		{
			name: "percentages",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rules:
  - { name: big, when: { percentage: 100.5 }, serve: on }
rollout: { variant: on, percentage: -1 }
---
kind: Flag
key: g
type: boolean
rules:
  - { name: fine, when: { percentage: 0.00001 }, serve: on }
  - { name: ok, when: { percentage: 0.0001 }, serve: on }
rollout: { split: { on: 33.33333, off: 66.66667 } }
`},
			want: []string{
				`f.yaml:5:38: rules[0].when.percentage: must be at most 100, not 100.5`,
				`f.yaml:6:37: rollout.percentage: must be at least 0, not -1`,
				`f.yaml:12:39: rules[0].when.percentage: percentage 0.00001 is finer than 0.0001%`,
				`f.yaml:14:25: rollout.split.on: percentage 33.33333 is finer than 0.0001%`,
				`f.yaml:14:40: rollout.split.off: percentage 66.66667 is finer than 0.0001%`,
			},
		},
		{
			name: "operators with the wrong kind or number of values",
			files: map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rules:
  - { name: a, when: { attribute: age, op: gt, value: eighteen }, serve: on }
  - { name: b, when: { attribute: country, op: equals, values: [US, CA] }, serve: on }
  - { name: c, when: { attribute: email, op: absent, value: x }, serve: on }
  - { name: d, when: { attribute: v, op: semverEq, value: 1 }, serve: on }
  - { name: e, when: { attribute: age, op: lte, value: 3, ignoreCase: true }, serve: on }
`},
			want: []string{
				`f.yaml:5:55: rules[0].when.value: op "gt": expected number, but got string`,
				`f.yaml:6:22: rules[1].when: op "equals" needs "value"`,
				`f.yaml:6:56: rules[1].when: op "equals" does not take "values"`,
				`f.yaml:7:54: rules[2].when: op "absent" does not take "value"`,
				`f.yaml:8:59: rules[3].when.value: op "semverEq": expected string, but got number`,
				`f.yaml:9:59: rules[4].when: op "lte" does not take "ignoreCase"`,
			},
		},
		{
			name:  "boolean flag without an off variant",
			files: map[string]string{"f.yaml": "kind: Flag\nkey: f\ntype: boolean\nvariants: { yes: true, no: false }\ndefaultVariant: no\n"},
			want:  []string{`f.yaml:4:11: variants: offVariant is not set and its default, "off", is not a variant`},
		},
		{
			name:  "no project",
			files: map[string]string{"project.yaml": "", "segments.yaml": ""},
			want:  []string{`.: no Project document (a file with kind: Project) found`},
		},
		{
			name:  "two projects",
			files: map[string]string{"again.yaml": "kind: Project\nenvironments: [production]\n"},
			want:  []string{`project.yaml:1:1: a second Project document (the first is at again.yaml:1)`},
		},
		{
			name: "nesting too deep",
			files: map[string]string{"f.yaml": "kind: Segment\nkey: deep\nwhen: " +
				repeat("{ not: ", 34) + "{ segment: staff }" + repeat(" }", 34) + "\n"},
			want: []string{`f.yaml:3:238: when` + repeat(".not", 33) + `: conditions nested more than 32 deep`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(mapFS(tt.files))
			got := errorLines(t, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s", diffLines(got, tt.want))
			}
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
