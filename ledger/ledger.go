// Package ledger keeps each tenant's evidence in an append-only Merkle log
// (RFC 9162 hashing through transparency-dev/merkle) with signed C2SP
// checkpoints, and proves inclusion and consistency.
//
// It is the single appender of every log it serves; it does no I/O but
// through a waarborg.Store.
package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// Config configures a Ledger.
type Config struct {
	Store      waarborg.Store
	Signer     note.Signer
	Deployment string // the checkpoint origin prefix
	Now        func() time.Time
	Logger     *slog.Logger

	// CheckpointEvery is the longest a tenant's new entries wait for a
	// checkpoint (default 1s).
	CheckpointEvery time.Duration
	// MaxBatch bounds the records of one group commit (default 16384).
	MaxBatch int
}

// Outcome is what became of one appended record.
type Outcome uint8

// The outcomes of an append.
const (
	Accepted  Outcome = iota + 1 // appended now
	Duplicate                    // the same content was already there: nothing changed
	Conflict                     // another content holds the id: refused, the first stays
)

func (o Outcome) String() string {
	return [...]string{"", "accepted", "duplicate", "conflict"}[o]
}

// A Result reports one record of an Append.
type Result struct {
	Outcome    Outcome
	Index      uint64 // the leaf index (accepted only)
	ReceivedAt time.Time
}

// Ledger appends records to tenants' logs with group commit: concurrent
// Append calls share one durable transaction.
type Ledger struct {
	cfg  Config
	reqs chan *request
	done chan struct{}
	stop context.CancelFunc

	// trees and rotations belong to the writer goroutine.
	trees     map[string]*tree
	rotations []KeyRecord // every key rotation, oldest first; nil until read
	tiles     tileCache   // complete tiles read for proofs

	closeOnce sync.Once
	closeErr  error
}

type request struct {
	recs []*waarborg.Record
	// received is when the records arrived, and leaves are their leaf
	// hashes with that receipt time: both made by the caller of Enqueue,
	// so that hashing runs beside the single writer instead of in it.
	received time.Time
	leaves   [][]byte
	flush    string // a tenant to checkpoint now, when recs is empty
	rotate   *rotation
	results  []Result
	err      error
	done     chan struct{}
}

// Open starts a ledger on cfg.Store. Close it to flush the last checkpoints.
func Open(cfg Config) *Ledger {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = time.Second
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 32768
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Ledger{
		cfg:   cfg,
		reqs:  make(chan *request, 64),
		done:  make(chan struct{}),
		stop:  cancel,
		trees: map[string]*tree{},
	}
	go l.run(ctx)
	return l
}

// newRequest makes the request that appends recs, received at now, with
// their leaf hashes.
func newRequest(recs []*waarborg.Record, now time.Time) *request {
	r := &request{recs: recs, received: now.UTC().Truncate(time.Millisecond), done: make(chan struct{})}
	received := waarborg.FormatReceived(r.received)
	r.leaves = make([][]byte, len(recs))
	var leaf []byte
	for i, rec := range recs {
		leaf = waarborg.AppendLeaf(leaf[:0], rec.Tenant, rec.ID, received, rec.Hash())
		r.leaves[i] = hasher.HashLeaf(leaf)
	}
	return r
}

// ErrClosed is returned by calls on a closed Ledger.
var ErrClosed = errors.New("ledger is closed")

// Append appends records to their tenants' logs in order and returns when
// the accepted ones are durably stored, each with its outcome. Records
// must have been validated by waarborg.ParseRecord.
func (l *Ledger) Append(ctx context.Context, recs []*waarborg.Record) ([]Result, error) {
	wait, err := l.Enqueue(ctx, recs)
	if err != nil {
		return nil, err
	}
	return wait()
}

// Enqueue queues records for appending and returns once they are queued;
// wait returns what Append would. Records queued by one goroutine are
// appended in the order queued, so a caller can keep several batches in
// flight, and they share commits.
func (l *Ledger) Enqueue(ctx context.Context, recs []*waarborg.Record) (wait func() ([]Result, error), err error) {
	if len(recs) == 0 {
		return func() ([]Result, error) { return nil, nil }, nil
	}
	r := newRequest(recs, l.cfg.Now())
	if err := l.queue(ctx, r); err != nil {
		return nil, err
	}
	return func() ([]Result, error) {
		// Once queued, a request is committed or failed as a whole; waiting
		// for it keeps the caller from reporting a record lost that was kept.
		if err := l.wait(r); err != nil {
			return nil, err
		}
		return r.results, r.err
	}, nil
}

// wait waits for a queued request. A request that entered the queue after
// the writer's last drain is never run: it fails with ErrClosed.
func (l *Ledger) wait(r *request) error {
	select {
	case <-r.done:
		return nil
	case <-l.done:
		select {
		case <-r.done: // run before the writer stopped
			return nil
		default:
			return ErrClosed
		}
	}
}

// Sync makes a checkpoint of tenant's log now if its latest one does not
// cover every entry, and returns the latest checkpoint.
func (l *Ledger) Sync(ctx context.Context, tenant string) (*waarborg.Checkpoint, error) {
	r := &request{flush: tenant, done: make(chan struct{})}
	if err := l.queue(ctx, r); err != nil {
		return nil, err
	}
	if err := l.wait(r); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	return l.cfg.Store.Checkpoint(ctx, tenant, 0)
}

func (l *Ledger) queue(ctx context.Context, r *request) error {
	select {
	case l.reqs <- r:
		return nil
	case <-l.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close checkpoints every log with unsigned entries and stops the writer.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		l.stop()
		<-l.done
	})
	return l.closeErr
}

func (l *Ledger) run(ctx context.Context) {
	defer close(l.done)
	tick := time.NewTicker(l.cfg.CheckpointEvery / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			l.drain()
			l.closeErr = l.commit(nil, true)
			return
		case <-tick.C:
			if err := l.commit(nil, false); err != nil {
				l.cfg.Logger.Error("checkpoint", "err", err)
			}
		case r := <-l.reqs:
			if r.rotate != nil {
				l.rotateNow(r)
				continue
			}
			batch := []*request{r}
			n := len(r.recs)
			var rot *request // a rotation ends a batch: what came before it is signed with the old key
		more:
			for n < l.cfg.MaxBatch {
				select {
				case r := <-l.reqs:
					if r.rotate != nil {
						rot = r
						break more
					}
					batch = append(batch, r)
					n += len(r.recs)
				default:
					break more
				}
			}
			err := l.commit(batch, false)
			for _, r := range batch {
				r.err = err
				close(r.done)
			}
			if rot != nil {
				l.rotateNow(rot)
			}
		}
	}
}

// rotateNow carries out a rotation request.
func (l *Ledger) rotateNow(r *request) {
	r.err = l.runRotation(r.rotate)
	close(r.done)
}

// drain commits what is queued when the ledger closes.
func (l *Ledger) drain() {
	for {
		select {
		case r := <-l.reqs:
			if r.rotate != nil {
				l.rotateNow(r)
				continue
			}
			r.err = l.commit([]*request{r}, false)
			close(r.done)
		default:
			return
		}
	}
}

// work is what one commit does for one tenant.
type work struct {
	tenant  string
	pending []*waarborg.Pending
	leaves  [][]byte // the leaf hash of each pending record
	results []*Result
	force   bool
}

// commit appends a group of requests in one transaction, and signs a
// checkpoint for every log whose unsigned entries are due (or all of them
// when final).
func (l *Ledger) commit(batch []*request, final bool) error {
	return l.commitSigned(batch, final, l.cfg.Signer)
}

// commitSigned is commit with the checkpoints signed by signer.
func (l *Ledger) commitSigned(batch []*request, final bool, signer note.Signer) error {
	ctx := context.Background()
	now := l.cfg.Now().UTC().Truncate(time.Millisecond)

	var order []*work
	byTenant := map[string]*work{}
	get := func(tenant string) *work {
		w := byTenant[tenant]
		if w == nil {
			w = &work{tenant: tenant}
			byTenant[tenant] = w
			order = append(order, w)
		}
		return w
	}
	// A batch is often tens of thousands of records of one tenant: its
	// works are sized once, and its pending records are one allocation.
	var of []*work // the work of each record of the batch, in order
	counts := map[*work]int{}
	for _, r := range batch {
		if r.flush != "" {
			get(r.flush).force = true
		}
		for _, rec := range r.recs {
			w := get(rec.Tenant)
			of = append(of, w)
			counts[w]++
		}
	}
	for w, c := range counts {
		w.pending, w.leaves, w.results = make([]*waarborg.Pending, 0, c), make([][]byte, 0, c), make([]*Result, 0, c)
	}
	pending := make([]waarborg.Pending, 0, len(of))
	for _, r := range batch {
		r.results = make([]Result, len(r.recs))
		for i, rec := range r.recs {
			w := of[len(pending)]
			pending = append(pending, waarborg.Pending{Record: rec, Hash: rec.Hash(), ReceivedAt: r.received})
			w.pending = append(w.pending, &pending[len(pending)-1])
			w.leaves = append(w.leaves, r.leaves[i])
			w.results = append(w.results, &r.results[i])
		}
	}
	if final || len(batch) == 0 {
		for tenant, t := range l.trees {
			if t.size() > t.cpSize {
				get(tenant)
			}
		}
	}
	if len(order) == 0 {
		return nil
	}

	trees := make([]*tree, len(order))
	err := l.cfg.Store.Update(ctx, func(tx waarborg.Tx) error {
		if err := l.lockTrees(ctx, tx, order, trees); err != nil {
			return err
		}
		for i, w := range order {
			if trees[i].size() == 0 && len(w.pending) > 0 {
				if err := l.startWithKeyHistory(ctx, w, now); err != nil {
					return err
				}
			}
		}
		for i, w := range order {
			t := trees[i]
			if len(w.pending) > 0 {
				// A feed sends new records: the tree grows by all of them
				// while the store writes them.
				ahead := t.appendAhead(w.leaves)
				if err := tx.Add(w.tenant, t.size(), w.pending); err != nil {
					ahead()
					return fmt.Errorf("add records of %s: %w", w.tenant, err)
				}
				grown := ahead()
				allAdded := true
				for j, p := range w.pending {
					allAdded = allAdded && p.Added && p.Index == t.size()+uint64(j)
					res := w.results[j]
					res.ReceivedAt = p.ReceivedAt
					switch {
					case p.Added:
						res.Outcome, res.Index = Accepted, p.Index
					case p.Existing == p.Hash:
						res.Outcome = Duplicate
					default:
						res.Outcome = Conflict
					}
				}
				if allAdded {
					*t = *grown
				} else if err := t.appendAdded(w.pending, w.leaves); err != nil {
					return err
				}
				if err := tx.PutTiles(w.tenant, t.takeDirty()); err != nil {
					return fmt.Errorf("store tiles of %s: %w", w.tenant, err)
				}
			}
			due := final || w.force || now.UnixMilli()-t.cpTime >= l.cfg.CheckpointEvery.Milliseconds()
			if t.size() > t.cpSize && due {
				root := t.root()
				signed, err := signCheckpoint(signer, Origin(l.cfg.Deployment, w.tenant), t.size(), root)
				if err != nil {
					return err
				}
				cp := &waarborg.Checkpoint{Tenant: w.tenant, Size: t.size(), Root: root, SignedAt: now, Note: signed}
				if err := tx.AddCheckpoint(cp); err != nil {
					return fmt.Errorf("store checkpoint of %s: %w", w.tenant, err)
				}
				t.cpSize, t.cpTime = t.size(), now.UnixMilli()
			}
		}
		return nil
	})
	if err != nil {
		// The writer's state may be ahead of the store now: rebuild it.
		for _, w := range order {
			delete(l.trees, w.tenant)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// startWithKeyHistory puts the key history before the records of a log's
// first commit: a log that starts after a rotation verifies with any key of
// the deployment's.
func (l *Ledger) startWithKeyHistory(ctx context.Context, w *work, now time.Time) error {
	recs, err := l.keyHistoryFor(ctx, w.tenant)
	if err != nil || len(recs) == 0 {
		return err
	}
	kr := newRequest(recs, now)
	pend := make([]*waarborg.Pending, 0, len(recs)+len(w.pending))
	results := make([]*Result, 0, len(recs)+len(w.results))
	for _, r := range recs {
		pend = append(pend, &waarborg.Pending{Record: r, Hash: r.Hash(), ReceivedAt: kr.received})
		results = append(results, new(Result))
	}
	w.pending, w.leaves, w.results = append(pend, w.pending...), append(kr.leaves, w.leaves...), append(results, w.results...)
	return nil
}

// lockTrees fills trees with the writer state of each tenant that the
// transaction appends to. On a store that several processes share it first
// locks the tenants, in name order so that two processes never wait on each
// other, and reloads the state of any log that another process appended to
// or checkpointed since this one last did.
func (l *Ledger) lockTrees(ctx context.Context, tx waarborg.Tx, order []*work, trees []*tree) error {
	lt, shared := tx.(waarborg.LockingTx)
	byName := make([]int, len(order))
	for i := range byName {
		byName[i] = i
	}
	if shared {
		slices.SortFunc(byName, func(a, b int) int { return strings.Compare(order[a].tenant, order[b].tenant) })
	}
	for _, i := range byName {
		tenant := order[i].tenant
		t, ok := l.trees[tenant]
		if shared {
			// A log is created by its first append only.
			size, checkpointed, err := lt.Lock(tenant, len(order[i].pending) > 0)
			if err != nil {
				return fmt.Errorf("lock log of %s: %w", tenant, err)
			}
			if ok && (t.size() != size || t.cpSize != checkpointed) {
				ok = false
			}
		}
		if !ok {
			// Under the lock the store holds every commit of the log: reads
			// outside this transaction see them all.
			var err error
			if t, err = loadTree(ctx, l.cfg.Store, tenant); err != nil {
				return fmt.Errorf("load log of %s: %w", tenant, err)
			}
			l.trees[tenant] = t
		}
		trees[i] = t
	}
	return nil
}

// LeafHash returns the leaf hash of a stored entry as its fields say.
func LeafHash(s *waarborg.Stored) []byte {
	return hasher.HashLeaf(waarborg.Leaf(s.Tenant, s.ID, s.ReceivedAt, s.Hash))
}

// ContentHash returns the SHA-256 of a stored entry's canonical JSON.
func ContentHash(s *waarborg.Stored) [32]byte { return sha256.Sum256(s.Canonical) }
