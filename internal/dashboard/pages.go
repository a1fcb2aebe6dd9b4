package dashboard

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/internal/checklist"
	"github.com/edgeflag/edgeflag/internal/gitsrc"
	"github.com/edgeflag/edgeflag/internal/shortdur"
	"github.com/edgeflag/edgeflag/internal/simulate"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// page is what every page template gets.
type page struct {
	Title string
	Error string
	Sess  *session
	Env   string
	Envs  []string
	// Live is the state URL the script polls ("" : the page does not follow changes), and
	// ETag the state's ETag when the page was rendered.
	Live string
	ETag string
}

// CanWrite reports whether the page may show the actions.
func (p *page) CanWrite() bool { return p.Sess != nil && p.Sess.Write && p.Sess.nonce != "" }

type loginPage struct {
	page
	Next    string
	Name    string
	NoToken bool
}

type listPage struct {
	page
	Status   *publish.Status
	Edge     *edgeView
	Query    string
	Filter   string
	Filters  any
	Rows     []flagRow
	Total    int
	Project  bool
	Activity []publish.AuditRecord
	Shares   *shareSet
	Users    string
}

// pickEnv returns the requested environment, or the first one.
func (h *Handler) pickEnv(ctx context.Context, r *http.Request) (string, []string, error) {
	envs, err := h.environments(ctx)
	if err != nil {
		return "", nil, err
	}
	env := r.URL.Query().Get("env")
	if env == "" {
		if len(envs) == 0 {
			return "", nil, fmt.Errorf("%w: nothing has been published to the store yet", publish.ErrUnknownEnvironment)
		}
		return defaultEnvironment(envs), envs, nil
	}
	if !layout.ValidEnvironment(env) || (len(envs) > 0 && !slices.Contains(envs, env)) {
		return "", envs, fmt.Errorf("%w %q (this dashboard shows %s)", publish.ErrUnknownEnvironment, env, strings.Join(envs, ", "))
	}
	return env, envs, nil
}

// defaultEnvironment is the one shown first: production if there is one, else the last
// (projects list their environments from the inside out).
func defaultEnvironment(envs []string) string {
	if slices.Contains(envs, "production") {
		return "production"
	}
	return envs[len(envs)-1]
}

func (h *Handler) listPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	env, envs, err := h.pickEnv(ctx, r)
	if err != nil {
		h.errorPage(w, r, sess, statusOf(err), "No such environment", err.Error())
		return
	}
	etag := h.pageETag(ctx, env)
	v, err := h.readEnv(ctx, env)
	if err != nil {
		h.errorPage(w, r, sess, statusOf(err), "Cannot read "+env, err.Error())
		return
	}
	proj := h.project()
	all := h.rows(v, proj)
	q := r.URL.Query()
	filter := q.Get("filter")
	if !slices.ContainsFunc(Filters, func(f struct{ Value, Label string }) bool { return f.Value == filter }) {
		filter = "all"
	}
	activity, err := h.recentAudit(ctx, env, "", 8)
	if err != nil {
		h.log.Warn("dashboard: audit", "error", err.Error())
	}
	p := &listPage{
		page:   page{Title: "Flags in " + env, Sess: sess, Env: env, Envs: envs, Live: Prefix + "state?env=" + env, ETag: etag},
		Status: v.Status, Edge: h.edge(env, v.Status.Snapshot), Query: q.Get("q"), Filter: filter, Filters: Filters,
		Rows: filterRows(all, q.Get("q"), filter), Total: len(all), Project: proj != nil, Activity: activity,
		Shares: h.listShares(env, v), Users: thousands(ListSimulatedUsers),
	}
	h.render(w, r, http.StatusOK, "list", p)
}

type flagPage struct {
	page
	Key       string
	Row       flagRow
	Status    *publish.Status
	Edge      *edgeView
	Rollout   *rollout.FlagStatus
	Stages    []stageView
	Compare   []compareRow
	CheckedAt time.Time
	History   []decisionView
	Sim       *simulate.Report
	SimError  string
	Checklist *checklist.Flag
	Source    *sourceView
	Audit     []publish.AuditRecord
	Done      string
	Variants  []string
	Off       string
	Actions   []actionView
}

type stageView struct {
	N        int
	Serve    string
	Duration string
	Criteria []string
	Current  bool
	Passed   bool
}

type decisionView struct {
	publish.RolloutDecision
	Checks []string
}

// compareRow is one metric of the last check, new against old.
type compareRow struct {
	Metric    string
	Threshold string
	New, Old  string
	Diff      string
	DiffClass string // "worse", "better" or ""
	Limit     string
	Samples   string
	Result    string
	Detail    string
}

type sourceView struct {
	File  string
	Line  int
	Lines []sourceLine
	Note  string
	// Commit and CommitTime are the last commit that changed the file ("" outside git or
	// before its first commit); Dirty is set when its directory has uncommitted changes.
	Commit     string
	CommitTime time.Time
	Dirty      bool
}

type sourceLine struct {
	N    int
	Text string
	Flag bool
}

type actionView struct {
	Name    string // the action path element
	Label   string // the button's text
	Help    string
	Danger  bool
	Confirm string
}

// doneText is the message after an action, by action.
var doneText = map[string]string{
	"kill":     "Killed. The new snapshot is published; the edge serves the offVariant from its next poll.",
	"unkill":   "Kill switch off. The new snapshot is published; the edge serves the flag's rules again from its next poll.",
	"pause":    "Rollout paused: it holds its stage until resumed.",
	"resume":   "Rollout resumed.",
	"promote":  "Rollout promoted to its next stage.",
	"rollback": "Rollout rolled back: the old variant for everyone until resumed.",
}

func (h *Handler) flagPage(w http.ResponseWriter, r *http.Request, sess *session, key string, actionErr *actionError) {
	ctx := r.Context()
	env, envs, err := h.pickEnv(ctx, r)
	if err != nil {
		h.errorPage(w, r, sess, statusOf(err), "No such environment", err.Error())
		return
	}
	etag := h.pageETag(ctx, env)
	v, err := h.readEnv(ctx, env)
	if err != nil {
		h.errorPage(w, r, sess, statusOf(err), "Cannot read "+env, err.Error())
		return
	}
	fi := v.Snapshot.FlagIndex(key)
	if fi < 0 {
		h.errorPage(w, r, sess, http.StatusNotFound, "No such flag", fmt.Sprintf("%s serves no flag %q.", env, key))
		return
	}
	f := &v.Snapshot.Flags[fi]
	proj := h.project()
	var row flagRow
	for _, rw := range h.rows(v, proj) {
		if rw.Key == key {
			row = rw
		}
	}
	p := &flagPage{
		page: page{Title: key + " in " + env, Sess: sess, Env: env, Envs: envs,
			Live: Prefix + "state?env=" + env + "&flag=" + key, ETag: etag},
		Key: key, Row: row, Status: v.Status, Edge: h.edge(env, v.Status.Snapshot), Done: doneText[r.URL.Query().Get("done")],
		Off: variantName(f, f.OffVariant),
	}
	for _, vr := range f.Variants {
		p.Variants = append(p.Variants, vr.Name)
	}
	if actionErr != nil {
		p.Error = actionErr.msg
	}
	if ro := v.Rollouts[key]; ro != nil {
		p.Rollout = ro
		p.Stages = stagesOf(ro)
		for i := len(ro.History) - 1; i >= 0; i-- {
			d := ro.History[i]
			dv := decisionView{RolloutDecision: d}
			for _, c := range d.Checks {
				dv.Checks = append(dv.Checks, rollout.CheckLine(c))
			}
			p.History = append(p.History, dv)
		}
		if ro.LastCheck != nil {
			p.CheckedAt = ro.LastCheck.At
			p.Compare = compareRows(ro.LastCheck.Checks, v.Plan)
		}
		p.Actions = rolloutActions(ro)
	}
	if rep, err := h.simulate(v, key); err != nil {
		p.SimError = err.Error()
	} else {
		p.Sim = rep
	}
	if pf := proj[key]; pf != nil {
		p.Checklist = pf.Checklist
		p.Source = readSource(pf)
	}
	if p.Audit, err = h.recentAudit(ctx, env, key, 50); err != nil {
		h.log.Warn("dashboard: audit", "error", err.Error())
	}
	status := http.StatusOK
	if actionErr != nil {
		status = actionErr.status
	}
	h.render(w, r, status, "flag", p)
}

// stagesOf lists a rollout's stages, marking the current one.
func stagesOf(ro *rollout.FlagStatus) []stageView {
	var out []stageView
	for i, st := range ro.Plan.Stages {
		sv := stageView{N: i + 1, Current: i+1 == ro.Stage, Passed: ro.Started && i+1 < ro.Stage}
		switch {
		case st.Percentage != nil:
			sv.Serve = pct(*st.Percentage)
		case st.Ring != "":
			sv.Serve = "ring " + st.Ring
		}
		sv.Duration = "until promoted"
		if !st.Infinite {
			sv.Duration = "for " + shortdur.Format(time.Duration(st.Duration))
		}
		for _, c := range st.Criteria {
			sv.Criteria = append(sv.Criteria, c.Metric+" "+c.Threshold+" (else "+c.OnFail+")")
		}
		out = append(out, sv)
	}
	return out
}

// rolloutActions are the actions that apply to a rollout's status.
func rolloutActions(ro *rollout.FlagStatus) []actionView {
	var out []actionView
	switch ro.Status {
	case publish.RolloutRunning:
		out = append(out, actionView{Name: "pause", Label: "Pause rollout", Help: "Hold the current stage until someone resumes it."})
		if ro.Stage < ro.Stages {
			out = append(out, actionView{Name: "promote", Label: "Promote to stage " + strconv.Itoa(ro.Stage+1), Help: "Move to the next stage now, without waiting for the criteria."})
		}
		out = append(out, actionView{Name: "rollback", Label: "Roll back", Help: "Serve the old variant to everyone until resumed.", Danger: true})
	case publish.RolloutPaused:
		out = append(out, actionView{Name: "resume", Label: "Resume rollout", Help: "Restart the current stage's checks."})
		if ro.Stage < ro.Stages {
			out = append(out, actionView{Name: "promote", Label: "Promote to stage " + strconv.Itoa(ro.Stage+1), Help: "Move to the next stage now."})
		}
		out = append(out, actionView{Name: "rollback", Label: "Roll back", Help: "Serve the old variant to everyone until resumed.", Danger: true})
	case publish.RolloutRolledBack:
		out = append(out, actionView{Name: "resume", Label: "Resume rollout", Help: "Serve the current stage again and restart its checks."})
	}
	return out
}

// compareRows sets the last check's values side by side, with the difference marked
// better or worse by the metric's direction.
func compareRows(checks []publish.CriterionCheck, plan *rollout.Plan) []compareRow {
	var out []compareRow
	for _, c := range checks {
		var m rollout.Metric
		if plan != nil {
			m = plan.Metrics[c.Metric]
		}
		row := compareRow{Metric: c.Metric, Threshold: c.Threshold, New: value(c.New, m.Unit), Old: value(c.Old, m.Unit),
			Limit: value(c.Limit, m.Unit), Result: c.Result, Detail: c.Detail,
			Samples: fmt.Sprintf("%.0f / %.0f", c.NewSamples, c.OldSamples)}
		if c.New != nil && c.Old != nil {
			d := *c.New - *c.Old
			row.Diff = signed(d, m.Unit)
			if *c.Old != 0 {
				row.Diff += fmt.Sprintf(" (%+.1f%%)", d/math.Abs(*c.Old)*100)
			}
			worse := (m.Direction == rollout.HigherIsBetter && d < 0) || (m.Direction != rollout.HigherIsBetter && d > 0)
			switch {
			case d == 0:
			case worse:
				row.DiffClass = "worse"
			default:
				row.DiffClass = "better"
			}
		}
		out = append(out, row)
	}
	return out
}

// value formats a metric value in its unit ("%" values are fractions).
func value(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	return format(*v, unit)
}

func format(v float64, unit string) string {
	switch unit {
	case "%":
		return strconv.FormatFloat(v*100, 'g', 4, 64) + "%"
	case "":
		return strconv.FormatFloat(v, 'g', 5, 64)
	}
	return strconv.FormatFloat(v, 'g', 5, 64) + " " + unit
}

func signed(v float64, unit string) string {
	s := format(v, unit)
	if v > 0 {
		s = "+" + s
	}
	return s
}

// simulationTTL is how long a "who gets what" count is reused for the same snapshot.
const simulationTTL = 30 * time.Second

type simEntry struct {
	at  time.Time
	rep *simulate.Report
}

// simulate counts who gets what of a flag over Config.SimulatedUsers synthetic users.
func (h *Handler) simulate(v *envView, key string) (*simulate.Report, error) {
	now := h.cfg.Now()
	id := v.Status.Snapshot + "\x00" + key
	if e, ok := h.sims.Load(id); ok && now.Sub(e.(simEntry).at) < simulationTTL {
		return e.(simEntry).rep, nil
	}
	rep, err := simulate.Run(v.Snapshot, key, &simulate.Synthetic{N: h.cfg.SimulatedUsers}, simulate.Options{At: now, Workers: 1})
	if err != nil {
		return nil, err
	}
	h.sims.Store(id, simEntry{at: now, rep: rep})
	return rep, nil
}

// ListSimulatedUsers is the population of the list's "who gets what" column.
const ListSimulatedUsers = 1000

// syncShareFlags is the largest project whose list counts are made while the page
// waits; larger ones are counted in the background (about 1 ms per flag), and the page
// shows the previous counts until the state endpoint says the new ones are ready.
const syncShareFlags = 200

// shareSet is the list's counts for one snapshot of an environment.
type shareSet struct {
	Snapshot string
	At       time.Time
	Shares   map[string]string
	// Background is set for counts made in the background: the live state then names
	// their snapshot, so open pages reload when they are ready.
	Background bool
}

// shareCounter keeps the latest counts per environment and counts in the background.
type shareCounter struct {
	mu      sync.Mutex
	byEnv   map[string]*shareSet
	running map[string]bool // environment+snapshot being counted
}

// latest returns the newest counts of an environment (nil: none yet).
func (c *shareCounter) latest(env string) *shareSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byEnv[env]
}

// listShares returns the counts to show for what an environment serves: fresh ones, or
// (for a large project whose counting is under way) the previous ones.
func (h *Handler) listShares(env string, v *envView) *shareSet {
	c := &h.shares
	now := h.cfg.Now()
	c.mu.Lock()
	cur := c.byEnv[env]
	if cur != nil && cur.Snapshot == v.Status.Snapshot && now.Sub(cur.At) < simulationTTL {
		c.mu.Unlock()
		return cur
	}
	id := env + "\x00" + v.Status.Snapshot
	if len(v.Snapshot.Flags) > syncShareFlags {
		if !c.running[id] {
			c.running[id] = true
			go func() {
				set := countShares(v, now)
				set.Background = true
				c.mu.Lock()
				delete(c.running, id)
				c.byEnv[env] = set
				c.mu.Unlock()
			}()
		}
		c.mu.Unlock()
		return cur
	}
	c.mu.Unlock()
	set := countShares(v, now)
	c.mu.Lock()
	c.byEnv[env] = set
	c.mu.Unlock()
	return set
}

// thousands writes n with thousands separators: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// countShares counts, for every flag, which variant ListSimulatedUsers synthetic users
// get at now: "on 25% · off 75%".
func countShares(v *envView, now time.Time) *shareSet {
	set := &shareSet{Snapshot: v.Status.Snapshot, At: now, Shares: make(map[string]string, len(v.Snapshot.Flags))}
	pop := &simulate.Synthetic{N: ListSimulatedUsers}
	for i := range v.Snapshot.Flags {
		key := v.Snapshot.Flags[i].Key
		rep, err := simulate.Run(v.Snapshot, key, pop, simulate.Options{At: now, Workers: 1})
		if err != nil {
			set.Shares[key] = "—"
			continue
		}
		var parts []string
		for _, c := range rep.Variants {
			if c.Users > 0 {
				parts = append(parts, c.Name+" "+strconv.FormatFloat(c.Percent, 'f', 0, 64)+"%")
			}
		}
		set.Shares[key] = strings.Join(parts, " · ")
	}
	return set
}

// maxSourceLines bounds the flag file shown.
const maxSourceLines = 400

// readSource reads the flag's file as the flag directory has it.
func readSource(pf *projectFlag) *sourceView {
	sv := &sourceView{File: pf.File, Line: pf.Line}
	data, err := os.ReadFile(pf.File)
	if err != nil {
		sv.Note = "cannot read the file: " + err.Error()
		return sv
	}
	if repo, err := gitsrc.Open(filepath.Dir(pf.File)); err == nil {
		if c, ok, err := repo.LastChange(pf.File); err == nil && ok {
			sv.Commit, sv.CommitTime = c.Hash, c.Time
		}
		sv.Dirty, _ = repo.Dirty()
	}
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if i >= maxSourceLines {
			sv.Note = fmt.Sprintf("the file is longer than %d lines: the rest is not shown", maxSourceLines)
			break
		}
		sv.Lines = append(sv.Lines, sourceLine{N: i + 1, Text: line, Flag: i+1 == pf.Line})
	}
	return sv
}

// liveState is the answer of GET state: what the page depends on. Its ETag changes when
// anything shown changes.
type liveState struct {
	Environment      string `json:"environment"`
	Snapshot         string `json:"snapshot"`
	KillStateVersion int64  `json:"killStateVersion"`
	Rollout          string `json:"rollout"`
	Edge             string `json:"edge,omitempty"`
	EdgeStale        bool   `json:"edgeStale,omitempty"`
	// Counts is the snapshot the list's "who gets what" counts are of, when they are
	// counted in the background (a large project).
	Counts string `json:"counts,omitempty"`
}

// liveETag reads the state of an environment that the pages show and returns it with
// its ETag, which changes when anything shown changes.
func (h *Handler) liveETag(ctx context.Context, env string) ([]byte, string, error) {
	ptr, _, err := publish.ReadPointer(ctx, h.cfg.Store, env)
	if err != nil {
		return nil, "", err
	}
	_, roTag, err := publish.ReadRolloutState(ctx, h.cfg.Store, env)
	if err != nil {
		return nil, "", err
	}
	ls := liveState{Environment: env, Snapshot: ptr.Snapshot, KillStateVersion: ptr.KillStateVersion, Rollout: roTag}
	if e := h.edge(env, ptr.Snapshot); e != nil {
		ls.Edge, ls.EdgeStale = e.Snapshot, e.Stale
	}
	if set := h.shares.latest(env); set != nil && set.Background {
		ls.Counts = set.Snapshot
	}
	data, _ := json.Marshal(ls)
	sum := sha256.Sum256(data)
	return data, `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}

// pageETag is the live state's ETag as a page is rendered, read before the page's data
// so that a change made while it renders still shows as a change to the page's script.
func (h *Handler) pageETag(ctx context.Context, env string) string {
	_, etag, err := h.liveETag(ctx, env)
	if err != nil {
		return ""
	}
	return etag
}

// state answers GET state?env=E: a small JSON document with an ETag, answered 304 to a
// matching If-None-Match. The page's script polls it, starting from the ETag the page was
// rendered with, and reloads its live parts on a change.
func (h *Handler) state(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, _, err := h.pickEnv(ctx, r)
	if err != nil {
		writeJSONError(w, statusOf(err), "unknown_environment", err.Error())
		return
	}
	data, etag, err := h.liveETag(ctx, env)
	if err != nil {
		writeJSONError(w, statusOf(err), "unreadable", err.Error())
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(data, '\n'))
}

// statusOf maps an error to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, publish.ErrUnknownEnvironment), errors.Is(err, publish.ErrUnknownFlag),
		errors.Is(err, rollout.ErrNoRollout), errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, publish.ErrKilledInSource), errors.Is(err, rollout.ErrInvalidTransition):
		return http.StatusConflict
	case errors.Is(err, publish.ErrContention), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

type errorPage struct {
	page
	Message string
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, sess *session, status int, title, msg string) {
	h.render(w, r, status, "error", &errorPage{page: page{Title: title, Sess: sess}, Message: msg})
}

// render executes a template into a buffer, so a failure still answers cleanly.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		h.log.Error("dashboard: template", "template", name, "error", err.Error())
		http.Error(w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	data, _ := json.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{code, message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"short": func(hash string) string {
		if len(hash) > 12 {
			return hash[:12]
		}
		return hash
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		d := time.Since(t).Round(time.Second)
		switch {
		case d < 0:
			return "in " + (-d).String()
		case d < time.Minute:
			return d.String() + " ago"
		case d < 48*time.Hour:
			return d.Truncate(time.Minute).String() + " ago"
		}
		return strconv.Itoa(int(d.Hours()/24)) + " days ago"
	},
	"pct":       pct,
	"thousands": thousands,
	"serve":     func(s publish.RolloutServe) string { return s.String() },
	"stage":     func(i int) int { return i + 1 },
	"query":     func(s string) template.URL { return template.URL(urlQueryEscape(s)) },
	"killed": func(a publish.AuditSide) string {
		if len(a.Killed) == 0 {
			return "none"
		}
		return strings.Join(a.Killed, ", ")
	},
}

func urlQueryEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
