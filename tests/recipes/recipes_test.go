// The example project in flags/ doubles as an end-to-end test of the flag language: every file here
// must compile for every environment, carry its lifecycle metadata, and give the users of
// docs/recipes.md exactly the results that document promises.
package recipes_test

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// now is "today" in docs/recipes.md.
const now = "2026-11-26T12:00:00Z"

// edit is a one-line change to a flag file, such as moving a release to the next ring.
// flagsDir is the example project, relative to this package.
const flagsDir = "../../flags"

type edit struct {
	file, old, new string
}

// kill sets a flag's kill switch in its file, as the kill-switch function does in the store.
func kill(file string) edit { return edit{file, "killed: false", "killed: true"} }

// atStage is what the rollout controller serves once a staged flag has moved on to pct in
// env (or rolled back to 0), written in the flag language: an override of the rollout
// that no longer starts at the first stage, which also takes env out of the stages.
func atStage(env string, pct int) string {
	return fmt.Sprintf("environments: { %s: { rollout: { variant: on, percentage: %d } } }", env, pct)
}

// recipe is one promise of docs/recipes.md: in env, at a time, a context gets a variant with
// a reason, decided by a rule, ring, rollout, default, kill, disabled or prerequisite.
type recipe struct {
	name    string
	env     string
	flag    string
	at      string // RFC 3339; "" for now
	ctx     attrs
	edits   []edit
	variant string
	value   string // the value as JSON text; "" to skip the check
	reason  evaluator.Reason
	by      string // kind or kind:name, as evaluator.Decision names them
	errCode evaluator.ErrorCode
}

type attrs map[string]any

func (a attrs) with(kv ...any) attrs {
	b := attrs{}
	for k, v := range a {
		b[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// The users of docs/recipes.md.
var (
	alice = attrs{"userId": "user-1001", "email": "alice@company.com", "groups": []string{"engineering@company.com"}}
	maria = attrs{"userId": "user-1002", "email": "maria@company.com"}
	ben   = attrs{"userId": "user-2001", "email": "ben@example.org", "betaProgram": true}
	carol = attrs{"userId": "user-2002", "email": "carol@bigcorp.example", "plan": "enterprise", "accountId": "acct-bigcorp"}
)

func user(id string, kv ...any) attrs { return attrs{"userId": id}.with(kv...) }

const (
	prod    = "production"
	staging = "staging"

	match   = evaluator.ReasonTargetingMatch
	split   = evaluator.ReasonSplit
	dflt    = evaluator.ReasonDefault
	static  = evaluator.ReasonStatic
	disable = evaluator.ReasonDisabled
)

var (
	checkoutFlow   = "checkout/new-checkout-flow.yaml"
	searchAlgo     = "search/new-search-algorithm.yaml"
	recommendation = "dashboard/new-recommendation-engine.yaml"
)

var recipes = []recipe{
	// Deploy vs. release.
	{name: "internal employees first", env: prod, flag: "new-checkout-flow", ctx: maria, variant: "on", reason: match, by: "rule:internal-employees-first"},
	{name: "inside 25%", env: prod, flag: "new-checkout-flow", ctx: user("user-3001"), variant: "on", reason: split, by: "rollout"},
	{name: "outside the 5% of day 3", env: prod, flag: "new-checkout-flow", ctx: user("user-3001"),
		edits: []edit{{checkoutFlow, "percentage: 25", "percentage: 5"}}, variant: "off", reason: dflt, by: "default"},
	{name: "inside from 5.4881%", env: prod, flag: "new-checkout-flow", ctx: user("user-3001"),
		edits: []edit{{checkoutFlow, "percentage: 25", "percentage: 5.4881"}}, variant: "on", reason: split, by: "rollout"},
	{name: "outside 25%", env: prod, flag: "new-checkout-flow", ctx: user("user-3006"), variant: "off", reason: dflt, by: "default"},
	{name: "day 5", env: prod, flag: "new-checkout-flow", ctx: user("user-3006"),
		edits: []edit{{checkoutFlow, "percentage: 25", "percentage: 100"}}, variant: "on", reason: split, by: "rollout"},
	{name: "staging", env: staging, flag: "new-checkout-flow", ctx: user("user-3006"), variant: "on", reason: dflt, by: "default"},

	// Ring-based deployment.
	{name: "developers", env: prod, flag: "new-search-algorithm", ctx: alice, variant: "on", reason: match, by: "ring:developers"},
	{name: "internal", env: prod, flag: "new-search-algorithm", ctx: maria, variant: "on", reason: match, by: "ring:internal"},
	{name: "beta opt-in", env: prod, flag: "new-search-algorithm", ctx: ben, variant: "on", reason: match, by: "ring:canary"},
	{name: "canary 5%", env: prod, flag: "new-search-algorithm", ctx: user("user-3003"), variant: "on", reason: match, by: "ring:canary"},
	{name: "not yet", env: prod, flag: "new-search-algorithm", ctx: user("user-3004"), variant: "off", reason: dflt, by: "default"},
	{name: "early majority", env: prod, flag: "new-search-algorithm", ctx: user("user-3004"),
		edits:   []edit{{searchAlgo, "release: { ring: canary, variant: on }", "release: { ring: early-majority, variant: on }"}},
		variant: "on", reason: split, by: "ring:early-majority"},
	{name: "staging everyone", env: staging, flag: "new-search-algorithm", ctx: carol, variant: "on", reason: split, by: "ring:everyone"},
	{name: "own ladder developers", env: prod, flag: "keyboard-shortcuts", ctx: alice, variant: "on", reason: match, by: "ring:developers"},
	{name: "power user", env: prod, flag: "keyboard-shortcuts", ctx: user("user-3001", "requestsPerDay", 250), variant: "on", reason: match, by: "ring:power-users"},
	{name: "not a power user", env: prod, flag: "keyboard-shortcuts", ctx: user("user-3001", "requestsPerDay", 40), variant: "off", reason: dflt, by: "default"},

	// Aggressive, conservative and emergency schedules.
	{name: "aggressive 10%", env: prod, flag: "faster-image-cdn", at: "2026-11-30T16:30:00Z", ctx: user("user-3003"), variant: "off", reason: dflt, by: "default"},
	{name: "aggressive 25%", env: prod, flag: "faster-image-cdn", at: "2026-11-30T17:00:00Z", ctx: user("user-3003"), variant: "on", reason: split, by: "rollout"},
	{name: "aggressive before 100%", env: prod, flag: "faster-image-cdn", at: "2026-11-30T22:59:59Z", ctx: maria, variant: "off", reason: dflt, by: "default"},
	{name: "aggressive 100%", env: prod, flag: "faster-image-cdn", at: "2026-11-30T23:00:00Z", ctx: maria, variant: "on", reason: split, by: "rollout"},
	{name: "aggressive staging", env: staging, flag: "faster-image-cdn", ctx: user("user-3008"), variant: "on", reason: static, by: "default"},
	{name: "conservative internal", env: prod, flag: "new-onboarding-flow", ctx: maria, variant: "on", reason: match, by: "rule:internal-testing"},
	{name: "conservative day 3", env: prod, flag: "new-onboarding-flow", at: "2026-12-02T12:00:00Z", ctx: user("user-3012"), variant: "off", reason: dflt, by: "default"},
	{name: "conservative day 4", env: prod, flag: "new-onboarding-flow", at: "2026-12-03T09:00:00Z", ctx: user("user-3012"), variant: "on", reason: split, by: "rollout"},
	{name: "emergency 10%", env: prod, flag: "cart-rounding-fix", at: "2026-11-26T13:05:00Z", ctx: user("user-3003"), variant: "off", reason: dflt, by: "default"},
	{name: "emergency 50%", env: prod, flag: "cart-rounding-fix", at: "2026-11-26T13:15:00Z", ctx: user("user-3003"), variant: "on", reason: split, by: "rollout"},
	{name: "emergency before 100%", env: prod, flag: "cart-rounding-fix", at: "2026-11-26T13:29:59Z", ctx: user("user-3004"), variant: "off", reason: dflt, by: "default"},
	{name: "emergency 100%", env: prod, flag: "cart-rounding-fix", at: "2026-11-26T13:30:00Z", ctx: user("user-3004"), variant: "on", reason: split, by: "rollout"},

	// Geographic.
	{name: "US", env: prod, flag: "new-shipping-estimates", ctx: user("user-3001", "country", "US"), variant: "on", reason: match, by: "rule:united-states"},
	{name: "EU not yet", env: prod, flag: "new-shipping-estimates", ctx: user("user-3002", "country", "DE"), variant: "off", reason: dflt, by: "default"},
	{name: "EU", env: prod, flag: "new-shipping-estimates", at: "2026-12-14T09:00:00Z", ctx: user("user-3002", "country", "DE"), variant: "on", reason: split, by: "rule:european-union"},
	{name: "Asia not yet", env: prod, flag: "new-shipping-estimates", at: "2026-12-14T09:00:00Z", ctx: user("user-3003", "country", "JP"), variant: "off", reason: dflt, by: "default"},
	{name: "rest of the world", env: prod, flag: "new-shipping-estimates", at: "2027-01-11T09:00:00Z", ctx: user("user-3003", "country", "JP"), variant: "on", reason: split, by: "rollout"},
	{name: "staging US and EU", env: staging, flag: "new-shipping-estimates", ctx: user("user-3002", "country", "DE"), variant: "on", reason: match, by: "rule:us-and-eu"},

	// Plan tier, by account.
	{name: "enterprise", env: prod, flag: "team-workspaces", ctx: carol, variant: "on", reason: match, by: "rule:enterprise-first"},
	{name: "account inside 20%", env: prod, flag: "team-workspaces", ctx: user("user-3001", "accountId", "acct-wonka"), variant: "on", reason: split, by: "rollout"},
	{name: "colleague inside 20%", env: prod, flag: "team-workspaces", ctx: user("user-3002", "accountId", "acct-wonka"), variant: "on", reason: split, by: "rollout"},
	{name: "account outside 20%", env: prod, flag: "team-workspaces", ctx: user("user-3001", "accountId", "acct-initech"), variant: "off", reason: dflt, by: "default"},
	{name: "no account", env: prod, flag: "team-workspaces", ctx: user("user-3001"), variant: "off", reason: dflt, by: "default"},

	// Account age.
	{name: "legacy layout", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", "2023-05-02T10:00:00Z"), variant: "off", reason: match, by: "rule:legacy-layout-accounts"},
	{name: "veteran", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", "2025-03-01T10:00:00Z"), variant: "on", reason: match, by: "rule:veteran-accounts"},
	{name: "veteran in Unix ms", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", 1740823200000), variant: "on", reason: match, by: "rule:veteran-accounts"},
	{name: "just a veteran", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", "2025-11-26T11:59:59Z"), variant: "on", reason: match, by: "rule:veteran-accounts"},
	{name: "just not a veteran", env: prod, flag: "redesigned-navigation", ctx: user("user-3012", "accountCreated", "2025-11-26T12:00:01Z"), variant: "on", reason: split, by: "rollout"},
	{name: "new account", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", "2026-11-20T08:30:00Z"), variant: "on", reason: match, by: "rule:new-accounts"},
	{name: "outside 10%", env: prod, flag: "redesigned-navigation", ctx: user("user-3001", "accountCreated", "2026-06-01T10:00:00Z"), variant: "off", reason: dflt, by: "default"},
	{name: "inside 10%", env: prod, flag: "redesigned-navigation", ctx: user("user-3012", "accountCreated", "2026-06-01T10:00:00Z"), variant: "on", reason: split, by: "rollout"},

	// Activity level, all / any / not.
	{name: "low activity free", env: prod, flag: "compact-dashboard-layout", ctx: user("user-3001", "requestsLastWeek", 3, "plan", "free"), variant: "on", reason: match, by: "rule:low-risk-audience"},
	{name: "low activity no plan", env: prod, flag: "compact-dashboard-layout", ctx: user("user-3001", "requestsLastWeek", 3), variant: "on", reason: match, by: "rule:low-risk-audience"},
	{name: "low activity enterprise", env: prod, flag: "compact-dashboard-layout", ctx: user("user-3001", "requestsLastWeek", 3, "plan", "enterprise"), variant: "off", reason: dflt, by: "default"},
	{name: "beta power user", env: prod, flag: "compact-dashboard-layout", ctx: ben.with("requestsPerDay", 150), variant: "on", reason: match, by: "rule:low-risk-audience"},
	{name: "qa account employee", env: prod, flag: "compact-dashboard-layout", ctx: user("user-3020", "email", "qa+dashboard@company.com", "requestsLastWeek", 0), variant: "on", reason: match, by: "ring:internal"},

	// The new pricing model, week by week.
	{name: "week 0", env: prod, flag: "new-pricing-model", ctx: maria, variant: "off", reason: dflt, by: "default"},
	{name: "week 1 internal", env: prod, flag: "new-pricing-model", at: "2026-11-30T09:00:00Z", ctx: maria, variant: "on", reason: split, by: "rule:week-1-internal"},
	{name: "week 1 enterprise", env: prod, flag: "new-pricing-model", at: "2026-12-04T12:00:00Z", ctx: carol, variant: "off", reason: dflt, by: "default"},
	{name: "week 2 enterprise", env: prod, flag: "new-pricing-model", at: "2026-12-07T09:00:00Z", ctx: carol, variant: "on", reason: split, by: "rule:week-2-enterprise"},
	{name: "week 3 beta", env: prod, flag: "new-pricing-model", at: "2026-12-14T09:00:00Z", ctx: ben, variant: "on", reason: split, by: "rule:week-3-beta"},
	{name: "week 4 long-time", env: prod, flag: "new-pricing-model", at: "2026-12-21T09:00:00Z", ctx: user("user-3001", "accountAgeDays", 800), variant: "on", reason: split, by: "rule:week-4-long-time-customers"},
	{name: "week 4 others", env: prod, flag: "new-pricing-model", at: "2026-12-21T09:00:00Z", ctx: user("user-3001", "accountAgeDays", 400), variant: "off", reason: dflt, by: "default"},
	{name: "week 5 everyone", env: prod, flag: "new-pricing-model", at: "2026-12-28T09:00:00Z", ctx: user("user-3001", "accountAgeDays", 400), variant: "on", reason: split, by: "rollout"},
	{name: "staging everyone", env: staging, flag: "new-pricing-model", ctx: user("user-3001"), variant: "on", reason: dflt, by: "default"},

	// Traffic shifting and sticky sessions.
	{name: "before hour 0", env: prod, flag: "backend-v2-routing", at: "2026-12-01T07:59:59Z", ctx: carol, variant: "v1", reason: dflt, by: "default"},
	{name: "hour 0", env: prod, flag: "backend-v2-routing", at: "2026-12-01T08:00:00Z", ctx: carol, variant: "v2", value: `"myapp-v1-2-0"`, reason: split, by: "rollout"},
	{name: "before hour 2", env: prod, flag: "backend-v2-routing", at: "2026-12-01T09:59:59Z", ctx: user("user-3004"), variant: "v1", reason: dflt, by: "default"},
	{name: "hour 2", env: prod, flag: "backend-v2-routing", at: "2026-12-01T10:00:00Z", ctx: user("user-3004"), variant: "v2", reason: split, by: "rollout"},
	{name: "campaign", env: prod, flag: "homepage-hero-banner", ctx: attrs{"utmCampaign": "black-friday", "sessionId": "s-1"}, variant: "deploy-release", reason: match, by: "rule:campaign-visitors"},
	{name: "session control", env: prod, flag: "homepage-hero-banner", ctx: attrs{"sessionId": "s-7f3a9c"}, variant: "control", reason: split, by: "rule:anonymous-visitors"},
	{name: "session kill-switch", env: prod, flag: "homepage-hero-banner", ctx: attrs{"sessionId": "s-0b41d2"}, variant: "kill-switch", reason: split, by: "rule:anonymous-visitors"},
	{name: "no session", env: prod, flag: "homepage-hero-banner", ctx: attrs{"country": "US"}, reason: evaluator.ReasonError, errCode: evaluator.ErrTargetingKeyMissing},
	{name: "signed in", env: prod, flag: "homepage-hero-banner", ctx: user("user-3003"), variant: "control", reason: split, by: "rollout"},

	// Kill switches.
	{name: "killed internal", env: prod, flag: "new-checkout-flow", ctx: maria, edits: []edit{kill(checkoutFlow)}, variant: "off", reason: disable, by: "kill"},
	{name: "killed rollout", env: prod, flag: "new-checkout-flow", ctx: user("user-3001"), edits: []edit{kill(checkoutFlow)}, variant: "off", reason: disable, by: "kill"},
	{name: "weather normally", env: prod, flag: "weather-widget", ctx: user("user-3001"), variant: "on", value: "true", reason: static, by: "default"},
	{name: "weather killed", env: prod, flag: "weather-widget", ctx: user("user-3001"), edits: []edit{kill("dashboard/weather-widget.yaml")}, variant: "off", reason: disable, by: "kill"},
	{name: "ai inside 50%", env: prod, flag: "ai-recommendations", ctx: user("user-3001"), variant: "on", reason: split, by: "rollout"},
	{name: "ai outside 50%", env: prod, flag: "ai-recommendations", ctx: user("user-3002"), variant: "off", reason: dflt, by: "default"},
	{name: "ai killed", env: prod, flag: "ai-recommendations", ctx: user("user-3001"), edits: []edit{kill("dashboard/ai-recommendations.yaml")}, variant: "off", reason: disable, by: "kill"},

	// Metrics-driven stages.
	{name: "stage 1", env: prod, flag: "new-recommendation-engine", ctx: ben, variant: "on", reason: split, by: "rollout"},
	{name: "stage 1 outside", env: prod, flag: "new-recommendation-engine", ctx: user("user-3001"), variant: "off", reason: dflt, by: "default"},
	{name: "stage 2", env: prod, flag: "new-recommendation-engine", ctx: user("user-3001"),
		edits: []edit{{recommendation, "rollout: { variant: on, percentage: 5 }", "rollout: { variant: on, percentage: 5 }\n" + atStage("production", 25)}}, variant: "on", reason: split, by: "rollout"},
	{name: "rolled back", env: prod, flag: "new-recommendation-engine", ctx: ben,
		edits: []edit{{recommendation, "rollout: { variant: on, percentage: 5 }", "rollout: { variant: on, percentage: 5 }\n" + atStage("production", 0)}}, variant: "off", reason: dflt, by: "default"},

	// Database compatibility.
	{name: "dual write", env: prod, flag: "orders-dual-write", ctx: user("user-3001"), variant: "on", reason: static, by: "default"},
	{name: "read new schema internal", env: prod, flag: "orders-read-new-schema", ctx: maria, variant: "on", reason: match, by: "ring:internal"},
	{name: "read new schema others", env: prod, flag: "orders-read-new-schema", ctx: user("user-3001"), variant: "off", reason: dflt, by: "default"},
	{name: "dual write killed", env: prod, flag: "orders-read-new-schema", ctx: maria,
		edits:   []edit{{"platform/orders-dual-write.yaml", "rollout: on\n", "rollout: on\nkilled: true\n"}},
		variant: "off", reason: disable, by: "prerequisite:orders-dual-write"},

	// Building blocks.
	{name: "blue", env: prod, flag: "checkout-button-color", ctx: user("user-3003"), variant: "blue", value: `"#1463ff"`, reason: split, by: "rollout"},
	{name: "green", env: prod, flag: "checkout-button-color", ctx: user("user-3002"), variant: "green", reason: split, by: "rollout"},
	{name: "orange", env: prod, flag: "checkout-button-color", ctx: user("user-3001"), variant: "orange", reason: split, by: "rollout"},
	{name: "qa account", env: prod, flag: "checkout-button-color", ctx: user("user-3001", "email", "QA+Checkout-Smoke@company.com"), variant: "blue", reason: match, by: "rule:qa-accounts-see-control"},
	{name: "power user pages", env: prod, flag: "search-results-page-size", ctx: user("user-3001", "requestsPerDay", 300), variant: "long", value: "50", reason: match, by: "rule:power-users-get-long-pages"},
	{name: "mobile 2.3.0", env: prod, flag: "search-results-page-size", ctx: user("user-3001", "platform", "ios", "appVersion", "2.3.0"), variant: "compact", reason: match, by: "rule:mobile-compact"},
	{name: "mobile 2.2.9", env: prod, flag: "search-results-page-size", ctx: user("user-3001", "platform", "ios", "appVersion", "2.2.9"), variant: "standard", reason: dflt, by: "default"},
	{name: "long pages 20%", env: prod, flag: "search-results-page-size", ctx: user("user-3002"), variant: "long", reason: split, by: "rollout"},
	{name: "eu any case", env: prod, flag: "pricing-page-config", ctx: user("user-3001", "country", "de"), variant: "eu",
		value: `{"annualDiscountPercent":15,"currency":"EUR","highlight":"pro","layout":"three-columns","plans":["free","pro","enterprise"],"pricesIncludeTax":true}`, reason: match, by: "rule:eu-visitors"},
	{name: "enterprise first", env: prod, flag: "pricing-page-config", ctx: carol.with("country", "DE"), variant: "enterprise", reason: match, by: "rule:enterprise-customers"},
	{name: "standard", env: prod, flag: "pricing-page-config", ctx: user("user-3001", "country", "US"), variant: "standard", reason: dflt, by: "default"},
	{name: "disabled in production", env: prod, flag: "one-click-checkout", ctx: maria, variant: "off", reason: disable, by: "disabled"},
	{name: "staging prerequisite met", env: staging, flag: "one-click-checkout", ctx: user("user-3006"), variant: "on", reason: split, by: "ring:everyone"},
	{name: "staging prerequisite killed", env: staging, flag: "one-click-checkout", ctx: user("user-3006"), edits: []edit{kill(checkoutFlow)},
		variant: "off", reason: disable, by: "prerequisite:new-checkout-flow"},
	{name: "sync bug build", env: prod, flag: "offline-mode", ctx: user("user-3010", "platform", "ios", "appVersion", "2.4.1"), variant: "off", reason: match, by: "rule:sync-bug-in-2-4-1"},
	{name: "release candidate", env: prod, flag: "offline-mode", ctx: user("user-3010", "platform", "android", "appVersion", "2.3.0-rc.1"), variant: "off", reason: match, by: "rule:web-and-old-app-versions"},
	{name: "web app", env: prod, flag: "offline-mode", ctx: user("user-3010"), variant: "off", reason: match, by: "rule:web-and-old-app-versions"},
	{name: "2.10.0", env: prod, flag: "offline-mode", ctx: user("user-3010", "platform", "ios", "appVersion", "2.10.0"), variant: "on", reason: split, by: "rollout"},
}

func TestRecipes(t *testing.T) {
	builds := map[string]map[string][]byte{} // by edits
	for _, r := range recipes {
		t.Run(r.flag+"/"+r.name, func(t *testing.T) {
			key := editsKey(r.edits)
			encoded, ok := builds[key]
			if !ok {
				encoded = build(t, r.edits)
				builds[key] = encoded
			}
			snap, err := snapshot.Decode(encoded[r.env])
			if err != nil {
				t.Fatalf("decode %s: %v", r.env, err)
			}
			at := r.at
			if at == "" {
				at = now
			}
			when, err := time.Parse(time.RFC3339, at)
			if err != nil {
				t.Fatal(err)
			}
			res, trace := evaluator.New(snap).Explain(r.flag, newContext(t, r.ctx), when)
			if r.reason == evaluator.ReasonError {
				if res.Reason != r.reason || res.Error != r.errCode {
					t.Fatalf("got %s %s %s, want error %s\n%s", res.Variant, res.Reason, res.Error, r.errCode, trace)
				}
				return
			}
			by := res.Decision.Kind.String()
			if res.Decision.Name != "" {
				by += ":" + res.Decision.Name
			}
			if res.Variant != r.variant || res.Reason != r.reason || by != r.by {
				t.Fatalf("got %s, %s, decided by %s (error %q); want %s, %s, decided by %s\n%s",
					res.Variant, res.Reason, by, res.Error, r.variant, r.reason, r.by, trace)
			}
			if r.value != "" && res.Value != r.value {
				t.Fatalf("got value %s, want %s", res.Value, r.value)
			}
		})
	}
}

// TestLifecycleMetadata checks what every example flag must show: an owner, a description,
// a lifecycle, a creation date, an explicit off variant, and an expiry exactly when the
// flag is temporary.
func TestLifecycleMetadata(t *testing.T) {
	p, err := compiler.Load(flagsDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Flags) == 0 || len(p.Segments) == 0 {
		t.Fatalf("loaded %d flags and %d segments", len(p.Flags), len(p.Segments))
	}
	for _, f := range p.Flags {
		if f.Owner == "" || f.Description == "" || f.Created.IsZero() {
			t.Errorf("%s: %s needs an owner, a description and a created date", f.Pos, f.Key)
		}
		if _, ok := f.Fields["offVariant"]; !ok {
			t.Errorf("%s: %s does not name its offVariant", f.Pos, f.Key)
		}
		switch f.Lifecycle {
		case compiler.Temporary:
			if f.Expires.IsZero() || !f.Expires.After(f.Created) {
				t.Errorf("%s: temporary flag %s needs an expires date after its created date", f.Pos, f.Key)
			}
			if f.Release == nil && f.Rollout == nil && len(f.Stages) == 0 {
				t.Errorf("%s: temporary flag %s has no rollout plan", f.Pos, f.Key)
			}
		case compiler.Permanent:
			if !f.Expires.IsZero() {
				t.Errorf("%s: permanent flag %s should not expire", f.Pos, f.Key)
			}
		default:
			t.Errorf("%s: %s has no lifecycle", f.Pos, f.Key)
		}
		for i, s := range f.Stages {
			if i < len(f.Stages)-1 && len(s.SuccessCriteria) == 0 {
				t.Errorf("%s: %s stage %d has no success criteria", s.Pos, f.Key, i)
			}
		}
	}
}

// TestModelines checks that every file starts with the schema modeline, relative to its
// folder, so editors validate and complete it.
func TestModelines(t *testing.T) {
	err := fs.WalkDir(os.DirFS(flagsDir), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path.Join(flagsDir, name))
		if err != nil {
			return err
		}
		want := "# yaml-language-server: $schema=" + strings.Repeat("../", strings.Count(name, "/")+1) + "schema/edgeflag.schema.json\n"
		if !strings.HasPrefix(string(data), want) {
			t.Errorf("%s: the first line should be %q", name, strings.TrimSuffix(want, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// build compiles this directory with the edits applied, returning each environment's
// encoded snapshot (decoding it again is what an edge does).
func build(t *testing.T, edits []edit) map[string][]byte {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(flagsDir), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) != ".yaml" {
			return err
		}
		data, err := os.ReadFile(path.Join(flagsDir, name))
		fsys[name] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		f, ok := fsys[e.file]
		if !ok || strings.Count(string(f.Data), e.old) != 1 {
			t.Fatalf("edit %s: %q must occur exactly once", e.file, e.old)
		}
		f.Data = []byte(strings.Replace(string(f.Data), e.old, e.new, 1))
	}
	p, err := compiler.LoadFS(fsys)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	snaps, err := p.BuildAll(compiler.Options{Revision: "recipes", BuildTime: 1795694400})
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(snaps))
	for env, s := range snaps {
		out[env] = snapshot.Encode(s)
	}
	return out
}

func editsKey(edits []edit) string {
	var b strings.Builder
	for _, e := range edits {
		b.WriteString(e.file + "\x00" + e.old + "\x00" + e.new + "\x00")
	}
	return b.String()
}

func newContext(t *testing.T, a attrs) *evaluator.Context {
	t.Helper()
	ctx := evaluator.NewContext()
	for name, v := range a {
		switch v := v.(type) {
		case string:
			ctx.SetString(name, v)
		case int:
			ctx.SetNumber(name, float64(v))
		case bool:
			ctx.SetBool(name, v)
		case []string:
			ctx.Set(name, evaluator.Strings(v...))
		default:
			t.Fatalf("attribute %s: unsupported %T", name, v)
		}
	}
	return ctx
}
