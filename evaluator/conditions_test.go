//go:build !wasip1

package evaluator

import (
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

var evalTime = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestOperators(t *testing.T) {
	day := int64(24 * 3600 * 1000)
	nowMs := evalTime.UnixMilli()
	lower := func(c *snapshot.Condition) *snapshot.Condition { c.Clause.IgnoreCase = true; return c }
	negate := func(c *snapshot.Condition) *snapshot.Condition { c.Clause.Negate = true; return c }
	relative := func(c *snapshot.Condition) *snapshot.Condition { c.Clause.Relative = true; return c }
	tests := []struct {
		name string
		cond func(b *builder) *snapshot.Condition
		attr string
		val  Value
		want bool
	}{
		{"equals string", func(b *builder) *snapshot.Condition { return b.clause("plan", snapshot.OpIn, str("enterprise")) }, "plan", String("enterprise"), true},
		{"equals is case sensitive", func(b *builder) *snapshot.Condition { return b.clause("plan", snapshot.OpIn, str("enterprise")) }, "plan", String("Enterprise"), false},
		{"equals ignoreCase", func(b *builder) *snapshot.Condition { return lower(b.clause("plan", snapshot.OpIn, str("enterprise"))) }, "plan", String("ENTERPRISE"), true},
		{"equals bool", func(b *builder) *snapshot.Condition { return b.clause("betaProgram", snapshot.OpIn, boolLit(true)) }, "betaProgram", Bool(true), true},
		{"bool does not equal string", func(b *builder) *snapshot.Condition { return b.clause("betaProgram", snapshot.OpIn, boolLit(true)) }, "betaProgram", String("true"), false},
		{"equals number", func(b *builder) *snapshot.Condition { return b.clause("tier", snapshot.OpIn, num(3)) }, "tier", Number(3), true},
		{"notEquals", func(b *builder) *snapshot.Condition { return negate(b.clause("plan", snapshot.OpIn, str("free"))) }, "plan", String("pro"), true},
		{"notEquals same", func(b *builder) *snapshot.Condition { return negate(b.clause("plan", snapshot.OpIn, str("free"))) }, "plan", String("free"), false},
		{"notEquals missing attribute", func(b *builder) *snapshot.Condition { return negate(b.clause("plan", snapshot.OpIn, str("free"))) }, "other", String("x"), false},
		{"in", func(b *builder) *snapshot.Condition { return b.clause("country", snapshot.OpIn, str("US"), str("CA")) }, "country", String("CA"), true},
		{"in miss", func(b *builder) *snapshot.Condition { return b.clause("country", snapshot.OpIn, str("US"), str("CA")) }, "country", String("DE"), false},
		{"in large set", func(b *builder) *snapshot.Condition {
			var vs []snapshot.Literal
			for _, c := range []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR"} {
				vs = append(vs, str(c))
			}
			return b.clause("country", snapshot.OpIn, vs...)
		}, "country", String("FI"), true},
		{"in large set ignoreCase", func(b *builder) *snapshot.Condition {
			var vs []snapshot.Literal
			for _, c := range []string{"at", "be", "bg", "cy", "cz", "de", "dk", "ee", "es", "fi", "fr", "gr"} {
				vs = append(vs, str(c))
			}
			return lower(b.clause("country", snapshot.OpIn, vs...))
		}, "country", String("Fi"), true},
		{"notIn", func(b *builder) *snapshot.Condition { return negate(b.clause("country", snapshot.OpIn, str("US"))) }, "country", String("DE"), true},
		{"list attribute any element", func(b *builder) *snapshot.Condition { return b.clause("groups", snapshot.OpIn, str("beta")) }, "groups", Strings("staff", "beta"), true},
		{"list attribute notIn", func(b *builder) *snapshot.Condition { return negate(b.clause("groups", snapshot.OpIn, str("beta"))) }, "groups", Strings("staff", "beta"), false},
		{"startsWith", func(b *builder) *snapshot.Condition { return b.clause("path", snapshot.OpStartsWith, str("/api/")) }, "path", String("/api/v2"), true},
		{"startsWith miss", func(b *builder) *snapshot.Condition { return b.clause("path", snapshot.OpStartsWith, str("/api/")) }, "path", String("/web"), false},
		{"endsWith", func(b *builder) *snapshot.Condition {
			return b.clause("email", snapshot.OpEndsWith, str("@company.com"))
		}, "email", String("a@company.com"), true},
		{"endsWith ignoreCase", func(b *builder) *snapshot.Condition {
			return lower(b.clause("email", snapshot.OpEndsWith, str("@company.com")))
		}, "email", String("A@Company.COM"), true},
		{"endsWith no fold", func(b *builder) *snapshot.Condition {
			return b.clause("email", snapshot.OpEndsWith, str("@company.com"))
		}, "email", String("A@Company.COM"), false},
		{"contains", func(b *builder) *snapshot.Condition { return b.clause("ua", snapshot.OpContains, str("Mobile")) }, "ua", String("Mozilla Mobile Safari"), true},
		{"contains ignoreCase", func(b *builder) *snapshot.Condition { return lower(b.clause("ua", snapshot.OpContains, str("mobile"))) }, "ua", String("Mozilla MOBILE Safari"), true},
		{"contains on number", func(b *builder) *snapshot.Condition { return b.clause("ua", snapshot.OpContains, str("1")) }, "ua", Number(1), false},
		{"matches", func(b *builder) *snapshot.Condition {
			return b.clause("email", snapshot.OpMatches, str(`^[a-z]+\.[a-z]+@company\.com$`))
		}, "email", String("ada.lovelace@company.com"), true},
		{"matches miss", func(b *builder) *snapshot.Condition {
			return b.clause("email", snapshot.OpMatches, str(`^[a-z]+\.[a-z]+@company\.com$`))
		}, "email", String("ada@company.com"), false},
		{"lt", func(b *builder) *snapshot.Condition { return b.clause("requestsLastWeek", snapshot.OpLt, num(10)) }, "requestsLastWeek", Number(9), true},
		{"lt equal", func(b *builder) *snapshot.Condition { return b.clause("requestsLastWeek", snapshot.OpLt, num(10)) }, "requestsLastWeek", Number(10), false},
		{"lte", func(b *builder) *snapshot.Condition { return b.clause("n", snapshot.OpLte, num(10)) }, "n", Number(10), true},
		{"gt", func(b *builder) *snapshot.Condition { return b.clause("accountAgeDays", snapshot.OpGt, num(365)) }, "accountAgeDays", Number(400), true},
		{"gt string is not a number", func(b *builder) *snapshot.Condition { return b.clause("accountAgeDays", snapshot.OpGt, num(365)) }, "accountAgeDays", String("400"), false},
		{"gte", func(b *builder) *snapshot.Condition { return b.clause("n", snapshot.OpGte, num(100)) }, "n", Number(100), true},
		{"semverEq", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverEq, semver("2.3.0"))
		}, "appVersion", String("2.3.0+build.7"), true},
		{"semverGte", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverGte, semver("2.3.0"))
		}, "appVersion", String("2.10.1"), true},
		{"semverGte prerelease lower", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverGte, semver("2.3.0"))
		}, "appVersion", String("2.3.0-rc.1"), false},
		{"semverLt", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverLt, semver("2.3.0"))
		}, "appVersion", String("v2.2.9"), true},
		{"semverLte", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverLte, semver("2.3.0"))
		}, "appVersion", String("2.3.0"), true},
		{"semverGt", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverGt, semver("1.0.0-alpha"))
		}, "appVersion", String("1.0.0-alpha.1"), true},
		{"semver invalid context", func(b *builder) *snapshot.Condition {
			return b.clause("appVersion", snapshot.OpSemverGt, semver("1.0.0"))
		}, "appVersion", String("two"), false},
		{"before absolute", func(b *builder) *snapshot.Condition { return b.clause("signup", snapshot.OpBefore, timeLit(nowMs)) }, "signup", String("2025-01-01T00:00:00Z"), true},
		{"before date only", func(b *builder) *snapshot.Condition { return b.clause("signup", snapshot.OpBefore, timeLit(nowMs)) }, "signup", String("2027-01-01"), false},
		{"after unix millis", func(b *builder) *snapshot.Condition { return b.clause("signup", snapshot.OpAfter, timeLit(nowMs)) }, "signup", Number(float64(nowMs + 1)), true},
		{"older than 365 days", func(b *builder) *snapshot.Condition {
			return relative(b.clause("accountCreated", snapshot.OpBefore, timeLit(-365*day)))
		}, "accountCreated", String("2024-06-01T00:00:00Z"), true},
		{"younger than 365 days", func(b *builder) *snapshot.Condition {
			return relative(b.clause("accountCreated", snapshot.OpBefore, timeLit(-365*day)))
		}, "accountCreated", String("2026-06-01T00:00:00Z"), false},
		{"bad time", func(b *builder) *snapshot.Condition { return b.clause("signup", snapshot.OpBefore, timeLit(nowMs)) }, "signup", String("yesterday"), false},
		{"present", func(b *builder) *snapshot.Condition { return b.clause("email", snapshot.OpPresent) }, "email", String("x"), true},
		{"present missing", func(b *builder) *snapshot.Condition { return b.clause("email", snapshot.OpPresent) }, "other", String("x"), false},
		{"absent", func(b *builder) *snapshot.Condition { return negate(b.clause("email", snapshot.OpPresent)) }, "other", String("x"), true},
		{"absent set", func(b *builder) *snapshot.Condition { return negate(b.clause("email", snapshot.OpPresent)) }, "email", String("x"), false},
		{"all", func(b *builder) *snapshot.Condition {
			return allOf(b.clause("plan", snapshot.OpIn, str("pro")), b.clause("plan", snapshot.OpStartsWith, str("p")))
		}, "plan", String("pro"), true},
		{"all fails", func(b *builder) *snapshot.Condition {
			return allOf(b.clause("plan", snapshot.OpIn, str("pro")), b.clause("plan", snapshot.OpStartsWith, str("x")))
		}, "plan", String("pro"), false},
		{"any", func(b *builder) *snapshot.Condition {
			return anyOf(b.clause("plan", snapshot.OpIn, str("free")), b.clause("plan", snapshot.OpIn, str("pro")))
		}, "plan", String("pro"), true},
		{"not", func(b *builder) *snapshot.Condition { return not(b.clause("plan", snapshot.OpIn, str("free"))) }, "plan", String("pro"), true},
		{"not of missing is true", func(b *builder) *snapshot.Condition { return not(b.clause("plan", snapshot.OpIn, str("free"))) }, "other", String("pro"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &builder{}
			f := b.boolFlag("f")
			f.Rules = []snapshot.Rule{{Name: "r", When: tt.cond(b), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all()}}}
			b.flags = append(b.flags, f)
			e := New(b.build(t))
			ctx := NewContext().Set(tt.attr, tt.val)
			r := e.Evaluate("f", ctx, evalTime)
			if got := r.Variant == "on"; got != tt.want {
				t.Fatalf("matched = %v, want %v (result %+v)", got, tt.want, r)
			}
			wantReason := ReasonDefault
			if tt.want {
				wantReason = ReasonTargetingMatch
			}
			if r.Reason != wantReason {
				t.Errorf("reason = %s, want %s", r.Reason, wantReason)
			}
		})
	}
}

func TestSemverPrecedence(t *testing.T) {
	// The ordering example from the SemVer 2.0 specification.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1"}
	for i := range order {
		for j := range order {
			a, _ := snapshot.ParseSemver(order[i])
			b, _ := snapshot.ParseSemver(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, bad := range []string{"", "1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3-a..b", "1.2.x"} {
		if _, ok := snapshot.ParseSemver(bad); ok {
			t.Errorf("ParseSemver(%q) accepted", bad)
		}
	}
}
