package ofrep_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/snapshot"
)

// An OFREP server on the native evaluator: a store poller would call Load on every new
// snapshot and SetStale when it cannot refresh.
func ExampleNewHandler() {
	source := ofrep.NewNative()
	if _, err := source.Load(snapshot.Encode(&snapshot.Snapshot{
		Environment: "production",
		Attributes:  []string{"userId"},
		Flags: []snapshot.Flag{{
			Key: "banner", Type: snapshot.TypeString, Enabled: true, Seed: snapshot.SeedFor("banner"),
			Variants: []snapshot.Variant{{Name: "blue", JSON: `"blue"`}}, ReleaseRing: snapshot.NoIndex,
			Rollout: snapshot.Serve{Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}},
		}},
	})); err != nil {
		fmt.Println(err)
		return
	}
	srv := httptest.NewServer(ofrep.NewHandler(source, ofrep.Options{Authenticate: ofrep.APIKeys("secret")}))
	defer srv.Close()

	for _, path := range []string{"/ofrep/v1/evaluate/flags/banner", "/ofrep/v1/evaluate/flags/missing"} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(`{"context":{"targetingKey":"user-1"}}`))
		req.Header.Set("Authorization", "Bearer secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Cut before the snapshot hash, which changes with the snapshot.
		fmt.Println(resp.StatusCode, strings.Split(strings.Split(string(body), `,"metadata"`)[0], " in snapshot")[0])
	}
	// Output:
	// 200 {"key":"banner","reason":"STATIC","variant":"blue","value":"blue"
	// 404 {"key":"missing","errorCode":"FLAG_NOT_FOUND","errorDetails":"flag \"missing\" not found
}
