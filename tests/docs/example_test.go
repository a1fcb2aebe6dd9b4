package docs_test

import (
	"fmt"
	"regexp"

	"github.com/edgeflag/edgeflag/tests/docs"
)

func ExampleMatch() {
	want := "flags at origin/main (a488be6) → flags (working tree)\n...\n1 flag changed\n"
	got := "flags at origin/main (5c0ffee) → flags (working tree)\nnew-search-algorithm (production): ring canary → early-majority, 5% → 25%\n1 flag changed\n"
	fmt.Println(docs.Match(want, got, []*regexp.Regexp{regexp.MustCompile(`[0-9a-f]{7}`)}))
	// Output: <nil>
}

func ExampleParse() {
	md := "<!-- doc-test: exit 1 -->\n```sh\nedgeflag lint\n```\n\n```text\nflags: 1 finding\n```\n"
	examples, err := docs.Parse("docs/cli.md", []byte(md))
	if err != nil {
		panic(err)
	}
	e := examples[0]
	fmt.Printf("%s: %q exits %d, prints %q\n", e.Name(), e.Script, e.Exit, e.Want)
	// Output: docs/cli.md:2: "edgeflag lint\n" exits 1, prints "flags: 1 finding\n"
}
