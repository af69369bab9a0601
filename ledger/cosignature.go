package ledger

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/waarborg/waarborg"
)

// algCosignatureV1 is the signature type byte of C2SP tlog-cosignature/v1
// in a verifier key and its key ID.
const algCosignatureV1 = 0x04

// A CosignatureVerifier checks a witness's C2SP tlog-cosignature/v1
// signatures. It is a note.Verifier: a signature is the witness's 8-byte
// big-endian Unix time, then an Ed25519 signature of
// "cosignature/v1\ntime <t>\n" followed by the checkpoint.
type CosignatureVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

// NewCosignatureVerifier parses a witness's verifier key,
// <name>+<hex key ID>+<base64 of 0x04 and the Ed25519 public key>.
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 || !validKeyName(parts[0]) || len(parts[1]) != 8 {
		return nil, fmt.Errorf("witness key %q: want name+keyid+key", vkey)
	}
	hash, err1 := strconv.ParseUint(parts[1], 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, fmt.Errorf("witness key %q is not a cosignature/v1 Ed25519 key", vkey)
	}
	v := &CosignatureVerifier{name: parts[0], hash: keyID(parts[0], key), key: ed25519.PublicKey(key[1:])}
	if uint32(hash) != v.hash {
		return nil, fmt.Errorf("witness key %q: the key ID does not match the key", vkey)
	}
	return v, nil
}

// Name returns the witness's name.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash returns the key ID.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// Verify reports whether sig is this witness's cosignature of the
// checkpoint msg.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	m, err := cosignedMessage(binary.BigEndian.Uint64(sig), msg)
	return err == nil && ed25519.Verify(v.key, m, sig[8:])
}

// String returns the verifier key.
func (v *CosignatureVerifier) String() string {
	return fmt.Sprintf("%s+%08x+%s", v.name, v.hash, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, v.key...)))
}

// A Cosigner makes tlog-cosignature/v1 signatures: a note.Signer for
// checkpoints, stamped with Now.
type Cosigner struct {
	v   CosignatureVerifier
	key ed25519.PrivateKey
	now func() time.Time
}

// NewCosigner returns the cosigner named name with key; now nil means
// time.Now.
func NewCosigner(name string, key ed25519.PrivateKey, now func() time.Time) (*Cosigner, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("witness name %q: want a non-empty name without spaces or +", name)
	}
	if now == nil {
		now = time.Now
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Cosigner{
		v:   CosignatureVerifier{name: name, hash: keyID(name, append([]byte{algCosignatureV1}, pub...)), key: pub},
		key: key,
		now: now,
	}, nil
}

// Name returns the witness's name.
func (c *Cosigner) Name() string { return c.v.name }

// KeyHash returns the key ID.
func (c *Cosigner) KeyHash() uint32 { return c.v.hash }

// Verifier returns the cosigner's verifier.
func (c *Cosigner) Verifier() *CosignatureVerifier { return &c.v }

// Sign cosigns the checkpoint msg at the current time.
func (c *Cosigner) Sign(msg []byte) ([]byte, error) {
	t := uint64(c.now().Unix())
	m, err := cosignedMessage(t, msg)
	if err != nil {
		return nil, err
	}
	return append(binary.BigEndian.AppendUint64(nil, t), ed25519.Sign(c.key, m)...), nil
}

// cosignedMessage returns what a cosignature of checkpoint text at time t
// signs. Only a checkpoint is ever cosigned.
func cosignedMessage(t uint64, text []byte) ([]byte, error) {
	if _, _, _, err := ParseCheckpointText(string(text)); err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, text), nil
}

func keyID(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// NoteText returns the signed text of a signed note: what a checkpoint's
// signatures, and its cosignatures, sign.
func NoteText(signed []byte) (string, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return "", errors.New("not a signed note")
	}
	return string(signed[:i+1]), nil
}

// OpenCosignature checks one signature line of a witness's cosignature of
// the checkpoint text and returns it with the witness's time. The line is
// as a signed note holds it: "— <name> <base64>\n".
func OpenCosignature(text, line string, witness *CosignatureVerifier) (*waarborg.Cosignature, error) {
	line = strings.TrimSuffix(line, "\n") + "\n"
	if strings.Count(line, "\n") != 1 {
		return nil, errors.New("a cosignature is one signature line")
	}
	n, err := note.Open([]byte(text+"\n"+line), note.VerifierList(witness))
	if err != nil {
		return nil, fmt.Errorf("cosignature of %s: %w", witness.Name(), err)
	}
	sig, _ := base64.StdEncoding.DecodeString(n.Sigs[0].Base64)
	if len(sig) < 12 {
		return nil, fmt.Errorf("cosignature of %s: too short", witness.Name())
	}
	t := binary.BigEndian.Uint64(sig[4:12])
	if t > 1<<62 {
		return nil, fmt.Errorf("cosignature of %s: time %d is out of range", witness.Name(), t)
	}
	_, size, _, err := ParseCheckpointText(text)
	if err != nil {
		return nil, err
	}
	return &waarborg.Cosignature{Size: size, Witness: witness.Name(), KeyHash: witness.KeyHash(), Time: time.Unix(int64(t), 0).UTC(), Line: line}, nil
}

// SignatureLines splits the signature lines of a signed note, or of a
// witness's response to add-checkpoint, into one string per line.
func SignatureLines(sigs string) []string {
	var out []string
	for line := range strings.Lines(sigs) {
		if strings.HasPrefix(line, "— ") {
			out = append(out, strings.TrimSuffix(line, "\n")+"\n")
		}
	}
	return out
}

// Cosigned returns the checkpoint's signed note with the cosignatures'
// signature lines appended: one signed note that any C2SP verifier reads,
// with the log's key or any of the witnesses' keys.
func Cosigned(signed []byte, cosigs []waarborg.Cosignature) []byte {
	out := bytes.Clone(signed)
	for _, c := range cosigs {
		out = append(out, c.Line...)
	}
	return out
}

// SignatureKeyID returns the key ID of a signature line by the key named
// name, and false for a line by another name or a malformed one.
func SignatureKeyID(line, name string) (uint32, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "— "+name+" ")
	if !ok {
		return 0, false
	}
	sig, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(sig) < 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(sig), true
}
