//go:build !wasip1

// Most tests use the methods that take a time.Time, which GOOS=wasip1 builds leave out:
// their files, and these helpers, are built for other systems only.

package evaluator

import (
	"sort"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// builder assembles snapshots by hand so that evaluator tests do not depend on the compiler.
type builder struct {
	attrs    []string
	segments []snapshot.Segment
	flags    []snapshot.Flag
}

func (b *builder) attr(name string) int {
	for i, a := range b.attrs {
		if a == name {
			return i
		}
	}
	b.attrs = append(b.attrs, name)
	return len(b.attrs) - 1
}

// boolFlag returns an enabled boolean flag (variants off=0, on=1) bucketed by userId.
func (b *builder) boolFlag(key string) snapshot.Flag {
	return snapshot.Flag{
		Key: key, Type: snapshot.TypeBoolean, Enabled: true,
		Variants:   []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
		OffVariant: 0, DefaultVariant: 0,
		Seed:        snapshot.SeedFor(key),
		BucketBy:    b.attr("userId"),
		ReleaseRing: snapshot.NoIndex,
		Rollout:     snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all()},
	}
}

func all() snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
}

func pct(p float64) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
}

func (b *builder) clause(attr string, op snapshot.Op, values ...snapshot.Literal) *snapshot.Condition {
	c := &snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{Attribute: b.attr(attr), Op: op, Values: values}}
	return c
}

func str(s string) snapshot.Literal  { return snapshot.Literal{Kind: snapshot.LitString, Str: s} }
func num(f float64) snapshot.Literal { return snapshot.Literal{Kind: snapshot.LitNumber, Num: f} }
func boolLit(v bool) snapshot.Literal {
	return snapshot.Literal{Kind: snapshot.LitBool, Num: map[bool]float64{false: 0, true: 1}[v]}
}
func semver(s string) snapshot.Literal { return snapshot.Literal{Kind: snapshot.LitSemver, Str: s} }
func timeLit(ms int64) snapshot.Literal {
	return snapshot.Literal{Kind: snapshot.LitTime, Num: float64(ms)}
}
func segRef(i int) *snapshot.Condition {
	return &snapshot.Condition{Kind: snapshot.CondSegment, Segment: i}
}
func anyOf(cs ...*snapshot.Condition) *snapshot.Condition { return group(snapshot.CondAny, cs) }
func allOf(cs ...*snapshot.Condition) *snapshot.Condition { return group(snapshot.CondAll, cs) }
func not(c *snapshot.Condition) *snapshot.Condition {
	return group(snapshot.CondNot, []*snapshot.Condition{c})
}

func group(k snapshot.CondKind, cs []*snapshot.Condition) *snapshot.Condition {
	g := &snapshot.Condition{Kind: k}
	for _, c := range cs {
		g.Children = append(g.Children, *c)
	}
	return g
}

// build sorts attributes, segments and flags the way the compiler does, remaps indexes,
// and round-trips the result through Encode and Decode, so tests exercise real snapshots.
func (b *builder) build(t testing.TB) *snapshot.Snapshot {
	t.Helper()
	order := make([]int, len(b.attrs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return b.attrs[order[i]] < b.attrs[order[j]] })
	remap := make([]int, len(b.attrs))
	sorted := make([]string, len(b.attrs))
	for newIdx, old := range order {
		remap[old] = newIdx
		sorted[newIdx] = b.attrs[old]
	}
	fixPortion := func(p *snapshot.Portion) {
		if p.BucketBy >= 0 {
			p.BucketBy = remap[p.BucketBy]
		}
	}
	var fixCond func(c *snapshot.Condition)
	fixCond = func(c *snapshot.Condition) {
		if c == nil {
			return
		}
		switch c.Kind {
		case snapshot.CondClause:
			c.Clause.Attribute = remap[c.Clause.Attribute]
			if c.Clause.Op == snapshot.OpIn {
				sort.Slice(c.Clause.Values, func(i, j int) bool { return snapshot.LiteralLess(c.Clause.Values[i], c.Clause.Values[j]) })
			}
		case snapshot.CondPercentage:
			fixPortion(&c.Portion)
		}
		for i := range c.Children {
			fixCond(&c.Children[i])
		}
	}
	s := &snapshot.Snapshot{Environment: "test", Revision: "r1", BuildTime: 1, Attributes: sorted}
	s.Segments = append(s.Segments, b.segments...)
	for i := range s.Segments {
		fixCond(&s.Segments[i].When)
	}
	s.Flags = append(s.Flags, b.flags...)
	for i := range s.Flags {
		f := &s.Flags[i]
		f.BucketBy = remap[f.BucketBy]
		fixPortion(&f.Rollout.Portion)
		for j := range f.Rules {
			fixCond(f.Rules[j].When)
			fixPortion(&f.Rules[j].Serve.Portion)
		}
		for j := range f.Rings {
			fixCond(f.Rings[j].When)
			fixPortion(&f.Rings[j].Portion)
		}
	}
	out, err := snapshot.Decode(snapshot.Encode(s))
	if err != nil {
		t.Fatalf("test snapshot does not decode: %v", err)
	}
	return out
}
