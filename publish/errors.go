package publish

import "errors"

// Errors callers map to answers (the kill-switch API maps the first four to 404, the next
// two to 409). Test with errors.Is; the messages name the environment, flag or hash.
var (
	// ErrUnknownEnvironment: nothing was ever published to the environment.
	ErrUnknownEnvironment = errors.New("unknown environment")
	// ErrUnknownFlag: the environment's current snapshot has no such flag.
	ErrUnknownFlag = errors.New("unknown flag")
	// ErrUnknownSnapshot: no snapshot or base snapshot in the store has that hash.
	ErrUnknownSnapshot = errors.New("unknown snapshot")
	// ErrNoEarlierSnapshot: rollback without a target, and the pointer's history is empty.
	ErrNoEarlierSnapshot = errors.New("no earlier snapshot to roll back to")
	// ErrKilledInSource: unkill of a flag whose source says killed: true; only a change
	// to the flag file and a publish turn it back on.
	ErrKilledInSource = errors.New("flag is killed in its source")
	// ErrAmbiguousSnapshot: a short hash matches more than one snapshot.
	ErrAmbiguousSnapshot = errors.New("ambiguous snapshot hash")
	// ErrInvalidSnapshot: the bytes are not a valid snapshot, or not for the environment.
	ErrInvalidSnapshot = errors.New("invalid snapshot")
	// ErrOtherEnvironment: the snapshot asked for (by hash) is another environment's;
	// errors that wrap it wrap ErrInvalidSnapshot too. Unlike a corrupt stored object, it
	// is the caller's mistake.
	ErrOtherEnvironment = errors.New("snapshot of another environment")
	// ErrTooLarge: the snapshot to serve is larger than edges load (snapshot.MaxSize);
	// errors that wrap it wrap ErrInvalidSnapshot too.
	ErrTooLarge = errors.New("snapshot too large")
	// ErrContention: a conditional write kept losing to other writers until the attempts
	// ran out. Retrying later is safe.
	ErrContention = errors.New("too many concurrent writers")
)
