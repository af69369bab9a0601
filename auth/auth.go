// Package auth makes and checks the credentials of waarborg's users and
// machines: argon2id password hashes (RFC 9106) and the random secrets of
// sessions and API tokens, of which only SHA-256 digests are stored.
//
// It does no I/O but reading the system's random source; web and
// cmd/waarborg import it.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/waarborg/waarborg"
)

// Params are the argon2id cost parameters of a hash. Each hash carries
// its own, so that raising the defaults leaves old hashes valid.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// Default is the cost of new password hashes: 46 MiB, 1 pass, 1 lane
// (OWASP's first argon2id setting), about 0.1 s on one core of the
// project's VM. Login is also rate-limited.
var Default = Params{Memory: 46 << 10, Time: 1, Threads: 1}

// Cheap is for tests only: hashing with it takes microseconds.
var Cheap = Params{Memory: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// MinPassword is the shortest password accepted (NIST SP 800-63B asks
	// for at least 8; a password that guards audit evidence gets more).
	MinPassword = 12
	// MaxPassword bounds the work a login can ask for.
	MaxPassword = 1024
)

// CheckStrength returns EINVALID when a new password is too short or too
// long. Its message never contains the password.
func CheckStrength(password string) error {
	switch n := len([]rune(password)); {
	case n < MinPassword:
		return waarborg.Errorf(waarborg.EINVALID, "a password needs at least %d characters", MinPassword)
	case len(password) > MaxPassword:
		return waarborg.Errorf(waarborg.EINVALID, "a password has at most %d bytes", MaxPassword)
	}
	return nil
}

// HashPassword returns the encoded argon2id hash of password with a new
// random salt, in the PHC string format that reference implementations
// read: $argon2id$v=19$m=47104,t=1,p=1$<salt>$<hash>.
func HashPassword(password string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an encoded hash, in time
// that does not depend on where they differ. A malformed hash matches
// nothing.
func CheckPassword(encoded, password string) bool {
	p, salt, key, ok := decode(encoded)
	if !ok || len(password) > MaxPassword {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// dummy is checked against when a user does not exist, so that a login
// for an unknown name takes as long as one with a wrong password. It is
// made on the first such login: an argon2id hash at package start-up cost
// every command and test binary 46 MiB and a tenth of a second.
var dummy = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anyone", Default)
	return h
})

// CheckNobody spends the time of one CheckPassword and returns false.
func CheckNobody(password string) bool {
	CheckPassword(dummy(), password)
	return false
}

// NeedsRehash reports whether an encoded hash is cheaper than p.
func NeedsRehash(encoded string, p Params) bool {
	q, _, _, ok := decode(encoded)
	return !ok || q.Memory < p.Memory || q.Time < p.Time
}

func decode(encoded string) (p Params, salt, key []byte, ok bool) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, false
	}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return p, nil, nil, false
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return p, nil, nil, false
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, false
		}
	}
	// A stored hash is trusted input, but bound what it can ask for.
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 || p.Time > 64 {
		return p, nil, nil, false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, false
	}
	return p, salt, key, true
}

// Digest is the SHA-256 of a secret: what the store keeps of a session
// or token. Secrets have 256 random bits, so a plain hash suffices.
func Digest(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// TokenPrefix starts every API token, so that a leaked one is easy to
// recognise (secret scanners, logs).
const TokenPrefix = "wbt_"

// NewToken returns the secret text of a new API token, its public id (part
// of the text) and its digest: wbt_<id>_<secret>, where id is 8 hex
// digits and the secret 256 random bits.
func NewToken() (text, id string, digest [32]byte, err error) {
	b := make([]byte, 4+32)
	if _, err := rand.Read(b); err != nil {
		return "", "", digest, fmt.Errorf("token secret: %w", err)
	}
	id = hex.EncodeToString(b[:4])
	text = TokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[4:])
	return text, id, Digest(text), nil
}

// NewSecret returns a new random session secret and its digest.
func NewSecret() (text string, digest [32]byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", digest, fmt.Errorf("session secret: %w", err)
	}
	text = base64.RawURLEncoding.EncodeToString(b)
	return text, Digest(text), nil
}
