package snapshot

import (
	"math"
	"regexp"
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

// Decode verifies and decodes an encoded snapshot. Every length, index, threshold and
// literal is validated and regular expressions are compiled, so a decoded snapshot is safe
// to evaluate; truncated, corrupted or wrong-version input returns a *DecodeError and never
// panics.
func Decode(data []byte) (*Snapshot, error) {
	if err := Verify(data); err != nil {
		return nil, err
	}
	r := reader{b: data, off: headerSize}
	s := &Snapshot{}
	s.Environment = r.str()
	s.Revision = r.str()
	s.BuildTime = r.varint()
	n := r.count()
	s.Attributes = make([]string, n)
	for i := range s.Attributes {
		s.Attributes[i] = r.str()
	}
	n = r.count()
	s.Segments = make([]Segment, n)
	for i := range s.Segments {
		s.Segments[i].Key = r.str()
		r.condition(&s.Segments[i].When, 0)
	}
	n = r.count()
	s.Flags = make([]Flag, n)
	for i := range s.Flags {
		r.flag(&s.Flags[i])
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

type reader struct {
	b   []byte
	off int
	err *DecodeError
}

func (r *reader) fail(reason string) {
	if r.err == nil {
		r.err = &DecodeError{Offset: r.off, Reason: reason}
	}
	r.off = len(r.b)
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// count reads a length that can be at most the number of bytes left (each element takes
// at least one byte), so corrupt lengths cannot cause huge allocations.
func (r *reader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)-r.off) {
		r.fail("length exceeds input")
		return 0
	}
	return int(v)
}

func (r *reader) small(limit int, what string) int {
	v := r.uvarint()
	if v >= uint64(limit) {
		r.fail(what + " out of range")
		return 0
	}
	return int(v)
}

func (r *reader) index(limit int, what string) int {
	v := r.uvarint()
	if v > uint64(limit) {
		r.fail(what + " out of range")
		return NoIndex
	}
	return int(v) - 1
}

func (r *reader) threshold() uint32 {
	v := r.uvarint()
	if v > BucketCount {
		r.fail("threshold out of range")
		return 0
	}
	return uint32(v)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("truncated")
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *reader) float() float64 {
	if r.err != nil {
		return 0
	}
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
	if n == 0 && r.err == nil {
		r.fail("flag without variants")
	}
	f.Variants = make([]Variant, n)
	for i := range f.Variants {
		f.Variants[i].Name = r.str()
		f.Variants[i].JSON = r.str()
	}
	f.OffVariant = r.small(n, "variant")
	f.DefaultVariant = r.small(n, "variant")
	if len(r.b)-r.off < 4 {
		r.fail("truncated")
	} else if r.err == nil {
		f.Seed = getUint32(r.b[r.off:])
		r.off += 4
	}
	f.BucketBy = r.uvarint2int()
	f.Prerequisites = make([]Prerequisite, r.count())
	for i := range f.Prerequisites {
		f.Prerequisites[i].Flag = r.uvarint2int()
		f.Prerequisites[i].Variant = r.uvarint2int()
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
	f.ReleaseRing = r.index(len(f.Rings), "release ring")
	f.ReleaseVar = r.small(n, "variant")
	r.serve(&f.Rollout, n)
}

// uvarint2int reads an index whose range is checked later, in validate.
func (r *reader) uvarint2int() int {
	v := r.uvarint()
	if v > math.MaxInt32 {
		r.fail("index out of range")
		return 0
	}
	return int(v)
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
		s.Variant = r.small(variants, "variant")
		r.portion(&s.Portion)
	case ServeSplit:
		s.Portion.BucketBy = r.index(math.MaxInt32, "attribute")
		n := r.count()
		if n == 0 {
			r.fail("empty split")
		}
		s.Split = make([]Weight, n)
		var prev uint32
		for i := range s.Split {
			s.Split[i].Variant = r.small(variants, "variant")
			s.Split[i].Upper = r.threshold()
			if s.Split[i].Upper < prev {
				r.fail("split bounds not increasing")
			}
			prev = s.Split[i].Upper
		}
		if r.err == nil && prev != BucketCount {
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
		p.BucketBy = r.index(math.MaxInt32, "attribute")
	case PortionSchedule:
		p.Steps = make([]Step, r.count())
		for i := range p.Steps {
			p.Steps[i].At = r.varint()
			p.Steps[i].Threshold = r.threshold()
			if i > 0 && p.Steps[i].At < p.Steps[i-1].At {
				r.fail("schedule steps out of order")
			}
		}
		p.BucketBy = r.index(math.MaxInt32, "attribute")
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
		c.Segment = r.uvarint2int()
	case CondPercentage:
		c.Portion.Kind = PortionPercentage
		c.Portion.Threshold = r.threshold()
		c.Portion.BucketBy = r.index(math.MaxInt32, "attribute")
	case CondClause:
		cl := &c.Clause
		cl.Attribute = r.uvarint2int()
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
				switch r.byte() {
				case 0:
				case 1:
					v.Num = 1
				default:
					r.fail("bad bool")
				}
			case LitTime:
				v.Num = float64(r.varint())
			case LitNumber:
				v.Num = r.float()
			default:
				r.fail("bad literal kind")
			}
		}
		if r.err == nil {
			if reason := cl.Prepare(); reason != "" {
				r.fail(reason)
			}
		}
	default:
		r.fail("bad condition kind")
	}
}

// Prepare checks that the clause's literals suit its operator and derives the compiled
// regular expressions and parsed versions. It returns a reason on failure, "" on success.
func (cl *Clause) Prepare() string {
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
	cl.Regexps, cl.Semvers = nil, nil
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
			re, err := regexp.Compile(v.Str)
			if err != nil {
				return "bad regular expression"
			}
			cl.Regexps = append(cl.Regexps, re)
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

// validate checks cross references: indexes in range, keys sorted and unique, no
// reference cycles among segments or prerequisites.
func (s *Snapshot) validate() error {
	bad := func(reason string) error { return &DecodeError{Offset: headerSize, Reason: reason} }
	for i := 1; i < len(s.Attributes); i++ {
		if s.Attributes[i-1] >= s.Attributes[i] {
			return bad("attributes not sorted")
		}
	}
	for i := 1; i < len(s.Segments); i++ {
		if s.Segments[i-1].Key >= s.Segments[i].Key {
			return bad("segments not sorted")
		}
	}
	for i := 1; i < len(s.Flags); i++ {
		if s.Flags[i-1].Key >= s.Flags[i].Key {
			return bad("flags not sorted")
		}
	}
	na, ns := len(s.Attributes), len(s.Segments)
	for i := range s.Segments {
		if !conditionRefsOK(&s.Segments[i].When, na, ns) {
			return bad("segment " + s.Segments[i].Key + ": reference out of range")
		}
	}
	for i := range s.Flags {
		f := &s.Flags[i]
		if f.BucketBy >= na {
			return bad("flag " + f.Key + ": attribute out of range")
		}
		for _, p := range f.Prerequisites {
			if p.Flag >= len(s.Flags) || p.Flag == i || p.Variant >= len(s.Flags[p.Flag].Variants) {
				return bad("flag " + f.Key + ": prerequisite out of range")
			}
		}
		ok := serveRefsOK(&f.Rollout, na)
		for j := range f.Rules {
			ok = ok && serveRefsOK(&f.Rules[j].Serve, na) && (f.Rules[j].When == nil || conditionRefsOK(f.Rules[j].When, na, ns))
		}
		for j := range f.Rings {
			ok = ok && f.Rings[j].Portion.BucketBy < na && (f.Rings[j].When == nil || conditionRefsOK(f.Rings[j].When, na, ns))
		}
		if !ok {
			return bad("flag " + f.Key + ": reference out of range")
		}
	}
	// Segment references and prerequisites must form DAGs of bounded depth.
	depth := make([]int, ns)
	for i := range s.Segments {
		if segmentDepth(s, i, depth, 0) < 0 {
			return bad("segment reference cycle or chain too deep at " + s.Segments[i].Key)
		}
	}
	fdepth := make([]int, len(s.Flags))
	for i := range s.Flags {
		if prerequisiteDepth(s, i, fdepth, 0) < 0 {
			return bad("prerequisite cycle or chain too deep at " + s.Flags[i].Key)
		}
	}
	return nil
}

func serveRefsOK(sv *Serve, na int) bool { return sv.Portion.BucketBy < na }

func conditionRefsOK(c *Condition, na, ns int) bool {
	switch c.Kind {
	case CondSegment:
		return c.Segment < ns
	case CondPercentage:
		return c.Portion.BucketBy < na
	case CondClause:
		return c.Clause.Attribute < na
	}
	for i := range c.Children {
		if !conditionRefsOK(&c.Children[i], na, ns) {
			return false
		}
	}
	return true
}

// segmentDepth returns the reference depth of segment i (memoised in depth: 0 unknown,
// -1 in progress), or -1 on a cycle or a chain deeper than maxDepth.
func segmentDepth(s *Snapshot, i int, depth []int, level int) int {
	if depth[i] > 0 {
		return depth[i]
	}
	if depth[i] < 0 || level > maxDepth {
		return -1
	}
	depth[i] = -1
	d := 1
	var walk func(c *Condition) bool
	walk = func(c *Condition) bool {
		if c.Kind == CondSegment {
			sd := segmentDepth(s, c.Segment, depth, level+1)
			if sd < 0 {
				return false
			}
			d = max(d, sd+1)
		}
		for j := range c.Children {
			if !walk(&c.Children[j]) {
				return false
			}
		}
		return true
	}
	if !walk(&s.Segments[i].When) {
		return -1
	}
	depth[i] = d
	return d
}

func prerequisiteDepth(s *Snapshot, i int, depth []int, level int) int {
	if depth[i] > 0 {
		return depth[i]
	}
	if depth[i] < 0 || level > maxDepth {
		return -1
	}
	depth[i] = -1
	d := 1
	for _, p := range s.Flags[i].Prerequisites {
		pd := prerequisiteDepth(s, p.Flag, depth, level+1)
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
