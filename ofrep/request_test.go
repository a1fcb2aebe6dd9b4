package ofrep

import (
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		body  string
		code  evaluator.ErrorCode // "" for success
		names int                 // attributes set on success
	}{
		{`{"context":{"targetingKey":"u","plan":"pro"}}`, "", 3}, // targetingKey, userId, plan
		{`{"context":{}}`, "", 0},
		{`{"context":null}`, "", 0},
		{`{}`, "", 0},
		{`{"other":1}`, "", 0},
		{` {"context":{"n":12345678901234567890}} `, "", 1},
		{``, evaluator.ErrParse, 0},
		{`   `, evaluator.ErrParse, 0},
		{`{"context":`, evaluator.ErrParse, 0},
		{`{"context":{}} x`, evaluator.ErrParse, 0},
		{`"context"`, evaluator.ErrParse, 0},
		{`{"context":[]}`, evaluator.ErrInvalidContext, 0},
		{`{"context":"u1"}`, evaluator.ErrInvalidContext, 0},
		{`{"context":{"a":[[1]]}}`, evaluator.ErrInvalidContext, 0},
	}
	for _, tt := range tests {
		ctx := evaluator.NewContext()
		err := parseRequest([]byte(tt.body), ctx)
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s: %s %s", tt.body, err.Code, err.Details)
		case tt.code != "" && (err == nil || err.Code != tt.code):
			t.Errorf("%s: got %v, want %s", tt.body, err, tt.code)
		case tt.code == "" && len(ctx.Names()) != tt.names:
			t.Errorf("%s: %d attributes, want %d", tt.body, len(ctx.Names()), tt.names)
		}
	}
}

func TestCanonicalContextIgnoresOrder(t *testing.T) {
	a := evaluator.NewContext().SetString("b", "1").SetNumber("a", 2).Set("l", evaluator.Strings("x", "y"))
	b := evaluator.NewContext().Set("l", evaluator.Strings("x", "y")).SetNumber("a", 2).SetString("b", "1")
	c := evaluator.NewContext().SetString("b", "1").SetNumber("a", 2).Set("l", evaluator.Strings("xy"))
	d := evaluator.NewContext().SetString("b1", "").SetNumber("a", 2).Set("l", evaluator.Strings("x", "y"))
	ka, _ := appendCanonicalContext(nil, a, nil)
	kb, _ := appendCanonicalContext(nil, b, nil)
	kc, _ := appendCanonicalContext(nil, c, nil)
	kd, _ := appendCanonicalContext(nil, d, nil)
	if string(ka) != string(kb) {
		t.Errorf("order changed the encoding: %q vs %q", ka, kb)
	}
	if string(ka) == string(kc) || string(ka) == string(kd) {
		t.Errorf("different contexts encode the same: %q", ka)
	}
}
