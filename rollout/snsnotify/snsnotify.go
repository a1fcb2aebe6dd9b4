// Package snsnotify sends rollout notifications to an Amazon SNS topic: the scheduled
// rollout Lambda's alerts. Subscribers (e-mail, chat, a pager) get the one-line summary
// as the subject and the whole decision, with its numbers, as JSON.
package snsnotify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/edgeflag/edgeflag/rollout"
)

// Publisher is the part of the SNS client a Notifier uses (*sns.Client has it).
type Publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Notifier publishes each notification to TopicARN.
type Notifier struct {
	Client   Publisher
	TopicARN string
}

// maxSubject is SNS's limit on a subject (ASCII, no newlines, under 100 characters).
const maxSubject = 99

// Notify implements rollout.Notifier.
func (n *Notifier) Notify(ctx context.Context, note rollout.Notification) error {
	body, err := json.MarshalIndent(struct {
		Summary string `json:"summary"`
		rollout.Notification
	}{note.Text(), note}, "", "  ")
	if err != nil {
		return err
	}
	_, err = n.Client.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(n.TopicARN),
		Subject:           aws.String(subject(note)),
		Message:           aws.String(string(body)),
		MessageAttributes: nil,
	})
	if err != nil {
		return fmt.Errorf("snsnotify: publish to %s: %w", n.TopicARN, err)
	}
	return nil
}

// subject is a short ASCII subject: "edgeflag: payments-service-v2 rollback in production".
func subject(n rollout.Notification) string {
	s := "edgeflag: " + n.Flag + " " + n.Decision.Action + " in " + n.Environment
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(out) < maxSubject; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
