package instrument

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names: what the rollout controller's default queries read.
const (
	RequestsMetric = "edgeflag_http_requests_total"           // counter {flag, variant, code}
	DurationMetric = "edgeflag_http_request_duration_seconds" // histogram {flag, variant}
	DroppedMetric  = "edgeflag_http_variants_dropped_total"   // counter {reason}
)

// Reasons of DroppedMetric: why a flag variant seen on a request was not recorded.
const (
	// DropInvalid: an x-flag-* header, or a RecordVariant call, whose flag key or variant
	// is not an edgeflag name.
	DropInvalid = "invalid"
	// DropLimit: a new flag/variant pair after Options.MaxVariants pairs were recorded.
	DropLimit = "limit"
	// DropRequestLimit: a flag past Options.MaxFlagsPerRequest on one request.
	DropRequestLimit = "request_limit"
)

// Defaults of Options.
const (
	DefaultMaxVariants        = 500
	DefaultMaxFlagsPerRequest = 100
)

// DefaultBuckets are the upper bounds, in seconds, of the duration histogram's buckets
// unless Options.Buckets sets others: 1 ms to 10 s, dense where web requests answer.
var DefaultBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Options configure Metrics. The zero value is ready to use.
type Options struct {
	// Registerer registers the metrics (default prometheus.DefaultRegisterer).
	Registerer prometheus.Registerer
	// Flags, when not empty, is the allow-list of flag keys to record; the variants of
	// other flags are ignored (and not counted as dropped). When empty, every flag seen
	// is recorded, up to MaxVariants pairs.
	Flags []string
	// Buckets are the duration histogram's bucket upper bounds in seconds, increasing
	// (default DefaultBuckets).
	Buckets []float64
	// MaxVariants caps the distinct flag/variant pairs recorded over the life of the
	// Metrics (default DefaultMaxVariants). Once reached, requests keep being recorded
	// under the pairs already seen; new pairs are dropped and counted with reason
	// DropLimit. Each pair costs one duration series per bucket plus one request
	// series per status code.
	MaxVariants int
	// MaxFlagsPerRequest caps the flags recorded for one request (default
	// DefaultMaxFlagsPerRequest); the others, the last in key order, are counted with
	// reason DropRequestLimit.
	MaxFlagsPerRequest int
	// Now returns the current time, which request durations are measured with (default
	// time.Now).
	Now func() time.Time
}

// Metrics records per-variant request metrics. Create it with New and wrap handlers with
// Wrap. It is safe for concurrent use.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	dropped  map[string]prometheus.Counter // by reason, for the reasons above

	allow      map[string]bool // nil: every flag
	now        func() time.Time
	maxPairs   int
	maxPerReq  int
	bufs       sync.Pool    // *[]variant
	mu         sync.Mutex   // serializes the creation of pairs
	pairs      sync.Map     // variant → *series
	npairs     int          // pairs created, under mu
	codeLabels [1000]string // "100".."999"; WriteHeader panics on other codes
}

// series holds the metrics of one flag/variant pair.
type series struct {
	duration prometheus.Observer
	requests *prometheus.CounterVec // curried with flag and variant
	byCode   sync.Map               // int → prometheus.Counter
}

// New creates the metrics and registers them with opts.Registerer. It fails on invalid
// options, or when the registerer already has metrics of the same names (a second
// Metrics needs its own registry, or prometheus.WrapRegistererWith constant labels).
func New(opts Options) (*Metrics, error) {
	if opts.MaxVariants < 0 || opts.MaxFlagsPerRequest < 0 {
		return nil, fmt.Errorf("instrument: MaxVariants (%d) and MaxFlagsPerRequest (%d) must not be negative", opts.MaxVariants, opts.MaxFlagsPerRequest)
	}
	m := &Metrics{
		maxPairs:  cmp.Or(opts.MaxVariants, DefaultMaxVariants),
		maxPerReq: cmp.Or(opts.MaxFlagsPerRequest, DefaultMaxFlagsPerRequest),
		dropped:   make(map[string]prometheus.Counter),
		now:       opts.Now,
	}
	if m.now == nil {
		m.now = time.Now
	}
	for _, f := range opts.Flags {
		if !validFlagKey(f) {
			return nil, fmt.Errorf("instrument: Flags: %q is not a flag key (lower-case letters, digits, '.', '_' and '-', starting with a letter or digit)", f)
		}
		if m.allow == nil {
			m.allow = make(map[string]bool, len(opts.Flags))
		}
		m.allow[f] = true
	}
	buckets := opts.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	for i, b := range buckets {
		if !(b > 0) || (i > 0 && b <= buckets[i-1]) {
			return nil, fmt.Errorf("instrument: Buckets must be positive and increasing, got %v", buckets)
		}
	}
	for c := range m.codeLabels {
		if c >= 100 {
			m.codeLabels[c] = strconv.Itoa(c)
		}
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: RequestsMetric,
		Help: "HTTP requests by edgeflag flag, the variant the request got, and response status code.",
	}, []string{"flag", "variant", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    DurationMetric,
		Help:    "HTTP request duration in seconds by edgeflag flag and the variant the request got.",
		Buckets: slices.Clone(buckets),
	}, []string{"flag", "variant"})
	droppedVec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: DroppedMetric,
		Help: "Flag variants seen on requests but not recorded in edgeflag_http_* metrics, by reason (invalid, limit, request_limit).",
	}, []string{"reason"})
	for _, r := range []string{DropInvalid, DropLimit, DropRequestLimit} {
		m.dropped[r] = droppedVec.WithLabelValues(r) // exported as 0 from the start
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	var registered []prometheus.Collector
	for _, c := range []prometheus.Collector{m.requests, m.duration, droppedVec} {
		if err := reg.Register(c); err != nil {
			for _, r := range registered {
				reg.Unregister(r)
			}
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				return nil, fmt.Errorf("instrument: metrics already registered (one Metrics per registry): %w", err)
			}
			return nil, fmt.Errorf("instrument: %w", err)
		}
		registered = append(registered, c)
	}
	m.bufs.New = func() any { b := make([]variant, 0, 32); return &b }
	return m, nil
}

// Wrap returns a handler that serves requests with next and records them, per flag
// variant the request carries, in the request counter and duration histogram. The
// variants are those of the request's x-flag-* headers and those recorded in its
// context (RecordVariant, Hook) while next ran; for a flag found in both, the context's
// wins. Requests without any variant are not recorded.
//
// The status code is the one next wrote, 200 when it wrote none; when next panics it is
// 500 unless a code was already written (the panic then goes on). Hijacked requests
// (protocol upgrades) are not recorded. The ResponseWriter next gets implements
// http.Flusher and http.Hijacker when the one Wrap got does, and unwraps for
// http.ResponseController.
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := carrierFrom(r.Context())
		if c == nil { // an outer Wrap prepared the context already: share its carrier
			c = &carrier{limit: m.maxPerReq}
			r = r.WithContext(context.WithValue(r.Context(), carrierKey{}, c))
		}
		sw := &statusWriter{ResponseWriter: w}
		start := m.now()
		defer func() {
			p := recover()
			if !sw.hijacked {
				code := sw.status()
				if p != nil && !sw.wrote {
					code = http.StatusInternalServerError
				}
				m.record(r, c, code, m.now().Sub(start))
			}
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(wrapWriter(sw), r)
	})
}

// record records one request.
func (m *Metrics) record(r *http.Request, c *carrier, code int, d time.Duration) {
	bp := m.bufs.Get().(*[]variant)
	defer m.bufs.Put(bp)
	vs, invalid := parseHeaders(r.Header, (*bp)[:0])
	vs, cInvalid, overflow := c.appendTo(vs)
	invalid += cInvalid
	*bp = vs[:0]
	if invalid > 0 {
		m.dropped[DropInvalid].Add(float64(invalid))
	}
	if overflow > 0 {
		m.dropped[DropRequestLimit].Add(float64(overflow))
	}
	if len(vs) == 0 {
		return
	}
	// The allowed flags in key order, one variant each: the sort is stable and the
	// carrier's variants come after the headers', so the last of a flag's run wins.
	slices.SortStableFunc(vs, func(a, b variant) int { return cmp.Compare(a.flag, b.flag) })
	n := 0
	for i := range vs {
		if m.allow != nil && !m.allow[vs[i].flag] {
			continue
		}
		if n > 0 && vs[n-1].flag == vs[i].flag {
			vs[n-1] = vs[i]
			continue
		}
		vs[n] = vs[i]
		n++
	}
	vs = vs[:n]
	if len(vs) > m.maxPerReq {
		m.dropped[DropRequestLimit].Add(float64(len(vs) - m.maxPerReq))
		vs = vs[:m.maxPerReq]
	}
	secs := d.Seconds()
	var label string
	if code >= 100 && code < len(m.codeLabels) {
		label = m.codeLabels[code]
	} else {
		label = strconv.Itoa(code) // a writer other than net/http's let an invalid code through
	}
	for _, v := range vs {
		s := m.series(v)
		if s == nil {
			m.dropped[DropLimit].Inc()
			continue
		}
		s.duration.Observe(secs)
		s.counter(code, label).Inc()
	}
}

// series returns the metrics of pair v, creating them unless MaxVariants pairs exist
// already: then it returns nil.
func (m *Metrics) series(v variant) *series {
	if s, ok := m.pairs.Load(v); ok {
		return s.(*series)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.pairs.Load(v); ok {
		return s.(*series)
	}
	if m.npairs >= m.maxPairs {
		return nil
	}
	s := &series{
		duration: m.duration.WithLabelValues(v.flag, v.variant),
		requests: m.requests.MustCurryWith(prometheus.Labels{"flag": v.flag, "variant": v.variant}),
	}
	m.pairs.Store(v, s)
	m.npairs++
	return s
}

// counter returns the pair's request counter for status code (label is code as text).
func (s *series) counter(code int, label string) prometheus.Counter {
	if c, ok := s.byCode.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c, _ := s.byCode.LoadOrStore(code, s.requests.WithLabelValues(label))
	return c.(prometheus.Counter)
}
