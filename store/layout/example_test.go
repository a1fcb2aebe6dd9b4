package layout_test

import (
	"fmt"

	"github.com/edgeflag/edgeflag/store/layout"
)

func Example() {
	hash := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	fmt.Println(layout.PointerKey("production"))
	fmt.Println(layout.SnapshotKey(hash))
	fmt.Println(layout.HeadersFor(layout.SnapshotKey(hash)))

	p, err := layout.ParsePointer([]byte(`{"environment":"production","snapshot":"`+hash+`","version":3}`), "production")
	fmt.Println(p.Snapshot == hash, p.Version, err)
	_, err = layout.ParsePointer([]byte(`{"environment":"staging","snapshot":"`+hash+`"}`), "production")
	fmt.Println(err)
	// Output:
	// production/current.json
	// snapshots/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.snap
	// application/vnd.edgeflag.snapshot public, max-age=31536000, immutable
	// true 3 <nil>
	// not a valid pointer: it names environment "staging", want "production"
}
