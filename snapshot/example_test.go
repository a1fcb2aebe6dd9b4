package snapshot_test

import (
	"fmt"

	"github.com/edgeflag/edgeflag/snapshot"
)

func ExampleCompileRegexp() {
	re, err := snapshot.CompileRegexp(`(?i)^qa\+[a-z0-9._-]+@company\.com$`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(re.MatchString("QA+checkout@company.com"), re.MatchString("qa+x@company.com.evil"))
	// Output: true false
}
