package cases

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
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
//
// Key is the stable code of the message (a dictionary key of the front end, "apierr.…") and Params the values
// it names ("1", "2", … by position); Kinds says which params are domain values the front end shows by their
// label ("state", "action"). Errorf fills the three from its format and arguments; an Error built by hand
// without a Key gets MessageKey(Message) when it is answered.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
	Key     string
	Params  map[string]string
	Kinds   map[string]string
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

// Errorf returns an *Error with the given code and formatted message; its Key comes from the format and its
// Params from the arguments, so the front end can say the same in the user's language.
func Errorf(code, format string, args ...any) *Error {
	e := &Error{Code: code, Message: fmt.Sprintf(format, args...), Key: MessageKey(format)}
	for i, a := range args {
		if e.Params == nil {
			e.Params = map[string]string{}
		}
		name := strconv.Itoa(i + 1)
		e.Params[name] = fmt.Sprint(a)
		kind := ""
		switch a.(type) {
		case State:
			kind = "state"
		case Action:
			kind = "action"
		case Role:
			kind = "role"
		case EndGround:
			kind = "ground"
		}
		if kind != "" {
			if e.Kinds == nil {
				e.Kinds = map[string]string{}
			}
			e.Kinds[name] = kind
		}
	}
	return e
}

var (
	formatVerb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
	digitRun   = regexp.MustCompile(`[0-9]+`)
)

// slug makes a stable identifier of an English sentence: its first words, lower case, joined by "_".
func slug(s string, max int) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	if len(words) > max {
		words = words[:max]
	}
	return strings.Join(words, "_")
}

// MessageKey is the stable code of an error message, made from its format (the verbs left out):
// "the case is %s: %s is not possible now" → "apierr.the_case_is_is_not_possible_now". Changing the English
// changes the code, and the test of the dictionaries then asks for its translation.
func MessageKey(format string) string {
	return "apierr." + slug(formatVerb.ReplaceAllString(format, " "), 16)
}

// ReasonKey is the stable code of a field's reason ("must be at most 200 characters" →
// "apireason.must_be_at_most_n_characters" with params {"1": "200"}): numbers become params.
func ReasonKey(reason string) (string, map[string]string) {
	var params map[string]string
	n := 0
	plain := digitRun.ReplaceAllStringFunc(reason, func(d string) string {
		n++
		if params == nil {
			params = map[string]string{}
		}
		params[strconv.Itoa(n)] = d
		return " n "
	})
	return "apireason." + slug(plain, 16), params
}

// ErrorKey returns the stable message code of err with its params and their kinds ("" for errors that are not
// *Error or have no message).
func ErrorKey(err error) (key string, params, kinds map[string]string) {
	var e *Error
	if !errors.As(err, &e) {
		return "", nil, nil
	}
	if e.Key != "" {
		return e.Key, e.Params, e.Kinds
	}
	if e.Message != "" {
		return MessageKey(e.Message), nil, nil
	}
	return "", nil, nil
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
