package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// benchFlags is the size of the project the page-weight benchmarks use.
const benchFlags = 1000

func manyFlags(n int) []string {
	keys := []string{"checkout"}
	for i := 1; len(keys) < n; i++ {
		key := fmt.Sprintf("flag-%04d", i)
		if i%10 == 0 {
			key += "-ring"
		}
		keys = append(keys, key)
	}
	return keys
}

// assets matches what a page loads besides itself: scripts, style sheets, images.
var assets = regexp.MustCompile(`<(?:script|img)[^>]* src="[^"]+"|<link rel="stylesheet" href="[^"]+"`)

// benchPage renders one page per iteration and reports its weight: the HTML's bytes and
// the requests a first load makes (the page, its assets, the first state poll).
func benchPage(b *testing.B, path string) {
	f := newFixtureWith(b, manyFlags(benchFlags)...)
	cookie := f.login(b, readOnlyToken, "")
	var size, requests int
	for b.Loop() {
		resp := f.do(b, request{path: path, cookie: cookie})
		body := readBody(b, resp)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %s", path, resp.Status)
		}
		size = len(body)
		requests = 1 + len(assets.FindAllString(body, -1)) + 1
	}
	b.ReportMetric(float64(size), "html-bytes")
	b.ReportMetric(float64(requests), "requests")
}

// BenchmarkListPage1000 renders the flag list of 1,000 flags.
func BenchmarkListPage1000(b *testing.B) { benchPage(b, "/dashboard/flags?env=production") }

// BenchmarkFlagPage renders one flag with a running rollout (in a project of 1,000 flags).
func BenchmarkFlagPage(b *testing.B) { benchPage(b, "/dashboard/flags/checkout?env=production") }

// BenchmarkBrowserFirstRender1000 loads the flag list of 1,000 flags in Chromium and
// reports the first contentful paint and the bytes transferred, as the browser measures
// them (skipped without chromium).
func BenchmarkBrowserFirstRender1000(b *testing.B) {
	path, ok := chromiumPath()
	if !ok {
		b.Skip("chromium is not installed: run scripts/install-chromium.sh")
	}
	f := newFixtureWith(b, manyFlags(benchFlags)...)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := browserContext(path)
	defer cancel()
	login := []chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL + "/dashboard/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), readOnlyToken), chromedp.Click(chromedp.CSS("form.login button")), chromedp.WaitVisible(chromedp.CSS("table.flags"))}
	if err := chromedp.Do(ctx, login...); err != nil {
		b.Fatal(err)
	}
	var paint, bytes, requests float64
	for b.Loop() {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/dashboard/flags?env=production"), chromedp.WaitVisible(chromedp.CSS("table.flags"))); err != nil {
			b.Fatal(err)
		}
		m, err := chromedp.Run(ctx, chromedp.Poll[map[string]float64](`(function () {
			var p = performance.getEntriesByName("first-contentful-paint")[0];
			if (!p) return null;
			var res = performance.getEntriesByType("resource"), bytes = performance.getEntriesByType("navigation")[0].encodedBodySize;
			for (var i = 0; i < res.length; i++) bytes += res[i].encodedBodySize;
			return {paint: p.startTime, bytes: bytes, requests: 1 + res.length};
		})()`, chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			b.Fatal(err)
		}
		paint, bytes, requests = paint+m["paint"], m["bytes"], m["requests"]
	}
	b.ReportMetric(paint/float64(b.N), "first-paint-ms")
	b.ReportMetric(bytes, "transferred-bytes")
	b.ReportMetric(requests, "requests")
}
