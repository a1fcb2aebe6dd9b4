package wire_test

import (
	"fmt"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/wire"
)

func ExampleAppendContext() {
	ctx := evaluator.NewContext().SetString("userId", "u1").SetBool("beta", true)
	data := wire.AppendContext(nil, ctx)
	fmt.Printf("% x\n", data)

	var d wire.Decoder
	back := evaluator.NewContext()
	if err := d.Decode(data, back); err != nil {
		fmt.Println(err)
	}
	fmt.Println(back.Get("userId").Str(), back.Get("beta").Truth())
	// Output:
	// ec 02 06 75 73 65 72 49 64 01 02 75 31 04 62 65 74 61 04
	// u1 true
}
