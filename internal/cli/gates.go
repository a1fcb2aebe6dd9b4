package cli

import (
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/simulate"
)

// sourceLines reads flag files once and finds the comments written beside schedule steps
// (`- { after: 15m, percentage: 1 }  # monitor metrics`), which the simulate timeline
// shows as decision gates.
type sourceLines struct {
	files map[string][]string
}

func (s *sourceLines) line(file string, n int) string {
	if s.files == nil {
		s.files = map[string][]string{}
	}
	lines, ok := s.files[file]
	if !ok {
		data, err := os.ReadFile(file)
		if err == nil {
			lines = strings.Split(string(data), "\n")
		}
		s.files[file] = lines
	}
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// comment returns the comment at the end of a line of a file, cleaned into a gate.
func (s *sourceLines) comment(pos compiler.Pos) string {
	return gateText(lineComment(s.line(pos.File, pos.Line)))
}

// lineComment returns the text after the # that starts a YAML comment on the line, or "".
func lineComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return strings.TrimSpace(line[i+1:])
		}
	}
	return ""
}

// timeLabel matches the time and percentage a comment starts with, which the timeline
// already shows: "Day 2:", "0:00", "hour 1:", "Day 1: 0%,".
var timeLabel = regexp.MustCompile(`(?i)^(day\s+\d+|hour\s+\d+|\d+:\d\d)\s*[:,-]?\s*(\d+(\.\d+)?%\s*[:,-]\s*)?`)

// gateText strips a leading time label and capitalises the first letter.
func gateText(comment string) string {
	c := strings.TrimSpace(timeLabel.ReplaceAllString(comment, ""))
	if c == "" {
		return ""
	}
	return strings.ToUpper(c[:1]) + c[1:]
}

// annotate adds what only the flag files know to the timelines found in the snapshot: a
// schedule's written start (a 0% point) and the decision gates written beside the steps.
func annotate(timelines []simulate.Timeline, f *compiler.Flag, projectRings []*compiler.Ring, lines *sourceLines) {
	rings := f.Rings
	if rings == nil {
		rings = projectRings
	}
	for i := range timelines {
		t := &timelines[i]
		sched := sourceSchedule(t.Where, f, rings)
		if sched == nil || len(sched.Steps) != len(t.Points) {
			continue
		}
		for j, st := range sched.Steps {
			t.Points[j].Gate = lines.comment(st.Pos)
		}
		if !sched.Start.IsZero() && sched.Start.Before(t.Points[0].At) {
			t.Start = sched.Start.UTC()
			start := simulate.Point{At: t.Start, Percentage: 0, Gate: startGate(sched, lines)}
			t.Points = append([]simulate.Point{start}, t.Points...)
		}
	}
}

// startGate returns the comment on the schedule's `start:` line.
func startGate(sched *compiler.Schedule, lines *sourceLines) string {
	last := sched.Pos.Line + 1
	if len(sched.Steps) > 0 {
		last = sched.Steps[0].Pos.Line
	}
	for n := sched.Pos.Line; n <= last; n++ {
		l := lines.line(sched.Pos.File, n)
		if strings.Contains(l, "start:") {
			return gateText(lineComment(l))
		}
	}
	return ""
}

// sourceSchedule finds the written schedule of a timeline ("rollout", "rule <name>",
// "ring <name>").
func sourceSchedule(where string, f *compiler.Flag, rings []*compiler.Ring) *compiler.Schedule {
	switch {
	case where == "rollout":
		if f.Rollout != nil {
			return f.Rollout.Schedule
		}
	case strings.HasPrefix(where, "rule "):
		for _, r := range f.Rules {
			if r.Name == where[len("rule "):] && r.Serve != nil {
				return r.Serve.Schedule
			}
		}
	case strings.HasPrefix(where, "ring "):
		for _, r := range rings {
			if r.Name == where[len("ring "):] {
				return r.Schedule
			}
		}
	}
	return nil
}

// stages converts a flag's rollout stages for simulate.Stages; each stage's decision gate
// is the comment on its line, else its success criteria.
func stages(f *compiler.Flag, lines *sourceLines) []simulate.Stage {
	out := make([]simulate.Stage, len(f.Stages))
	for i, st := range f.Stages {
		gate := lines.comment(st.Pos)
		if gate == "" {
			var crit []string
			for _, c := range st.SuccessCriteria {
				crit = append(crit, c.Metric+" "+c.Threshold)
			}
			gate = strings.Join(crit, ", ")
		}
		if gate == "" && st.Infinite {
			gate = "Full release"
		}
		d := st.Duration
		if st.Infinite {
			d = 0
		}
		out[i] = simulate.Stage{Percentage: st.Percentage, Duration: d, Gate: gate}
	}
	return out
}

// formatOffset writes a timeline offset the way the guide's tables do: "0:15", "8:00"
// for rollouts within two days, "Day 3" for longer ones.
func formatOffset(d time.Duration, long bool) string {
	if long {
		return "Day " + itoa(int(d/(24*time.Hour))+1)
	}
	h := int(d / time.Hour)
	m := int((d % time.Hour) / time.Minute)
	return itoa(h) + ":" + pad2(m)
}

func pad2(n int) string {
	if n < 10 {
		return "0" + itoa(n)
	}
	return itoa(n)
}
