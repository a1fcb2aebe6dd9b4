package rollout

import (
	"strconv"
	"strings"
	"time"
)

func expand(t string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(t, "{{")
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.Index(t[i:], "}}")
		if j < 0 {
			b.WriteString(t)
			return b.String()
		}
		name := strings.TrimSpace(t[i+2 : i+j])
		v, ok := vars[name]
		b.WriteString(t[:i])
		if ok {
			b.WriteString(v)
		} else {
			b.WriteString(t[i : i+j+2])
		}
		t = t[i+j+2:]
	}
}

// promRange formats a window as a Prometheus range in whole seconds, at least 1s.
func promRange(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10) + "s"
}

// HasVariantPlaceholder reports whether a template runs once per variant.
func HasVariantPlaceholder(template string) bool {
	return strings.Contains(template, "{{variant}}") || strings.Contains(template, "{{ variant }}")
}
