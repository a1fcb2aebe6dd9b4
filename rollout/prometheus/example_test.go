package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
)

// A query without {{variant}} runs once and reads each series' variant label.
func ExampleProvider_Query() {
	// A stand-in for Prometheus answering the query below.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"variant":"on"},"value":[1800000000,"0.012"]},
			{"metric":{"variant":"off"},"value":[1800000000,"0.004"]}]}}`)
	}))
	defer srv.Close()

	p, err := prometheus.New(context.Background(), prometheus.Config{URL: srv.URL, Timeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	values, err := p.Query(context.Background(), rollout.Request{
		Metric: "error-rate",
		Query: rollout.Query{PromQL: `sum by (variant) (rate(edgeflag_http_requests_total{flag="{{flag}}",code=~"5.."}[{{window}}]))
			/ sum by (variant) (rate(edgeflag_http_requests_total{flag="{{flag}}"}[{{window}}]))`},
		Flag:     "checkout",
		Variants: []string{"on", "off"},
		Window:   30 * time.Minute,
		End:      time.Unix(1_800_000_000, 0),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(values["on"], values["off"])
	// Output: 0.012 0.004
}
