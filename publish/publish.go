// Package publish moves snapshots into a store and keeps each environment's pointer, kill
// state and audit trail (docs/store-layout.md).
//
// A base snapshot (as compiled from git) is stored under <env>/base/<hash>.snap. What
// edges serve is the base with the kill state applied (Merge), stored under
// snapshots/<hash>.snap; the pointer <env>/current.json names it. Every change, whether
// a publish, a rollback or a kill, ends by moving the pointer with a compare-and-swap on
// its ETag: the snapshot object is written first, so the pointer never names a missing
// snapshot, and a writer that lost the race re-reads and retries, so no update is lost.
// Reading the pointer before the kill state makes the last pointer written reflect the
// newest kill state.
package publish

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// maxAttempts bounds the compare-and-swap retries of one operation.
const maxAttempts = 400

// Publisher publishes to one store. It holds no state of its own and is safe for
// concurrent use; concurrent Publishers (processes, Lambda instances) on one store are
// safe too.
type Publisher struct {
	Store store.Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Signer, if set, signs every pointer this Publisher writes (see sign.go); nil
	// writes unsigned pointers.
	Signer signing.Signer
}

// New returns a Publisher for st.
func New(st store.Store) *Publisher { return &Publisher{Store: st} }

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// Result describes a pointer move.
type Result struct {
	Environment string
	// Pointer is the environment's pointer after the operation.
	Pointer Pointer
	// Previous is the pointer before it (nil if there was none).
	Previous *Pointer
	// Changed is false when the pointer already named what the operation would publish:
	// nothing was written.
	Changed bool
	// Skipped explains why an operation chose to change nothing (RepublishOptions.IfNewer).
	Skipped string
}

// Publish stores base (an encoded snapshot, as the compiler writes it) as a base snapshot
// of its environment and points the environment at it, with the kill state applied.
// Publishing the same bytes again changes nothing. who names the publisher for the audit
// trail (a CI job, a user).
func (p *Publisher) Publish(ctx context.Context, base []byte, who string) (*Result, error) {
	return p.PublishWithPlan(ctx, base, nil, who)
}

// PublishWithPlan is Publish with the environment's rollout plan (the JSON the compiler
// derives from the flags' stages and the project's metrics): the plan is stored under
// its hash before the pointer moves, and the pointer names it, so the rollout controller
// always reads the plan of the flags it serves. A nil plan keeps the current one.
func (p *Publisher) PublishWithPlan(ctx context.Context, base, plan []byte, who string) (*Result, error) {
	if err := checkSize("base snapshot", base); err != nil {
		return nil, err
	}
	s, err := snapshot.Decode(base)
	if err != nil {
		return nil, fmt.Errorf("publish: %w: %w", ErrInvalidSnapshot, err)
	}
	env := s.Environment
	if !layout.ValidEnvironment(env) {
		return nil, fmt.Errorf("publish: %w: environment name %q", ErrInvalidSnapshot, env)
	}
	hash, err := snapshot.Hash(base)
	if err != nil {
		return nil, err
	}
	planHash := ""
	if plan != nil {
		planHash = PlanHash(plan)
		if err := putImmutable(ctx, p.Store, layout.PlanKey(env, planHash), plan); err != nil {
			return nil, err
		}
	}
	if err := putImmutable(ctx, p.Store, layout.BaseKey(env, hash), base); err != nil {
		return nil, err
	}
	res, err := p.move(ctx, env, planHash, func(cur *Pointer) (string, []string, bool, error) {
		return hash, pushHistory(cur, hash), false, nil
	})
	if err != nil {
		return nil, err
	}
	return res, p.auditMove(ctx, res, ActionPublish, who, "")
}

// RepublishOptions choose what Republish serves.
type RepublishOptions struct {
	// Base is the hash of the base snapshot to serve (it must be in the store); "" serves
	// the current base again, with the current kill state.
	Base string
	// IfNewer skips a base built before the current one (by snapshot BuildTime), so a
	// late or repeated upload event cannot move an environment back in time.
	IfNewer bool
}

// Republish serves a base snapshot already in the store, merged with the current kill
// state. The kill-switch Lambda calls it for POST /publish and for the S3 event of a
// newly uploaded base.
func (p *Publisher) Republish(ctx context.Context, env string, opts RepublishOptions, who string) (*Result, error) {
	if !layout.ValidEnvironment(env) {
		return nil, fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, env)
	}
	if opts.Base != "" && !layout.ValidHash(opts.Base) {
		return nil, fmt.Errorf("%w %q: not a snapshot hash (64 hex digits)", ErrUnknownSnapshot, opts.Base)
	}
	var skipped string
	res, err := p.move(ctx, env, "", func(cur *Pointer) (string, []string, bool, error) {
		skipped = ""
		if opts.Base == "" {
			if cur == nil {
				return "", nil, false, fmt.Errorf("%w %q: nothing published to it in %s", ErrUnknownEnvironment, env, p.Store)
			}
			return cur.Base, cur.History, false, nil
		}
		if opts.IfNewer && cur != nil && cur.Base != opts.Base {
			older, err := p.builtBefore(ctx, env, opts.Base, cur.Base)
			if err != nil {
				return "", nil, false, err
			}
			if older {
				skipped = "base " + opts.Base + " was built before the current base " + cur.Base
				return cur.Base, cur.History, false, nil
			}
		}
		return opts.Base, pushHistory(cur, opts.Base), false, nil
	})
	if err != nil {
		return nil, err
	}
	res.Skipped = skipped
	return res, p.auditMove(ctx, res, ActionRepublish, who, "")
}

// checkSize refuses a snapshot larger than edges load.
func checkSize(what string, data []byte) error {
	if len(data) > snapshot.MaxSize {
		return fmt.Errorf("publish: %w: %w: the %s is %d bytes, over the limit of %d bytes (32 MiB) that edges load",
			ErrInvalidSnapshot, ErrTooLarge, what, len(data), snapshot.MaxSize)
	}
	return nil
}

// otherEnvironment is the error of snapshot hash, of environment got, asked for in env.
func otherEnvironment(hash, got, env string) error {
	return fmt.Errorf("publish: %w: %w: snapshot %s is for environment %q, not %q",
		ErrInvalidSnapshot, ErrOtherEnvironment, hash, got, env)
}

// builtBefore reports whether base a was built before base b.
func (p *Publisher) builtBefore(ctx context.Context, env, a, b string) (bool, error) {
	sa, err := p.loadBaseSnapshot(ctx, env, a)
	if err != nil {
		return false, err
	}
	sb, err := p.loadBaseSnapshot(ctx, env, b)
	if err != nil {
		return false, err
	}
	return sa.BuildTime < sb.BuildTime, nil
}

// Rollback points an environment at an earlier base, still with the current kill state
// applied (a rollback never undoes a kill switch). Without a target it undoes the last
// publish: it goes back to the newest base in the pointer's history and drops it from
// the history, so repeated rollbacks walk further back. With a target (a full hash or a
// unique prefix of at least 7 hex digits, of a base or of a served snapshot) it serves
// that snapshot as the base and pushes the current base on the history, like a publish.
func (p *Publisher) Rollback(ctx context.Context, env, to, who string) (*Result, error) {
	if !layout.ValidEnvironment(env) {
		return nil, fmt.Errorf("%w %q: not a valid environment name", ErrUnknownEnvironment, env)
	}
	target := ""
	if to != "" {
		cur, _, err := ReadPointer(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		if target, err = p.resolve(ctx, env, to, cur); err != nil {
			return nil, err
		}
		// Check it now so that a wrong target fails before anything is written.
		if _, err := p.loadBaseSnapshot(ctx, env, target); err != nil {
			return nil, err
		}
	}
	res, err := p.move(ctx, env, "", func(cur *Pointer) (string, []string, bool, error) {
		if cur == nil {
			return "", nil, false, fmt.Errorf("%w %q: nothing published to it in %s", ErrUnknownEnvironment, env, p.Store)
		}
		if target != "" {
			return target, pushHistory(cur, target), false, nil
		}
		if len(cur.History) == 0 {
			return "", nil, false, fmt.Errorf("%w in %q: its history is empty (name a snapshot with --to)", ErrNoEarlierSnapshot, env)
		}
		return cur.History[0], cur.History[1:], false, nil
	})
	if err != nil {
		return nil, err
	}
	return res, p.auditMove(ctx, res, ActionRollback, who, "")
}

// resolve turns a full or short hash into the full hash of a base or served snapshot.
func (p *Publisher) resolve(ctx context.Context, env, to string, cur *Pointer) (string, error) {
	to = strings.ToLower(to)
	if layout.ValidHash(to) {
		return to, nil
	}
	if len(to) < 7 || len(to) > 64 || strings.Trim(to, "0123456789abcdef") != "" {
		return "", fmt.Errorf("%w %q: want a snapshot hash or a prefix of at least 7 hex digits", ErrUnknownSnapshot, to)
	}
	found := map[string]bool{}
	for _, h := range append([]string{cur.Base, cur.Snapshot}, cur.History...) {
		if strings.HasPrefix(h, to) {
			found[h] = true
		}
	}
	for _, prefix := range []string{layout.BasePrefix(env) + to, layout.SnapshotPrefix() + to} {
		keys, err := p.Store.List(ctx, prefix)
		if err != nil {
			return "", err
		}
		for _, k := range keys {
			if h := layout.HashFromKey(k); h != "" {
				found[h] = true
			}
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w %q in %s", ErrUnknownSnapshot, to, p.Store)
	case 1:
		for h := range found {
			return h, nil
		}
	}
	matches := make([]string, 0, len(found))
	for h := range found {
		matches = append(matches, h)
	}
	slices.Sort(matches)
	return "", fmt.Errorf("%w %q: matches %s", ErrAmbiguousSnapshot, to, strings.Join(matches, ", "))
}

// pushHistory is the history after cur's base is replaced by base.
func pushHistory(cur *Pointer, base string) []string {
	if cur == nil {
		return nil
	}
	if cur.Base == base {
		return cur.History
	}
	h := append([]string{cur.Base}, cur.History...)
	if len(h) > HistoryLength {
		h = h[:HistoryLength]
	}
	return h
}

// choice picks the base and history to serve given the current pointer (nil if none).
// done, when it returns true, ends the move without a write: the pointer already
// serves what the caller needs (a kill that a concurrent republish already applied).
type choice func(cur *Pointer) (base string, history []string, done bool, err error)

// move points env at choose's base merged with the current rollout and kill states,
// retrying the compare-and-swap of the pointer until it wins. plan names the rollout
// plan to put in force; "" keeps the current one.
func (p *Publisher) move(ctx context.Context, env, plan string, choose choice) (*Result, error) {
	bases := map[string][]byte{} // base bytes by hash, read once per operation
	for attempt := 0; ; attempt++ {
		cur, etag, err := readPointer(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		base, history, done, err := choose(cur)
		if err != nil {
			return nil, err
		}
		if done {
			return &Result{Environment: env, Pointer: *cur, Previous: cur}, nil
		}
		baseData, ok := bases[base]
		if !ok {
			if baseData, err = p.loadBase(ctx, env, base); err != nil {
				return nil, err
			}
			bases[base] = baseData
		}
		state, _, err := ReadKillState(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		rollouts, _, err := ReadRolloutState(ctx, p.Store, env)
		if err != nil {
			return nil, err
		}
		planHash := plan
		if planHash == "" && cur != nil {
			planHash = cur.Plan
		}
		s, err := snapshot.Decode(baseData)
		if err != nil {
			return nil, fmt.Errorf("publish: %w: %s: %w", ErrInvalidSnapshot, base, err)
		}
		if s.Environment != env {
			return nil, otherEnvironment(base, s.Environment, env)
		}
		served, killed := merge(baseData, s, state, rollouts)
		if err := checkSize("snapshot of base "+base+" with the kill and rollout state", served); err != nil {
			return nil, err
		}
		hash, err := snapshot.Hash(served)
		if err != nil {
			return nil, err
		}
		if cur != nil && cur.Snapshot == hash && cur.Base == base && slices.Equal(cur.History, history) &&
			cur.Plan == planHash && cur.RolloutStateVersion >= rollouts.Version && p.signedAsWanted(cur) {
			return &Result{Environment: env, Pointer: *cur, Previous: cur}, nil
		}
		if err := putImmutable(ctx, p.Store, layout.SnapshotKey(hash), served); err != nil {
			return nil, err
		}
		next := Pointer{
			Environment:         env,
			Snapshot:            hash,
			Base:                base,
			Revision:            s.Revision,
			Killed:              killed,
			KillStateVersion:    state.Version,
			Plan:                planHash,
			RolloutStateVersion: rollouts.Version,
			PublishedAt:         p.now(),
			History:             history,
		}
		// Signed snapshots (sign.go): the version only grows, and the signature covers it.
		if err := p.sign(ctx, cur, &next); err != nil {
			return nil, err
		}
		data, err := layout.EncodePointer(&next)
		if err != nil {
			return nil, err
		}
		_, err = p.Store.Put(ctx, layout.PointerKey(env), data, casOptions(etag, cur != nil))
		if err == nil {
			return &Result{Environment: env, Pointer: next, Previous: cur, Changed: true}, nil
		}
		if !errors.Is(err, store.ErrPreconditionFailed) {
			return nil, fmt.Errorf("publish: move the pointer of %q: %w", env, err)
		}
		if err := backoff(ctx, attempt); err != nil {
			return nil, fmt.Errorf("publish: move the pointer of %q: %w", env, err)
		}
	}
}

// auditMove records a pointer move made by a publish, republish or rollback.
func (p *Publisher) auditMove(ctx context.Context, res *Result, action, who, why string) error {
	if !res.Changed {
		return nil
	}
	rec := &AuditRecord{
		Environment: res.Environment,
		Action:      action,
		Who:         who,
		Why:         why,
		At:          res.Pointer.PublishedAt,
		After:       AuditSide{Killed: res.Pointer.Killed, Base: res.Pointer.Base, Snapshot: res.Pointer.Snapshot},
	}
	if res.Previous != nil {
		rec.Before = AuditSide{Killed: res.Previous.Killed, Base: res.Previous.Base, Snapshot: res.Previous.Snapshot}
	}
	return p.writeAudit(ctx, rec)
}

// backoff waits before retry attempt+1: exponential from 2 ms, capped at 100 ms, with
// full jitter so that losers of one race do not collide again.
func backoff(ctx context.Context, attempt int) error {
	if attempt+1 >= maxAttempts {
		return ErrContention
	}
	ceiling := 2 * time.Millisecond << min(attempt, 6)
	ceiling = min(ceiling, 100*time.Millisecond)
	t := time.NewTimer(rand.N(ceiling) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// putImmutable writes a content-addressed object unless it is already there (then it
// has the same bytes: the key is their hash).
func putImmutable(ctx context.Context, st store.Store, key string, data []byte) error {
	_, err := st.Put(ctx, key, data, store.PutOptions{IfAbsent: true})
	if err != nil && !errors.Is(err, store.ErrPreconditionFailed) {
		return fmt.Errorf("publish: write %s: %w", key, err)
	}
	return nil
}

// loadBase reads a base snapshot by hash, from <env>/base/ or else from snapshots/, and
// checks that the bytes are a snapshot with that hash.
func (p *Publisher) loadBase(ctx context.Context, env, hash string) ([]byte, error) {
	if !layout.ValidHash(hash) {
		return nil, fmt.Errorf("%w %q: not a snapshot hash", ErrUnknownSnapshot, hash)
	}
	var obj *store.Object
	var err error
	for _, key := range []string{layout.BaseKey(env, hash), layout.SnapshotKey(hash)} {
		obj, err = p.Store.Get(ctx, key, store.GetOptions{})
		if !errors.Is(err, store.ErrNotFound) {
			break
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %s: neither %s nor %s is in %s", ErrUnknownSnapshot, hash,
			layout.BaseKey(env, hash), layout.SnapshotKey(hash), p.Store)
	}
	if err != nil {
		return nil, err
	}
	if err := snapshot.Verify(obj.Data); err != nil {
		return nil, fmt.Errorf("publish: %w: %s: %w", ErrInvalidSnapshot, obj.Key, err)
	}
	if h, _ := snapshot.Hash(obj.Data); h != hash {
		return nil, fmt.Errorf("publish: %w: %s holds the snapshot %s", ErrInvalidSnapshot, obj.Key, h)
	}
	return obj.Data, nil
}

// loadBaseSnapshot is loadBase, decoded, checked to be for env.
func (p *Publisher) loadBaseSnapshot(ctx context.Context, env, hash string) (*snapshot.Snapshot, error) {
	data, err := p.loadBase(ctx, env, hash)
	if err != nil {
		return nil, err
	}
	s, err := snapshot.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("publish: %w: %s: %w", ErrInvalidSnapshot, hash, err)
	}
	if s.Environment != env {
		return nil, otherEnvironment(hash, s.Environment, env)
	}
	return s, nil
}
