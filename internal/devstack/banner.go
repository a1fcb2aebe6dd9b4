package devstack

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/lambda"
)

// exampleFlag is the flag the printed commands use when the project has it.
const exampleFlag = "new-search-algorithm"

// printBanner prints what is served and the commands to try it, with the real address
// and token.
func (s *Stack) printBanner() {
	s.log.write(s.banner(s.cfg.Token))
}

// serveIndex answers GET / with the banner, the token left out.
func (s *Stack) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodGet {
		_, _ = fmt.Fprint(w, s.banner("$TOKEN"))
	}
}

// banner is the text printed at start: routes, token and curl commands.
func (s *Stack) banner(token string) string {
	u, env := s.url, s.cfg.Environment
	flag := exampleFlag
	if len(s.flags) > 0 && !slices.Contains(s.flags, exampleFlag) {
		flag = s.flags[0]
	}
	auth := fmt.Sprintf("-H 'Authorization: Bearer %s'", token)
	var b strings.Builder
	fmt.Fprintf(&b, "\nedgeflag dev: %s  (flags: %s, environment: %s, store: %s)\n\n", u, s.cfg.Dir, env, s.cfg.Store)
	fmt.Fprintf(&b, "  dashboard       %s%s  (log in with the token below)\n", u, dashboard.Prefix)
	fmt.Fprintf(&b, "  edge (wazero)   POST /ofrep/v1/evaluate/flags/{key}, POST /ofrep/v1/evaluate/flags,\n")
	fmt.Fprintf(&b, "                  GET /evaluate, GET /healthz; polls the store every %s\n", s.cfg.EdgePollInterval)
	fmt.Fprintf(&b, "  kill switches   GET /flags, POST /flags/{key}/kill, POST /flags/{key}/unkill, POST /publish\n")
	fmt.Fprintf(&b, "  store           GET /snapshots/{hash}.snap, GET /{env}/current.json\n\n")
	fmt.Fprintf(&b, "Token: %s  (Authorization: Bearer on the kill-switch API)\n\n", token)
	fmt.Fprintf(&b, "Evaluate a flag (OFREP):\n")
	fmt.Fprintf(&b, "  curl -s -X POST %s/ofrep/v1/evaluate/flags/%s -H 'Content-Type: application/json' -d '{\"context\":{\"targetingKey\":\"user-42\",\"email\":\"alice@company.com\"}}'\n", u, flag)
	fmt.Fprintf(&b, "Every flag for a request (also as x-flag-* response headers):\n")
	fmt.Fprintf(&b, "  curl -si %s/evaluate -H 'x-user-id: user-42'\n", u)
	fmt.Fprintf(&b, "Kill the flag, list the kill switches, turn it back on:\n")
	fmt.Fprintf(&b, "  curl -s -X POST %s/flags/%s/kill %s -d '{\"environment\":\"%s\",\"reason\":\"trying the kill switch\"}'\n", u, flag, auth, env)
	fmt.Fprintf(&b, "  curl -s '%s/flags?environment=%s' %s\n", u, env, auth)
	fmt.Fprintf(&b, "  curl -s -X POST %s/flags/%s/unkill %s -d '{\"environment\":\"%s\",\"reason\":\"done trying\"}'\n", u, flag, auth, env)
	fmt.Fprintf(&b, "The edge's snapshot and freshness:\n")
	fmt.Fprintf(&b, "  curl -s %s/healthz\n\n", u)
	fmt.Fprintf(&b, "Save a change in %s and the edge serves it within about %s (checked every %s, polled every %s).\nCtrl-C stops.\n\n",
		s.cfg.Dir, s.cfg.EdgePollInterval+s.cfg.WatchInterval, s.cfg.WatchInterval, s.cfg.EdgePollInterval)
	return b.String()
}

// dashboard builds the release dashboard of the kill-switch API api, told the project's
// environments, its last good build (owners, expiry, checklist, file and line) and what
// the edge serves.
func (s *Stack) dashboard(api lambda.Config) (http.Handler, error) {
	cfg := dashboard.APIConfig(api)
	cfg.Environments = func() []string {
		if p := s.project.Load(); p != nil {
			return p.Environments
		}
		return nil
	}
	cfg.Project = s.project.Load
	cfg.Edge = func(env string) (dashboard.EdgeState, bool) {
		if env != s.cfg.Environment {
			return dashboard.EdgeState{}, false
		}
		v := s.edge.Source().Version()
		return dashboard.EdgeState{Snapshot: v.Snapshot, Revision: v.Revision, Stale: v.Stale}, true
	}
	return dashboard.New(cfg)
}

// DashboardURL returns the release dashboard's address.
func (s *Stack) DashboardURL() string { return s.url + dashboard.Prefix }
