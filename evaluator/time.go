//go:build !wasip1

package evaluator

import (
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// The methods that take a time.Time. They are left out of GOOS=wasip1 builds (see the
// package documentation); EvaluateAt and EvaluateAllAt are the same with Unix milliseconds.

// Evaluate evaluates flag key for ctx at time at.
func (e *Evaluator) Evaluate(key string, ctx *Context, at time.Time) Result {
	return e.EvaluateAt(key, ctx, at.UnixMilli())
}

// EvaluateAs evaluates flag key and reports TYPE_MISMATCH when its type is not want.
func (e *Evaluator) EvaluateAs(key string, want snapshot.ValueType, ctx *Context, at time.Time) Result {
	return checkType(e.Evaluate(key, ctx, at), want)
}

// EvaluateAll evaluates every flag, in key order, appending the results to dst.
func (e *Evaluator) EvaluateAll(ctx *Context, at time.Time, dst []Result) []Result {
	return e.EvaluateAllAt(ctx, at.UnixMilli(), dst)
}

// checkType turns a result of another type than want into a TYPE_MISMATCH error.
func checkType(r Result, want snapshot.ValueType) Result {
	if r.Reason != ReasonError && r.Type != want {
		t := r.Type
		r = errorResult(r.Key, ErrTypeMismatch, "flag is "+t.String()+", not "+want.String())
		r.Type = t
	}
	return r
}
