package compiler

import (
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Nesting limits, well inside what snapshot.Decode accepts.
const (
	maxConditionDepth = 32 // nesting of all/any/not
	maxChainDepth     = 32 // segment-in-segment and prerequisite chains
)

// symbols are the names documents refer to, gathered from every schema-valid document
// before any is decoded, so references are checked in one pass.
type symbols struct {
	projectOK       bool              // a valid Project exists: environment and ring references are checked
	envs            map[string]bool   // project environments
	rings           map[string]bool   // project ring names
	ladder          map[string]int    // project ring names → their place in the ladder
	metrics         map[string]string // project metric names → their units
	defaultBucketBy string
	segments        map[string]bool
	flags           map[string]map[string]bool // flag key → variant names
	// Keys of Segment and Flag documents that failed the schema: references to them are
	// not reported again as unknown.
	brokenSegments map[string]bool
	brokenFlags    map[string]bool
}

// decoder turns one schema-valid document into the source model, checking literals and
// references as it goes.
type decoder struct {
	file    string
	sym     *symbols
	errs    []*Error
	segRefs []segRef // segment references, for the cycle check

	// The flag being decoded.
	flagKey  string
	variants map[string]bool
	stage0   *Stage // the flag's first stage, nil without stages
}

type segRef struct {
	key  string
	pos  Pos
	path string
}

// pos returns the position of a node (a missing one, which the schema rules out, gives
// line 0).
func (d *decoder) pos(n node) Pos {
	if !n.ok() {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: n.line(), Column: n.col()}
}

func (d *decoder) errorf(n node, path, format string, args ...any) {
	p := d.pos(n)
	d.errs = append(d.errs, &Error{File: p.File, Line: p.Line, Column: p.Column, Path: path, Message: fmt.Sprintf(format, args...)})
}

func field(path, key string) string {
	switch {
	case !plainName(key):
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func str(n node) string {
	if !n.ok() || n.kind() != scalarNode || n.typ() != stringScalar {
		return ""
	}
	return n.text()
}

func num(n node) float64 {
	if !n.ok() || n.kind() != scalarNode || n.typ() != numberScalar {
		return 0
	}
	return n.data().num
}

func boolean(n node) bool {
	return n.ok() && n.kind() == scalarNode && n.typ() == boolScalar && n.data().truth
}

// listOf iterates over the items of a list node, with their indexes (nothing for
// anything else).
func listOf(n node) iter.Seq2[int, node] {
	return func(yield func(int, node) bool) {
		if !n.ok() || n.kind() != sequenceNode {
			return
		}
		for i := range n.len() {
			if !yield(i, n.elem(i)) {
				return
			}
		}
	}
}

// gatherSymbols collects the names the valid documents define. Project, segment and flag
// documents are already sorted into their lists by the caller.
func gatherSymbols(project node, segments, flags []document) *symbols {
	s := &symbols{
		envs: map[string]bool{}, rings: map[string]bool{}, ladder: map[string]int{}, metrics: map[string]string{},
		defaultBucketBy: "userId",
		segments:        map[string]bool{}, flags: map[string]map[string]bool{},
		brokenSegments: map[string]bool{}, brokenFlags: map[string]bool{},
	}
	if project.ok() {
		s.projectOK = true
		envs, _ := project.get("environments")
		for _, e := range listOf(envs) {
			s.envs[str(e)] = true
		}
		rings, _ := project.get("rings")
		for i, r := range listOf(rings) {
			name, _ := r.get("name")
			s.rings[str(name)] = true
			if _, dup := s.ladder[str(name)]; !dup {
				s.ladder[str(name)] = i
			}
		}
		metrics, _ := project.get("metrics")
		for k, m := range metrics.entries() {
			s.metrics[k.text()] = metricUnit(m)
		}
		if b, _ := project.get("defaultBucketBy"); b.ok() {
			s.defaultBucketBy = str(b)
		}
	}
	for _, doc := range segments {
		k, _ := doc.root.get("key")
		s.segments[str(k)] = true
	}
	for _, doc := range flags {
		k, _ := doc.root.get("key")
		s.flags[str(k)] = variantNames(doc.root)
	}
	return s
}

// variantNames returns a flag document's variant names, on and off for a boolean flag
// that lists none.
func variantNames(root node) map[string]bool {
	names := map[string]bool{}
	v, _ := root.get("variants")
	if !v.ok() {
		if t, _ := root.get("type"); str(t) == "boolean" {
			names["on"], names["off"] = true, true
		}
		return names
	}
	for k := range v.entries() {
		names[k.text()] = true
	}
	return names
}

func (d *decoder) project(root node) *Project {
	p := &Project{Pos: d.pos(root), DefaultBucketBy: d.sym.defaultBucketBy, Checks: map[string]Severity{}}
	envs, _ := root.get("environments")
	for _, e := range listOf(envs) {
		p.Environments = append(p.Environments, str(e))
	}
	if r, _ := root.get("rings"); r.ok() {
		p.Rings = d.rings(r, "rings")
	}
	if c, _ := root.get("checks"); c.ok() {
		for k, v := range c.entries() {
			p.Checks[k.text()] = Severity(str(v))
		}
	}
	if m, _ := root.get("metrics"); m.ok() {
		p.Metrics = d.metrics(m)
	}
	r, _ := root.get("rollouts")
	p.Rollouts = d.rolloutSettings(r)
	return p
}

func (d *decoder) segment(root node) *Segment {
	k, kn := root.get("key")
	s := &Segment{Pos: d.pos(kn), Key: str(k)}
	if v, _ := root.get("description"); v.ok() {
		s.Description = str(v)
	}
	w, _ := root.get("when")
	s.When = d.condition(w, "when", 0)
	return s
}

var valueTypes = map[string]snapshot.ValueType{
	"boolean": snapshot.TypeBoolean,
	"string":  snapshot.TypeString,
	"number":  snapshot.TypeNumber,
	"json":    snapshot.TypeJSON,
}

func (d *decoder) flag(root node) *Flag {
	k, kn := root.get("key")
	f := &Flag{
		Pos: d.pos(kn), Key: str(k), Fields: map[string]Pos{}, Enabled: true,
		BucketBy: d.sym.defaultBucketBy, Salt: str(k),
	}
	d.flagKey, d.stage0 = f.Key, nil
	for key := range root.entries() {
		f.Fields[key.text()] = d.pos(key)
	}
	get := func(name string) node { v, _ := root.get(name); return v }

	f.Description = str(get("description"))
	f.Owner = str(get("owner"))
	f.Lifecycle = Lifecycle(str(get("lifecycle")))
	for _, name := range []string{"created", "expires"} {
		if n := get(name); n.ok() {
			t, err := parseDate(str(n))
			if err != nil {
				d.errorf(n, name, "%v", err)
			}
			if name == "created" {
				f.Created = t
			} else {
				f.Expires = t
			}
		}
	}
	f.Type = valueTypes[str(get("type"))]

	// Variants, with the boolean defaults.
	d.variants = map[string]bool{}
	if vs := get("variants"); vs.ok() {
		for key, val := range vs.entries() {
			v := &Variant{Pos: d.pos(key), Name: key.text(), Value: val.toJSON()}
			js, err := canonicalJSON(v.Value)
			if err != nil {
				d.errorf(val, field("variants", key.text()), "cannot encode the value as JSON: %v", err)
			}
			v.JSON = js
			f.Variants = append(f.Variants, v)
			d.variants[v.Name] = true
		}
	} else if f.Type == snapshot.TypeBoolean {
		f.Variants = []*Variant{
			{Pos: f.Pos, Name: "on", Value: true, JSON: "true"},
			{Pos: f.Pos, Name: "off", Value: false, JSON: "false"},
		}
		d.variants["on"], d.variants["off"] = true, true
	}
	for _, name := range []string{"offVariant", "defaultVariant"} {
		value := "off"
		if n := get(name); n.ok() {
			value = str(n)
			d.variant(n, name, value)
		} else if f.Type == snapshot.TypeBoolean && !d.variants["off"] {
			d.errorf(get("variants"), "variants", "%s is not set and its default, \"off\", is not a variant", name)
		}
		if name == "offVariant" {
			f.OffVariant = value
		} else {
			f.DefaultVariant = value
		}
	}

	if n := get("enabled"); n.ok() {
		f.Enabled = boolean(n)
	}
	f.Killed = boolean(get("killed"))
	if n := get("bucketBy"); n.ok() {
		f.BucketBy = str(n)
	}
	if n := get("salt"); n.ok() {
		f.Salt = str(n)
	}
	if n := get("prerequisites"); n.ok() {
		f.Prerequisites = d.prerequisites(n, "prerequisites")
	}
	if n := get("rules"); n.ok() {
		f.Rules = d.rules(n, "rules")
	}
	ringNames, ladder := d.sym.rings, d.sym.ladder
	ringsChecked := d.sym.projectOK
	if n := get("rings"); n.ok() {
		f.Rings = d.rings(n, "rings")
		ringNames, ladder, ringsChecked = map[string]bool{}, map[string]int{}, true
		for i, r := range f.Rings {
			ringNames[r.Name] = true
			if _, dup := ladder[r.Name]; !dup {
				ladder[r.Name] = i
			}
		}
	}
	if n := get("stages"); n.ok() {
		f.Stages = d.stages(n, "stages", ringNames, ladder, ringsChecked)
		if len(f.Stages) > 0 {
			d.stage0 = f.Stages[0]
		}
	}
	if n := get("release"); n.ok() {
		f.Release = d.release(n, "release", ringNames, ringsChecked)
	}
	if n := get("rollout"); n.ok() {
		f.Rollout = d.serve(n, "rollout")
	}
	if d.stage0 != nil {
		_, sk := root.get("stages")
		d.startStages(root, sk, f)
	}
	if envs := get("environments"); envs.ok() {
		for key, val := range envs.entries() {
			path := field("environments", key.text())
			if d.sym.projectOK && !d.sym.envs[key.text()] {
				d.errorf(key, "environments", "unknown environment %q%s", ex(key.text()), didYouMean(key.text(), d.sym.envs))
			}
			o := d.override(val, path, ringNames, ringsChecked)
			o.Environment = key.text()
			f.Environments = append(f.Environments, o)
			if d.stage0 != nil {
				g := f.In(o.Environment)
				if v, staged := stagedVariant(g); staged && v == g.OffVariant {
					d.errorf(val, path, "in environment %q the stages would roll out %q, the offVariant there: the rollout needs a new variant and an old one to compare", o.Environment, v)
				}
			}
		}
		slices.SortFunc(f.Environments, func(a, b *Override) int { return strings.Compare(a.Environment, b.Environment) })
	}
	return f
}

func (d *decoder) override(n node, path string, ringNames map[string]bool, ringsChecked bool) *Override {
	o := &Override{Pos: d.pos(n)}
	get := func(name string) node { v, _ := n.get(name); return v }
	if v := get("enabled"); v.ok() {
		b := boolean(v)
		o.Enabled = &b
	}
	if v := get("killed"); v.ok() {
		b := boolean(v)
		o.Killed = &b
	}
	if v := get("defaultVariant"); v.ok() {
		s := str(v)
		d.variant(v, field(path, "defaultVariant"), s)
		o.DefaultVariant = &s
	}
	if v := get("offVariant"); v.ok() {
		s := str(v)
		d.variant(v, field(path, "offVariant"), s)
		o.OffVariant = &s
	}
	if v := get("prerequisites"); v.ok() {
		o.Prerequisites = d.prerequisites(v, field(path, "prerequisites"))
	}
	if v := get("rules"); v.ok() {
		o.Rules = d.rules(v, field(path, "rules"))
	}
	if v := get("release"); v.ok() {
		o.Release = d.release(v, field(path, "release"), ringNames, ringsChecked)
	}
	if v := get("rollout"); v.ok() {
		o.Rollout = d.serve(v, field(path, "rollout"))
		// Like the flag's rollout, an override's rollout without a percentage starts at
		// the first percentage stage. Any other percentage takes the environment out of
		// the stages (see stagedVariant).
		if st := d.stage0; st != nil && st.Ring == "" && !o.Rollout.IsSplit() && o.Rollout.Percentage == nil && o.Rollout.Schedule == nil {
			p := st.Percentage
			o.Rollout.Percentage = &p
		}
	}
	return o
}

// variant reports a reference to a variant the flag does not have.
func (d *decoder) variant(n node, path, name string) {
	if !d.variants[name] {
		d.errorf(n, path, "unknown variant %q%s", ex(name), didYouMean(name, d.variants))
	}
}

// didYouMean suggests the closest known name, or lists the known names when there are
// only a few.
func didYouMean(name string, known map[string]bool) string {
	names := keysOfSet(known)
	if s := suggest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(names) > 0 && len(names) <= 8 {
		return " (known: " + strings.Join(names, ", ") + ")"
	}
	return ""
}

func keysOfSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (d *decoder) prerequisites(n node, path string) []*Prerequisite {
	out := []*Prerequisite{}
	for i, item := range listOf(n) {
		ipath := index(path, i)
		fn, _ := item.get("flag")
		vn, _ := item.get("variant")
		p := &Prerequisite{Pos: d.pos(item), Flag: str(fn), Variant: str(vn)}
		out = append(out, p)
		if d.sym.brokenFlags[p.Flag] {
			continue
		}
		variants, ok := d.sym.flags[p.Flag]
		switch {
		case !ok:
			d.errorf(fn, field(ipath, "flag"), "unknown flag %q%s", ex(p.Flag), didYouMean(p.Flag, setOfKeys(d.sym.flags)))
		case p.Flag == d.flagKey:
			d.errorf(fn, field(ipath, "flag"), "a flag cannot be its own prerequisite")
		case !variants[p.Variant]:
			d.errorf(vn, field(ipath, "variant"), "flag %q has no variant %q%s", ex(p.Flag), ex(p.Variant), didYouMean(p.Variant, variants))
		}
	}
	return out
}

func setOfKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// uniqueName reports a name already seen in the same list (rules, rings), with the line of
// its first use, and records new names in first.
func (d *decoder) uniqueName(first map[string]node, nn node, path, kind string) {
	name := str(nn)
	if prev, dup := first[name]; dup {
		d.errorf(nn, path, "duplicate %s name %q (first at line %d)", kind, name, prev.line())
		return
	}
	first[name] = nn
}

func (d *decoder) rules(n node, path string) []*Rule {
	out := []*Rule{}
	first := map[string]node{}
	for i, item := range listOf(n) {
		ipath := index(path, i)
		nn, _ := item.get("name")
		r := &Rule{Pos: d.pos(item), Name: str(nn)}
		d.uniqueName(first, nn, field(ipath, "name"), "rule")
		if w, _ := item.get("when"); w.ok() {
			r.When = d.condition(w, field(ipath, "when"), 0)
		}
		s, _ := item.get("serve")
		r.Serve = d.serve(s, field(ipath, "serve"))
		out = append(out, r)
	}
	return out
}

func (d *decoder) rings(n node, path string) []*Ring {
	var out []*Ring
	first := map[string]node{}
	for i, item := range listOf(n) {
		ipath := index(path, i)
		nn, _ := item.get("name")
		r := &Ring{Pos: d.pos(item), Name: str(nn)}
		d.uniqueName(first, nn, field(ipath, "name"), "ring")
		if w, _ := item.get("when"); w.ok() {
			r.When = d.condition(w, field(ipath, "when"), 0)
		}
		if p, _ := item.get("percentage"); p.ok() {
			v := d.percentage(p, field(ipath, "percentage"))
			r.Percentage = &v
		}
		if s, _ := item.get("schedule"); s.ok() {
			r.Schedule = d.schedule(s, field(ipath, "schedule"))
		}
		if b, _ := item.get("bucketBy"); b.ok() {
			r.BucketBy = str(b)
		}
		out = append(out, r)
	}
	return out
}

func (d *decoder) release(n node, path string, ringNames map[string]bool, checked bool) *Release {
	rn, _ := n.get("ring")
	vn, _ := n.get("variant")
	r := &Release{Pos: d.pos(n), Ring: str(rn), Variant: str(vn)}
	d.variant(vn, field(path, "variant"), r.Variant)
	if !rn.ok() {
		if st := d.stage0; st != nil && st.Ring != "" {
			r.Ring = st.Ring // starts at the first ring stage
		} else {
			d.errorf(n, path, "missing required field \"ring\" (only a flag with ring stages may leave it out: the release then starts at the first stage's ring)")
		}
		return r
	}
	if checked && !ringNames[r.Ring] {
		if len(ringNames) == 0 {
			d.errorf(rn, field(path, "ring"), "unknown ring %q: neither the project nor the flag defines rings", ex(r.Ring))
		} else {
			d.errorf(rn, field(path, "ring"), "unknown ring %q%s", ex(r.Ring), didYouMean(r.Ring, ringNames))
		}
	}
	return r
}

func (d *decoder) percentage(n node, path string) float64 {
	p := num(n)
	if err := checkPercentage(p); err != nil {
		d.errorf(n, path, "%v", err)
	}
	return p
}

func (d *decoder) serve(n node, path string) *Serve {
	s := &Serve{Pos: d.pos(n)}
	if n.kind() == scalarNode {
		s.Variant = str(n)
		d.variant(n, path, s.Variant)
		return s
	}
	if b, _ := n.get("bucketBy"); b.ok() {
		s.BucketBy = str(b)
	}
	if split, _ := n.get("split"); split.ok() {
		s.Split = []*Weight{}
		var total uint64
		for key, val := range split.entries() {
			wpath := field(field(path, "split"), key.text())
			d.variant(key, wpath, key.text())
			w := &Weight{Pos: d.pos(key), Variant: key.text(), Weight: d.percentage(val, wpath)}
			total += uint64(ticks(w.Weight))
			s.Split = append(s.Split, w)
		}
		if total != snapshot.BucketCount {
			d.errorf(split, field(path, "split"), "split weights add up to %s, not 100", formatNumber(float64(total)/10_000))
		}
		return s
	}
	vn, _ := n.get("variant")
	s.Variant = str(vn)
	d.variant(vn, field(path, "variant"), s.Variant)
	if p, _ := n.get("percentage"); p.ok() {
		v := d.percentage(p, field(path, "percentage"))
		s.Percentage = &v
	}
	if sc, _ := n.get("schedule"); sc.ok() {
		s.Schedule = d.schedule(sc, field(path, "schedule"))
	}
	return s
}

func (d *decoder) schedule(n node, path string) *Schedule {
	s := &Schedule{Pos: d.pos(n)}
	start, _ := n.get("start")
	startOK := false
	if start.ok() {
		t, err := parseTime(str(start))
		if err != nil {
			d.errorf(start, field(path, "start"), "%v", err)
		} else {
			s.Start, startOK = t, true
		}
	}
	steps, _ := n.get("steps")
	var prevMs int64
	prevOK := false
	for i, item := range listOf(steps) {
		ipath := index(field(path, "steps"), i)
		st := &Step{Pos: d.pos(item)}
		pn, _ := item.get("percentage")
		st.Percentage = d.percentage(pn, field(ipath, "percentage"))
		ok := false
		if at, _ := item.get("at"); at.ok() {
			t, err := parseTime(str(at))
			if err != nil {
				d.errorf(at, field(ipath, "at"), "%v", err)
			} else {
				st.At, ok = t, true
			}
		} else if after, _ := item.get("after"); after.ok() {
			st.After = str(after)
			ms, err := parseDuration(st.After)
			switch {
			case err != nil:
				d.errorf(after, field(ipath, "after"), "%v", err)
			case !start.ok():
				d.errorf(after, field(ipath, "after"), "a step with \"after\" needs the schedule's \"start\"")
			case startOK:
				st.At, ok = s.Start.Add(msDuration(ms)), true
			}
		}
		if ok {
			ms := st.At.UnixMilli()
			if prevOK && ms <= prevMs {
				d.errorf(item, ipath, "schedule steps out of order: this step (%s) is not after the previous one", st.At.Format("2006-01-02T15:04:05.999Z07:00"))
			}
			prevMs, prevOK = ms, true
		}
		s.Steps = append(s.Steps, st)
	}
	return s
}

func (d *decoder) stages(n node, path string, ringNames map[string]bool, ladder map[string]int, ringsChecked bool) []*Stage {
	var out []*Stage
	prev := -1.0
	prevRing, prevRingName := -1, ""
	byRing := false // the first stage's kind: all stages have it
	for i, item := range listOf(n) {
		ipath := index(path, i)
		st := &Stage{Pos: d.pos(item)}
		pn, _ := item.get("percentage")
		rn, rk := item.get("ring")
		if i == 0 {
			byRing = rn.ok()
		}
		switch {
		case rn.ok() && !byRing:
			d.errorf(rk, ipath, "stages are all percentages or all rings: this stage has a ring, the first stage a percentage")
		case pn.ok() && byRing:
			_, pk := item.get("percentage")
			d.errorf(pk, ipath, "stages are all percentages or all rings: this stage has a percentage, the first stage a ring")
		case rn.ok():
			st.Ring = str(rn)
			place, known := ladder[st.Ring]
			switch {
			case !ringsChecked:
			case !known && len(ringNames) == 0:
				d.errorf(rn, field(ipath, "ring"), "unknown ring %q: neither the project nor the flag defines rings", st.Ring)
			case !known:
				d.errorf(rn, field(ipath, "ring"), "unknown ring %q%s", st.Ring, didYouMean(st.Ring, ringNames))
			case place <= prevRing:
				d.errorf(rn, field(ipath, "ring"), "ring stages follow the ladder outwards: %q does not come after the previous stage's %q", st.Ring, prevRingName)
			default:
				prevRing, prevRingName = place, st.Ring
			}
		case pn.ok():
			st.Percentage = d.percentage(pn, field(ipath, "percentage"))
			if st.Percentage <= prev {
				d.errorf(pn, field(ipath, "percentage"), "stage percentages must increase: %s%% does not exceed the previous stage's %s%%", formatNumber(st.Percentage), formatNumber(prev))
			} else if st.Percentage == 0 {
				d.errorf(pn, field(ipath, "percentage"), "a stage serves the new variant to more than 0%% of users")
			}
			prev = st.Percentage
		}
		dn, _ := item.get("duration")
		if ds := str(dn); ds == "infinity" {
			st.Infinite = true
			if i != n.len()-1 {
				d.errorf(dn, field(ipath, "duration"), "only the last stage may last for infinity")
			}
		} else {
			ms, err := parseDuration(ds)
			if err != nil {
				d.errorf(dn, field(ipath, "duration"), "%v", err)
			} else if ms == 0 {
				d.errorf(dn, field(ipath, "duration"), "a stage must last longer than 0")
			}
			st.Duration = msDuration(ms)
		}
		crit, _ := item.get("successCriteria")
		for j, c := range listOf(crit) {
			st.SuccessCriteria = append(st.SuccessCriteria, d.criterion(c, index(field(ipath, "successCriteria"), j)))
		}
		out = append(out, st)
	}
	return out
}

// criterion decodes a success criterion and checks its metric and the unit of its
// threshold against the project's metrics.
func (d *decoder) criterion(c node, path string) *Criterion {
	mn, _ := c.get("metric")
	tn, _ := c.get("threshold")
	cr, err := parseThreshold(str(tn))
	if err != nil {
		d.errorf(tn, field(path, "threshold"), "%v", err)
		cr = &Criterion{Threshold: str(tn)}
	}
	cr.Pos, cr.Metric, cr.OnFail = d.pos(c), str(mn), rollout.OnFailRollback
	if on, _ := c.get("onFail"); on.ok() {
		cr.OnFail = str(on)
	}
	if !d.sym.projectOK {
		return cr
	}
	unit, known := d.sym.metrics[cr.Metric]
	switch {
	case !known && len(d.sym.metrics) == 0:
		d.errorf(mn, field(path, "metric"), "unknown metric %q: the project defines no metrics (add them under metrics: in the Project document)", cr.Metric)
	case !known:
		d.errorf(mn, field(path, "metric"), "unknown metric %q%s", cr.Metric, didYouMean(cr.Metric, setOfKeys(d.sym.metrics)))
	case err == nil:
		if _, err := criterionValue(cr, cr.Metric, unit); err != nil {
			d.errorf(tn, field(path, "threshold"), "%v", err)
		}
	}
	return cr
}

// startStages checks that the flag has what its stages move (the fallthrough rollout's
// percentage, or the release's ring), starting at the first stage: a rollout without a
// percentage, or a release without a ring, gets the first stage's.
func (d *decoder) startStages(root, stagesKey node, f *Flag) {
	first := f.Stages[0]
	if first.Ring != "" {
		rel, _ := root.get("release")
		switch {
		case f.Release == nil:
			d.errorf(stagesKey, "stages", "ring stages move the release through the rings, and the flag has no release: add release: { variant: <the new variant> }")
			return
		case f.Release.Ring != first.Ring:
			rn, _ := rel.get("ring")
			d.errorf(rn, "release.ring", "release.ring is %q, but the first stage is ring %q: the rollout controller starts at the first stage; write ring: %s or leave the ring out", f.Release.Ring, first.Ring, first.Ring)
			return
		}
	} else {
		rn, _ := root.get("rollout")
		switch {
		case f.Rollout == nil:
			d.errorf(stagesKey, "stages", "percentage stages move the fallthrough rollout's percentage, and the flag has no rollout: add rollout: { variant: <the new variant> }")
			return
		case f.Rollout.IsSplit():
			d.errorf(rn, "rollout", "percentage stages move the percentage of a rollout that serves one variant, not of a split")
			return
		case f.Rollout.Schedule != nil:
			sn, sk := rn.get("schedule")
			if !sk.ok() {
				sk = sn
			}
			d.errorf(sk, "rollout", "a rollout with stages has no schedule: the rollout controller moves its percentage from stage to stage")
			return
		case f.Rollout.Percentage == nil:
			p := first.Percentage
			f.Rollout.Percentage = &p
		case *f.Rollout.Percentage != first.Percentage:
			pn, _ := rn.get("percentage")
			d.errorf(pn, "rollout.percentage", "rollout.percentage is %s, but the first stage is %s%%: the rollout controller starts at the first stage; write percentage: %s or leave the percentage out",
				formatNumber(*f.Rollout.Percentage), formatNumber(first.Percentage), formatNumber(first.Percentage))
			return
		}
	}
	if v, _ := stagedVariant(f); v == f.OffVariant {
		d.errorf(stagesKey, "stages", "the stages roll out %q, which is the flag's offVariant: the rollout needs a new variant and an old one (offVariant) to compare", v)
	}
}

// stagedVariant returns the variant a flag's stages roll out, as the flag is (for one
// environment, see Flag.In), and false when the stages do not apply: no stages, killed or
// disabled, or an override of the rollout (or release) that does not start at the first
// stage (another percentage, a schedule, a split, another ring).
func stagedVariant(f *Flag) (string, bool) {
	if len(f.Stages) == 0 || f.Killed || !f.Enabled {
		return "", false
	}
	first := f.Stages[0]
	if first.Ring != "" {
		if f.Release == nil || f.Release.Ring != first.Ring {
			return "", false
		}
		return f.Release.Variant, true
	}
	r := f.Rollout
	if r == nil || r.IsSplit() || r.Schedule != nil || r.Percentage == nil || *r.Percentage != first.Percentage {
		return "", false
	}
	return r.Variant, true
}

func (d *decoder) condition(n node, path string, depth int) *Condition {
	c := &Condition{Pos: d.pos(n)}
	if depth > maxConditionDepth {
		d.errorf(n, path, "conditions nested more than %d deep", maxConditionDepth)
		c.Kind = CondAll
		return c
	}
	if v, _ := n.get("all"); v.ok() {
		c.Kind = CondAll
		for i, item := range listOf(v) {
			c.Children = append(c.Children, d.condition(item, index(field(path, "all"), i), depth+1))
		}
		return c
	}
	if v, _ := n.get("any"); v.ok() {
		c.Kind = CondAny
		for i, item := range listOf(v) {
			c.Children = append(c.Children, d.condition(item, index(field(path, "any"), i), depth+1))
		}
		return c
	}
	if v, _ := n.get("not"); v.ok() {
		c.Kind = CondNot
		c.Children = []*Condition{d.condition(v, field(path, "not"), depth+1)}
		return c
	}
	if v, _ := n.get("segment"); v.ok() {
		c.Kind, c.Segment = CondSegment, str(v)
		if !d.sym.segments[c.Segment] && !d.sym.brokenSegments[c.Segment] {
			d.errorf(v, field(path, "segment"), "unknown segment %q%s", ex(c.Segment), didYouMean(c.Segment, d.sym.segments))
		}
		d.segRefs = append(d.segRefs, segRef{key: c.Segment, pos: d.pos(v), path: field(path, "segment")})
		return c
	}
	if v, _ := n.get("percentage"); v.ok() {
		c.Kind = CondPercentage
		c.Percentage = d.percentage(v, field(path, "percentage"))
		if b, _ := n.get("bucketBy"); b.ok() {
			c.BucketBy = str(b)
		}
		return c
	}
	c.Kind = CondClause
	a, _ := n.get("attribute")
	o, _ := n.get("op")
	c.Attribute, c.Op = str(a), str(o)
	ic, _ := n.get("ignoreCase")
	c.IgnoreCase = boolean(ic)
	var valueNodes []node
	var valuePaths []string
	if v, _ := n.get("value"); v.ok() {
		valueNodes, valuePaths = []node{v}, []string{field(path, "value")}
	} else if vs, _ := n.get("values"); vs.ok() {
		for i, item := range listOf(vs) {
			valueNodes = append(valueNodes, item)
			valuePaths = append(valuePaths, index(field(path, "values"), i))
		}
	}
	operator, _ := snapshot.LookupOperator(c.Op)
	for i, vn := range valueNodes {
		c.Values = append(c.Values, vn.value())
		s := str(vn)
		switch operator.Operand {
		case snapshot.OperandPattern:
			if _, err := regexp.Compile(s); err != nil {
				d.errorf(vn, valuePaths[i], "invalid regular expression (RE2): %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		case snapshot.OperandSemver:
			if _, ok := snapshot.ParseSemver(s); !ok {
				d.errorf(vn, valuePaths[i], "invalid semantic version %q", ex(s))
			}
		case snapshot.OperandTime:
			if _, rel, err := parseRelative(s); rel {
				if err != nil {
					d.errorf(vn, valuePaths[i], "%v", err)
				}
			} else if _, err := parseTime(s); err != nil {
				d.errorf(vn, valuePaths[i], "%v", err)
			}
		}
	}
	return c
}
