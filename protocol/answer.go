package protocol

import (
	"math"
	"strconv"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Request is one OFREP evaluation request, as a host hands it over.
type Request struct {
	// Key is the flag key of POST /ofrep/v1/evaluate/flags/{key}, unescaped; ignored when
	// Bulk is set.
	Key string
	// Bulk asks for every flag: POST /ofrep/v1/evaluate/flags.
	Bulk bool
	// Body is the request body, {"context":{...}}.
	Body []byte
	// IfNoneMatch is the If-None-Match header, several values joined with ",".
	IfNoneMatch string
	// BodyError, when set, is why the host could not read the body: answered with 400
	// (INVALID_CONTEXT when it is too large, see BodyTooLarge; PARSE_ERROR when it was
	// cut short), or 500 for a GENERAL error (the runtime does not pass bodies on).
	BodyError *Error
	// At is the time of evaluation in Unix milliseconds.
	At int64
	// Reasons selects how non-OFREP reasons are reported.
	Reasons ReasonStyle
	// Stale says the snapshot is older than the host's grace period allows (as
	// Version.Stale does).
	Stale bool
}

// BodyTooLarge is the Request.BodyError of a body over limit bytes.
func BodyTooLarge(limit int64) *Error {
	return &Error{evaluator.ErrInvalidContext, "request body larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
}

// Response is an answer: the status code, the ETag (bulk evaluations; nil otherwise) and
// the JSON body (empty for 304). Content-Type is application/json whenever Body is not
// empty.
type Response struct {
	Status int
	ETag   []byte
	Body   []byte
}

// Detach returns r with its ETag copied after the body, in the body's buffer, so that
// it no longer shares the Answerer's space.
func (r Response) Detach() Response {
	if r.ETag == nil {
		return r
	}
	n := len(r.Body)
	buf := append(r.Body, r.ETag...)
	r.Body, r.ETag = buf[:n], buf[n:]
	return r
}

// Answerer answers OFREP requests. It keeps the space of one request for the next, so
// answering does not allocate once it is warm; it must not be used by more than one
// goroutine at a time.
type Answerer struct {
	parser  Parser
	ctx     *evaluator.Context
	results []evaluator.Result
	names   []string
	tag     []byte
	etag    [2 + 32]byte
}

// NewAnswerer returns an Answerer.
func NewAnswerer() *Answerer { return &Answerer{ctx: evaluator.NewContext()} }

// Answer evaluates req with e, whose snapshot is described by v, and appends the response
// body to dst: Response.Body is the extended dst. Response.ETag shares the Answerer's
// space until its next call.
func (a *Answerer) Answer(dst []byte, e *evaluator.Evaluator, v Version, req *Request) Response {
	v.Stale = v.Stale || req.Stale
	if req.BodyError != nil {
		return a.refuse(dst, req, req.BodyError)
	}
	if err := a.parser.ParseRequest(req.Body, a.ctx); err != nil {
		return a.refuse(dst, req, err)
	}
	if req.Bulk {
		return a.bulk(dst, e, v, req)
	}
	if e.Snapshot() == nil {
		return Response{Status: 500, Body: AppendGeneralError(dst, "flag "+quote(req.Key)+": GENERAL: no snapshot loaded")}
	}
	r := e.EvaluateAt(req.Key, a.ctx, req.At)
	if r.Reason == evaluator.ReasonError {
		status := HTTPStatus(r.Error)
		if status == 500 {
			return Response{Status: 500, Body: AppendGeneralError(dst, "flag "+quote(req.Key)+": "+string(r.Error)+": "+r.Message)}
		}
		return Response{Status: status, Body: appendFailure(dst, &r, v, true)}
	}
	return Response{Status: 200, Body: appendSuccess(dst, &r, v, req.Reasons)}
}

func (a *Answerer) refuse(dst []byte, req *Request, err *Error) Response {
	if err.Code == evaluator.ErrGeneral {
		return Response{Status: 500, Body: AppendGeneralError(dst, err.Details)}
	}
	if req.Bulk {
		dst = append(dst, `{"errorCode":`...)
		dst = evaluator.AppendJSONString(dst, string(err.Code))
		dst = append(dst, `,"errorDetails":`...)
		dst = evaluator.AppendJSONString(dst, err.Details)
		return Response{Status: 400, Body: append(dst, '}')}
	}
	r := evaluator.Result{Key: req.Key, Reason: evaluator.ReasonError, Error: err.Code, Message: err.Details}
	return Response{Status: 400, Body: appendFailure(dst, &r, Version{}, false)}
}

func (a *Answerer) bulk(dst []byte, e *evaluator.Evaluator, v Version, req *Request) Response {
	if e.Snapshot() == nil {
		return Response{Status: 500, Body: AppendGeneralError(dst, "cannot evaluate: no snapshot loaded yet")}
	}
	a.results = e.EvaluateAllAt(a.ctx, req.At, a.results[:0])
	start := len(dst)
	b := append(dst, `{"flags":[`...)
	for i := range a.results {
		if i > 0 {
			b = append(b, ',')
		}
		if a.results[i].Reason == evaluator.ReasonError {
			b = appendFailure(b, &a.results[i], v, false)
			continue
		}
		b = appendSuccess(b, &a.results[i], v, req.Reasons)
	}
	b = append(b, `],"metadata":{"snapshot":`...)
	b = evaluator.AppendJSONString(b, v.Snapshot)
	b = append(b, `,"environment":`...)
	b = evaluator.AppendJSONString(b, v.Environment)
	if v.Revision != "" {
		b = append(b, `,"revision":`...)
		b = evaluator.AppendJSONString(b, v.Revision)
	}
	if v.Stale {
		b = append(b, `,"stale":true`...)
	}
	b = append(b, "}}"...)

	// The ETag covers the snapshot, the context and the body: it changes when either
	// input changes, and also when the same inputs give other results (a schedule step
	// passed), so a 304 is never wrong.
	a.tag = a.appendCanonicalContext(append(a.tag[:0], v.Snapshot...))
	a.tag = append(a.tag, 0)
	a.tag = append(a.tag, b[start:]...)
	sum := snapshot.Sum256(a.tag)
	const hex = "0123456789abcdef"
	a.etag[0], a.etag[len(a.etag)-1] = '"', '"'
	for i, c := range sum[:16] {
		a.etag[1+2*i], a.etag[2+2*i] = hex[c>>4], hex[c&15]
	}
	if ETagMatches(req.IfNoneMatch, a.etag[:]) {
		return Response{Status: 304, ETag: a.etag[:], Body: b[:start]}
	}
	return Response{Status: 200, ETag: a.etag[:], Body: b}
}

// appendCanonicalContext appends an encoding of the context that depends only on its
// attributes, not on the order they were given in.
func (a *Answerer) appendCanonicalContext(dst []byte) []byte {
	a.names = append(a.names[:0], a.ctx.Names()...)
	sortStrings(a.names)
	for _, name := range a.names {
		v := a.ctx.Get(name)
		if v.Kind() == evaluator.Null {
			continue
		}
		dst = strconv.AppendInt(dst, int64(len(name)), 10)
		dst = append(dst, ':')
		dst = append(dst, name...)
		dst = appendCanonicalValue(dst, v)
	}
	return dst
}

func appendCanonicalValue(dst []byte, v evaluator.Value) []byte {
	switch v.Kind() {
	case evaluator.StringKind:
		dst = append(dst, 's')
		dst = strconv.AppendInt(dst, int64(len(v.Str())), 10)
		dst = append(dst, ':')
		return append(dst, v.Str()...)
	case evaluator.NumberKind:
		dst = append(dst, 'n')
		return strconv.AppendUint(dst, math.Float64bits(v.Num()), 16)
	case evaluator.BoolKind:
		if v.Truth() {
			return append(dst, 't')
		}
		return append(dst, 'f')
	case evaluator.ListKind:
		dst = append(dst, 'l')
		dst = strconv.AppendInt(dst, int64(len(v.Items())), 10)
		dst = append(dst, ':')
		for _, item := range v.Items() {
			dst = appendCanonicalValue(dst, item)
		}
		return dst
	}
	return append(dst, '0')
}

// ETagMatches implements the weak comparison of If-None-Match (RFC 9110, 13.1.2): header
// is the header's values joined with ",".
func ETagMatches(header string, etag []byte) bool {
	want := string(etag) // no copy: compared only
	if len(want) > 2 && want[:2] == "W/" {
		want = want[2:]
	}
	for len(header) > 0 {
		tag := header
		if i := indexByte(header, ','); i >= 0 {
			tag, header = header[:i], header[i+1:]
		} else {
			header = ""
		}
		tag = trimSpace(tag)
		if tag == "*" {
			return true
		}
		if len(tag) > 2 && tag[:2] == "W/" {
			tag = tag[2:]
		}
		if tag == want || len(want) == len(tag)+2 && want[1:len(want)-1] == tag {
			return true
		}
	}
	return false
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// appendSuccess appends an OFREP evaluationSuccess object.
func appendSuccess(dst []byte, r *evaluator.Result, v Version, style ReasonStyle) []byte {
	reason, exact := r.Reason, r.Reason
	if reason == evaluator.ReasonStale {
		v.Stale = true
	}
	switch {
	case style == SpecReasons && !IsOFREPReason(reason):
		reason = "UNKNOWN"
	case style == OpenFeatureReasons && v.Stale:
		reason = evaluator.ReasonStale
	}
	dst = append(dst, `{"key":`...)
	dst = evaluator.AppendJSONString(dst, r.Key)
	dst = append(dst, `,"reason":"`...)
	dst = append(dst, reason...)
	dst = append(dst, `","variant":`...)
	dst = evaluator.AppendJSONString(dst, r.Variant)
	if r.Value != "" {
		dst = append(dst, `,"value":`...)
		dst = append(dst, r.Value...)
	}
	dst = append(dst, `,"metadata":{"decision":"`...)
	dst = append(dst, r.Kind.String()...)
	dst = append(dst, '"')
	if r.Name != "" {
		field := ""
		switch r.Kind {
		case evaluator.DecidedByRule:
			field = MetaRule
		case evaluator.DecidedByRing:
			field = MetaRing
		case evaluator.DecidedByPrerequisite:
			field = MetaPrerequisite
		}
		if field != "" {
			dst = appendMetaString(dst, field, r.Name)
		}
	}
	if r.Segment != "" {
		dst = appendMetaString(dst, MetaSegment, r.Segment)
	}
	if r.Step >= 0 {
		dst = append(dst, `,"scheduleStep":`...)
		dst = strconv.AppendInt(dst, int64(r.Step), 10)
	}
	if r.Bucketed {
		dst = append(dst, `,"bucket":`...)
		dst = strconv.AppendUint(dst, uint64(r.Bucket), 10)
		dst = append(dst, `,"threshold":`...)
		dst = strconv.AppendUint(dst, uint64(r.Threshold), 10)
	}
	if v.Snapshot != "" {
		dst = appendMetaString(dst, MetaSnapshot, v.Snapshot)
	}
	if reason != exact {
		dst = appendMetaString(dst, MetaReason, string(exact))
	}
	if v.Stale {
		dst = append(dst, `,"stale":true`...)
	}
	return append(dst, "}}"...)
}

func appendMetaString(dst []byte, key, value string) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return evaluator.AppendJSONString(dst, value)
}

// appendFailure appends an OFREP evaluationFailure (or flagNotFound) object. Codes the
// OFREP failure schema does not list become GENERAL, with the original code in the details.
func appendFailure(dst []byte, r *evaluator.Result, v Version, allowNotFound bool) []byte {
	code, details := r.Error, r.Message
	switch {
	case code == evaluator.ErrFlagNotFound && allowNotFound:
		details = "flag " + quote(r.Key) + " not found"
		if v.Snapshot != "" {
			details += " in snapshot " + short(v.Snapshot)
			if v.Environment != "" {
				details += " of environment " + v.Environment
			}
		}
	case code == evaluator.ErrTargetingKeyMissing:
		details += " (send a targetingKey, or the attribute itself)"
	case !IsOFREPFailureCode(code):
		details = string(code) + ": " + details
		code = evaluator.ErrGeneral
	}
	dst = append(dst, `{"key":`...)
	dst = evaluator.AppendJSONString(dst, r.Key)
	dst = append(dst, `,"errorCode":`...)
	dst = evaluator.AppendJSONString(dst, string(code))
	dst = append(dst, `,"errorDetails":`...)
	dst = evaluator.AppendJSONString(dst, details)
	if v.Snapshot != "" {
		dst = append(dst, `,"metadata":{"snapshot":`...)
		dst = evaluator.AppendJSONString(dst, v.Snapshot)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// AppendGeneralError appends an OFREP generalErrorResponse object (the body of a 500).
//
// It is not inlined (WASM module size).
//
//go:noinline
func AppendGeneralError(dst []byte, details string) []byte {
	dst = append(dst, `{"errorDetails":`...)
	dst = evaluator.AppendJSONString(dst, details)
	return append(dst, '}')
}

// short abbreviates a content hash for messages.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// quote writes s between double quotes, escaped the JSON way, for a message.
func quote(s string) string { return string(evaluator.AppendJSONString(nil, s)) }

// sortStrings sorts names in place (Shell sort: small code, no allocation).
func sortStrings(names []string) {
	for gap := len(names) / 2; gap > 0; gap /= 2 {
		for i := gap; i < len(names); i++ {
			for j := i; j >= gap && names[j] < names[j-gap]; j -= gap {
				names[j], names[j-gap] = names[j-gap], names[j]
			}
		}
	}
}
