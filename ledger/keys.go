package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// KeyRecordType is the record type of a signing key rotation.
const KeyRecordType = "ledger.key"

// KeyRecordID returns the id of the nth (from 1) key record of a log.
func KeyRecordID(n int) string { return fmt.Sprintf("%s%d", keyRecordPrefix, n) }

const keyRecordPrefix = "waarborg.key."

// announcementText is what the old and the new key sign when the
// deployment's signing key changes.
func announcementText(deployment, oldKey, newKey string) string {
	return "waarborg key rotation\n" + deployment + "\nold " + oldKey + "\nnew " + newKey + "\n"
}

// Announce returns the announcement of a key rotation: a signed note, by
// the old key and by the new one, that names both. Both keys must bear the
// deployment's name, which every checkpoint origin begins with.
func Announce(deployment string, old note.Signer, oldKey string, next note.Signer, newKey string) ([]byte, error) {
	if old.Name() != deployment || next.Name() != deployment {
		return nil, fmt.Errorf("announce key rotation: both keys must be named %q", deployment)
	}
	return note.Sign(&note.Note{Text: announcementText(deployment, oldKey, newKey)}, old, next)
}

// A KeyRecord is a key rotation as a log holds it.
type KeyRecord struct {
	ID           string
	Index        uint64    // its entry: checkpoints of larger sizes are the new key's
	At           time.Time // the record's time: when the rotation took place
	Old, New     string    // verifier keys
	Announcement string
}

// ParseKeyRecord returns the key rotation that rec, entry index of its
// log, records, and false for a record of another type.
func ParseKeyRecord(rec *waarborg.Record, index uint64) (KeyRecord, bool) {
	if rec.Type != KeyRecordType {
		return KeyRecord{}, false
	}
	return KeyRecord{ID: rec.ID, Index: index, At: rec.Time, Old: rec.Str("old_key"), New: rec.Str("new_key"), Announcement: rec.Str("announcement")}, true
}

// A KeyEpoch is one signing key of a log: it signs the checkpoints of
// sizes above From, up to the next epoch's From.
type KeyEpoch struct {
	Key      string // the verifier key; "" for the trusted key of a log that never rotated
	Verifier note.Verifier
	From     uint64
	// Since is the time of the rotation that introduced it (zero for a
	// log's first key): the key signs from then on.
	Since  time.Time
	Record string // the id of that record
}

// A KeyHistory is the succession of a log's signing keys, oldest first.
type KeyHistory []KeyEpoch

// ErrUntrustedKey is returned when the trusted key is none of a log's keys.
var ErrUntrustedKey = errors.New("the key given is none of the keys this log's history names")

// NewKeyHistory returns the key history of a log from its key records, in
// log order, and the key its verifier trusts. The log's first key is the
// old key of its first rotation (the trusted key when it never rotated);
// each rotation whose announcement the key then in force and the new key
// both signed introduces the new key. A rotation not signed so introduces
// nothing: whoever may append records cannot introduce a key. The trusted
// key must be one of the history's: the keys after it are introduced by
// signatures, those before it by the log that the keys after it sign.
func NewKeyHistory(trusted note.Verifier, recs []KeyRecord) (KeyHistory, error) {
	if len(recs) == 0 {
		return KeyHistory{{Verifier: trusted}}, nil
	}
	first, err := note.NewVerifier(recs[0].Old)
	if err != nil {
		return nil, fmt.Errorf("key record %s: old key: %w", recs[0].ID, err)
	}
	h := KeyHistory{{Key: recs[0].Old, Verifier: first}}
	for _, r := range recs {
		if e, ok := h.introduces(r); ok {
			h = append(h, e)
		}
	}
	for _, e := range h {
		if e.Verifier.Name() == trusted.Name() && e.Verifier.KeyHash() == trusted.KeyHash() {
			return h, nil
		}
	}
	return h, ErrUntrustedKey
}

// introduces returns the epoch that r starts after the last of h, and
// false when r introduces nothing: another old key than the one in force,
// or an announcement that it and the new key did not both sign.
func (h KeyHistory) introduces(r KeyRecord) (KeyEpoch, bool) {
	cur := h[len(h)-1]
	old, err := note.NewVerifier(r.Old)
	if err != nil || old.Name() != cur.Verifier.Name() || old.KeyHash() != cur.Verifier.KeyHash() || r.Index < cur.From {
		return KeyEpoch{}, false
	}
	next, err := note.NewVerifier(r.New)
	if err != nil || next.Name() != cur.Verifier.Name() {
		return KeyEpoch{}, false
	}
	n, err := note.Open([]byte(r.Announcement), note.VerifierList(cur.Verifier, next))
	if err != nil || len(n.Sigs) != 2 || n.Text != announcementText(next.Name(), r.Old, r.New) {
		return KeyEpoch{}, false
	}
	return KeyEpoch{Key: r.New, Verifier: next, From: r.Index, Since: r.At, Record: r.ID}, true
}

// Introduces reports whether key record r, were it in the log after every
// rotation of h, would introduce a key: a rotation a verifier must not miss.
func (h KeyHistory) Introduces(r KeyRecord) bool {
	_, ok := h.introduces(r)
	return ok
}

// At returns the key in force for the checkpoint of the given size.
func (h KeyHistory) At(size uint64) note.Verifier {
	v := h[0].Verifier
	for _, e := range h[1:] {
		if size > e.From {
			v = e.Verifier
		}
	}
	return v
}

// KeyRecords returns a tenant's key records, in log order, up to entry
// upTo (0: all). They have the ids KeyRecordID(1), (2), …
func KeyRecords(ctx context.Context, s waarborg.Store, tenant string, upTo uint64) ([]KeyRecord, error) {
	var out []KeyRecord
	for n := 1; ; n++ {
		st, err := s.Record(ctx, tenant, KeyRecordID(n))
		if waarborg.ErrorCode(err) == waarborg.ENOTFOUND {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if upTo > 0 && st.Index >= upTo {
			return out, nil
		}
		rec, err := waarborg.ParseRecord(st.Canonical)
		if err != nil {
			return nil, fmt.Errorf("key record %s: %w", st.ID, err)
		}
		if kr, ok := ParseKeyRecord(rec, st.Index); ok {
			out = append(out, kr)
		}
	}
}

// KeysInForce returns the signing keys of tenant's log that signed its
// checkpoints at some time in [from, to), oldest first, as the log's key
// history shows it to a verifier that trusts the given key (for reports:
// which keys an auditor needs, and since when each was in force).
func KeysInForce(ctx context.Context, s waarborg.Store, tenant string, trusted note.Verifier, from, to time.Time) (KeyHistory, error) {
	recs, err := KeyRecords(ctx, s, tenant, 0)
	if err != nil {
		return nil, err
	}
	h, err := NewKeyHistory(trusted, recs)
	if err != nil {
		return nil, err
	}
	var out KeyHistory
	for i, e := range h {
		if !e.Since.Before(to) {
			break
		}
		if i+1 < len(h) && !h[i+1].Since.After(from) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// rotation is a key rotation the writer carries out.
type rotation struct {
	signer       note.Signer
	announcement []byte
}

// Rotate replaces the ledger's signing key with next: it appends a key
// record holding the announcement (see Announce) to every tenant's log and
// signs the checkpoints that cover it with next, all in one transaction.
// The caller keeps next's private key safe before it calls: once Rotate
// returns nil, checkpoints are signed with it.
func (l *Ledger) Rotate(ctx context.Context, next note.Signer, announcement []byte) error {
	r := &request{rotate: &rotation{signer: next, announcement: announcement}, done: make(chan struct{})}
	if err := l.queue(ctx, r); err != nil {
		return err
	}
	if err := l.wait(r); err != nil {
		return err
	}
	return r.err
}

// runRotation is Rotate on the writer goroutine.
func (l *Ledger) runRotation(rot *rotation) error {
	ctx := context.Background()
	text, err := NoteText(rot.announcement)
	if err != nil {
		return fmt.Errorf("key rotation: announcement: %w", err)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 5 || lines[0] != "waarborg key rotation" || lines[1] != l.cfg.Deployment ||
		!strings.HasPrefix(lines[2], "old ") || !strings.HasPrefix(lines[3], "new ") {
		return errors.New("key rotation: not an announcement of this deployment")
	}
	oldKey, newKey := lines[2][4:], lines[3][4:]
	// The announcement must hold for a verifier, or the logs would record a
	// rotation that introduces nothing and then sign with an unknown key.
	oldV, err1 := note.NewVerifier(oldKey)
	newV, err2 := note.NewVerifier(newKey)
	if err1 != nil || err2 != nil || newV.KeyHash() != rot.signer.KeyHash() || oldV.KeyHash() != l.cfg.Signer.KeyHash() {
		return errors.New("key rotation: the announcement does not name the current key and the new one")
	}
	if n, err := note.Open(rot.announcement, note.VerifierList(oldV, newV)); err != nil || len(n.Sigs) != 2 {
		return fmt.Errorf("key rotation: the announcement is not signed by both keys: %v", err)
	}
	if err := l.loadRotations(ctx); err != nil {
		return err
	}
	kr := KeyRecord{At: l.cfg.Now().UTC(), Old: oldKey, New: newKey, Announcement: string(rot.announcement)}
	tenants, err := l.cfg.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	var recs []*waarborg.Record
	for _, t := range tenants {
		// The next free id: a record id is the sender's, and one may have
		// taken an id of this form for a record of another type.
		n := len(l.rotations) + 1
		for ; ; n++ {
			_, err := l.cfg.Store.Record(ctx, t, KeyRecordID(n))
			if waarborg.ErrorCode(err) == waarborg.ENOTFOUND {
				break
			}
			if err != nil {
				return err
			}
		}
		rec, err := keyRecord(t, n, kr)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	req := newRequest(recs, l.cfg.Now())
	// Each record takes a free id, so each is accepted; once the commit
	// holds, the new key signs.
	if err := l.commitSigned([]*request{req}, true, rot.signer); err != nil {
		return err
	}
	l.cfg.Signer = rot.signer
	l.rotations = append(l.rotations, kr)
	return nil
}

// keyRecord returns the nth key record of tenant's log for rotation k.
func keyRecord(tenant string, n int, k KeyRecord) (*waarborg.Record, error) {
	data, _ := json.Marshal(map[string]string{"old_key": k.Old, "new_key": k.New, "announcement": k.Announcement})
	line := fmt.Sprintf(`{"id":%q,"tenant":%q,"source":"waarborg/ledger","type":%q,"time":%q,"actor":"waarborg key rotate","data":%s}`,
		KeyRecordID(n), tenant, KeyRecordType, waarborg.FormatReceived(k.At), data)
	rec, err := waarborg.ParseRecord([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("key record of %s: %w", tenant, err)
	}
	return rec, nil
}

// loadRotations reads the deployment's key rotations from its logs once:
// every log holds all of them (a log that starts later starts with them).
func (l *Ledger) loadRotations(ctx context.Context) error {
	if l.rotations != nil {
		return nil
	}
	tenants, err := l.cfg.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	all := []KeyRecord{}
	for _, t := range tenants {
		recs, err := KeyRecords(ctx, l.cfg.Store, t, 0)
		if err != nil {
			return err
		}
		if len(recs) > len(all) {
			all = recs
		}
	}
	l.rotations = all
	return nil
}

// keyHistoryFor returns the key records a new log of tenant starts with.
func (l *Ledger) keyHistoryFor(ctx context.Context, tenant string) ([]*waarborg.Record, error) {
	if err := l.loadRotations(ctx); err != nil {
		return nil, err
	}
	var out []*waarborg.Record
	for i, k := range l.rotations {
		rec, err := keyRecord(tenant, i+1, k)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}
