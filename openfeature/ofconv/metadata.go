package ofconv

import (
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
)

// Flag metadata keys, as the OFREP protocol defines them (package protocol). Every
// successful evaluation carries MetaDecision and MetaSnapshot; the others appear when
// they apply.
const (
	MetaDecision     = protocol.MetaDecision
	MetaRule         = protocol.MetaRule
	MetaRing         = protocol.MetaRing
	MetaPrerequisite = protocol.MetaPrerequisite
	MetaSegment      = protocol.MetaSegment
	MetaScheduleStep = protocol.MetaScheduleStep
	MetaBucket       = protocol.MetaBucket
	MetaThreshold    = protocol.MetaThreshold
	MetaSnapshot     = protocol.MetaSnapshot
	MetaReason       = protocol.MetaReason
	MetaStale        = protocol.MetaStale
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
// admits in a successful evaluation (protocol.IsOFREPReason).
func IsOFREPReason(reason evaluator.Reason) bool { return protocol.IsOFREPReason(reason) }

// HTTPStatus returns the OFREP status code for an evaluation error of one flag
// (protocol.HTTPStatus).
func HTTPStatus(code evaluator.ErrorCode) int { return protocol.HTTPStatus(code) }

// IsOFREPFailureCode reports whether code may appear in an OFREP evaluationFailure object
// (protocol.IsOFREPFailureCode).
func IsOFREPFailureCode(code evaluator.ErrorCode) bool { return protocol.IsOFREPFailureCode(code) }
