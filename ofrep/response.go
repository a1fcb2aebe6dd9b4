package ofrep

import (
	"strconv"
	"unicode/utf8"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/openfeature/ofconv"
)

// The response bodies are written by hand: the values are already JSON text, the output
// must be deterministic (the bulk ETag hashes it) and appending avoids encoding/json's
// reflection on the hot path.

// appendSuccess appends an OFREP evaluationSuccess object.
func (h *Handler) appendSuccess(dst []byte, r *evaluator.Result, v Version, meta []ofconv.Field) ([]byte, []ofconv.Field) {
	reason := r.Reason
	exact := r.Reason
	if reason == evaluator.ReasonStale {
		// A host that only reports STALE (the WASM module's stale mode) loses the real
		// reason; the version says stale either way.
		v.Stale = true
	}
	switch {
	case h.opts.Reasons == SpecReasons && !ofconv.IsOFREPReason(reason):
		reason = "UNKNOWN"
	case h.opts.Reasons == OpenFeatureReasons && v.Stale:
		reason = evaluator.ReasonStale
	}
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, r.Key)
	dst = append(dst, `,"reason":`...)
	dst = appendString(dst, string(reason))
	dst = append(dst, `,"variant":`...)
	dst = appendString(dst, r.Variant)
	if r.Value != "" {
		dst = append(dst, `,"value":`...)
		dst = append(dst, r.Value...)
	}
	meta = ofconv.AppendMetadata(meta[:0], r, v.Snapshot)
	if reason != exact {
		meta = append(meta, ofconv.Field{Key: ofconv.MetaReason, Value: string(exact)})
	}
	if v.Stale {
		meta = append(meta, ofconv.Field{Key: ofconv.MetaStale, Value: true})
	}
	dst = appendMetadata(dst, meta)
	return append(dst, '}'), meta
}

// appendFailure appends an OFREP evaluationFailure (or flagNotFound) object. Codes the
// OFREP failure schema does not list become GENERAL, with the original code in the details.
func appendFailure(dst []byte, r *evaluator.Result, v Version, allowNotFound bool) []byte {
	code, details := r.Error, r.Message
	switch {
	case code == evaluator.ErrFlagNotFound && allowNotFound:
		details = "flag " + strconv.Quote(r.Key) + " not found"
		if v.Snapshot != "" {
			details += " in snapshot " + short(v.Snapshot)
			if v.Environment != "" {
				details += " of environment " + v.Environment
			}
		}
	case code == evaluator.ErrTargetingKeyMissing:
		details += " (send a targetingKey, or the attribute itself)"
	case !ofconv.IsOFREPFailureCode(code):
		details = string(code) + ": " + details
		code = evaluator.ErrGeneral
	}
	dst = append(dst, `{"key":`...)
	dst = appendString(dst, r.Key)
	dst = append(dst, `,"errorCode":`...)
	dst = appendString(dst, string(code))
	dst = append(dst, `,"errorDetails":`...)
	dst = appendString(dst, details)
	if v.Snapshot != "" {
		dst = append(dst, `,"metadata":{"snapshot":`...)
		dst = appendString(dst, v.Snapshot)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendBulkFailure appends a bulkEvaluationFailure object.
func appendBulkFailure(dst []byte, code evaluator.ErrorCode, details string) []byte {
	dst = append(dst, `{"errorCode":`...)
	dst = appendString(dst, string(code))
	dst = append(dst, `,"errorDetails":`...)
	dst = appendString(dst, details)
	return append(dst, '}')
}

// appendGeneralError appends a generalErrorResponse object (the body of a 500).
func appendGeneralError(dst []byte, details string) []byte {
	dst = append(dst, `{"errorDetails":`...)
	dst = appendString(dst, details)
	return append(dst, '}')
}

// appendBulkMetadata appends the flag-set metadata of a bulk response.
func appendBulkMetadata(dst []byte, v Version) []byte {
	meta := [4]ofconv.Field{{Key: "snapshot", Value: v.Snapshot}, {Key: "environment", Value: v.Environment}}
	n := 2
	if v.Revision != "" {
		meta[n] = ofconv.Field{Key: "revision", Value: v.Revision}
		n++
	}
	if v.Stale {
		meta[n] = ofconv.Field{Key: ofconv.MetaStale, Value: true}
		n++
	}
	return appendMetadata(dst, meta[:n])
}

func appendMetadata(dst []byte, meta []ofconv.Field) []byte {
	dst = append(dst, `,"metadata":{`...)
	for i, f := range meta {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f.Key)
		dst = append(dst, ':')
		switch x := f.Value.(type) {
		case string:
			dst = appendString(dst, x)
		case bool:
			dst = strconv.AppendBool(dst, x)
		case int64:
			dst = strconv.AppendInt(dst, x, 10)
		default:
			dst = append(dst, "null"...)
		}
	}
	return append(dst, '}')
}

// appendString appends s as a JSON string. Invalid UTF-8 (possible in a flag key taken
// from the URL) is replaced by U+FFFD so the output is always valid JSON.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// short abbreviates a content hash for messages.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
