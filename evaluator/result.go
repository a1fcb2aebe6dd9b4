package evaluator

import (
	"strconv"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Reason says why a flag evaluated to its value, as in OpenFeature.
type Reason string

// Reasons.
const (
	ReasonStatic         Reason = "STATIC"          // the flag serves one variant to everyone
	ReasonTargetingMatch Reason = "TARGETING_MATCH" // a rule or ring condition matched
	ReasonSplit          Reason = "SPLIT"           // a percentage, schedule or split assigned it
	ReasonDisabled       Reason = "DISABLED"        // disabled, killed or a prerequisite failed
	ReasonDefault        Reason = "DEFAULT"         // nothing decided: the default variant
	ReasonError          Reason = "ERROR"           // see ErrorCode
	ReasonStale          Reason = "STALE"           // set by hosts serving an outdated snapshot
)

// ErrorCode says what went wrong when Reason is ERROR, as in OpenFeature.
type ErrorCode string

// Error codes.
const (
	ErrFlagNotFound        ErrorCode = "FLAG_NOT_FOUND"
	ErrTypeMismatch        ErrorCode = "TYPE_MISMATCH"
	ErrTargetingKeyMissing ErrorCode = "TARGETING_KEY_MISSING"
	ErrParse               ErrorCode = "PARSE_ERROR"
	ErrInvalidContext      ErrorCode = "INVALID_CONTEXT"
	ErrGeneral             ErrorCode = "GENERAL"
)

// DecisionKind names the part of a flag that decided a result.
type DecisionKind uint8

// Decision kinds.
const (
	DecidedByError        DecisionKind = iota // no decision: an error
	DecidedByDisabled                         // enabled: false
	DecidedByKill                             // the kill switch
	DecidedByPrerequisite                     // a prerequisite flag did not serve its variant
	DecidedByRule                             // a targeting rule
	DecidedByRing                             // a release ring
	DecidedByRollout                          // the fallthrough rollout (percentage, schedule, split)
	DecidedByDefault                          // nothing matched: the default variant
)

var decisionNames = [...]string{"error", "disabled", "kill", "prerequisite", "rule", "ring", "rollout", "default"}

// String returns the kind's name: rule, ring, rollout, default, prerequisite, kill...
func (k DecisionKind) String() string {
	if int(k) < len(decisionNames) {
		return decisionNames[k]
	}
	return "unknown"
}

// Decision records what decided a result.
type Decision struct {
	Kind    DecisionKind
	Name    string // rule or ring name, or the failed prerequisite's flag key
	Index   int    // rule or ring index, -1 otherwise
	Segment string // the segment whose membership matched in the deciding condition, if any
	Step    int    // the schedule step in force, -1 when no schedule decided
	// Bucketed is true when a percentage, schedule or split looked at the user's bucket;
	// Bucket is then the user's bucket and Threshold the bound it was compared with.
	Bucketed  bool
	Bucket    uint32
	Threshold uint32
}

// Result is the outcome of evaluating one flag for one context.
type Result struct {
	Key     string
	Variant string             // "" on error
	Value   string             // the variant's value as JSON text, "" on error
	Type    snapshot.ValueType // the flag's type (0 when the flag is unknown)
	Reason  Reason
	Error   ErrorCode // "" unless Reason is ERROR
	Message string    // human-readable error detail
	Decision
}

// Bool returns the value of a boolean result.
func (r *Result) Bool() (bool, bool) {
	if r.Type != snapshot.TypeBoolean || r.Value == "" {
		return false, false
	}
	return r.Value == "true", true
}

// Number returns the value of a number result.
func (r *Result) Number() (float64, bool) {
	if r.Type != snapshot.TypeNumber || r.Value == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(r.Value, 64)
	return f, err == nil
}

// String returns the value of a string result, unquoted.
func (r *Result) String() (string, bool) {
	if r.Type != snapshot.TypeString || r.Value == "" {
		return "", false
	}
	return unquoteJSON(r.Value)
}

// AppendJSON appends the result as a JSON object:
//
//	{"key":"f","value":true,"variant":"on","reason":"SPLIT","decision":{"kind":"ring",...}}
//
// Errors carry "errorCode" and "errorMessage" instead of a value. It allocates only when dst
// has to grow, which makes it suitable for the WASM module and the edge hosts.
func (r *Result) AppendJSON(dst []byte) []byte {
	if r.Reason == ReasonError {
		return appendErrorResult(dst, r.Key, r.Error, r.Message)
	}
	dst = append(dst, `{"key":`...)
	dst = appendJSONString(dst, r.Key)
	dst = append(dst, `,"value":`...)
	dst = append(dst, r.Value...)
	dst = append(dst, `,"variant":`...)
	dst = appendJSONString(dst, r.Variant)
	dst = append(dst, `,"reason":`...)
	if i := reasonIndex(r.Reason); i >= 0 && int(r.Kind) < len(decisionNames) {
		dst = append(dst, reasonDecisionJSON[i][r.Kind]...)
	} else {
		dst = appendJSONString(dst, string(r.Reason))
		dst = append(dst, `,"decision":{"kind":`...)
		dst = appendJSONString(dst, r.Kind.String())
	}
	return r.appendTail(dst)
}

// clearDecided readies r, decided into before, for decide without zeroing all of it:
// decide sets the reason, the decision kind, index and step of every result, the rest
// only when it applies, and never the key, variant, value and type. In the WASM module,
// zeroing more than 32 bytes is a memory.fill, which wazero runs as a series of copies
// through calls: about eight for a Result.
func (r *Result) clearDecided() {
	r.Reason, r.Error, r.Message = "", "", ""
	r.Kind, r.Name, r.Segment, r.Bucketed = 0, "", "", false
}

// appendErrorResult appends the JSON of an error result.
func appendErrorResult(dst []byte, key string, code ErrorCode, message string) []byte {
	dst = append(dst, `{"key":`...)
	dst = appendJSONString(dst, key)
	dst = append(dst, `,"reason":"ERROR",`...)
	return appendErrorFields(dst, code, message)
}

// appendTail appends what follows the decision's kind: its name, segment, schedule step
// and bucketing, and the closing braces.
func (r *Result) appendTail(dst []byte) []byte {
	if r.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = appendJSONString(dst, r.Name)
	}
	if r.Segment != "" {
		dst = append(dst, `,"segment":`...)
		dst = appendJSONString(dst, r.Segment)
	}
	if r.Step >= 0 {
		dst = append(dst, `,"step":`...)
		dst = appendUint(dst, uint32(r.Step))
	}
	// The constants of the common results are appended byte by byte: the module copies
	// an appended string through a call, which costs more than the stores.
	if r.Bucketed {
		dst = append(dst, ',', '"', 'b', 'u', 'c', 'k', 'e', 't', '"', ':')
		dst = appendUint(dst, r.Bucket)
		dst = append(dst, ',', '"', 't', 'h', 'r', 'e', 's', 'h', 'o', 'l', 'd', '"', ':')
		dst = appendUint(dst, r.Threshold)
	}
	return append(dst, '}', '}')
}

// reasons are the reasons of successful results, in the order of reasonDecisionJSON:
// STALE last.
var reasons = [...]Reason{ReasonStatic, ReasonTargetingMatch, ReasonSplit, ReasonDisabled, ReasonDefault, ReasonStale}

func reasonIndex(r Reason) int {
	switch r {
	case ReasonStatic:
		return 0
	case ReasonTargetingMatch:
		return 1
	case ReasonSplit:
		return 2
	case ReasonDisabled:
		return 3
	case ReasonDefault:
		return 4
	case ReasonStale:
		return 5
	}
	return -1
}

// decidedReasonIndex is reasonIndex for a reason that decide gave a successful result:
// those reasons differ in length but for SPLIT, the only one of five bytes, so the length
// tells them apart without comparing bytes, which is slow in WebAssembly
// (TestDecidedReasonIndex holds it to reasonIndex).
func decidedReasonIndex(r Reason) int {
	switch len(r) {
	case len(ReasonStatic):
		return 0
	case len(ReasonTargetingMatch):
		return 1
	case len(ReasonDisabled):
		return 3
	case len(ReasonDefault):
		return 4
	}
	return 2
}

// reasonDecisionJSON[reason][kind] is `"<reason>","decision":{"kind":"<kind>"`: the middle
// of a successful result's JSON, written in one piece.
var reasonDecisionJSON = func() (out [len(reasons)][len(decisionNames)]string) {
	for i, r := range reasons {
		for k, name := range decisionNames {
			out[i][k] = `"` + string(r) + `","decision":{"kind":"` + name + `"`
		}
	}
	return out
}()

// appendUint appends v in decimal. It takes 32 bits, enough for buckets, thresholds and
// schedule steps: WebAssembly has no 64-bit high multiplication, so dividing 64 bits by
// 10 costs five multiplications, 32 bits one. It writes the digits in place rather than
// appending them, which would copy them through a call, and is not inlined: each of its
// three copies would cost the WASM module size.
//
//go:noinline
func appendUint(dst []byte, v uint32) []byte {
	n := 1
	for t := uint32(10); n < 10 && v >= t; t *= 10 {
		n++
	}
	l := len(dst)
	if cap(dst)-l < n {
		dst = append(dst, "0123456789"[:n]...)
	}
	dst = dst[:l+n]
	for i := l + n - 1; i > l; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	dst[l] = byte('0' + v)
	return dst
}

// AppendErrorJSON appends the error object of the edge hosts and the WASM module:
//
//	{"errorCode":"PARSE_ERROR","errorMessage":"..."}
func AppendErrorJSON(dst []byte, code ErrorCode, message string) []byte {
	return appendErrorFields(append(dst, '{'), code, message)
}

// appendErrorFields appends `"errorCode":…,"errorMessage":…}`, the end of an error object
// and of an error result.
func appendErrorFields(dst []byte, code ErrorCode, message string) []byte {
	dst = append(dst, `"errorCode":`...)
	dst = appendJSONString(dst, string(code))
	dst = append(dst, `,"errorMessage":`...)
	dst = appendJSONString(dst, message)
	return append(dst, '}')
}

// AppendJSONString appends s as a JSON string, the way snapshot.AppendJSONString does:
// '"', '\\' and control characters escaped, invalid UTF-8 replaced by \ufffd.
func AppendJSONString(dst []byte, s string) []byte { return snapshot.AppendJSONString(dst, s) }

// appendJSONString is AppendJSONString.
func appendJSONString(dst []byte, s string) []byte { return snapshot.AppendJSONString(dst, s) }

// unquoteJSON decodes a JSON string literal.
func unquoteJSON(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	s = s[1 : len(s)-1]
	simple := true
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return s, true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := decodeUnicodeEscape(s[i-1:])
			if !ok {
				return "", false
			}
			out = appendRune(out, r)
			i += n - 2
		default:
			return "", false
		}
	}
	return string(out), true
}

// decodeUnicodeEscape decodes \uXXXX (and a following low surrogate) at the start of s,
// returning the rune and the number of bytes consumed.
func decodeUnicodeEscape(s string) (rune, int, bool) {
	r, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	if r >= 0xD800 && r < 0xDC00 {
		if lo, ok := hex4(s[6:]); ok && lo >= 0xDC00 && lo < 0xE000 {
			return (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000, 12, true
		}
		return 0xFFFD, 6, true
	}
	return r, 6, true
}

func hex4(s string) (rune, bool) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[2:6]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func appendRune(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
}
