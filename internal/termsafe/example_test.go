package termsafe_test

import (
	"bytes"
	"fmt"

	"github.com/edgeflag/edgeflag/internal/termsafe"
)

func Example() {
	name := "flags/\x1b[2Jevil\u202eyaml.sh" // a file name as found on disk
	fmt.Println(termsafe.Escape(name))

	// A Writer escapes input but writes the program's own, marked, control characters.
	m := termsafe.NewMarker()
	var out bytes.Buffer
	fmt.Fprintf(m.NewWriter(&out), "%s%s%s: invalid\n", m.Control("\x1b[1m"), name, m.Control("\x1b[0m"))
	fmt.Printf("%q\n", out.String())
	// Output:
	// flags/\x1b[2Jevil\u202eyaml.sh
	// "\x1b[1mflags/\\x1b[2Jevil\\u202eyaml.sh\x1b[0m: invalid\n"
}
