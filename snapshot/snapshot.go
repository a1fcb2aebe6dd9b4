// Package snapshot owns the compiled flag snapshot: its in-memory form and its compact,
// versioned, checksummed binary encoding. The compiler is its only writer; the evaluator,
// the edge hosts and the kill-switch Lambda read it. Keeping writer and reader in one
// package means the format cannot drift.
//
// The package builds for GOOS=wasip1 and deliberately avoids fmt, reflection and
// encoding/json so that the WASM evaluator stays small.
package snapshot

// Magic opens every encoded snapshot.
const Magic = "EFSN"

// MaxSize is the largest encoded snapshot, in bytes, that edges load (the WASM module, the
// pollers, the JavaScript hosts): the compiler refuses to build a larger one and the
// publisher to publish it, so that nothing is published that no edge would serve.
const MaxSize = 32 << 20

// FormatVersion is the version of the binary layout written by Encode.
const FormatVersion = 1

// BucketingVersion names the bucketing formula (see Bucket). Changing the formula
// re-buckets every user, so it is recorded in every snapshot and checked on decode.
const BucketingVersion = 1

// BucketCount is the number of buckets: a percentage P covers buckets below P*10000, so
// percentages can be set in steps of 0.0001%.
const BucketCount = 1_000_000

// NoIndex marks an absent optional index (no bucketing override, no release ring).
const NoIndex = -1

// Snapshot is one environment's compiled flags and segments.
type Snapshot struct {
	Environment string
	Revision    string // source revision (for example a git commit)
	BuildTime   int64  // Unix seconds; taken from the source revision for reproducible builds
	// Attributes lists every context attribute name the flags read, sorted. Clauses and
	// bucketing refer to attributes by index into this list.
	Attributes []string
	Segments   []Segment // sorted by key
	Flags      []Flag    // sorted by key
}

// Segment is a named, reusable audience.
type Segment struct {
	Key  string
	When Condition
}

// ValueType is the type of a flag's variant values.
type ValueType uint8

// Variant value types.
const (
	TypeBoolean ValueType = iota + 1
	TypeString
	TypeNumber
	TypeJSON
)

// String returns the type's name as written in flag files.
func (t ValueType) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeNumber:
		return "number"
	case TypeJSON:
		return "json"
	}
	return "unknown"
}

// Variant is a named value. JSON holds the value as canonical JSON text.
type Variant struct {
	Name string
	JSON string
}

// Flag is a compiled flag. Variant, flag, segment and attribute references are indexes.
type Flag struct {
	Key            string
	Type           ValueType
	Variants       []Variant
	OffVariant     int
	DefaultVariant int
	Enabled        bool
	Killed         bool
	// Seed is murmur3_x86_32 of the flag's salt: the hash seed for its buckets.
	Seed          uint32
	BucketBy      int // attribute index
	Prerequisites []Prerequisite
	Rules         []Rule
	Rings         []Ring // the ring ladder, innermost first (empty without a release)
	ReleaseRing   int    // index into Rings, or NoIndex
	ReleaseVar    int    // variant served to the release rings
	Rollout       Serve  // the fallthrough
}

// Prerequisite requires flag Flag to serve variant Variant.
type Prerequisite struct {
	Flag    int
	Variant int
}

// Rule serves Serve to users matching When (a nil When always matches).
type Rule struct {
	Name  string
	When  *Condition
	Serve Serve
}

// Ring is one audience of a ring ladder: users matching When (nil: everyone) within Portion.
type Ring struct {
	Name    string
	When    *Condition
	Portion Portion
}

// PortionKind says how much of an audience a Portion covers.
type PortionKind uint8

// Portion kinds.
const (
	PortionAll        PortionKind = iota // everyone
	PortionPercentage                    // buckets below Threshold
	PortionSchedule                      // buckets below the threshold of the step in force
)

// Portion is the share of an audience that gets a variant.
type Portion struct {
	Kind      PortionKind
	Threshold uint32 // buckets below this are in (0..BucketCount)
	Steps     []Step // increasing At
	BucketBy  int    // attribute index, or NoIndex for the flag's BucketBy
}

// Step is one point of a schedule: from At (Unix milliseconds) on, Threshold applies.
type Step struct {
	At        int64
	Threshold uint32
}

// ServeKind distinguishes a single variant from a weighted split.
type ServeKind uint8

// Serve kinds.
const (
	ServeVariant ServeKind = iota // Variant, to the users within Portion
	ServeSplit                    // weighted variants over the bucket
)

// Serve is what a rule or the fallthrough hands out.
type Serve struct {
	Kind    ServeKind
	Variant int
	Portion Portion
	Split   []Weight // cumulative upper bounds, the last equal to BucketCount
}

// Weight gives Variant to buckets below Upper (and at or above the previous Upper).
type Weight struct {
	Variant int
	Upper   uint32
}

// CondKind is the kind of a condition node.
type CondKind uint8

// Condition kinds.
const (
	CondAll CondKind = iota + 1
	CondAny
	CondNot
	CondSegment
	CondPercentage
	CondClause
)

// Condition is a node of a targeting condition tree.
type Condition struct {
	Kind     CondKind
	Children []Condition // CondAll, CondAny; CondNot has exactly one
	Segment  int         // CondSegment
	Portion  Portion     // CondPercentage (Kind PortionPercentage)
	Clause   Clause      // CondClause
}

// Op is a clause operator. Negated operators (notEquals, notIn) are the positive
// operator with Clause.Negate set; absent is OpPresent negated.
type Op uint8

// Clause operators.
const (
	OpIn Op = iota + 1 // equals / in: Values, sorted for binary search
	OpStartsWith
	OpEndsWith
	OpContains
	OpMatches
	OpLt
	OpLte
	OpGt
	OpGte
	OpSemverEq
	OpSemverLt
	OpSemverLte
	OpSemverGt
	OpSemverGte
	OpBefore
	OpAfter
	OpPresent
	opEnd
)

// LiteralKind is the type of a clause literal.
type LiteralKind uint8

// Literal kinds. Times are Unix milliseconds in Num (an offset when Clause.Relative).
const (
	LitString LiteralKind = iota + 1
	LitNumber
	LitBool
	LitTime
	LitSemver
)

// Literal is one clause value.
type Literal struct {
	Kind LiteralKind
	Str  string  // LitString, LitSemver (canonical text)
	Num  float64 // LitNumber, LitBool (0 or 1), LitTime
}

// Clause tests one context attribute.
type Clause struct {
	Attribute  int
	Op         Op
	Negate     bool
	IgnoreCase bool // string literals are stored lower-case
	Relative   bool // time literals are offsets from the time of evaluation
	Values     []Literal

	// Regexps holds the compiled program of each OpMatches pattern (Values[i].Str), built
	// by Prepare (or by Encode when missing) and stored in the snapshot.
	Regexps []*Regexp
	// Semvers holds the parsed semver literals; derived on decode and by Prepare, never
	// encoded.
	Semvers []Semver
}
