package ofrep

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/protocol"
)

// The OFREP endpoints.
const (
	PathFlags = "/ofrep/v1/evaluate/flags"  // bulk evaluation
	PathFlag  = "/ofrep/v1/evaluate/flags/" // followed by the flag key
)

// DefaultMaxBodyBytes is the largest request body accepted unless Options says otherwise.
const DefaultMaxBodyBytes = protocol.DefaultMaxBodyBytes

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

// Handler is an http.Handler serving the OFREP endpoints from a Backend. Requests to
// other paths get 404 and other methods 405, so it can be mounted at the root of a mux or
// under "/ofrep/". It is safe for concurrent use.
type Handler struct {
	backend Backend
	opts    Options
	mux     *http.ServeMux
	bufs    sync.Pool // *work
}

// work is the reusable space of one request.
type work struct {
	body []byte // the request body
	out  []byte // the response body
	req  protocol.Request
}

// Header values shared by every response; net/http does not modify them.
var (
	contentTypeJSON = []string{"application/json"}
)

// NewHandler returns a Handler serving backend (a *Native, or the WASM module through
// the Go edge server).
func NewHandler(backend Backend, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{backend: backend, opts: opts, mux: http.NewServeMux()}
	h.bufs.New = func() any { return &work{body: make([]byte, 0, 512), out: make([]byte, 0, 4096)} }
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
	h.serve(w, r, r.PathValue("key"), false)
}

// serveFlags answers POST /ofrep/v1/evaluate/flags.
func (h *Handler) serveFlags(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, "", true)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, key string, bulk bool) {
	if !h.authenticate(w, r) {
		return
	}
	wk := h.bufs.Get().(*work)
	defer h.bufs.Put(wk)
	wk.req = protocol.Request{Key: key, Bulk: bulk, At: h.opts.Now().UnixMilli(), Reasons: h.opts.Reasons}
	wk.body, wk.req.BodyError = readBody(wk.body[:0], r.Body, h.opts.MaxBodyBytes)
	wk.req.Body = wk.body
	if bulk {
		if inm := r.Header["If-None-Match"]; len(inm) == 1 {
			wk.req.IfNoneMatch = inm[0]
		} else if len(inm) > 1 {
			wk.req.IfNoneMatch = strings.Join(inm, ",")
		}
	}
	res, err := h.backend.Answer(wk.out[:0], &wk.req)
	if err != nil {
		res = protocol.Response{Status: http.StatusInternalServerError, Body: protocol.AppendGeneralError(wk.out[:0], "cannot evaluate: "+err.Error())}
	}
	wk.out = res.Body
	hd := w.Header()
	if res.ETag != nil {
		hd["Etag"] = []string{string(res.ETag)}
	}
	if len(res.Body) > 0 {
		hd["Content-Type"] = contentTypeJSON
	}
	w.WriteHeader(res.Status)
	if len(res.Body) > 0 {
		_, _ = w.Write(res.Body)
	}
}

// readBody appends the request body to dst, up to limit bytes; a larger or unreadable
// body is reported as the protocol error to answer.
func readBody(dst []byte, body io.Reader, limit int64) ([]byte, *protocol.Error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := body.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return dst[:0], protocol.BodyTooLarge(limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:0], &protocol.Error{Code: "PARSE_ERROR", Details: "cannot read the request body: " + err.Error()}
		}
	}
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
		w.Header()["Content-Type"] = contentTypeJSON
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(protocol.AppendGeneralError(nil, "authentication failed: "+err.Error()))
	}
	return false
}
