package cases

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status in cmd/parley; the message is safe to show to the user.
const (
	EINVALID       = "invalid"       // malformed or missing input (400)
	EUNAUTHORIZED  = "unauthorized"  // no valid credentials (401)
	EFORBIDDEN     = "forbidden"     // authenticated but not allowed (403)
	ENOTFOUND      = "not_found"     // no such thing, or not visible to the caller (404)
	ECONFLICT      = "conflict"      // the thing changed under the caller or is in the wrong state (409)
	EUNPROCESSABLE = "unprocessable" // well-formed but refused by a domain rule (422)
	ERATELIMIT     = "rate_limited"  // too many attempts (429)
	EINTERNAL      = "internal"      // anything else (500); the message never leaks details
)

// Error is a domain error with a code, a message safe to show, and optional per-field reasons.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("cases: %s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + e.Fields[k])
	}
	return fmt.Sprintf("cases: %s: %s (%s)", e.Code, e.Message, b.String())
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error listing the fields at fault, or nil when fields is empty.
func Invalid(fields map[string]string) error {
	if len(fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "the request has invalid fields", Fields: fields}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of err; errors that are not *Error give a generic message.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the per-field reasons of err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
