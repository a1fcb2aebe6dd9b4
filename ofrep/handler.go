package ofrep

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/openfeature/ofconv"
)

// The OFREP endpoints.
const (
	PathFlags = "/ofrep/v1/evaluate/flags"  // bulk evaluation
	PathFlag  = "/ofrep/v1/evaluate/flags/" // followed by the flag key
)

// DefaultMaxBodyBytes is the largest request body accepted unless Options says otherwise.
const DefaultMaxBodyBytes = 64 << 10

// ReasonStyle chooses how the reasons the OFREP specification does not list (DEFAULT,
// STALE) are reported.
type ReasonStyle uint8

const (
	// SpecReasons reports only the reasons OFREP v0.3.0 lists (STATIC, TARGETING_MATCH,
	// SPLIT, DISABLED, UNKNOWN): DEFAULT and STALE go out as UNKNOWN, with the evaluator's
	// reason in metadata "reason". A stale snapshot keeps the real reason and adds
	// metadata "stale": true. This is the default.
	SpecReasons ReasonStyle = iota
	// OpenFeatureReasons reports the evaluator's OpenFeature reason as is (DEFAULT
	// included), and STALE for every result of a stale snapshot (the real reason in
	// metadata "reason"), as the in-process Go provider does. Most OFREP providers pass
	// the reason through, but clients that validate it against the OFREP enum reject
	// these responses.
	OpenFeatureReasons
)

// Options configure a Handler. The zero value is ready to use.
type Options struct {
	// Reasons selects how non-OFREP reasons are reported (default SpecReasons).
	Reasons ReasonStyle
	// Authenticate, when set, runs before anything else: ErrUnauthorized (or an error
	// wrapping it) answers 401, ErrForbidden 403, any other error 500. See APIKeys.
	Authenticate func(*http.Request) error
	// Now returns the time of evaluation (default time.Now). Schedules are evaluated
	// against it.
	Now func() time.Time
	// MaxBodyBytes bounds request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// AllowOrigin, when set, is sent as Access-Control-Allow-Origin (for example "*") and
	// the handler answers CORS preflight requests, so browser providers such as the OFREP
	// web provider can call it from another origin.
	AllowOrigin string
}

// Handler is an http.Handler serving the OFREP endpoints from a Source. Requests to
// other paths get 404 and other methods 405, so it can be mounted at the root of a mux or
// under "/ofrep/". It is safe for concurrent use.
type Handler struct {
	src  Source
	opts Options
	mux  *http.ServeMux
	pool sync.Pool // *work
}

// work is the reusable space of one request.
type work struct {
	ctx     *evaluator.Context
	results []evaluator.Result
	meta    []ofconv.Field
	names   []string
	body    []byte
	tag     []byte
}

// NewHandler returns a Handler serving src.
func NewHandler(src Source, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{src: src, opts: opts, mux: http.NewServeMux()}
	h.pool.New = func() any { return &work{ctx: evaluator.NewContext()} }
	h.mux.HandleFunc("POST "+PathFlag+"{key}", h.serveFlag)
	h.mux.HandleFunc("POST "+PathFlags, h.serveFlags)
	if opts.AllowOrigin != "" {
		h.mux.HandleFunc("OPTIONS "+PathFlag+"{key}", h.preflight)
		h.mux.HandleFunc("OPTIONS "+PathFlags, h.preflight)
	}
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.AllowOrigin != "" {
		w.Header().Set("Access-Control-Allow-Origin", h.opts.AllowOrigin)
		w.Header().Set("Access-Control-Expose-Headers", "ETag")
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) preflight(w http.ResponseWriter, _ *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-API-Key, If-None-Match")
	hd.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// serveFlag answers POST /ofrep/v1/evaluate/flags/{key}.
func (h *Handler) serveFlag(w http.ResponseWriter, r *http.Request) {
	if !h.authenticate(w, r) {
		return
	}
	key := r.PathValue("key")
	wk := h.pool.Get().(*work)
	defer h.pool.Put(wk)

	body, rerr := h.readBody(w, r)
	if rerr == nil {
		rerr = parseRequest(body, wk.ctx)
	}
	if rerr != nil {
		res := evaluator.Result{Key: key, Reason: evaluator.ReasonError, Error: rerr.Code, Message: rerr.Details}
		wk.body = appendFailure(wk.body[:0], &res, Version{}, false)
		writeJSON(w, http.StatusBadRequest, wk.body)
		return
	}
	res, v := h.src.Evaluate(key, wk.ctx, h.opts.Now())
	if res.Reason == evaluator.ReasonError {
		status := ofconv.HTTPStatus(res.Error)
		if status == http.StatusInternalServerError {
			wk.body = appendGeneralError(wk.body[:0], "flag "+strconv.Quote(key)+": "+string(res.Error)+": "+res.Message)
		} else {
			wk.body = appendFailure(wk.body[:0], &res, v, true)
		}
		writeJSON(w, status, wk.body)
		return
	}
	wk.body, wk.meta = h.appendSuccess(wk.body[:0], &res, v, wk.meta)
	writeJSON(w, http.StatusOK, wk.body)
}

// serveFlags answers POST /ofrep/v1/evaluate/flags.
func (h *Handler) serveFlags(w http.ResponseWriter, r *http.Request) {
	if !h.authenticate(w, r) {
		return
	}
	wk := h.pool.Get().(*work)
	defer h.pool.Put(wk)

	body, rerr := h.readBody(w, r)
	if rerr == nil {
		rerr = parseRequest(body, wk.ctx)
	}
	if rerr != nil {
		wk.body = appendBulkFailure(wk.body[:0], rerr.Code, rerr.Details)
		writeJSON(w, http.StatusBadRequest, wk.body)
		return
	}
	results, v, err := h.src.EvaluateAll(wk.ctx, h.opts.Now(), wk.results[:0])
	wk.results = results
	if ce := (*ofconv.ContextError)(nil); errors.As(err, &ce) {
		wk.body = appendBulkFailure(wk.body[:0], ce.Code, ce.Error())
		writeJSON(w, http.StatusBadRequest, wk.body)
		return
	}
	if err != nil {
		wk.body = appendGeneralError(wk.body[:0], "cannot evaluate: "+err.Error())
		writeJSON(w, http.StatusInternalServerError, wk.body)
		return
	}
	b := append(wk.body[:0], `{"flags":[`...)
	for i := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if results[i].Reason == evaluator.ReasonError {
			b = appendFailure(b, &results[i], v, false)
			continue
		}
		b, wk.meta = h.appendSuccess(b, &results[i], v, wk.meta)
	}
	b = append(b, ']')
	b = appendBulkMetadata(b, v)
	b = append(b, '}')
	wk.body = b

	// The ETag covers the snapshot, the context and the body: it changes when either
	// input changes, and also when the same inputs give other results (a schedule step
	// passed), so a 304 is never wrong.
	wk.tag, wk.names = appendCanonicalContext(append(wk.tag[:0], v.Snapshot...), wk.ctx, wk.names)
	sum := sha256.New()
	sum.Write(wk.tag)
	sum.Write([]byte{0})
	sum.Write(b)
	var digest [sha256.Size]byte
	etag := `"` + hex.EncodeToString(sum.Sum(digest[:0])[:16]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// readBody reads the request body within the size limit.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *requestError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &requestError{evaluator.ErrInvalidContext,
				"request body larger than the limit of " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"}
		}
		return nil, &requestError{evaluator.ErrParse, "cannot read the request body: " + err.Error()}
	}
	return body, nil
}

func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if h.opts.Authenticate == nil {
		return true
	}
	err := h.opts.Authenticate(r)
	switch {
	case err == nil:
		return true
	case errors.Is(err, ErrUnauthorized):
		w.Header().Set("WWW-Authenticate", `Bearer realm="ofrep"`)
		w.WriteHeader(http.StatusUnauthorized)
	case errors.Is(err, ErrForbidden):
		w.WriteHeader(http.StatusForbidden)
	default:
		writeJSON(w, http.StatusInternalServerError, appendGeneralError(nil, "authentication failed: "+err.Error()))
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// etagMatches implements the weak comparison of If-None-Match (RFC 9110, 13.1.2).
func etagMatches(headers []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, h := range headers {
		for _, tag := range strings.Split(h, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return true
			}
			tag = strings.TrimPrefix(tag, "W/")
			if tag == want || `"`+tag+`"` == want {
				return true
			}
		}
	}
	return false
}
