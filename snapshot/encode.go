package snapshot

import (
	"math"
)

// headerSize is the fixed part before the payload: magic, format version, bucketing
// version, payload hash.
const headerSize = 4 + 2 + 2 + 32

// Encode writes the snapshot in the binary format. The output is deterministic: the same
// snapshot always encodes to the same bytes. The header carries the SHA-256 of the
// payload, which is also the snapshot's content address (see Hash). The patterns of
// matches clauses are written with their compiled programs (see Regexp), compiled here
// when Prepare has not.
func Encode(s *Snapshot) []byte {
	var w writer
	w.str(s.Environment)
	w.str(s.Revision)
	w.varint(s.BuildTime)
	w.uvarint(uint64(len(s.Attributes)))
	for _, a := range s.Attributes {
		w.str(a)
	}
	w.uvarint(uint64(len(s.Segments)))
	for i := range s.Segments {
		w.str(s.Segments[i].Key)
		w.condition(&s.Segments[i].When)
	}
	w.uvarint(uint64(len(s.Flags)))
	for i := range s.Flags {
		w.flag(&s.Flags[i])
	}
	out := make([]byte, headerSize, headerSize+len(w.b))
	copy(out, Magic)
	putUint16(out[4:], FormatVersion)
	putUint16(out[6:], BucketingVersion)
	sum := sum256(w.b)
	copy(out[8:], sum[:])
	return append(out, w.b...)
}

type writer struct{ b []byte }

func (w *writer) uvarint(v uint64) { w.b = appendUvarint(w.b, v) }
func (w *writer) varint(v int64)   { w.b = appendVarint(w.b, v) }
func (w *writer) index(i int)      { w.uvarint(uint64(i + 1)) } // NoIndex encodes as 0
func (w *writer) byte(v byte)      { w.b = append(w.b, v) }
func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}
func (w *writer) bool(v bool) {
	if v {
		w.byte(1)
	} else {
		w.byte(0)
	}
}
func (w *writer) float(f float64) {
	w.b = appendUint64(w.b, math.Float64bits(f))
}

func (w *writer) flag(f *Flag) {
	w.str(f.Key)
	w.byte(byte(f.Type))
	var bits byte
	if f.Enabled {
		bits |= 1
	}
	if f.Killed {
		bits |= 2
	}
	w.byte(bits)
	w.uvarint(uint64(len(f.Variants)))
	for _, v := range f.Variants {
		w.str(v.Name)
		w.str(v.JSON)
	}
	w.uvarint(uint64(f.OffVariant))
	w.uvarint(uint64(f.DefaultVariant))
	w.b = appendUint32(w.b, f.Seed)
	w.uvarint(uint64(f.BucketBy))
	w.uvarint(uint64(len(f.Prerequisites)))
	for _, p := range f.Prerequisites {
		w.uvarint(uint64(p.Flag))
		w.uvarint(uint64(p.Variant))
	}
	w.uvarint(uint64(len(f.Rules)))
	for i := range f.Rules {
		r := &f.Rules[i]
		w.str(r.Name)
		w.optCondition(r.When)
		w.serve(&r.Serve)
	}
	w.uvarint(uint64(len(f.Rings)))
	for i := range f.Rings {
		r := &f.Rings[i]
		w.str(r.Name)
		w.optCondition(r.When)
		w.portion(&r.Portion)
	}
	w.index(f.ReleaseRing)
	w.uvarint(uint64(f.ReleaseVar))
	w.serve(&f.Rollout)
}

func (w *writer) optCondition(c *Condition) {
	if c == nil {
		w.byte(0)
		return
	}
	w.byte(1)
	w.condition(c)
}

func (w *writer) serve(s *Serve) {
	w.byte(byte(s.Kind))
	switch s.Kind {
	case ServeVariant:
		w.uvarint(uint64(s.Variant))
		w.portion(&s.Portion)
	case ServeSplit:
		w.index(s.Portion.BucketBy)
		w.uvarint(uint64(len(s.Split)))
		for _, x := range s.Split {
			w.uvarint(uint64(x.Variant))
			w.uvarint(uint64(x.Upper))
		}
	}
}

func (w *writer) portion(p *Portion) {
	w.byte(byte(p.Kind))
	switch p.Kind {
	case PortionPercentage:
		w.uvarint(uint64(p.Threshold))
		w.index(p.BucketBy)
	case PortionSchedule:
		w.uvarint(uint64(len(p.Steps)))
		for _, s := range p.Steps {
			w.varint(s.At)
			w.uvarint(uint64(s.Threshold))
		}
		w.index(p.BucketBy)
	}
}

func (w *writer) condition(c *Condition) {
	w.byte(byte(c.Kind))
	switch c.Kind {
	case CondAll, CondAny, CondNot:
		w.uvarint(uint64(len(c.Children)))
		for i := range c.Children {
			w.condition(&c.Children[i])
		}
	case CondSegment:
		w.uvarint(uint64(c.Segment))
	case CondPercentage:
		w.uvarint(uint64(c.Portion.Threshold))
		w.index(c.Portion.BucketBy)
	case CondClause:
		cl := &c.Clause
		w.uvarint(uint64(cl.Attribute))
		w.byte(byte(cl.Op))
		var bits byte
		if cl.Negate {
			bits |= 1
		}
		if cl.IgnoreCase {
			bits |= 2
		}
		if cl.Relative {
			bits |= 4
		}
		if cl.Op == OpMatches {
			bits |= clausePrograms
		}
		w.byte(bits)
		w.uvarint(uint64(len(cl.Values)))
		for _, v := range cl.Values {
			w.byte(byte(v.Kind))
			switch v.Kind {
			case LitString, LitSemver:
				w.str(v.Str)
			case LitBool:
				w.bool(v.Num != 0)
			case LitTime:
				w.varint(int64(v.Num))
			default:
				w.float(v.Num)
			}
		}
		if cl.Op == OpMatches {
			w.programs(cl)
		}
	}
}

// programs writes the program of each pattern of a matches clause, compiling those that
// Prepare has not; a pattern that does not compile is written without a program, which
// Decode refuses.
func (w *writer) programs(cl *Clause) {
	for i, v := range cl.Values {
		var re *Regexp
		if len(cl.Regexps) == len(cl.Values) {
			re = cl.Regexps[i]
		} else {
			re, _ = CompileRegexp(v.Str)
		}
		w.b = appendRegexp(w.b, re)
	}
}
