package publish

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// Actions recorded in the audit trail.
const (
	ActionPublish   = "publish"   // a new base snapshot was published
	ActionRepublish = "republish" // a base was served again with the current kill state
	ActionRollback  = "rollback"  // the pointer moved back to an earlier base
	ActionKill      = "kill"      // a kill switch was turned on
	ActionUnkill    = "unkill"    // a kill switch was turned off
	ActionRollout   = "rollout"   // a rollout changed: Rollout holds the decision and its numbers
)

// AuditRecord is one change to an environment, stored once under
// <env>/audit/<time>-<suffix>.json and never rewritten. Keys sort in time order; the
// records of kills and unkills, whose times grow with the kill state version, sort in
// write order (docs/store-layout.md).
type AuditRecord struct {
	Environment string    `json:"environment"`
	Action      string    `json:"action"`
	Flag        string    `json:"flag,omitempty"`
	Who         string    `json:"who"`
	Why         string    `json:"why,omitempty"`
	At          time.Time `json:"at"`
	Before      AuditSide `json:"before"`
	After       AuditSide `json:"after"`
	// KillStateVersion is the kill state's version after the change.
	KillStateVersion int64 `json:"killStateVersion"`
	// RolloutStateVersion is the rollout state's version after a rollout change.
	RolloutStateVersion int64 `json:"rolloutStateVersion,omitempty"`
	// Rollout is the decision of a rollout change (ActionRollout).
	Rollout *RolloutDecision `json:"rollout,omitempty"`
	// ServedSnapshot is set on a kill or unkill when concurrent changes were served
	// before this one alone: it is the snapshot the pointer named after the republish,
	// made from the later kill state version ServedKillStateVersion. After.Snapshot,
	// made from exactly this change's kill state, was then stored but may never have
	// been served.
	ServedSnapshot         string `json:"servedSnapshot,omitempty"`
	ServedKillStateVersion int64  `json:"servedKillStateVersion,omitempty"`
	// Error is set when the change was made but a later step (the republish) failed.
	Error string `json:"error,omitempty"`
}

// AuditSide is the state of an environment before or after a change.
type AuditSide struct {
	Killed   []string `json:"killed"`             // killed flags (kill state for kills, snapshot for publishes)
	Base     string   `json:"base,omitempty"`     // base snapshot hash
	Snapshot string   `json:"snapshot,omitempty"` // served snapshot hash: the snapshot version
}

// auditTimeFormat sorts lexicographically in time order and is safe in file names.
const auditTimeFormat = "20060102T150405.000000000Z"

func (p *Publisher) writeAudit(ctx context.Context, rec *AuditRecord) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return p.writeAuditAs(ctx, rec, hex.EncodeToString(rnd[:]))
}

// WriteRolloutAudit records a rollout decision made at rollout state version. Its key is
// derived from the decision's time, the flag and the version, so writing it again (a
// controller redoing a step after a crash) finds it there and writes nothing.
func (p *Publisher) WriteRolloutAudit(ctx context.Context, env, flag string, version int64, d *RolloutDecision, ptr *Pointer) error {
	rec := &AuditRecord{
		Environment:         env,
		Action:              ActionRollout,
		Flag:                flag,
		Who:                 d.By,
		Why:                 d.Reason,
		At:                  d.At,
		RolloutStateVersion: version,
		Rollout:             d,
	}
	if ptr != nil {
		rec.After = AuditSide{Killed: ptr.Killed, Base: ptr.Base, Snapshot: ptr.Snapshot}
		rec.KillStateVersion = ptr.KillStateVersion
	}
	sum := sha256.Sum256([]byte(flag))
	err := p.writeAuditAs(ctx, rec, "r"+strconv.FormatInt(version, 10)+"-"+hex.EncodeToString(sum[:6]))
	if errors.Is(err, store.ErrPreconditionFailed) {
		return nil
	}
	return err
}

func (p *Publisher) writeAuditAs(ctx context.Context, rec *AuditRecord, suffix string) error {
	if rec.Before.Killed == nil {
		rec.Before.Killed = []string{}
	}
	if rec.After.Killed == nil {
		rec.After.Killed = []string{}
	}
	key := layout.AuditPrefix(rec.Environment) + rec.At.UTC().Format(auditTimeFormat) + "-" + suffix + ".json"
	if err := writeJSON(ctx, p.Store, key, rec, store.PutOptions{IfAbsent: true}); err != nil {
		return fmt.Errorf("publish: write audit record %s: %w", key, err)
	}
	return nil
}

// Audit returns an environment's audit records, oldest first.
func (p *Publisher) Audit(ctx context.Context, env string) ([]AuditRecord, error) {
	keys, err := p.Store.List(ctx, layout.AuditPrefix(env))
	if err != nil {
		return nil, err
	}
	records := make([]AuditRecord, 0, len(keys))
	for _, key := range keys {
		obj, err := p.Store.Get(ctx, key, store.GetOptions{})
		if err != nil {
			return nil, err
		}
		var rec AuditRecord
		if err := json.Unmarshal(obj.Data, &rec); err != nil {
			return nil, fmt.Errorf("publish: audit record %s is not valid JSON: %w", key, err)
		}
		records = append(records, rec)
	}
	return records, nil
}
