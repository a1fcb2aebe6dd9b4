package lambda_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/store"
)

const readOnly = "viewer-token-0123456789"

func readOnlyHandler(t *testing.T) (*lambda.Handler, store.Store) {
	t.Helper()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := publishtest.Snapshot("production", "abc123", 1000, "new-checkout", "search-ring")
	if _, err := publish.New(st).Publish(context.Background(), base, "ci"); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: st, Environments: []string{"production"}, Token: token, ReadOnlyToken: readOnly,
		Dashboard: dashboard.ForAPI})
	if err != nil {
		t.Fatal(err)
	}
	return h, st
}

func TestReadOnlyTokenOnlyReads(t *testing.T) {
	h, st := readOnlyHandler(t)
	f := &fixture{store: st, handler: h}
	tests := []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"GET", "/flags?environment=production", "", http.StatusOK, ""},
		{"GET", "/rollouts?environment=production", "", http.StatusOK, ""},
		{"POST", "/flags/new-checkout/kill", `{"environment":"production","reason":"x"}`, http.StatusForbidden, "read_only"},
		{"POST", "/flags/new-checkout/unkill", `{"environment":"production","reason":"x"}`, http.StatusForbidden, "read_only"},
		{"POST", "/publish", `{"environment":"production"}`, http.StatusForbidden, "read_only"},
		{"POST", "/flags/new-checkout/rollout/pause", `{"environment":"production","reason":"x"}`, http.StatusForbidden, "read_only"},
	}
	before := snapshotOfStore(t, st)
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := f.do(t, tt.method, tt.target, tt.body, "Bearer "+readOnly)
			if w.Code != tt.status || (tt.code != "" && !strings.Contains(w.Body.String(), `"error": "`+tt.code+`"`)) {
				t.Fatalf("%s %s with the read-only token: %d %s, want %d %s", tt.method, tt.target, w.Code, w.Body, tt.status, tt.code)
			}
		})
	}
	if after := snapshotOfStore(t, st); !mapsEqual(before, after) {
		t.Fatal("a read-only request changed the store")
	}
}

func TestNewRejectsBadReadOnlyToken(t *testing.T) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]lambda.Config{
		"too short":         {Store: st, Token: token, ReadOnlyToken: "short"},
		"same as the token": {Store: st, Token: token, ReadOnlyToken: token},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := lambda.New(cfg); err == nil || !strings.Contains(err.Error(), "read-only token") {
				t.Fatalf("New: %v, want an error about the read-only token", err)
			}
		})
	}
}

// The dashboard goes through API Gateway's payload format 2.0: cookies arrive in their
// own field and go back in their own field.
func TestDashboardThroughHTTPAPIEvents(t *testing.T) {
	h, _ := readOnlyHandler(t)
	ctx := context.Background()
	event := func(method, path, body string, cookies []string) events.APIGatewayV2HTTPRequest {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Cookies: cookies,
			Headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "host": "api.example",
				"origin": "https://api.example", "sec-fetch-site": "same-origin"}}
		ev.RequestContext.HTTP.Method = method
		return ev
	}
	resp, err := h.HandleHTTPEvent(ctx, event("GET", "/dashboard/flags", "", nil))
	if err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Headers["Location"], "/dashboard/login") {
		t.Fatalf("the dashboard without a session: %v %d %v", err, resp.StatusCode, resp.Headers)
	}
	form := url.Values{"token": {readOnly}, "name": {"viewer"}}.Encode()
	resp, err = h.HandleHTTPEvent(ctx, event("POST", "/dashboard/login", form, nil))
	if err != nil || resp.StatusCode != http.StatusSeeOther || len(resp.Cookies) != 1 || resp.Headers["Set-Cookie"] != "" {
		t.Fatalf("login: %v %d cookies %q headers %v\n%s", err, resp.StatusCode, resp.Cookies, resp.Headers, resp.Body)
	}
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(resp.Cookies[0], attr) {
			t.Errorf("the session cookie %q lacks %s", resp.Cookies[0], attr)
		}
	}
	session, _, _ := strings.Cut(resp.Cookies[0], ";")
	forged := event("POST", "/dashboard/logout", "", []string{session})
	forged.Headers["origin"], forged.Headers["sec-fetch-site"] = "https://evil.example", "cross-site"
	if resp, err := h.HandleHTTPEvent(ctx, forged); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site POST through API Gateway: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	resp, err = h.HandleHTTPEvent(ctx, event("GET", "/dashboard/flags", "", []string{"other=1", session}))
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "Flags in production") || !strings.Contains(resp.Body, "new-checkout") {
		t.Fatalf("the dashboard with the session: %v %d\n%s", err, resp.StatusCode, resp.Body)
	}
}

// The dashboard is what Config.Dashboard builds, from the Config New checked; without one
// its paths answer 404 and the API is unchanged.
func TestDashboardIsInjected(t *testing.T) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.New(st).Publish(context.Background(), publishtest.Snapshot("production", "abc123", 1000, "new-checkout"), "ci"); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: st, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, handler: h}
	for _, path := range []string{"/dashboard", "/dashboard/", "/dashboard/flags", "/dashboard/login"} {
		if w := f.do(t, "GET", path, "", ""); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "no release dashboard") {
			t.Errorf("GET %s without a dashboard: %d %s, want 404", path, w.Code, w.Body)
		}
	}
	if w := f.do(t, "GET", "/flags?environment=production", "", ""); w.Code != http.StatusOK {
		t.Errorf("GET /flags without a dashboard: %d %s", w.Code, w.Body)
	}

	var got lambda.Config
	_, err = lambda.New(lambda.Config{Store: st, Token: token, Dashboard: func(api lambda.Config) (http.Handler, error) {
		got = api
		return http.NotFoundHandler(), nil
	}})
	if err != nil || got.Store != st || got.Token != token || got.TokenActor != "bearer-token" || got.Now == nil || got.Logger == nil {
		t.Fatalf("Dashboard was called with %+v (%v), want the checked Config with its defaults", got, err)
	}
	_, err = lambda.New(lambda.Config{Store: st, Token: "short", Dashboard: func(lambda.Config) (http.Handler, error) {
		t.Fatal("Dashboard called with a Config New refuses")
		return nil, nil
	}})
	if err == nil || !strings.Contains(err.Error(), "bearer token") {
		t.Fatalf("New with a short token: %v", err)
	}
	_, err = lambda.New(lambda.Config{Store: st, Dashboard: func(lambda.Config) (http.Handler, error) {
		return nil, errors.New("no templates")
	}})
	if err == nil || err.Error() != "lambda: the release dashboard: no templates" {
		t.Fatalf("New with a failing dashboard: %v", err)
	}
}
