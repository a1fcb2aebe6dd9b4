package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

// tracer records the decision path of an evaluation (see Explain). The evaluation calls it
// only while explaining, and hands it facts rather than text: all formatting lives in the
// implementation, *Trace. A program that never calls Explain — the WASM module — converts
// no value to a tracer, so the linker keeps none of that code.
type tracer interface {
	// open records a step whose outcome is known later (a rule, a ring, a group of
	// conditions) and returns its mark for close.
	open(depth int, f fact) int
	// close records the outcome of an opened step.
	close(mark int, matched bool, f fact)
	// note records a step and its outcome.
	note(depth int, matched bool, f fact)
	// nested returns the tracer of a prerequisite's evaluation, one level deeper.
	nested() tracer
}

// factKind says what a fact reports; it decides which fields of the fact matter.
type factKind uint8

// Facts. The comment gives the fields used.
const (
	factNone               factKind = iota // nothing to add (the end of a group)
	factDisabled                           // the flag is disabled
	factKilled                             // the flag is killed
	factPrerequisite                       // name: the prerequisite flag's key
	factPrerequisiteServed                 // flag, variant (served, -1 on error), want, code
	factRule                               // name
	factRing                               // name
	factRollout                            //
	factNoMatch                            // a rule's or ring's condition did not match
	factMatchedOutside                     // a rule's condition matched, the user is outside its percentage
	factOutside                            // a ring's user is outside its percentage
	factInRing                             // name: the release ring
	factServes                             // flag, variant
	factDefault                            // flag, variant
	factOutsideDefault                     // flag, variant: the default served to users outside the rollout
	factSplitMissing                       // a split without its bucketing attribute
	factSplit                              // flag, variant, bucket, threshold (the variant's upper bound)
	factSchedule                           // variant: the step in force (-1 before the first), want: the step count, threshold
	factEveryone                           // a percentage of 100%
	factBucketMissing                      // name: the bucketing attribute
	factPercentage                         // bucket, threshold
	factAll                                // a group of conditions: all
	factAny                                // any
	factNot                                // not
	factSegment                            // name: the segment's key
	factClause                             // clause
)

// fact is what the evaluation tells a tracer about one step.
type fact struct {
	kind      factKind
	flag      *snapshot.Flag // whose variants are named
	name      string
	variant   int
	want      int
	code      ErrorCode
	bucket    uint32
	threshold uint32
	clause    *snapshot.Clause

	_ [0]func() // not comparable: no equality function in the WASM module
}
