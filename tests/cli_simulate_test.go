package tests

import (
	"strings"
	"testing"
)

func testCLISimulate(t *testing.T, bin *cliBinary) {
	work := cliExampleFlags(t)
	const at = "2026-11-26T12:00:00Z"
	goldens := []struct {
		name string
		args []string
	}{
		// The canary of the guide's ring progression, and what the next ring would add.
		{"simulate-rings", []string{"simulate", "new-search-algorithm", "--users", "20000", "--at", at}},
		// The guide's aggressive rollout table.
		{"simulate-aggressive", []string{"simulate", "faster-image-cdn", "--users", "20000", "--at", "2026-11-30T16:00:00Z"}},
		// The guide's conservative rollout table, in days.
		{"simulate-conservative", []string{"simulate", "new-onboarding-flow", "--users", "20000", "--at", "2026-12-03T12:00:00Z"}},
		// Rollout stages with success criteria as decision gates.
		{"simulate-stages", []string{"simulate", "new-recommendation-engine", "--users", "20000", "--at", at}},
	}
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			res := bin.run(t, work, g.args...)
			res.expectCode(t, 0)
			cliGolden(t, g.name, res.stdout)
		})
	}
	t.Run("json", func(t *testing.T) {
		res := bin.run(t, work, "simulate", "faster-image-cdn", "--users", "10000", "--at", "2026-11-30T16:00:00Z", "--json")
		res.expectCode(t, 0)
		var rep struct {
			Users    int
			Variants []struct {
				Name    string
				Users   int
				Percent float64
			}
			Timelines []struct {
				Where  string
				Points []struct {
					Percentage float64
					PerMillion int
					Users      int
					Gate       string
				}
			}
		}
		res.decodeJSON(t, &rep)
		if rep.Users != 10000 || len(rep.Timelines) != 1 || len(rep.Timelines[0].Points) != 7 {
			t.Fatalf("simulate --json: %+v", rep)
		}
		p := rep.Timelines[0].Points
		if p[0].Percentage != 0 || p[0].Gate != "Deploy" || p[1].PerMillion != 10_000 || p[6].Users != 10000 {
			t.Errorf("timeline points: %+v", p)
		}
		// Percentages cover their share of users, within sampling error.
		for _, v := range rep.Variants {
			if v.Name == "on" && (v.Percent < 9 || v.Percent > 11) {
				t.Errorf("at 10%%, %.2f%% of users got on", v.Percent)
			}
		}
	})
	t.Run("ids from a file", func(t *testing.T) {
		ids := "# two internal users, one beta user, three ids\n" +
			`{"userId":"a1","email":"dana@company.com"}` + "\n" +
			`{"userId":"a2","email":"eli@company.com"}` + "\n" +
			`{"userId":"b1","betaProgram":true}` + "\n\n" +
			"c1\nc2\nc3\n"
		cliWriteFile(t, work, "users.txt", ids)
		res := bin.run(t, work, "simulate", "new-search-algorithm", "--ids", "users.txt", "--at", at, "--json")
		res.expectCode(t, 0)
		var rep struct {
			Users     int
			Decisions []struct {
				Name  string
				Users int
			}
		}
		res.decodeJSON(t, &rep)
		got := map[string]int{}
		for _, d := range rep.Decisions {
			got[d.Name] = d.Users
		}
		if rep.Users != 6 || got["ring internal"] != 2 || got["ring canary"] < 1 {
			t.Errorf("decisions for 6 users: %+v", rep)
		}
		// The same from standard input.
		res = bin.runWith(t, cliRun{dir: work, stdin: ids}, "simulate", "new-search-algorithm", "--ids", "-", "--at", at, "--json")
		res.expectCode(t, 0)
		bad := bin.runWith(t, cliRun{dir: work, stdin: "u1\n{\"userId\": }\n"}, "simulate", "new-search-algorithm", "--ids", "-")
		bad.expectCode(t, 1)
		if !strings.Contains(bad.stderr, "line 2") {
			t.Errorf("a bad line is not named: %s", bad.stderr)
		}
	})
	t.Run("progress bar", func(t *testing.T) {
		res := bin.run(t, work, "simulate", "faster-image-cdn", "--users", "50000", "--progress", "always", "--at", at)
		res.expectCode(t, 0)
		if !strings.Contains(res.stderr, "100%") || !strings.Contains(res.stderr, "evaluations") {
			t.Errorf("no finished progress bar on stderr: %q", res.stderr)
		}
		res = bin.run(t, work, "simulate", "faster-image-cdn", "--users", "50000", "--at", at)
		if res.stderr != "" {
			t.Errorf("a progress bar was drawn on a pipe: %q", res.stderr)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		res := bin.run(t, work, "simulate", "faster-cdn", "--users", "10")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, `did you mean "faster-image-cdn"`) {
			t.Errorf("stderr: %s", res.stderr)
		}
	})
}
