package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/edgeflag/edgeflag/internal/devstack"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// The browser tests drive Debian's Chromium (scripts/install-chromium.sh) over the
// DevTools protocol against `edgeflag dev`'s stack on 127.0.0.1: the real store, the
// kill-switch handler with the dashboard, and the WASM edge.

var updateDocs = flag.Bool("update-docs", false, "write the dashboard screenshots of docs/dashboard.md")

// artifactsDir is where the screenshots go: $EDGEFLAG_TEST_ARTIFACTS/dashboard, else
// out/test-artifacts/dashboard in the repository.
func artifactsDir(t *testing.T) string {
	dir := filepath.Join("..", "..", "out", "test-artifacts", "dashboard")
	if d := os.Getenv("EDGEFLAG_TEST_ARTIFACTS"); d != "" {
		dir = filepath.Join(d, "dashboard")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromiumPath finds Debian's Chromium.
func chromiumPath() (string, bool) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, true
		}
	}
	return "", false
}

// chromium returns the browser's path. Without one the test fails in CI (CI=true) and
// is skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	if path, ok := chromiumPath(); ok {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: scripts/setup.sh installs it (scripts/install-chromium.sh)")
	}
	t.Skip("chromium is not installed: run scripts/install-chromium.sh (or make setup) to run the dashboard's browser tests")
	return ""
}

var (
	moduleOnce sync.Once
	module     *devstack.Module
	moduleErr  error
)

// devStack starts `edgeflag dev`'s stack on the repository's flags, with a staged
// rollout of payments-service-v2 in production (testdata/dev-plan.json) started 5
// minutes ago and checked once.
func devStack(t *testing.T) *devstack.Stack {
	t.Helper()
	ctx := context.Background()
	moduleOnce.Do(func() { module, moduleErr = devstack.LoadModule(ctx, "") })
	if moduleErr != nil {
		t.Fatal(moduleErr)
	}
	cache, _ := filepath.Abs("../../.cache/wazero")
	var out syncbuf.Buffer
	s, err := devstack.Start(ctx, devstack.Config{
		Dir: "../../flags", Store: t.TempDir(), Addr: "127.0.0.1:0", Token: fullToken, ReadOnlyToken: readOnlyToken,
		Module: module.Wasm, CacheDir: cache, Out: &out, WatchInterval: 100 * time.Millisecond, EdgePollInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("closing the dev stack: %v", err)
		}
		if t.Failed() {
			t.Logf("edgeflag dev output:\n%s", out.String())
		}
	})
	st := s.Store()
	ptr, _, err := publish.ReadPointer(ctx, st, env)
	if err != nil {
		t.Fatal(err)
	}
	base, err := st.Get(ctx, layout.BaseKey(env, ptr.Base), store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := os.ReadFile("testdata/dev-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	pub := publish.New(st)
	if _, err := pub.PublishWithPlan(ctx, base.Data, plan, "test"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-5 * time.Minute)
	ctl := &rollout.Controller{Publisher: pub, Providers: map[string]rollout.Provider{rollout.ProviderPrometheus: startPrometheus(t, "payments-service-v2")},
		Now: func() time.Time { return now }}
	for range 2 {
		if _, err := ctl.Tick(ctx, env); err != nil {
			t.Fatal(err)
		}
		now = time.Now()
	}
	return s
}

// browserContext starts a headless Chromium (as root: without its sandbox) and returns
// a tab's context, bounded to a minute.
func browserContext(path string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	return ctx, func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	}
}

// browser starts a headless Chromium and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	ctx, cancel := browserContext(path)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil { // start the browser now
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a submit button and waits for the page it leads to.
func submit(t *testing.T, ctx context.Context, button string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button)))); err != nil {
		t.Fatalf("submitting with %s: %v", button, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript expression is true.
func waitFor(t *testing.T, ctx context.Context, what, js string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		// Evaluated again every 20 ms; an error (the page navigating away from under the
		// expression) counts as not yet.
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		if err == nil && ok {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
			t.Fatalf("waiting for %s (%v): last error %v\npage:\n%s", what, timeout, err, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// login logs the browser in.
func browserLogin(t *testing.T, ctx context.Context, base, token, name string) {
	t.Helper()
	do(t, ctx, "open the dashboard", chromedp.Navigate(base+"/dashboard/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.SendKeys(chromedp.ID("name"), name))
	submit(t, ctx, `form.login button[type=submit]`)
}

// docsScreenshots are the screenshots docs/dashboard.md shows.
var docsScreenshots = map[string]bool{"dashboard-flags": true, "dashboard-rollout": true}

// screenshot saves the viewport as an artifact (and, with -update-docs, for the docs).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(artifactsDir(t), name+".png")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", file, len(data))
	if *updateDocs && docsScreenshots[name] {
		small, err := paletted(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "images", name+".png"), small, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// paletted re-encodes a PNG with a palette of its 256 most frequent colours (a page's
// screenshot has few besides the anti-aliasing): half the size, for the docs.
func paletted(data []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	colors := make([]color.RGBA, 0, len(counts))
	for c := range counts {
		colors = append(colors, c)
	}
	slices.SortFunc(colors, func(a, b color.RGBA) int {
		if d := counts[b] - counts[a]; d != 0 {
			return d
		}
		return int(a.R)<<16 + int(a.G)<<8 + int(a.B) - (int(b.R)<<16 + int(b.G)<<8 + int(b.B))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range colors[:min(256, len(colors))] {
		pal = append(pal, c)
	}
	p := image.NewPaletted(b, pal)
	draw.Draw(p, p.Rect, img, b.Min, draw.Src)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ofrepVariant asks the edge what it serves.
func ofrepVariant(t *testing.T, base, flag, evalCtx string) string {
	t.Helper()
	resp, err := http.Post(base+"/ofrep/v1/evaluate/flags/"+flag, "application/json", strings.NewReader(`{"context":`+evalCtx+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Variant string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("OFREP: %s %s", resp.Status, b)
	}
	return out.Variant
}

// employee is a context the example's new-checkout-flow serves on (a rule).
const employee = `{"targetingKey":"user-42","email":"alice@company.com"}`

func TestBrowserKillSwitch(t *testing.T) {
	s := devStack(t)
	ctx := browser(t)
	base := s.URL()
	if got := ofrepVariant(t, base, "new-checkout-flow", employee); got != "on" {
		t.Fatalf("before the kill the edge serves %s, want on", got)
	}
	browserLogin(t, ctx, base, fullToken, "on-call")
	waitFor(t, ctx, "the flag list", `document.querySelector("table.flags") !== null`, 10*time.Second)
	checkLabels(t, ctx, "the flag list")
	screenshot(t, ctx, "dashboard-flags")
	// Find the flag: the search box filters as one types.
	do(t, ctx, "search", chromedp.SendKeys(chromedp.ID("q"), "checkout"))
	waitFor(t, ctx, "the filtered list", `document.querySelector('tr[data-key="weather-widget"]').hidden && !document.querySelector('tr[data-key="new-checkout-flow"]').hidden`, 5*time.Second)
	screenshot(t, ctx, "dashboard-flags-search")
	submit(t, ctx, `tr[data-key="new-checkout-flow"] a`)
	waitFor(t, ctx, "the flag page", `document.getElementById("kill-button") !== null`, 10*time.Second)
	checkLabels(t, ctx, "the flag page")
	source := eval[string](t, ctx, `document.querySelector("section[aria-label=Source]").innerText`)
	marked := eval[string](t, ctx, `document.querySelector("pre.source .here").innerText`)
	if !strings.Contains(source, "flags/checkout/new-checkout-flow.yaml:8") || !strings.Contains(marked, "key: new-checkout-flow") {
		t.Errorf("the flag as written in git: %q, marked line %q", source[:min(len(source), 300)], marked)
	}

	do(t, ctx, "fill in the kill form", chromedp.SendKeys(chromedp.ID("kill-reason"), "payments break at 12:06"),
		chromedp.Click(chromedp.ID("kill-confirm")))
	submit(t, ctx, "#kill-button")
	waitFor(t, ctx, "the kill's confirmation", `document.body.innerText.includes("Killed. The new snapshot is published")`, 10*time.Second)
	// The page follows the edge by itself: it says when the edge serves the new snapshot.
	took := waitFor(t, ctx, "the edge serving the kill", `(document.getElementById("edge-sync")||{}).innerText === "the edge serves this snapshot"`, 10*time.Second)
	t.Logf("the page showed the edge serving the kill %s after the redirect", took.Round(10*time.Millisecond))
	if got := ofrepVariant(t, base, "new-checkout-flow", employee); got != "off" {
		t.Fatalf("after the kill the edge serves %s, want off (the offVariant)", got)
	}
	waitFor(t, ctx, "the audit entry", `document.querySelector("[data-live-region=audit]").innerText.includes("payments break at 12:06")`, 5*time.Second)
	audit := eval[string](t, ctx, `document.querySelector("[data-live-region=audit]").innerText`)
	if !strings.Contains(audit, "via dashboard: on-call") {
		t.Errorf("the audit trail does not name the on-call engineer:\n%s", audit)
	}
	screenshot(t, ctx, "dashboard-flag-killed")

	// Someone else turns the kill switch off through the API: the open page follows
	// without a reload.
	do(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
	req, _ := http.NewRequest("POST", base+"/flags/new-checkout-flow/unkill", strings.NewReader(`{"environment":"production","reason":"fixed forward"}`))
	req.Header.Set("Authorization", "Bearer "+fullToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("unkill through the API: %s", resp.Status)
	}
	took = waitFor(t, ctx, "the page to show the unkill", `document.querySelector("[data-live-region=state] .badge").innerText === "enabled" && document.getElementById("kill-button") !== null`, 10*time.Second)
	t.Logf("the page followed the API's unkill after %s", took.Round(10*time.Millisecond))
	if !eval[bool](t, ctx, `window.sameDocument === true`) {
		t.Error("the page was reloaded; it should have updated in place")
	}
}

func TestBrowserRolloutPauseResume(t *testing.T) {
	s := devStack(t)
	ctx := browser(t)
	browserLogin(t, ctx, s.URL(), fullToken, "release-captain")
	do(t, ctx, "open the rollout", chromedp.Navigate(s.URL()+"/dashboard/flags/payments-service-v2?env=production"),
		chromedp.WaitVisible(chromedp.ID("pause-button")))
	text := eval[string](t, ctx, `document.querySelector("[data-live-region=rollout]").innerText`)
	for _, want := range []string{"stage 1 of 3", "running", "New against old", "error_rate", "p99_latency", "431 ms", "402 ms"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rollout panel lacks %q:\n%s", want, text)
		}
	}
	waitFor(t, ctx, "the chart", `document.querySelector("img.chart").complete && document.querySelector("img.chart").naturalWidth > 0`, 10*time.Second)
	screenshot(t, ctx, "dashboard-rollout")

	do(t, ctx, "fill in the pause form", chromedp.SendKeys(chromedp.ID("pause-reason"), "p99 looks odd"), chromedp.Click(chromedp.ID("pause-confirm")))
	submit(t, ctx, "#pause-button")
	waitFor(t, ctx, "the paused rollout", `document.querySelector("[data-live-region=rollout] h2").innerText.includes("paused") && document.getElementById("resume-button") !== null`, 10*time.Second)
	do(t, ctx, "fill in the resume form", chromedp.SendKeys(chromedp.ID("resume-reason"), "false alarm"), chromedp.Click(chromedp.ID("resume-confirm")))
	submit(t, ctx, "#resume-button")
	waitFor(t, ctx, "the running rollout", `document.querySelector("[data-live-region=rollout] h2").innerText.includes("running") && document.getElementById("pause-button") !== null`, 10*time.Second)
	timeline := eval[string](t, ctx, `document.querySelector("ol.timeline").innerText`)
	for _, want := range []string{"pause", "p99 looks odd", "resume", "false alarm", "via dashboard: release-captain"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, timeline)
		}
	}
}

func TestBrowserRefusesWrongTokensAndForgedPosts(t *testing.T) {
	s := devStack(t)
	ctx := browser(t)
	base := s.URL()

	// A wrong token sees nothing.
	do(t, ctx, "open the login", chromedp.Navigate(base+"/dashboard/login"), chromedp.WaitVisible(chromedp.ID("token")))
	checkLabels(t, ctx, "the login page")
	browserLogin(t, ctx, base, "not-the-token-0123456789", "mallory")
	body := eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(body, "That token is not valid here.") || strings.Contains(body, "new-checkout-flow") {
		t.Fatalf("after a wrong token:\n%s", body)
	}
	do(t, ctx, "open a flag", chromedp.Navigate(base+"/dashboard/flags/new-checkout-flow?env=production"), chromedp.WaitVisible(chromedp.ID("token")))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/dashboard/login") {
		t.Fatalf("without a session a flag page leads to %s, want the login", loc)
	}

	// A read-only viewer reads but has no actions.
	browserLogin(t, ctx, base, readOnlyToken, "viewer")
	do(t, ctx, "open a flag", chromedp.Navigate(base+"/dashboard/flags/new-checkout-flow?env=production"), chromedp.WaitVisible(chromedp.CSS("[data-live-region=state]")))
	if n := eval[int](t, ctx, `document.querySelectorAll("form.action").length`); n != 0 {
		t.Errorf("a read-only viewer sees %d action forms", n)
	}

	// Logged in with write access, the engineer visits another site (another origin of
	// 127.0.0.1: same-site, so even the SameSite=Strict cookie goes along) whose page
	// posts a kill to the dashboard.
	browserLogin(t, ctx, base, fullToken, "on-call")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/dashboard/flags/new-checkout-flow/kill">
<input name="env" value="production"><input name="reason" value="forged"><input name="confirm" value="yes"><input name="csrf" value="guess">
</form><script>document.getElementById("f").submit()</script>`, base)
	}))
	defer evil.Close()
	// The other site's page submits its form as it loads: the tab then navigates to the
	// dashboard's answer (waited for by the tab's URL, as the page's own JavaScript
	// context goes away with the navigation).
	_ = chromedp.Do(ctx, chromedp.Navigate(evil.URL))
	deadline := time.Now().Add(10 * time.Second)
	for {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		if strings.Contains(loc, "/dashboard/flags/new-checkout-flow/kill") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the forged form did not reach the dashboard: the tab is at %s", loc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, ctx, "the refusal", `document.readyState === "complete" && document.body.innerText.includes("cross_site")`, 10*time.Second)
	if got := ofrepVariant(t, base, "new-checkout-flow", employee); got != "on" {
		t.Fatalf("after the forged post the edge serves %s", got)
	}
	st, err := publish.New(s.Store()).Status(context.Background(), env, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Flags {
		if f.Kill != nil {
			t.Fatalf("the forged post killed %s", f.Key)
		}
	}
}

func TestBrowserKeyboardReachesTheKillButton(t *testing.T) {
	s := devStack(t)
	ctx := browser(t)
	browserLogin(t, ctx, s.URL(), fullToken, "")
	do(t, ctx, "open a flag", chromedp.Navigate(s.URL()+"/dashboard/flags/new-checkout-flow?env=production"), chromedp.WaitVisible(chromedp.ID("kill-button")))
	const maxTabs = 40
	for i := 1; i <= maxTabs; i++ {
		do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		if eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ""`) == "kill-button" {
			t.Logf("the kill button is reached with %d presses of Tab", i)
			// Space on a focused submit button submits; the browser's own validation
			// stops it here: no reason given.
			return
		}
	}
	t.Fatalf("%d presses of Tab did not reach the kill button", maxTabs)
}

// checkLabels fails for any visible control without a label (or an accessible name).
func checkLabels(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	missing := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("input, select, textarea, button")).filter(function (el) {
		if (el.type === "hidden") return false;
		if (el.tagName === "BUTTON") return el.innerText.trim() === "" && !el.getAttribute("aria-label");
		return (!el.labels || el.labels.length === 0) && !el.getAttribute("aria-label");
	}).map(function (el) { return el.outerHTML; })`)
	if len(missing) > 0 {
		t.Errorf("%s has controls without a label:\n%s", where, strings.Join(missing, "\n"))
	}
}
