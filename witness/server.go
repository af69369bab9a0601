// Package witness keeps waarborg's checkpoints from being rewritten unseen.
// Server is a C2SP tlog-witness that an auditor runs (waarborg witness):
// it cosigns a checkpoint only when it is consistent with every checkpoint
// of the same log it cosigned before. Submitter is the other side: while
// waarborg serve runs it sends each tenant's new checkpoints to the
// configured witnesses and keeps their cosignatures (C2SP
// tlog-cosignature/v1) beside the checkpoints; Exporter pushes each
// tenant's latest cosigned checkpoint out daily.
//
// It is an adapter: it speaks HTTP and keeps the server's state in SQLite.
package witness

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/waarborg/waarborg/ledger"
)

// maxRequest bounds an add-checkpoint body: a checkpoint and a proof of at
// most 63 hashes fit many times over.
const maxRequest = 64 << 10

// Server is a witness: an http.Handler of POST /add-checkpoint (C2SP
// tlog-witness) over a SQLite file that holds, per log origin, the latest
// size and root it cosigned and the key that signed them.
type Server struct {
	db       *sql.DB
	cosigner *ledger.Cosigner
	logKeys  []note.Verifier
	log      *slog.Logger
	mu       sync.Mutex // one add-checkpoint at a time: check and update are one step
}

// Open opens (creating if needed) the witness state at path. The witness
// cosigns with cosigner the checkpoints of the logs whose keys are in
// logKeys: a key named N covers origin N and every origin under "N/" (a
// waarborg deployment's tenants).
func Open(ctx context.Context, path string, cosigner *ledger.Cosigner, logKeys []note.Verifier, logger *slog.Logger) (*Server, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open witness state: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS logs (
		origin  TEXT PRIMARY KEY,
		size    INTEGER NOT NULL,
		root    BLOB NOT NULL,
		key     TEXT NOT NULL,    -- name and key ID of the log key that signed it
		updated INTEGER NOT NULL  -- Unix seconds
	)`); err != nil {
		db.Close()
		return nil, fmt.Errorf("create witness state: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{db: db, cosigner: cosigner, logKeys: logKeys, log: logger}, nil
}

// Close closes the state file.
func (s *Server) Close() error { return s.db.Close() }

// ServeHTTP serves POST /add-checkpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/add-checkpoint" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		http.Error(w, "request too large or unreadable", http.StatusBadRequest)
		return
	}
	sigs, err := s.AddCheckpoint(r.Context(), body)
	if err != nil {
		var re *refusal
		if !errors.As(err, &re) {
			s.log.Error("add-checkpoint", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		s.log.Warn("add-checkpoint refused", "status", re.status, "reason", re.msg)
		if re.status == http.StatusConflict {
			w.Header().Set("Content-Type", "text/x.tlog.size")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprintf(w, "%d\n", re.size)
			return
		}
		http.Error(w, re.msg, re.status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(sigs)
}

// A refusal is an add-checkpoint request the witness turns down, with the
// status the protocol gives it.
type refusal struct {
	status int
	msg    string
	size   uint64 // the witness's size, for a conflict
}

func (r *refusal) Error() string { return r.msg }

func refuse(status int, format string, args ...any) error {
	return &refusal{status: status, msg: fmt.Sprintf(format, args...)}
}

// AddCheckpoint handles one add-checkpoint request body: "old <size>", the
// consistency proof's hashes one a line, an empty line and the signed
// checkpoint. It returns the cosignature's signature line, having recorded
// the new size and root, or a refusal: 400 for a malformed request, 404 for
// a log it does not witness, 403 when no trusted key signed it, 409 (with
// the witness's size) when old is not the size it knows, 422 when the proof
// does not show the checkpoint extends what it knows: a rewritten history.
func (s *Server) AddCheckpoint(ctx context.Context, body []byte) ([]byte, error) {
	head, signed, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return nil, refuse(http.StatusBadRequest, "want the old size and proof, an empty line and the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	oldText, ok := strings.CutPrefix(lines[0], "old ")
	old, err := strconv.ParseUint(oldText, 10, 64)
	if !ok || err != nil || strconv.FormatUint(old, 10) != oldText {
		return nil, refuse(http.StatusBadRequest, "the first line must be old <size>")
	}
	proof := make([][]byte, 0, len(lines)-1)
	for _, l := range lines[1:] {
		h, err := base64.StdEncoding.DecodeString(l)
		if err != nil || len(h) != 32 {
			return nil, refuse(http.StatusBadRequest, "a proof line is not a base64 hash")
		}
		proof = append(proof, h)
	}
	origin, _, _ := strings.Cut(string(signed), "\n")
	var keys []note.Verifier
	for _, k := range s.logKeys {
		if origin == k.Name() || strings.HasPrefix(origin, k.Name()+"/") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, refuse(http.StatusNotFound, "origin %q is not a log this witness witnesses", origin)
	}
	n, err := note.Open(signed, note.VerifierList(keys...))
	if err != nil {
		return nil, refuse(http.StatusForbidden, "the checkpoint is not signed by a key of %s: %v", origin, err)
	}
	gotOrigin, size, root, err := ledger.ParseCheckpointText(n.Text)
	if err != nil || gotOrigin != origin {
		return nil, refuse(http.StatusBadRequest, "not a checkpoint: %v", err)
	}
	if old > size {
		return nil, refuse(http.StatusBadRequest, "old size %d is beyond the checkpoint's %d", old, size)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	known, knownRoot, err := s.latest(ctx, origin)
	if err != nil {
		return nil, err
	}
	if old != known {
		return nil, &refusal{status: http.StatusConflict, msg: fmt.Sprintf("old size %d, the witness knows %d", old, known), size: known}
	}
	switch {
	case old == 0:
		if len(proof) != 0 {
			return nil, refuse(http.StatusUnprocessableEntity, "a proof from the empty tree must be empty")
		}
	case old == size:
		if len(proof) != 0 || !bytes.Equal(root, knownRoot) {
			return nil, refuse(http.StatusUnprocessableEntity, "a checkpoint of size %d with another root than the one cosigned: the history was rewritten", size)
		}
	default:
		if err := ledger.VerifyConsistency(old, size, proof, knownRoot, root); err != nil {
			return nil, refuse(http.StatusUnprocessableEntity, "the checkpoint does not extend the one of size %d cosigned before: %v", old, err)
		}
	}
	signer := fmt.Sprintf("%s+%08x", n.Sigs[0].Name, n.Sigs[0].Hash)
	if _, err := s.db.ExecContext(ctx, `INSERT INTO logs (origin, size, root, key, updated) VALUES (?,?,?,?,?)
		ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, key = excluded.key, updated = excluded.updated`,
		origin, int64(size), root, signer, time.Now().Unix()); err != nil {
		return nil, fmt.Errorf("record %s at %d: %w", origin, size, err)
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text}, s.cosigner)
	if err != nil {
		return nil, fmt.Errorf("cosign: %w", err)
	}
	s.log.Info("cosigned", "origin", origin, "size", size, "old", old)
	return cosigned[len(n.Text)+1:], nil
}

// latest returns the size and root of origin the witness cosigned last,
// 0 and nil for a log it has not seen.
func (s *Server) latest(ctx context.Context, origin string) (uint64, []byte, error) {
	var (
		size int64
		root []byte
	)
	err := s.db.QueryRowContext(ctx, "SELECT size, root FROM logs WHERE origin = ?", origin).Scan(&size, &root)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read state of %s: %w", origin, err)
	}
	return uint64(size), root, nil
}
