package ledger

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
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
