package snapshot

import (
	"math"
	"strconv"
)

// maxDepth bounds condition nesting and prerequisite chains so that a hostile snapshot
// cannot exhaust the stack.
const maxDepth = 64

// DecodeError reports why bytes are not a valid snapshot.
type DecodeError struct {
	Offset int // byte offset in the input where the problem was found
	Reason string
}

func (e *DecodeError) Error() string {
	return "snapshot: " + e.Reason + " at byte " + strconv.Itoa(e.Offset)
}

// Hash returns the content hash recorded in an encoded snapshot's header, as lower-case
// hex, without verifying it. It is the snapshot's content address.
func Hash(data []byte) (string, error) {
	if err := checkHeader(data); err != nil {
		return "", err
	}
	return hexString(data[8:headerSize]), nil
}

// Verify checks the header and that the payload matches the recorded content hash.
func Verify(data []byte) error {
	if err := checkHeader(data); err != nil {
		return err
	}
	sum := sum256(data[headerSize:])
	if string(sum[:]) != string(data[8:headerSize]) {
		return &DecodeError{Offset: 8, Reason: "content hash mismatch"}
	}
	return nil
}

func checkHeader(data []byte) error {
	if len(data) < headerSize {
		return &DecodeError{Offset: len(data), Reason: "truncated header"}
	}
	if string(data[:4]) != Magic {
		return &DecodeError{Offset: 0, Reason: "not a snapshot (bad magic)"}
	}
	if v := getUint16(data[4:]); v != FormatVersion {
		return &DecodeError{Offset: 4, Reason: "unsupported format version " + strconv.Itoa(int(v))}
	}
	if v := getUint16(data[6:]); v != BucketingVersion {
		return &DecodeError{Offset: 6, Reason: "unsupported bucketing version " + strconv.Itoa(int(v))}
	}
	return nil
}

// Decode verifies and decodes an encoded snapshot. Every length, index, threshold, literal
// and regular expression program is validated, so a decoded snapshot is safe to evaluate;
// truncated, corrupted or wrong-version input returns a *DecodeError and never panics.
func Decode(data []byte) (*Snapshot, error) {
	if err := Verify(data); err != nil {
		return nil, err
	}
	return DecodeVerified(data)
}

// DecodeVerified decodes an encoded snapshot whose content hash the caller has verified
// already — with Verify, or by comparing a SHA-256 of the payload of its own with the
// hash a pointer names, as the pollers do — without hashing the payload again. The header
// is checked and everything else validated as Decode does, so the result is as safe to
// evaluate; only the payload's integrity is the caller's word. Use Decode for bytes that
// were not verified.
func DecodeVerified(data []byte) (*Snapshot, error) {
	if err := checkHeader(data); err != nil {
		return nil, err
	}
	r := reader{b: data, off: headerSize}
	s := &Snapshot{}
	s.Environment = r.str()
	s.Revision = r.str()
	s.BuildTime = r.varint()
	s.Attributes = make([]string, r.count())
	for i := range s.Attributes {
		s.Attributes[i] = r.str()
		r.sorted(i > 0 && s.Attributes[i-1] >= s.Attributes[i], "attributes")
	}
	r.attributes = len(s.Attributes)
	s.Segments = make([]Segment, r.count())
	r.segments = len(s.Segments)
	for i := range s.Segments {
		s.Segments[i].Key = r.str()
		r.sorted(i > 0 && s.Segments[i-1].Key >= s.Segments[i].Key, "segments")
		r.condition(&s.Segments[i].When, 0)
	}
	s.Flags = make([]Flag, r.count())
	r.flags = len(s.Flags)
	for i := range s.Flags {
		r.flag(&s.Flags[i])
		r.sorted(i > 0 && s.Flags[i-1].Key >= s.Flags[i].Key, "flags")
	}
	if r.err == nil && r.off != len(data) {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// reader decodes the payload. The first problem is kept in err and ends the decoding:
// later reads return zero values. Indexes are checked against the counts read so far.
//
// Its small methods are marked go:noinline: the decoder runs once per snapshot, and their
// copies inlined at every call site cost the WASM module about 2 KB gzip.
type reader struct {
	b   []byte
	off int
	err *DecodeError

	attributes, segments, flags int
}

// fail is not inlined: it is the cold path of every read, and its copies at each call
// site cost the WASM module 2.5 KB gzip.
//
//go:noinline
func (r *reader) fail(reason string) {
	if r.err == nil {
		r.err = &DecodeError{Offset: r.off, Reason: reason}
	}
	r.off = len(r.b)
}

//go:noinline
func (r *reader) sorted(bad bool, what string) {
	if bad {
		r.fail(what + " not sorted")
	}
}

//go:noinline
func (r *reader) uvarint() uint64 {
	v, n := uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

//go:noinline
func (r *reader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// count reads a length that can be at most the number of bytes left (each element takes
// at least one byte), so corrupt lengths cannot cause huge allocations.
//
//go:noinline
func (r *reader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)-r.off) {
		r.fail("length exceeds input")
		return 0
	}
	return int(v)
}

// below reads a number that must be less than limit.
//
//go:noinline
func (r *reader) below(limit int, what string) int {
	v := r.uvarint()
	if v >= uint64(limit) {
		r.fail(what + " out of range")
		return 0
	}
	return int(v)
}

// optional reads an optional index below limit, encoded plus one (0 is NoIndex).
//
//go:noinline
func (r *reader) optional(limit int, what string) int {
	return r.below(limit+1, what) - 1
}

//go:noinline
func (r *reader) threshold() uint32 {
	return uint32(r.below(BucketCount+1, "threshold"))
}

//go:noinline
func (r *reader) byte() byte {
	if r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

//go:noinline
func (r *reader) str() string {
	n := r.count()
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

//go:noinline
func (r *reader) float() float64 {
	if len(r.b)-r.off < 8 {
		r.fail("truncated")
		return 0
	}
	v := math.Float64frombits(getUint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *reader) flag(f *Flag) {
	f.Key = r.str()
	f.Type = ValueType(r.byte())
	if f.Type < TypeBoolean || f.Type > TypeJSON {
		r.fail("bad flag type")
	}
	bits := r.byte()
	f.Enabled, f.Killed = bits&1 != 0, bits&2 != 0
	n := r.count()
	if n == 0 {
		r.fail("flag without variants")
	}
	f.Variants = make([]Variant, n)
	for i := range f.Variants {
		f.Variants[i].Name = r.str()
		f.Variants[i].JSON = r.str()
		if r.err == nil && !validLiteral(f.Type, f.Variants[i].JSON) {
			r.fail("variant " + quote(f.Variants[i].Name) + " of flag " + quote(f.Key) +
				": value is not one JSON " + f.Type.String() + " value")
		}
	}
	f.OffVariant = r.below(n, "variant")
	f.DefaultVariant = r.below(n, "variant")
	if len(r.b)-r.off < 4 {
		r.fail("truncated")
	} else {
		f.Seed = getUint32(r.b[r.off:])
		r.off += 4
	}
	f.BucketBy = r.below(r.attributes, "attribute")
	f.Prerequisites = make([]Prerequisite, r.count())
	for i := range f.Prerequisites {
		f.Prerequisites[i].Flag = r.below(r.flags, "prerequisite")
		f.Prerequisites[i].Variant = r.below(math.MaxInt32, "variant") // checked in validate
	}
	f.Rules = make([]Rule, r.count())
	for i := range f.Rules {
		ru := &f.Rules[i]
		ru.Name = r.str()
		ru.When = r.optCondition()
		r.serve(&ru.Serve, n)
	}
	f.Rings = make([]Ring, r.count())
	for i := range f.Rings {
		ri := &f.Rings[i]
		ri.Name = r.str()
		ri.When = r.optCondition()
		r.portion(&ri.Portion)
	}
	f.ReleaseRing = r.optional(len(f.Rings), "release ring")
	f.ReleaseVar = r.below(n, "variant")
	r.serve(&f.Rollout, n)
}

func (r *reader) optCondition() *Condition {
	switch r.byte() {
	case 0:
		return nil
	case 1:
		c := &Condition{}
		r.condition(c, 0)
		return c
	}
	r.fail("bad condition marker")
	return nil
}

func (r *reader) serve(s *Serve, variants int) {
	s.Kind = ServeKind(r.byte())
	switch s.Kind {
	case ServeVariant:
		s.Variant = r.below(variants, "variant")
		r.portion(&s.Portion)
	case ServeSplit:
		s.Portion.BucketBy = r.optional(r.attributes, "attribute")
		n := r.count()
		if n == 0 {
			r.fail("empty split")
		}
		s.Split = make([]Weight, n)
		var prev uint32
		for i := range s.Split {
			s.Split[i].Variant = r.below(variants, "variant")
			s.Split[i].Upper = r.threshold()
			if s.Split[i].Upper < prev {
				r.fail("split bounds not increasing")
			}
			prev = s.Split[i].Upper
		}
		if prev != BucketCount {
			r.fail("split does not cover every bucket")
		}
	default:
		r.fail("bad serve kind")
	}
}

func (r *reader) portion(p *Portion) {
	p.Kind = PortionKind(r.byte())
	p.BucketBy = NoIndex
	switch p.Kind {
	case PortionAll:
	case PortionPercentage:
		p.Threshold = r.threshold()
		p.BucketBy = r.optional(r.attributes, "attribute")
	case PortionSchedule:
		p.Steps = make([]Step, r.count())
		for i := range p.Steps {
			p.Steps[i].At = r.varint()
			p.Steps[i].Threshold = r.threshold()
			if i > 0 && p.Steps[i].At < p.Steps[i-1].At {
				r.fail("schedule steps out of order")
			}
		}
		p.BucketBy = r.optional(r.attributes, "attribute")
	default:
		r.fail("bad portion kind")
	}
}

func (r *reader) condition(c *Condition, depth int) {
	if depth > maxDepth {
		r.fail("conditions nested too deeply")
		return
	}
	c.Kind = CondKind(r.byte())
	switch c.Kind {
	case CondAll, CondAny, CondNot:
		n := r.count()
		if c.Kind == CondNot && n != 1 {
			r.fail("not must have one operand")
		}
		c.Children = make([]Condition, n)
		for i := range c.Children {
			r.condition(&c.Children[i], depth+1)
		}
	case CondSegment:
		c.Segment = r.below(r.segments, "segment")
	case CondPercentage:
		c.Portion.Kind = PortionPercentage
		c.Portion.Threshold = r.threshold()
		c.Portion.BucketBy = r.optional(r.attributes, "attribute")
	case CondClause:
		r.clause(&c.Clause)
	default:
		r.fail("bad condition kind")
	}
}

func (r *reader) clause(cl *Clause) {
	cl.Attribute = r.below(r.attributes, "attribute")
	cl.Op = Op(r.byte())
	if cl.Op < OpIn || cl.Op >= opEnd {
		r.fail("bad operator")
	}
	bits := r.byte()
	cl.Negate, cl.IgnoreCase, cl.Relative = bits&1 != 0, bits&2 != 0, bits&4 != 0
	cl.Values = make([]Literal, r.count())
	for i := range cl.Values {
		v := &cl.Values[i]
		v.Kind = LiteralKind(r.byte())
		switch v.Kind {
		case LitString, LitSemver:
			v.Str = r.str()
		case LitBool:
			v.Num = float64(r.below(2, "bool"))
		case LitTime:
			v.Num = float64(r.varint())
		case LitNumber:
			v.Num = r.float()
		default:
			r.fail("bad literal kind")
		}
	}
	if (cl.Op == OpMatches) != (bits&clausePrograms != 0) {
		r.fail("compiled programs missing or misplaced (a matches clause from an older compiler: recompile the flags)")
	}
	if bits&clausePrograms != 0 {
		cl.Regexps = make([]*Regexp, len(cl.Values))
		for i := range cl.Regexps {
			cl.Regexps[i] = r.regexp()
		}
	}
	if r.err == nil {
		if reason := cl.check(); reason != "" {
			r.fail(reason)
		}
	}
}

// clausePrograms is the clause flag bit that says compiled programs follow the values.
const clausePrograms = 8

// Prepare compiles the clause's regular expressions (when Regexps does not hold one per
// pattern yet), checks that the literals suit the operator and parses the versions. It
// returns a reason on failure, "" on success. The compiler calls it on every clause it
// builds; Decode reads the programs from the snapshot instead of compiling them.
func (cl *Clause) Prepare() string {
	if cl.Op == OpMatches && len(cl.Regexps) != len(cl.Values) {
		cl.Regexps = cl.Regexps[:0]
		for _, v := range cl.Values {
			re, err := CompileRegexp(v.Str)
			if err != nil {
				return "bad regular expression"
			}
			cl.Regexps = append(cl.Regexps, re)
		}
	}
	return cl.check()
}

// check checks that the literals suit the operator and parses the versions.
func (cl *Clause) check() string {
	want := LiteralKind(0)
	switch cl.Op {
	case OpStartsWith, OpEndsWith, OpContains, OpMatches:
		want = LitString
	case OpLt, OpLte, OpGt, OpGte:
		want = LitNumber
	case OpSemverEq, OpSemverLt, OpSemverLte, OpSemverGt, OpSemverGte:
		want = LitSemver
	case OpBefore, OpAfter:
		want = LitTime
	case OpPresent:
		if len(cl.Values) != 0 {
			return "present takes no values"
		}
		return ""
	}
	if len(cl.Values) == 0 {
		return "clause without values"
	}
	cl.Semvers = nil
	for i, v := range cl.Values {
		if want != 0 && v.Kind != want {
			return "literal does not suit operator"
		}
		if cl.Op == OpIn && (v.Kind == LitTime || v.Kind == LitSemver) {
			return "literal does not suit operator"
		}
		if cl.Op == OpIn && i > 0 && !literalLess(cl.Values[i-1], v) {
			return "set values not sorted"
		}
		switch cl.Op {
		case OpMatches:
			if v.Kind == LitString && (i >= len(cl.Regexps) || cl.Regexps[i] == nil) {
				return "regular expression without its program"
			}
		case OpSemverEq, OpSemverLt, OpSemverLte, OpSemverGt, OpSemverGte:
			sv, ok := ParseSemver(v.Str)
			if !ok {
				return "bad semantic version"
			}
			cl.Semvers = append(cl.Semvers, sv)
		}
	}
	return ""
}

// LiteralLess orders set literals: by kind, then value. OpIn values are sorted by it.
func LiteralLess(a, b Literal) bool { return literalLess(a, b) }

func literalLess(a, b Literal) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Kind == LitString {
		return a.Str < b.Str
	}
	return a.Num < b.Num
}

// validate checks what Decode cannot check while reading: that prerequisites name a
// variant of their flag, and that segment references and prerequisites form chains
// without cycles, at most maxDepth long.
func (s *Snapshot) validate() error {
	bad := func(reason string) error { return &DecodeError{Offset: headerSize, Reason: reason} }
	for i := range s.Flags {
		for _, p := range s.Flags[i].Prerequisites {
			if p.Flag == i || p.Variant >= len(s.Flags[p.Flag].Variants) {
				return bad("flag " + s.Flags[i].Key + ": prerequisite out of range")
			}
		}
	}
	depth := make([]int, len(s.Segments))
	for i := range s.Segments {
		if s.segmentDepth(i, depth, 0) < 0 {
			return bad("segment reference cycle or chain too deep at " + s.Segments[i].Key)
		}
	}
	depth = make([]int, len(s.Flags))
	for i := range s.Flags {
		if s.prerequisiteDepth(i, depth, 0) < 0 {
			return bad("prerequisite cycle or chain too deep at " + s.Flags[i].Key)
		}
	}
	return nil
}

// segmentDepth returns the reference depth of segment i (memoised in depth: 0 unknown,
// -1 in progress), or -1 on a cycle or a chain deeper than maxDepth.
func (s *Snapshot) segmentDepth(i int, depth []int, level int) int {
	switch {
	case depth[i] != 0:
		return depth[i] // known, or -1: in progress, a cycle
	case level > maxDepth:
		return -1
	}
	depth[i] = -1
	d := s.conditionDepth(&s.Segments[i].When, depth, level)
	depth[i] = d
	return d
}

// conditionDepth returns 1 + the deepest segment reference depth within c, or -1.
func (s *Snapshot) conditionDepth(c *Condition, depth []int, level int) int {
	d := 1
	if c.Kind == CondSegment {
		sd := s.segmentDepth(c.Segment, depth, level+1)
		if sd < 0 {
			return -1
		}
		d = sd + 1
	}
	for j := range c.Children {
		cd := s.conditionDepth(&c.Children[j], depth, level)
		if cd < 0 {
			return -1
		}
		d = max(d, cd)
	}
	return d
}

func (s *Snapshot) prerequisiteDepth(i int, depth []int, level int) int {
	switch {
	case depth[i] != 0:
		return depth[i]
	case level > maxDepth:
		return -1
	}
	depth[i] = -1
	d := 1
	for _, p := range s.Flags[i].Prerequisites {
		pd := s.prerequisiteDepth(p.Flag, depth, level+1)
		if pd < 0 {
			return -1
		}
		d = max(d, pd+1)
	}
	depth[i] = d
	return d
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// FlagIndex returns the index of the flag with the given key, or NoIndex.
func (s *Snapshot) FlagIndex(key string) int {
	lo, hi := 0, len(s.Flags)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.Flags[m].Key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(s.Flags) && s.Flags[lo].Key == key {
		return lo
	}
	return NoIndex
}

// VariantIndex returns the index of the named variant, or NoIndex.
func (f *Flag) VariantIndex(name string) int {
	for i, v := range f.Variants {
		if v.Name == name {
			return i
		}
	}
	return NoIndex
}
