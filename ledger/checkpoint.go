package ledger

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// Origin returns the checkpoint origin of a tenant's log: the deployment's
// name, then "/waarborg/", then the tenant.
func Origin(deployment, tenant string) string {
	return deployment + "/waarborg/" + tenant
}

// CheckpointText returns the body of a C2SP tlog-checkpoint.
func CheckpointText(origin string, size uint64, root []byte) string {
	return origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
}

// OpenCheckpoint verifies a signed checkpoint note with the verifier key
// and returns its origin, size and root hash.
func OpenCheckpoint(signed []byte, verifier note.Verifier) (origin string, size uint64, root []byte, err error) {
	n, err := note.Open(signed, note.VerifierList(verifier))
	if err != nil {
		return "", 0, nil, fmt.Errorf("open checkpoint: %w", err)
	}
	return ParseCheckpointText(n.Text)
}

// ParseCheckpointText parses the body of a C2SP tlog-checkpoint, extension
// lines allowed.
func ParseCheckpointText(text string) (origin string, size uint64, root []byte, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return "", 0, nil, fmt.Errorf("checkpoint: want origin, size and root hash lines")
	}
	size, err = strconv.ParseUint(lines[1], 10, 64)
	if err != nil || (len(lines[1]) > 1 && lines[1][0] == '0') {
		return "", 0, nil, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	root, err = base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return "", 0, nil, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	return lines[0], size, root, nil
}

// signCheckpoint returns the signed note of a checkpoint.
func signCheckpoint(signer note.Signer, origin string, size uint64, root []byte) ([]byte, error) {
	signed, err := note.Sign(&note.Note{Text: CheckpointText(origin, size, root)}, signer)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return signed, nil
}

// PeriodEnd returns tenant's period-end checkpoint for a period
// that ends at to: the smallest kept checkpoint, of at most end entries,
// that covers every entry received before to. While serving, waarborg
// checkpoints every log at each UTC midnight and has the witnesses cosign
// it, so for a period given as dates it is the one the witnesses saw at
// the period's end. For a period not over yet it is the end checkpoint.
func PeriodEnd(ctx context.Context, s waarborg.Store, tenant string, to time.Time, end uint64) (*waarborg.Checkpoint, error) {
	// Entries are in the order of receipt: find the first received at or
	// after to.
	lo, hi := uint64(0), end
	for lo < hi {
		mid := lo + (hi-lo)/2
		var received time.Time
		for st, err := range s.Records(ctx, tenant, mid, mid+1) {
			if err != nil {
				return nil, err
			}
			received = st.ReceivedAt
		}
		if received.Before(to) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	cps, err := s.Checkpoints(ctx, tenant)
	if err != nil {
		return nil, err
	}
	for i := range cps {
		if cps[i].Size >= lo && cps[i].Size <= end && cps[i].Size > 0 {
			return &cps[i], nil
		}
	}
	return nil, waarborg.Errorf(waarborg.ENOTFOUND, "tenant %s has no checkpoint of %d to %d entries", tenant, lo, end)
}
