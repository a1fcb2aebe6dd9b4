package cli

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/internal/simulate"
)

var simulateCommand = &command{
	name:    "simulate",
	summary: "who gets what: a flag over a population of users, and along its schedule",
	usage:   "[flags] <flag>",
	description: `
Evaluates a flag for a population of users and prints who gets what: the users and share
per variant, per deciding rule, ring or rollout, and per ring of the ring ladder (the
innermost ring each user belongs to, and which rings the release has reached).

For a flag with a schedule, or with rollout stages, it also prints the rollout table
along the timeline: time, percentage, users of 1,000,000, the simulated users that get
the variant, and the decision gate (the comment written beside the step in the flag
file, or the stage's success criteria).

The population is --users N synthetic users (ids user-1 ... user-N set on the flag's
bucketing attribute, default 100000), or --ids FILE: one user per line, a bare id or a
JSON object of attributes ("-" reads standard input). --ctx and -a add attributes to
every user. A progress bar is shown on standard error when it is a terminal and the run
is long (--progress always|never to force).`,
	example: `
edgeflag simulate new-search-algorithm --users 1000000
edgeflag simulate faster-image-cdn --env production --json
edgeflag simulate new-pricing-model --ids users.jsonl --at 2026-12-08`,
	run: runSimulate,
}

func runSimulate(r *runner, args []string) int {
	fs := r.newFlags()
	var o evalOptions
	o.register(fs)
	users := fs.Int("users", 0, "simulate `N` synthetic users (default 100000)")
	ids := fs.String("ids", "", "read the users from `file`: one id or JSON object per line (- for stdin)")
	progressMode := fs.String("progress", "auto", "show a progress bar: `auto`, always or never")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, code, done := r.parse(fs, args, 1, 1)
	if done {
		return code
	}
	switch {
	case *users != 0 && *ids != "":
		return r.usageFail(usagef("give --users or --ids, not both"))
	case *users < 0:
		return r.usageFail(usagef("--users must be positive"))
	case *progressMode != "auto" && *progressMode != "always" && *progressMode != "never":
		return r.usageFail(usagef("--progress must be auto, always or never"))
	}
	at, err := parseTime(o.at, r.env.Now())
	if err != nil {
		return r.usageFail(fmt.Errorf("--at: %v", err))
	}
	base, err := o.ctx.parse(r)
	if err != nil {
		return r.fail(err)
	}
	var pop simulate.Population
	if *ids != "" {
		var in io.Reader = r.env.Stdin
		if *ids != "-" {
			f, err := os.Open(r.path(*ids))
			if err != nil {
				return r.fail(err)
			}
			defer f.Close()
			in = f
		}
		list, err := simulate.ReadList(in)
		if err != nil {
			return r.fail(fmt.Errorf("%s: %v", *ids, err))
		}
		if list.Len() == 0 {
			return r.fail(fmt.Errorf("%s: no users", *ids))
		}
		list.Base = base
		pop = list
	} else {
		n := *users
		if n == 0 {
			n = 100_000
		}
		pop = &simulate.Synthetic{N: n, Base: base}
	}
	src, err := r.loadSource(&o.source)
	if err != nil {
		return r.fail(err)
	}
	key := pos[0]
	fi := src.snap.FlagIndex(key)
	if fi < 0 {
		return r.fail(fmt.Errorf("no flag %q in %s%s", key, src.describe(), suggest(key, src.snap)))
	}
	f := &src.snap.Flags[fi]
	timelines := simulate.Schedules(f)
	if src.project != nil {
		lines := &sourceLines{}
		cf := src.project.Flag(key).In(src.snap.Environment)
		annotate(timelines, cf, src.project.Rings, lines)
		// Percentage stages move the rollout's percentage, which simulate.Stages replays;
		// ring stages move the release, which the ring timelines already show.
		if len(cf.Stages) > 0 && cf.Stages[0].Ring == "" {
			t, err := simulate.Stages(f, stages(cf, lines), time.Time{})
			if err != nil {
				return r.fail(err)
			}
			timelines = append(timelines, t)
		}
	}
	opts := simulate.Options{At: at, Timelines: timelines}
	bar := r.progressBar(*progressMode)
	if bar != nil {
		opts.Progress = bar.update
	}
	rep, err := simulate.Run(src.snap, key, pop, opts)
	if bar != nil {
		bar.clear()
	}
	if err != nil {
		return r.fail(err)
	}
	if *asJSON {
		return r.printJSON(rep)
	}
	io.WriteString(r.env.Stdout, r.renderSimulation(rep))
	return ExitOK
}

func (r *runner) renderSimulation(rep *simulate.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %s at %s: %s simulated users, bucketed by %s\n\n", r.paint(styleBold, rep.Flag),
		rep.Environment, rep.At.Format(time.RFC3339), thousands(rep.Users), rep.BucketBy)
	t := (&table{}).alignRight(1, 2)
	t.add("VARIANT", "USERS", "SHARE")
	for _, c := range rep.Variants {
		t.add(c.Name, thousands(c.Users), share(c.Percent))
	}
	for _, c := range rep.Errors {
		t.add("error "+c.Name, thousands(c.Users), share(c.Percent))
	}
	b.WriteString(t.string())
	b.WriteString("\n")
	t = (&table{}).alignRight(1, 2)
	t.add("DECIDED BY", "USERS", "SHARE")
	for _, c := range rep.Decisions {
		t.add(c.Name, thousands(c.Users), share(c.Percent))
	}
	b.WriteString(t.string())
	if len(rep.Rings) > 0 {
		b.WriteString("\n")
		t = (&table{}).alignRight(1, 2, 3)
		t.add("RING", "USERS", "SHARE", "CUMULATIVE", "RELEASED")
		for i, c := range rep.Rings {
			released := ""
			switch {
			case c.Released && (i == len(rep.Rings)-1 || !rep.Rings[i+1].Released):
				released = "yes (release ring)"
			case c.Released:
				released = "yes"
			}
			t.add(c.Name, thousands(c.Users), share(c.Percent), thousands(c.Cumulative), released)
		}
		b.WriteString(t.string())
	}
	for _, tl := range rep.Timelines {
		b.WriteString("\n")
		head := "Timeline of " + tl.Where + " (" + tl.Variant + ")"
		if !tl.Start.IsZero() {
			head += " from " + tl.Start.Format(time.RFC3339)
		}
		b.WriteString(r.paint(styleBold, head) + "\n")
		long := len(tl.Points) > 0 && tl.Points[len(tl.Points)-1].Offset >= 48*time.Hour
		t = (&table{}).alignRight(2, 3, 4)
		t.add("TIME", "AT", "PERCENTAGE", "USERS (OF 1,000,000)", "SIMULATED", "DECISION GATE")
		for _, p := range tl.Points {
			at := "-"
			if !p.At.IsZero() {
				at = p.At.Format("2006-01-02 15:04")
			}
			t.add(formatOffset(p.Offset, long), at, percentText(p.Percentage), thousands(p.PerMillion),
				thousands(p.Users)+" ("+share(p.Percent)+")", p.Gate)
		}
		b.WriteString(t.string())
	}
	return b.String()
}

// share formats a percentage of users with two decimals: "5.01%".
func share(p float64) string {
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// percentText formats a configured percentage as written: "0.1%", "25%".
func percentText(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// thousands formats n with comma separators: 1,000,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// progressBar draws simulation progress on standard error.
type progressBar struct {
	w     io.Writer
	start time.Time
	drawn bool
	cr    string // a carriage return, marked as the CLI's own
}

// progressBar returns a bar for mode auto (only on a terminal), always or never; nil
// when no bar is to be drawn.
func (r *runner) progressBar(mode string) *progressBar {
	if mode == "never" || (mode == "auto" && !r.env.StderrTerminal) {
		return nil
	}
	return &progressBar{w: r.env.Stderr, start: time.Now(), cr: r.control("\r")}
}

const barWidth = 30

func (p *progressBar) update(done, total int64) {
	// Short runs finish before a bar would be readable.
	if !p.drawn && done < total && time.Since(p.start) < 300*time.Millisecond {
		return
	}
	frac := float64(done) / float64(max(total, 1))
	filled := int(frac * barWidth)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
	fmt.Fprintf(p.w, "%ssimulating %s %3d%%  %s/%s evaluations", p.cr, bar, int(frac*100), thousands(int(done)), thousands(int(total)))
	p.drawn = true
}

// clear ends the bar's line.
func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
