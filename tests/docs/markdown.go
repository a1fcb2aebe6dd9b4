// Package docs runs the shell examples of README.md and docs/*.md and compares their output
// with the output the Markdown shows. See docs/cli.md, "Examples are tested", for the
// convention this package reads.
package docs

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// markerPrefix starts a doc-test directive: an HTML comment on a line of its own,
// invisible when the Markdown is rendered.
const markerPrefix = "<!-- doc-test:"

// Example is one ```sh block of a Markdown file and what the doc test does with it.
type Example struct {
	File   string // the Markdown file, relative to the repository root
	Line   int    // the line of the opening fence
	Script string // the commands, as written

	// Want is the output shown in the ```text block that follows the ```sh block, and
	// HasWant whether there is one; without one, the output is not compared.
	Want    string
	HasWant bool

	Skip  string           // why the block is not run ("" to run it)
	Exit  int              // the exit status the block must end with
	Setup []string         // commands run before the block, not shown to readers
	Now   string           // the time the commands see from this block on ("" for unchanged)
	Vary  []*regexp.Regexp // parts of Want that stand for whatever they match in the output
}

// Name is where the example is: "docs/cli.md:42".
func (e *Example) Name() string { return e.File + ":" + strconv.Itoa(e.Line) }

// fence is an opening or closing code fence: its indentation, backticks and info string.
type fence struct {
	indent string
	ticks  string
	lang   string
}

func parseFence(line string) (fence, bool) {
	trimmed := strings.TrimLeft(line, " ")
	indent := line[:len(line)-len(trimmed)]
	if len(indent) > 3 && !strings.HasPrefix(trimmed, "```") {
		return fence{}, false
	}
	n := 0
	for n < len(trimmed) && trimmed[n] == '`' {
		n++
	}
	if n < 3 {
		return fence{}, false
	}
	lang := strings.TrimSpace(trimmed[n:])
	if i := strings.IndexAny(lang, " {"); i >= 0 {
		lang = lang[:i]
	}
	return fence{indent: indent, ticks: trimmed[:n], lang: lang}, true
}

// block is a fenced code block.
type block struct {
	line int // of the opening fence
	lang string
	body string
	next int // index of the line after the closing fence
}

// readBlock reads the fenced block opening at lines[i].
func readBlock(file string, lines []string, i int, f fence) (block, error) {
	var body strings.Builder
	for j := i + 1; j < len(lines); j++ {
		if c, ok := parseFence(lines[j]); ok && c.lang == "" && len(c.ticks) >= len(f.ticks) {
			return block{line: i + 1, lang: f.lang, body: body.String(), next: j + 1}, nil
		}
		body.WriteString(strings.TrimPrefix(lines[j], f.indent))
		body.WriteByte('\n')
	}
	return block{}, fmt.Errorf("%s:%d: code block not closed", file, i+1)
}

// Parse reads the ```sh examples of a Markdown file with their directives and expected
// output. A directive applies to the next ```sh block; one left over, a directive it does
// not know, or a code block without a language that holds a "$ " shell transcript (which
// would escape the test) is an error.
func Parse(file string, data []byte) ([]*Example, error) {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	var (
		out     []*Example
		pending = &Example{File: file}
		marked  int // line of the first pending directive, 0 for none
	)
	for i := 0; i < len(lines); {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, markerPrefix) {
			if err := pending.directive(line); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", file, i+1, err)
			}
			if marked == 0 {
				marked = i + 1
			}
			i++
			continue
		}
		f, ok := parseFence(lines[i])
		if !ok {
			i++
			continue
		}
		b, err := readBlock(file, lines, i, f)
		if err != nil {
			return nil, err
		}
		i = b.next
		switch b.lang {
		case "sh":
		case "":
			if strings.HasPrefix(strings.TrimSpace(b.body), "$ ") {
				return nil, fmt.Errorf("%s:%d: a shell transcript in a code block without a language: write the commands in a ```sh block and their output in a ```text block after it", file, b.line)
			}
			fallthrough
		default:
			if marked != 0 {
				return nil, fmt.Errorf("%s:%d: doc-test directive before a ```%s block, not a ```sh block", file, marked, b.lang)
			}
			continue
		}
		ex := pending
		ex.Line, ex.Script = b.line, b.body
		// The output: a ```text block after nothing but blank lines.
		j := i
		for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
			j++
		}
		if j < len(lines) {
			if tf, ok := parseFence(lines[j]); ok && tf.lang == "text" {
				tb, err := readBlock(file, lines, j, tf)
				if err != nil {
					return nil, err
				}
				ex.Want, ex.HasWant = tb.body, true
				i = tb.next
			}
		}
		if len(ex.Vary) > 0 && !ex.HasWant {
			return nil, fmt.Errorf("%s:%d: doc-test: vary, but no ```text block of output follows", file, marked)
		}
		out = append(out, ex)
		pending, marked = &Example{File: file}, 0
	}
	if marked != 0 {
		return nil, fmt.Errorf("%s:%d: doc-test directive without a ```sh block after it", file, marked)
	}
	return out, nil
}

// directive applies one "<!-- doc-test: ... -->" line to the example.
func (e *Example) directive(line string) error {
	body, ok := strings.CutSuffix(strings.TrimPrefix(line, markerPrefix), "-->")
	if !ok {
		return fmt.Errorf("doc-test directive must end with --> on the same line")
	}
	verb, arg, _ := strings.Cut(strings.TrimSpace(body), " ")
	arg = strings.TrimSpace(arg)
	switch verb {
	case "skip":
		reason := strings.TrimSuffix(strings.TrimPrefix(arg, "("), ")")
		if reason == "" {
			return fmt.Errorf("doc-test: skip needs a reason: <!-- doc-test: skip (needs AWS credentials) -->")
		}
		e.Skip = reason
	case "exit":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 || n > 255 {
			return fmt.Errorf("doc-test: exit %q: want an exit status 0-255", arg)
		}
		e.Exit = n
	case "setup":
		if arg == "" {
			return fmt.Errorf("doc-test: setup needs a command")
		}
		e.Setup = append(e.Setup, arg)
	case "now":
		if arg == "" {
			return fmt.Errorf("doc-test: now needs a time (RFC 3339)")
		}
		e.Now = arg
	case "vary":
		re, err := regexp.Compile(arg)
		if err != nil {
			return fmt.Errorf("doc-test: vary: %v", err)
		}
		e.Vary = append(e.Vary, re)
	default:
		return fmt.Errorf("unknown doc-test directive %q (want skip, exit, setup, now or vary)", verb)
	}
	return nil
}
