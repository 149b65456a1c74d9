package cases

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id parameters for new password hashes (OWASP's 2023 minimum: 19 MiB, 2 passes).
// Existing hashes keep the parameters they were made with, which are stored in them.
var PasswordParams = struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// HashPassword returns an argon2id hash in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("cases: hash password: %w", err)
	}
	p := PasswordParams
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches an argon2id hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when a username does not exist, so that both paths take the same time.
var dummyHash, _ = HashPassword("parley: no such user")

// The password policy: at least 12 characters (at most 200), not the user name, not the previous password, not
// one of the common passwords shipped with the binary (common-passwords.txt), and not one character repeated or a
// plain run of the keyboard or of digits.

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 12

//go:embed common-passwords.txt
var commonPasswordList string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 50000)
	for _, line := range strings.Split(commonPasswordList, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = struct{}{}
		}
	}
	return m
})

// runs are sequences whose stretches make weak passwords.
var runs = []string{"01234567890123456789", "98765432109876543210", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn", "1q2w3e4r5t6y7u8i9o0p"}

// PasswordProblem says what is wrong with password as the new password of the account username whose current
// hash is previousHash ("" for a new account); "" when the password may be used.
func PasswordProblem(username, password, previousHash string) string {
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLen || n > 200 {
		return fmt.Sprintf("must be %d to 200 characters", MinPasswordLen)
	}
	low := strings.ToLower(password)
	if u := strings.ToLower(strings.TrimSpace(username)); u != "" && (low == u || strings.Contains(low, u) && utf8.RuneCountInString(u) >= n/2) {
		return "must not be the user name"
	}
	if _, ok := commonPasswords()[low]; ok {
		return "is one of the most common passwords: choose another"
	}
	if strings.Count(low, string([]rune(low)[:1])) == utf8.RuneCountInString(low) {
		return "is one character repeated: choose another"
	}
	for _, r := range runs {
		if strings.Contains(r, low) {
			return "is a plain run of the keyboard or of digits: choose another"
		}
	}
	if previousHash != "" && CheckPassword(previousHash, password) {
		return "must differ from the current password"
	}
	return ""
}
