package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

func TestNewChecksConfig(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  dashboard.Config
		want string
	}{
		{"no store", dashboard.Config{}, "Store is required"},
		{"short token", dashboard.Config{Store: st, Token: "short"}, "Token must be at least 16"},
		{"short read-only token", dashboard.Config{Store: st, ReadOnlyToken: "short"}, "ReadOnlyToken must be at least 16"},
		{"same tokens", dashboard.Config{Store: st, Token: fullToken, ReadOnlyToken: fullToken}, "must differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dashboard.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoginSetsAStrictSessionCookie(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, request{method: "POST", path: "/dashboard/login", form: url.Values{"token": {fullToken}, "next": {"/dashboard/flags/checkout?env=production"}}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/flags/checkout?env=production" {
		t.Fatalf("login: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies: %v", cookies)
	}
	c := cookies[0]
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/dashboard/" {
		t.Errorf("cookie %s: want HttpOnly, Secure, SameSite=Strict, Path=/dashboard/", resp.Header.Get("Set-Cookie"))
	}
	if got := c.Expires.Sub(f.now); got < dashboard.SessionLifetime-time.Minute || c.MaxAge != int(dashboard.SessionLifetime.Seconds()) {
		t.Errorf("cookie expires %s after login, max age %d s; want %s", got, c.MaxAge, dashboard.SessionLifetime)
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	full := f.login(t, fullToken, "alice")
	ro := f.login(t, readOnlyToken, "")
	tamperedRO := strings.Replace(ro, ".", "x.", 1)
	tests := []struct {
		name     string
		req      request
		status   int
		location string // prefix
	}{
		{"no session: the list sends a browser to the login", request{path: "/dashboard/flags"}, http.StatusSeeOther, "/dashboard/login?next="},
		{"no session: a flag page too", request{path: "/dashboard/flags/checkout?env=production"}, http.StatusSeeOther, "/dashboard/login?next="},
		{"no session: the state is 401", request{path: "/dashboard/state?env=production"}, http.StatusUnauthorized, ""},
		{"no session: the chart is 401", request{path: "/dashboard/flags/checkout/chart.svg?env=production"}, http.StatusUnauthorized, ""},
		{"the dashboard's root leads to the list", request{path: "/dashboard?env=staging", cookie: "x"}, http.StatusSeeOther, "/dashboard/flags?env=staging"},
		{"so does its root with a slash", request{path: "/dashboard/"}, http.StatusSeeOther, "/dashboard/flags"},
		{"the login page is open", request{path: "/dashboard/login"}, http.StatusOK, ""},
		{"the static files are open", request{path: "/dashboard/static/app.js"}, http.StatusOK, ""},
		{"a full session reads", request{path: "/dashboard/flags", cookie: full}, http.StatusOK, ""},
		{"a read-only session reads", request{path: "/dashboard/flags", cookie: ro}, http.StatusOK, ""},
		{"a tampered cookie is no session", request{path: "/dashboard/flags", cookie: tamperedRO}, http.StatusSeeOther, "/dashboard/login"},
		{"a garbage cookie is no session", request{path: "/dashboard/flags", cookie: "djF8cnd8OTk5OTk5OTk5OXx4fA.sig"}, http.StatusSeeOther, "/dashboard/login"},
		{"a bearer token reads", request{path: "/dashboard/state?env=production", header: map[string]string{"Authorization": "Bearer " + readOnlyToken}}, http.StatusOK, ""},
		{"a wrong bearer token does not", request{path: "/dashboard/state?env=production", header: map[string]string{"Authorization": "Bearer wrong-token-0123456789"}}, http.StatusUnauthorized, ""},
		{"an unknown environment", request{path: "/dashboard/flags?env=nowhere", cookie: full}, http.StatusNotFound, ""},
		{"an unknown flag", request{path: "/dashboard/flags/nope?env=production", cookie: full}, http.StatusNotFound, ""},
		{"an unknown page", request{path: "/dashboard/nope", cookie: full}, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, tt.req)
			body := readBody(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s: %s, want %d\n%s", tt.req.path, resp.Status, tt.status, body)
			}
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, tt.location) {
				t.Errorf("Location %q, want %q...", loc, tt.location)
			}
			if tt.status == http.StatusUnauthorized && strings.Contains(body, "checkout") {
				t.Errorf("an unauthenticated answer shows a flag: %s", body)
			}
		})
	}
	t.Run("a wrong token cannot log in", func(t *testing.T) {
		resp := f.do(t, request{method: "POST", path: "/dashboard/login", form: url.Values{"token": {"wrong-token-0123456789"}}})
		if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 || !strings.Contains(body, "not valid") {
			t.Fatalf("login with a wrong token: %s, cookies %v\n%s", resp.Status, resp.Cookies(), body)
		}
	})
	t.Run("an oversized login form is refused", func(t *testing.T) {
		resp := f.do(t, request{method: "POST", path: "/dashboard/login", form: url.Values{"token": {strings.Repeat("x", 20<<10)}}})
		if resp.StatusCode != http.StatusBadRequest || len(resp.Cookies()) != 0 {
			t.Fatalf("a 20 KB login form: %s", resp.Status)
		}
	})
	t.Run("a post-login redirect stays in the dashboard", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/x", "/flags", "/dashboard/\\evil"} {
			resp := f.do(t, request{method: "POST", path: "/dashboard/login", form: url.Values{"token": {fullToken}, "next": {next}}})
			if loc := resp.Header.Get("Location"); loc != dashboard.ListPath {
				t.Errorf("next %q leads to %q, want %s", next, loc, dashboard.ListPath)
			}
		}
	})
	t.Run("a session ends", func(t *testing.T) {
		f.now = f.now.Add(dashboard.SessionLifetime + time.Minute)
		defer func() { f.now = f.now.Add(-dashboard.SessionLifetime - time.Minute) }()
		if resp := f.do(t, request{path: "/dashboard/flags", cookie: full}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("an expired session: %s", resp.Status)
		}
	})
}

func TestStateChangingRequestsAreProtected(t *testing.T) {
	f := newFixture(t)
	full := f.login(t, fullToken, "alice")
	other := f.login(t, fullToken, "bob")
	ro := f.login(t, readOnlyToken, "viewer")
	csrf := f.csrf(t, full)
	otherCSRF := f.csrf(t, other)
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "env": {env}, "reason": {"payments broken"}, "confirm": {"yes"}}
	}
	same := map[string]string{"Origin": "http://dash.test", "Sec-Fetch-Site": "same-origin"}
	tests := []struct {
		name   string
		req    request
		status int
		code   string
	}{
		{"a forged cross-site post", request{form: form(csrf), cookie: full, header: map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}}, 403, "cross_site"},
		{"another site's origin", request{form: form(csrf), cookie: full, header: map[string]string{"Origin": "https://evil.example"}}, 403, "cross_site"},
		{"a same-site subdomain", request{form: form(csrf), cookie: full, header: map[string]string{"Sec-Fetch-Site": "same-site"}}, 403, "cross_site"},
		{"no CSRF token", request{form: form(""), cookie: full, header: same}, 403, "csrf"},
		{"another session's CSRF token", request{form: form(otherCSRF), cookie: full, header: same}, 403, "csrf"},
		{"a read-only session", request{form: form(csrf), cookie: ro, header: same}, 403, "read_only"},
		{"no session", request{form: form(csrf), header: same}, 401, "unauthorized"},
		{"a bearer token instead of a session", request{form: form(csrf), header: map[string]string{"Authorization": "Bearer " + fullToken}}, 401, "unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.method, tt.req.path = "POST", "/dashboard/flags/checkout/kill"
			resp := f.do(t, tt.req)
			body := readBody(t, resp)
			if resp.StatusCode != tt.status || !strings.Contains(body, `"error":"`+tt.code+`"`) {
				t.Fatalf("%s: %s %s, want %d %s", tt.name, resp.Status, body, tt.status, tt.code)
			}
		})
	}
	ks, _, err := publish.ReadKillState(context.Background(), f.st, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Killed) != 0 {
		t.Fatalf("a refused request killed %v", ks.KilledFlags())
	}
}

func TestKillAndUnkill(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cookie := f.login(t, fullToken, "alice")
	csrf := f.csrf(t, cookie)
	refused := []struct {
		name string
		form url.Values
		want string
	}{
		{"no reason", url.Values{"csrf": {csrf}, "env": {env}, "confirm": {"yes"}}, "Say why"},
		{"not confirmed", url.Values{"csrf": {csrf}, "env": {env}, "reason": {"x"}}, "Tick the confirmation box"},
		{"no environment", url.Values{"csrf": {csrf}, "reason": {"x"}, "confirm": {"yes"}}, "names no environment"},
		{"a long reason", url.Values{"csrf": {csrf}, "env": {env}, "reason": {strings.Repeat("x", dashboard.MaxReasonLength+1)}, "confirm": {"yes"}}, "longer than"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.post(t, cookie, "/dashboard/flags/checkout/kill", tt.form)
			if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Fatalf("%s: %s, want 400 with %q\n%s", tt.name, resp.Status, tt.want, body)
			}
		})
	}

	resp := f.post(t, cookie, "/dashboard/flags/checkout/kill", url.Values{"csrf": {csrf}, "env": {env}, "reason": {"payments break at 12:06"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/flags/checkout?env=production&done=kill" {
		t.Fatalf("kill: %s to %q %s", resp.Status, resp.Header.Get("Location"), readBody(t, resp))
	}
	st, err := f.pub.Status(ctx, env, f.now)
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range st.Flags {
		if fl.Key == "checkout" && (!fl.Killed || fl.Kill == nil || fl.Kill.By != "test-token via dashboard: alice" || fl.Kill.Reason != "payments break at 12:06") {
			t.Fatalf("checkout after the kill: %+v %+v", fl, fl.Kill)
		}
	}
	page := readBody(t, f.do(t, request{path: "/dashboard/flags/checkout?env=production&done=kill", cookie: cookie}))
	for _, want := range []string{"KILLED", "Killed. The new snapshot is published", "payments break at 12:06", "test-token via dashboard: alice", `id="unkill-button"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the flag page after the kill lacks %q", want)
		}
	}
	f.now = f.now.Add(time.Minute) // the audit trail sorts by time
	resp = f.post(t, cookie, "/dashboard/flags/checkout/unkill", url.Values{"csrf": {csrf}, "env": {env}, "reason": {"fixed"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unkill: %s %s", resp.Status, readBody(t, resp))
	}
	audit, err := f.pub.Audit(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, rec := range audit {
		if rec.Flag == "checkout" && (rec.Action == publish.ActionKill || rec.Action == publish.ActionUnkill) {
			actions = append(actions, rec.Action+" by "+rec.Who+": "+rec.Why)
		}
	}
	want := []string{"kill by test-token via dashboard: alice: payments break at 12:06", "unkill by test-token via dashboard: alice: fixed"}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

func TestRolloutActions(t *testing.T) {
	f := newFixture(t)
	cookie := f.login(t, fullToken, "bob")
	csrf := f.csrf(t, cookie)
	steps := []struct {
		action string
		status int
		after  string // the rollout's status after the step
	}{
		{"pause", http.StatusSeeOther, publish.RolloutPaused},
		{"pause", http.StatusConflict, publish.RolloutPaused},
		{"resume", http.StatusSeeOther, publish.RolloutRunning},
		{"promote", http.StatusSeeOther, publish.RolloutRunning},
		{"rollback", http.StatusSeeOther, publish.RolloutRolledBack},
		{"resume", http.StatusSeeOther, publish.RolloutRunning},
	}
	for i, s := range steps {
		resp := f.post(t, cookie, "/dashboard/flags/checkout/"+s.action, url.Values{"csrf": {csrf}, "env": {env}, "reason": {"step " + s.action}, "confirm": {"yes"}})
		body := readBody(t, resp)
		if resp.StatusCode != s.status {
			t.Fatalf("step %d %s: %s, want %d\n%s", i+1, s.action, resp.Status, s.status, body)
		}
		state, _, err := publish.ReadRolloutState(context.Background(), f.st, env)
		if err != nil {
			t.Fatal(err)
		}
		if got := state.Flags["checkout"].Status; got != s.after {
			t.Fatalf("step %d %s: status %s, want %s", i+1, s.action, got, s.after)
		}
	}
	page := readBody(t, f.do(t, request{path: "/dashboard/flags/checkout?env=production", cookie: cookie}))
	for _, want := range []string{"stage 1 of 3", "<strong>promote</strong> stage 1 → 2", "step promote", "test-token via dashboard: bob", "resume"} {
		if !strings.Contains(page, want) {
			t.Errorf("the flag page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
	resp := f.post(t, cookie, "/dashboard/flags/search/pause", url.Values{"csrf": {csrf}, "env": {env}, "reason": {"x"}, "confirm": {"yes"}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no staged rollout") {
		t.Fatalf("pausing a flag without stages: %s\n%s", resp.Status, body)
	}
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	cookie := f.login(t, readOnlyToken, "")
	tests := []struct {
		name    string
		path    string
		want    []string
		notWant []string
	}{
		{"the list", "/dashboard/flags", []string{"Flags in production", ">checkout<", ">search<", ">search-ring<", "stage 1/3 running", "ring canary → on (5%)", "on to 25%, else off", `data-key="checkout"`, `<span id="shown">3</span> of 3 flags`, "read-only", "Who gets what", "<td>off 90% · on 10%</td>"}, []string{"Kill "}},
		{"a search", "/dashboard/flags?env=production&q=ring", []string{`data-key="search-ring"`, `<span id="shown">1</span> of 3 flags`}, []string{`data-key="checkout"`}},
		{"a filter", "/dashboard/flags?env=production&filter=rollouts", []string{`data-key="checkout"`, `<span id="shown">1</span> of 3 flags`}, []string{`data-key="search"`}},
		{"a flag with a rollout", "/dashboard/flags/checkout?env=production", []string{
			"Rollout: stage 1 of 3", "New against old", "error_rate", "p99_latency", "431 ms", "402 ms", "&#43;29 ms (&#43;7.2%)", "worse",
			"chart.svg?env=production", "Who gets what", "Of 2,000 simulated users", "Read-only: log in with the full-access token", "start"},
			[]string{`id="kill-button"`, `name="csrf"`}},
		{"a flag with a ring", "/dashboard/flags/search-ring?env=production", []string{"canary", "Released", "The flag directory is not available here"}, nil},
	}
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son[a-z]+="|style="|javascript:`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, request{path: tt.path, cookie: cookie})
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s\n%s", tt.path, resp.Status, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q", tt.path, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("%s has %q", tt.path, w)
				}
			}
			if m := inline.FindString(body); m != "" {
				t.Errorf("%s has inline script or style: %q", tt.path, m)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if t.Failed() {
				t.Log(body)
			}
		})
	}
}

func TestStateFollowsChanges(t *testing.T) {
	f := newFixture(t)
	cookie := f.login(t, fullToken, "")
	resp := f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie})
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("state: %s, ETag %q", resp.Status, etag)
	}
	if resp := f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie, header: map[string]string{"If-None-Match": etag}}); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("state unchanged: %s, want 304", resp.Status)
	}
	// A page carries the state it was rendered with, so its script sees a change made
	// between the rendering and its first poll.
	for _, path := range []string{"/dashboard/flags?env=production", "/dashboard/flags/checkout?env=production"} {
		page := readBody(t, f.do(t, request{path: path, cookie: cookie}))
		now := f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie}).Header.Get("ETag")
		if !strings.Contains(page, `data-etag="`+html.EscapeString(now)+`"`) {
			t.Errorf("%s does not carry the state's ETag %s", path, now)
		}
	}
	if _, err := f.pub.Kill(context.Background(), env, "search", "test", "someone else"); err != nil {
		t.Fatal(err)
	}
	etag = f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie}).Header.Get("ETag")
	if _, err := f.pub.Kill(context.Background(), env, "checkout", "test", "someone else"); err != nil {
		t.Fatal(err)
	}
	resp = f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie, header: map[string]string{"If-None-Match": etag}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == etag {
		t.Fatalf("state after a kill: %s, ETag %q (was %q)", resp.Status, resp.Header.Get("ETag"), etag)
	}
}

func TestChart(t *testing.T) {
	f := newFixture(t)
	cookie := f.login(t, readOnlyToken, "")
	resp := f.do(t, request{path: "/dashboard/flags/checkout/chart.svg?env=production", cookie: cookie})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("chart: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if n := strings.Count(body, "<polyline"); n != 4 {
		t.Errorf("chart has %d lines, want 4 (new and old of 2 metrics):\n%s", n, body)
	}
	for _, want := range []string{"error_rate", "p99_latency", "431 ms", "402 ms"} {
		if !strings.Contains(body, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	resp = f.do(t, request{path: "/dashboard/flags/search/chart.svg?env=production", cookie: cookie})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("chart of a flag without stages: %s, want 404", resp.Status)
	}
}

func TestLargeProjectsAreCountedInTheBackground(t *testing.T) {
	f := newFixtureWith(t, manyFlags(250)...)
	cookie := f.login(t, readOnlyToken, "")
	first := readBody(t, f.do(t, request{path: "/dashboard/flags?env=production", cookie: cookie}))
	if !strings.Contains(first, "counting…") {
		t.Fatal("the first list of a large project does not say it is counting")
	}
	resp := f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie})
	etag := resp.Header.Get("ETag")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := f.do(t, request{path: "/dashboard/state?env=production", cookie: cookie, header: map[string]string{"If-None-Match": etag}})
		if resp.StatusCode == http.StatusOK {
			break // the counts are ready: the page's script reloads its regions
		}
		if time.Now().After(deadline) {
			t.Fatal("the state never said the counts were ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	list := readBody(t, f.do(t, request{path: "/dashboard/flags?env=production", cookie: cookie}))
	if strings.Contains(list, "counting…") || !regexp.MustCompile(`<td>(on|off) \d+% · (on|off) \d+%</td>`).MatchString(list) {
		t.Fatal("the list lacks the counts once they are ready")
	}
}
