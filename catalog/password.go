package catalog

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argonParams are the argon2id cost parameters of new hashes. Stored hashes
// carry their own parameters (PHC string format), so these can be raised
// later without invalidating old passwords.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
	saltLen int
}

// argonDefault follows the OWASP recommendation for argon2id
// (19 MiB, 2 iterations, 1 lane). Tests lower it.
var argonDefault = argonParams{memory: 19 * 1024, time: 2, threads: 1, keyLen: 32, saltLen: 16}

// hashSlots bounds concurrent hashing: each hash holds argonParams.memory, and
// a burst of logins must not exhaust RAM. Hashing is CPU-bound anyway.
var hashSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

const (
	minPasswordLen = 8    // characters
	maxPasswordLen = 1024 // bytes; argon2 cost grows with input length
	// unusablePassword is stored for system users: it is no PHC string, so
	// no password verifies against it.
	unusablePassword = "!"
)

func validatePassword(password string) error {
	if utf8.RuneCountInString(password) < minPasswordLen {
		return invalid("password", fmt.Sprintf("must be at least %d characters", minPasswordLen))
	}
	if len(password) > maxPasswordLen {
		return invalid("password", fmt.Sprintf("must be at most %d bytes", maxPasswordLen))
	}
	return nil
}

// hashPassword returns the argon2id PHC string of password with a random salt:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded standard base64).
func hashPassword(password string) (string, error) {
	p := argonDefault
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argonKey([]byte(password), salt, p)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// argonKey runs argon2id in one of the hashSlots.
func argonKey(password, salt []byte, p argonParams) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(password, salt, p.time, p.memory, p.threads, p.keyLen)
}

// verifyPassword reports whether password matches the PHC string encoded.
// A malformed or unusable hash costs one dummy hash and fails, so the time
// taken does not tell whether an account exists.
func verifyPassword(encoded, password string) bool {
	p, salt, want, err := parsePHC(encoded)
	if err != nil {
		dummyVerify(password)
		return false
	}
	got := argonKey([]byte(password), salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is verified against for unknown users.
var dummyHash = sync.OnceValue(func() string {
	h, err := hashPassword("seedbed-timing-equalizer")
	if err != nil {
		panic(err) // crypto/rand failed; nothing works then
	}
	return h
})

// dummyVerify spends the time of one verification.
func dummyVerify(password string) {
	p, salt, _, err := parsePHC(dummyHash())
	if err == nil {
		argonKey([]byte(password), salt, p)
	}
}

var errBadPHC = errors.New("malformed argon2id hash")

// parsePHC splits "$argon2id$v=19$m=..,t=..,p=..$salt$hash".
func parsePHC(encoded string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadPHC
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadPHC
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, nil, nil, errBadPHC
	}
	if p.memory == 0 || p.time == 0 || p.threads == 0 || p.memory > 1<<22 || p.time > 64 {
		return p, nil, nil, errBadPHC
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errBadPHC
	}
	p.keyLen = uint32(len(key))
	return p, salt, key, nil
}

// randomHex returns n random bytes as lowercase hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
