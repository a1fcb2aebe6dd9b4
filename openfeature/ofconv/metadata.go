package ofconv

import "github.com/edgeflag/edgeflag/evaluator"

// Flag metadata keys. Every successful evaluation carries MetaDecision and MetaSnapshot;
// the others appear when they apply.
const (
	MetaDecision     = "decision"     // what decided: rule, ring, rollout, default, prerequisite, kill, disabled
	MetaRule         = "rule"         // the rule that matched (decision rule)
	MetaRing         = "ring"         // the ring the user is in (decision ring)
	MetaPrerequisite = "prerequisite" // the prerequisite flag that was not met (decision prerequisite)
	MetaSegment      = "segment"      // the segment whose membership matched
	MetaScheduleStep = "scheduleStep" // the schedule step in force (0-based)
	MetaBucket       = "bucket"       // the user's bucket, 0..999999, when a percentage looked at it
	MetaThreshold    = "threshold"    // the bound the bucket was compared with
	MetaSnapshot     = "snapshot"     // content hash of the snapshot that answered
	MetaReason       = "reason"       // the evaluator's own reason, when the reported one differs
	MetaStale        = "stale"        // true when the snapshot is outdated
)

// Field is one flag metadata entry. Value is a string, a bool or an int64, the types that
// both OpenFeature flag metadata and OFREP metadata admit.
type Field struct {
	Key   string
	Value any
}

// AppendMetadata appends the metadata of a successful result r, answered by the snapshot
// with content hash snapshot, in a fixed order: decision, rule/ring/prerequisite, segment,
// scheduleStep, bucket, threshold, snapshot.
func AppendMetadata(dst []Field, r *evaluator.Result, snapshot string) []Field {
	if r.Reason == evaluator.ReasonError {
		if snapshot != "" {
			dst = append(dst, Field{MetaSnapshot, snapshot})
		}
		return dst
	}
	dst = append(dst, Field{MetaDecision, r.Kind.String()})
	if r.Name != "" {
		switch r.Kind {
		case evaluator.DecidedByRule:
			dst = append(dst, Field{MetaRule, r.Name})
		case evaluator.DecidedByRing:
			dst = append(dst, Field{MetaRing, r.Name})
		case evaluator.DecidedByPrerequisite:
			dst = append(dst, Field{MetaPrerequisite, r.Name})
		}
	}
	if r.Segment != "" {
		dst = append(dst, Field{MetaSegment, r.Segment})
	}
	if r.Step >= 0 {
		dst = append(dst, Field{MetaScheduleStep, int64(r.Step)})
	}
	if r.Bucketed {
		dst = append(dst, Field{MetaBucket, int64(r.Bucket)}, Field{MetaThreshold, int64(r.Threshold)})
	}
	if snapshot != "" {
		dst = append(dst, Field{MetaSnapshot, snapshot})
	}
	return dst
}

// IsOFREPReason reports whether reason is one of the reasons the OFREP specification
// (v0.3.0) admits in a successful evaluation: STATIC, TARGETING_MATCH, SPLIT, DISABLED,
// UNKNOWN.
func IsOFREPReason(reason evaluator.Reason) bool {
	switch reason {
	case evaluator.ReasonStatic, evaluator.ReasonTargetingMatch, evaluator.ReasonSplit,
		evaluator.ReasonDisabled, "UNKNOWN":
		return true
	}
	return false
}

// HTTPStatus returns the OFREP status code for an evaluation error of one flag: 404 for
// FLAG_NOT_FOUND, 400 for PARSE_ERROR, INVALID_CONTEXT and TARGETING_KEY_MISSING, 500 for
// GENERAL and anything else.
func HTTPStatus(code evaluator.ErrorCode) int {
	switch code {
	case evaluator.ErrFlagNotFound:
		return 404
	case evaluator.ErrParse, evaluator.ErrInvalidContext, evaluator.ErrTargetingKeyMissing:
		return 400
	}
	return 500
}

// IsOFREPFailureCode reports whether code may appear in an OFREP evaluationFailure object
// (PARSE_ERROR, TARGETING_KEY_MISSING, INVALID_CONTEXT, GENERAL).
func IsOFREPFailureCode(code evaluator.ErrorCode) bool {
	switch code {
	case evaluator.ErrParse, evaluator.ErrTargetingKeyMissing, evaluator.ErrInvalidContext, evaluator.ErrGeneral:
		return true
	}
	return false
}
