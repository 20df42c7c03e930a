package clustertool

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/member"
)

// openStore opens member id's log store read-only (it takes no lock, so
// it works next to a running member and sees a consistent prefix).
func (t *Tool) openStore(id consensus.MemberID) (*logstore.Store, string, error) {
	dir := member.DataDir(t.cluster, id)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, dir, fmt.Errorf("no data directory %s (the member never ran with this cluster file)", dir)
	}
	s, err := logstore.OpenReadOnly(dir, nil)
	if err != nil {
		return nil, dir, fmt.Errorf("open the log store in %s: %w", dir, err)
	}
	return s, dir, nil
}

// RecoveryPlan prints, for each member in ids (every member if empty), how
// it would rebuild its state if it started now: the snapshot it would load
// and the log it would replay. It returns an error naming the members
// whose store could not be read or that could not recover.
func (t *Tool) RecoveryPlan(w io.Writer, ids []consensus.MemberID) error {
	ids, err := t.members(ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := t.recoveryPlan(w, id); err != nil {
			fmt.Fprintf(w, "member %d: %v\n", id, err)
			errs = append(errs, fmt.Errorf("member %d: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (t *Tool) recoveryPlan(w io.Writer, id consensus.MemberID) error {
	s, dir, err := t.openStore(id)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(w, "member %d (%s): log [%d, %d), %d terms\n", id, dir, s.Start(), s.End(), len(s.Terms()))
	plan, err := s.RecoveryPlan()
	if err != nil {
		return fmt.Errorf("cannot recover: %w", err)
	}
	if len(plan.Snapshots) == 0 {
		fmt.Fprintf(w, "  no usable snapshot: start empty and replay the whole log [0, %d): %d bytes\n",
			plan.End, plan.End)
		return nil
	}
	for _, r := range plan.Snapshots {
		fmt.Fprintf(w, "  load snapshot at %d: service %d, term %d, recording %d, %d bytes\n",
			r.Position, r.ServiceID, r.Term, r.RecordingID, r.Length)
	}
	fmt.Fprintf(w, "  replay log [%d, %d): %d bytes\n", plan.Position, plan.End, plan.End-plan.Position)
	return nil
}

// RecordingLog prints, for each member in ids (every member if empty), its
// recording log: the term records and the valid snapshot records.
func (t *Tool) RecordingLog(w io.Writer, ids []consensus.MemberID) error {
	ids, err := t.members(ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		s, dir, err := t.openStore(id)
		if err != nil {
			fmt.Fprintf(w, "member %d: %v\n", id, err)
			errs = append(errs, fmt.Errorf("member %d: %w", id, err))
			continue
		}
		rl := s.RecordingLog()
		terms, snaps := rl.Terms(), rl.Snapshots()
		fmt.Fprintf(w, "member %d (%s): %d terms, %d snapshots\n", id, dir, len(terms), len(snaps))
		for _, r := range terms {
			fmt.Fprintf(w, "  term %d from log position %d\n", r.Term, r.Base)
		}
		for _, r := range snaps {
			fmt.Fprintf(w, "  snapshot at log position %d: term %d, service %d, recording %d, %d bytes, "+
				"crc32c %08x, cluster time %d ns\n", r.Position, r.Term, r.ServiceID, r.RecordingID, r.Length,
				r.Checksum, r.TimestampNs)
		}
		s.Close()
	}
	return errors.Join(errs...)
}
