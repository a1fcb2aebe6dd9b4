package cli

import (
	"flag"
	"fmt"
	"github.com/edgeflag/edgeflag/compiler"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/snapview"
)

var evalCommand = &command{
	name:    "eval",
	summary: "evaluate flags for a context: value, variant and reason",
	usage:   "[flags] <flag>... | --all",
	description: `
Evaluates one or more flags (or --all) for one user or request, the way the edge does,
and prints the value, the variant, the reason (OpenFeature: STATIC, TARGETING_MATCH,
SPLIT, DISABLED, DEFAULT, ERROR) and what decided it.

The flags come from the flag directory, compiled for --env (default: production, or the
project's last environment), or from a compiled snapshot file with --snapshot.

The context is a JSON object (--ctx '{"userId":"u1"}', or --ctx @file.json) and/or
attribute pairs: -a key=value sets a string, -a key:=JSON a number, bool or list
(-a age:=42 -a beta:=true -a groups:='["a","b"]'). The time of evaluation is --at:
RFC 3339, a date, or an offset from now (+2h, -3d).

--explain prints the decision path as 'edgeflag explain' does.`,
	example: `
edgeflag eval new-search-algorithm --env production --ctx '{"userId":"u1","email":"a@company.com"}'
edgeflag eval --all -a userId=u1 -a country=US --at +3d
edgeflag eval new-checkout-flow --snapshot out/production.snap -a userId=u42 --json`,
	run: func(r *runner, args []string) int { return runEval(r, args, false) },
}

var explainCommand = &command{
	name:    "explain",
	summary: "show the decision path of a flag for a context",
	usage:   "[flags] <flag>",
	description: `
Evaluates a flag like 'edgeflag eval' and prints the decision path: the prerequisites,
each rule, ring and segment looked at with the conditions that matched (✓) or failed (✗)
and the context's values, the user's bucket and the threshold it was compared with, and
the schedule step in force.

It takes the same flags as eval.`,
	example: `
edgeflag explain new-search-algorithm --ctx '{"userId":"u1","email":"a@company.com"}'
edgeflag explain new-onboarding-flow -a userId=u7 --at 2026-12-05 --env staging`,
	run: func(r *runner, args []string) int { return runEval(r, args, true) },
}

// evalOptions are the flags shared by eval, explain and simulate.
type evalOptions struct {
	source sourceFlags
	ctx    contextArgs
	at     string
}

func (o *evalOptions) register(fs *flag.FlagSet) {
	o.source.register(fs)
	fs.StringVar(&o.ctx.json, "ctx", "", "the context as a JSON `object` (or @file)")
	fs.Var(&o.ctx.attrs, "a", "an attribute: key=value (string) or key:=JSON; repeatable")
	fs.StringVar(&o.at, "at", "", "the `time` of evaluation: RFC 3339, a date, or +2h/-3d from now (default now)")
}

func runEval(r *runner, args []string, explain bool) int {
	fs := r.newFlags()
	var o evalOptions
	o.register(fs)
	all := false
	if !explain {
		fs.BoolVar(&all, "all", false, "evaluate every flag")
		fs.BoolVar(&explain, "explain", false, "print the decision path (as 'edgeflag explain')")
	}
	asJSON := fs.Bool("json", false, "print JSON")
	// --all and --explain are only known after parsing: parse leniently, then check.
	pos, code, done := r.parse(fs, args, 0, -1)
	if done {
		return code
	}
	switch {
	case all && len(pos) > 0:
		return r.usageFail(usagef("give flag keys or --all, not both"))
	case all && explain:
		return r.usageFail(usagef("--explain takes one flag, not --all"))
	case explain && len(pos) > 1:
		return r.usageFail(usagef("explain takes one flag, got %d", len(pos)))
	case !all && len(pos) == 0:
		return r.usageFail(usagef("name a flag (or --all): usage: edgeflag %s %s", r.cmd.name, r.cmd.usage))
	}
	at, err := parseTime(o.at, r.env.Now())
	if err != nil {
		return r.usageFail(fmt.Errorf("--at: %v", err))
	}
	ctx, err := o.ctx.build(r)
	if err != nil {
		return r.fail(err)
	}
	src, err := r.loadSource(&o.source)
	if err != nil {
		return r.fail(err)
	}
	ev := evaluator.New(src.snap)
	for _, key := range pos {
		if src.snap.FlagIndex(key) < 0 {
			return r.fail(fmt.Errorf("no flag %q in %s%s", key, src.describe(), suggest(key, src.snap)))
		}
	}
	if explain {
		res, trace := ev.Explain(pos[0], ctx, at)
		if *asJSON {
			return r.printJSON(explainJSON(src.snap, &res, trace, at))
		}
		r.printExplain(src, &res, trace, at)
		return resultCode(res)
	}
	var results []evaluator.Result
	if all {
		results = ev.EvaluateAll(ctx, at, nil)
	} else {
		for _, key := range pos {
			results = append(results, ev.Evaluate(key, ctx, at))
		}
	}
	if *asJSON {
		if err := writeResultsJSON(r.env.Stdout, results, all || len(pos) > 1); err != nil {
			return r.fail(err)
		}
	} else {
		t := &table{}
		t.add("FLAG", "VALUE", "VARIANT", "REASON", "DECIDED BY")
		for i := range results {
			res := &results[i]
			t.add(res.Key, truncate(displayValue(res), 40), orDash(res.Variant), string(res.Reason), decidedBy(src.snap, res))
		}
		io.WriteString(r.env.Stdout, t.string())
	}
	code = ExitOK
	for _, res := range results {
		if c := resultCode(res); c != ExitOK {
			code = c
		}
	}
	return code
}

func resultCode(res evaluator.Result) int {
	if res.Reason == evaluator.ReasonError {
		return ExitFindings
	}
	return ExitOK
}

func writeResultsJSON(w io.Writer, results []evaluator.Result, list bool) error {
	var buf []byte
	if list {
		buf = append(buf, "[\n"...)
	}
	for i := range results {
		if list {
			buf = append(buf, "  "...)
		}
		buf = results[i].AppendJSON(buf)
		if list && i < len(results)-1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
	}
	if list {
		buf = append(buf, "]\n"...)
	}
	_, err := w.Write(buf)
	return err
}

func displayValue(res *evaluator.Result) string {
	if res.Reason == evaluator.ReasonError {
		return "-"
	}
	return res.Value
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// decidedBy describes what decided a result in a few words: "ring canary (segment
// beta-opt-in)", "rollout (bucket 123456 < 250000)", "prerequisite search-index-v2".
func decidedBy(s *snapshot.Snapshot, res *evaluator.Result) string {
	if res.Reason == evaluator.ReasonError {
		return string(res.Error) + ": " + res.Message
	}
	var b strings.Builder
	switch res.Kind {
	case evaluator.DecidedByKill:
		b.WriteString("kill switch")
	case evaluator.DecidedByRule, evaluator.DecidedByRing, evaluator.DecidedByPrerequisite:
		b.WriteString(res.Kind.String() + " " + res.Name)
	default:
		b.WriteString(res.Kind.String())
	}
	var details []string
	if res.Segment != "" {
		details = append(details, "segment "+res.Segment)
	}
	notStarted := false
	if p := decidingPortion(s, res); p != nil && p.Kind == snapshot.PortionSchedule {
		if res.Step >= 0 {
			details = append(details, "step "+strconv.Itoa(res.Step+1)+" of "+strconv.Itoa(len(p.Steps)))
		} else {
			notStarted = true
			details = append(details, "schedule not started")
		}
	}
	if res.Bucketed && !notStarted {
		cmp := "<"
		if res.Bucket >= res.Threshold {
			cmp = "≥"
		}
		details = append(details, "bucket "+strconv.FormatUint(uint64(res.Bucket), 10)+" "+cmp+" "+
			strconv.FormatUint(uint64(res.Threshold), 10))
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	return b.String()
}

// decidingPortion returns the percentage or schedule of the part of the flag that decided
// a result, or nil.
func decidingPortion(s *snapshot.Snapshot, res *evaluator.Result) *snapshot.Portion {
	i := s.FlagIndex(res.Key)
	if i < 0 {
		return nil
	}
	f := &s.Flags[i]
	switch res.Kind {
	case evaluator.DecidedByRule:
		if res.Index >= 0 && res.Index < len(f.Rules) {
			return &f.Rules[res.Index].Serve.Portion
		}
	case evaluator.DecidedByRing:
		if res.Index >= 0 && res.Index < len(f.Rings) {
			return &f.Rings[res.Index].Portion
		}
	case evaluator.DecidedByRollout, evaluator.DecidedByDefault:
		if f.Rollout.Kind == snapshot.ServeVariant {
			return &f.Rollout.Portion
		}
	}
	return nil
}

// scheduleInfo describes the schedule step in force for a result, or "".
func scheduleInfo(s *snapshot.Snapshot, res *evaluator.Result) string {
	p := decidingPortion(s, res)
	if p == nil || p.Kind != snapshot.PortionSchedule {
		return ""
	}
	if res.Step < 0 || res.Step >= len(p.Steps) {
		first := p.Steps[0]
		return "no step in force yet: 0% until " + snapview.FormatMillis(first.At)
	}
	st := p.Steps[res.Step]
	out := "step " + strconv.Itoa(res.Step+1) + " of " + strconv.Itoa(len(p.Steps)) + ", " +
		snapview.Percent(snapshot.PercentageOf(st.Threshold)) + " since " + snapview.FormatMillis(st.At)
	if res.Step+1 < len(p.Steps) {
		next := p.Steps[res.Step+1]
		out += "; next " + snapview.Percent(snapshot.PercentageOf(next.Threshold)) + " at " + snapview.FormatMillis(next.At)
	}
	return out
}

func (r *runner) printExplain(src *source, res *evaluator.Result, trace *evaluator.Trace, at time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s at %s\n", r.paint(styleBold, res.Key), src.describe(), at.UTC().Format(time.RFC3339))
	t := &table{}
	if res.Reason == evaluator.ReasonError {
		t.add("  error", string(res.Error)+": "+res.Message)
	} else {
		t.add("  value", res.Value)
		t.add("  variant", res.Variant)
		t.add("  reason", string(res.Reason))
		t.add("  decided by", decidedBy(src.snap, res))
	}
	if res.Bucketed {
		t.add("  bucket", strconv.FormatUint(uint64(res.Bucket), 10)+" of "+strconv.Itoa(snapshot.BucketCount)+
			" ("+snapview.Percent(snapshot.PercentageOf(res.Bucket))+")")
		t.add("  threshold", strconv.FormatUint(uint64(res.Threshold), 10)+" ("+snapview.Percent(snapshot.PercentageOf(res.Threshold))+")")
	}
	if info := scheduleInfo(src.snap, res); info != "" {
		t.add("  schedule", info)
	}
	b.WriteString(t.string())
	if len(trace.Steps) > 0 {
		b.WriteString("\nDecision path:\n")
		for _, st := range trace.Steps {
			b.WriteString("  " + strings.Repeat("  ", st.Depth))
			if st.Matched {
				b.WriteString(r.paint(styleGreen, "✓") + " ")
			} else {
				b.WriteString(r.paint(styleRed, "✗") + " ")
			}
			b.WriteString(st.Subject)
			if st.Detail != "" {
				b.WriteString(r.paint(styleDim, ": "+st.Detail))
			}
			b.WriteByte('\n')
		}
	}
	io.WriteString(r.env.Stdout, b.String())
}

// explainOutput is the JSON form of an explanation.
type explainOutput struct {
	Result   jsonRaw     `json:"result"`
	At       string      `json:"at"`
	Schedule string      `json:"schedule,omitempty"`
	Path     []traceStep `json:"path"`
}

type traceStep struct {
	Depth   int    `json:"depth"`
	Subject string `json:"subject"`
	Matched bool   `json:"matched"`
	Detail  string `json:"detail,omitempty"`
}

// jsonRaw is pre-encoded JSON.
type jsonRaw []byte

// MarshalJSON returns the bytes as they are.
func (j jsonRaw) MarshalJSON() ([]byte, error) { return j, nil }

func explainJSON(s *snapshot.Snapshot, res *evaluator.Result, trace *evaluator.Trace, at time.Time) explainOutput {
	out := explainOutput{
		Result:   res.AppendJSON(nil),
		At:       at.UTC().Format(time.RFC3339Nano),
		Schedule: scheduleInfo(s, res),
		Path:     []traceStep{},
	}
	for _, st := range trace.Steps {
		out.Path = append(out.Path, traceStep{Depth: st.Depth, Subject: st.Subject, Matched: st.Matched, Detail: st.Detail})
	}
	return out
}

// suggest returns ` (did you mean "x"?)` for the flag keys closest to key, or "".
func suggest(key string, s *snapshot.Snapshot) string {
	best, bestDist := "", len(key)/2+1
	for i := range s.Flags {
		k := s.Flags[i].Key
		d := compiler.EditDistance(key, k)
		if len(key) >= 3 && (strings.Contains(k, key) || containsWords(k, key)) {
			d = min(d, 1)
		}
		if d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// containsWords reports whether every dash-separated word of key is a word of k
// ("faster-cdn" in "faster-image-cdn").
func containsWords(k, key string) bool {
	words := strings.Split(k, "-")
	for _, w := range strings.Split(key, "-") {
		if !slices.Contains(words, w) {
			return false
		}
	}
	return true
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}
