package rollout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publish"
)

// Notifier tells people about a rollout that paused or rolled back.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Notification is one decision to tell about.
type Notification struct {
	Environment string                  `json:"environment"`
	Flag        string                  `json:"flag"`
	Decision    publish.RolloutDecision `json:"decision"`
}

// Text is the one-line summary people read first (Slack's `text`).
func (n Notification) Text() string {
	d := n.Decision
	verb := map[string]string{
		publish.DecisionRollback: "ROLLED BACK",
		publish.DecisionPause:    "PAUSED",
	}[d.Action]
	if verb == "" {
		verb = strings.ToUpper(d.Action)
	}
	return fmt.Sprintf("edgeflag: %s %s in %s at stage %d (%s): %s", n.Flag, verb, n.Environment, d.From+1, d.Serve.String(), d.Reason)
}

// Notifiers sends every notification to each of its notifiers and joins their errors.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, n Notification) error {
	var errs []error
	for _, x := range ns {
		if err := x.Notify(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Webhook posts each notification as JSON to a URL: a Slack-compatible body (`text`,
// and `blocks` with the numbers) plus the whole notification under `edgeflag`, so a
// Slack incoming webhook shows it as is and any other receiver gets the details.
type Webhook struct {
	URL    string
	Client *http.Client // nil: a client with a 10 s timeout
}

// Notify implements Notifier.
func (w *Webhook) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(webhookBody(n))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("rollout: webhook %s: %w", w.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("rollout: webhook: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("rollout: webhook %s answered %s: %s", w.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

func webhookBody(n Notification) map[string]any {
	lines := []string{"*" + n.Text() + "*"}
	for _, c := range n.Decision.Checks {
		lines = append(lines, "• "+CheckLine(c))
	}
	return map[string]any{
		"text":     n.Text(),
		"blocks":   []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}}},
		"edgeflag": n,
	}
}

// CheckLine describes one criterion check for people: the values of both variants,
// the samples, the limit and the outcome.
func CheckLine(c publish.CriterionCheck) string {
	var b strings.Builder
	b.WriteString(c.Metric + " " + c.Threshold + ": " + c.Result)
	if c.New != nil {
		b.WriteString(", new " + num(*c.New))
	}
	if c.Old != nil {
		b.WriteString(", old " + num(*c.Old))
	}
	if c.Limit != nil {
		b.WriteString(", limit " + num(*c.Limit))
	}
	fmt.Fprintf(&b, ", samples %.0f/%.0f", c.NewSamples, c.OldSamples)
	if c.Detail != "" {
		b.WriteString(" (" + c.Detail + ")")
	}
	return b.String()
}

func num(v float64) string { return fmt.Sprintf("%.4g", v) }
