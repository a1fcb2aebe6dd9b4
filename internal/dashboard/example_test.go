package dashboard_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/store"
)

// A dashboard on a directory store: a browser logs in with the token and gets a session
// cookie, then reads the flag list.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "dashboard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := publish.New(st).Publish(ctx, publishtest.Snapshot("production", "abc123", 1, "new-checkout"), "ci"); err != nil {
		log.Fatal(err)
	}
	h, err := dashboard.New(dashboard.Config{Store: st, Token: "a-token-of-sixteen-chars", ReadOnlyToken: "a-viewer-token-0123"})
	if err != nil {
		log.Fatal(err)
	}

	login := httptest.NewRequest("POST", "/dashboard/login", strings.NewReader(url.Values{"token": {"a-viewer-token-0123"}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, login)
	cookie := w.Result().Cookies()[0]
	fmt.Println(w.Code, w.Header().Get("Location"), cookie.Name, cookie.HttpOnly, cookie.Secure, cookie.SameSite == http.SameSiteStrictMode)

	list := httptest.NewRequest("GET", dashboard.ListPath, nil)
	list.AddCookie(cookie)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, list)
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `data-key="new-checkout"`))
	// Output:
	// 303 /dashboard/flags edgeflag_session true true true
	// 200 true
}

// The kill-switch API serving the dashboard, as the Lambda does: the dashboard shares the
// API's store and tokens, and an unauthenticated browser is sent to the login page.
func ExampleForAPI() {
	dir, err := os.MkdirTemp("", "dashboard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(context.Background(), dir)
	if err != nil {
		log.Fatal(err)
	}
	api, err := lambda.New(lambda.Config{Store: st, Token: "a-token-of-sixteen-chars", Dashboard: dashboard.ForAPI})
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, httptest.NewRequest("GET", dashboard.ListPath, nil))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 303 /dashboard/login?next=%2Fdashboard%2Fflags
}
