package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/parley-mediation/parley/cases"
)

// apiError is the body of every error answer.
type apiError struct {
	Error errorBody `json:"error"`
}

// Code is coarse (it sets the status); Key is the stable code of the message, with its Params (and the Kinds
// of those that are domain values), and Reasons the stable code of each field's reason: the front end shows
// them in the user's language, never the English Message.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Key     string            `json:"key,omitempty"`
	Params  map[string]string `json:"params,omitempty"`
	Kinds   map[string]string `json:"param_kinds,omitempty"`
	Reasons map[string]reason `json:"reasons,omitempty"`
}

type reason struct {
	Key    string            `json:"key"`
	Params map[string]string `json:"params,omitempty"`
}

// bodyOf is the error body of err.
func bodyOf(err error) errorBody {
	b := errorBody{Code: cases.ErrorCode(err), Message: cases.ErrorMessage(err), Fields: cases.ErrorFields(err)}
	if b.Code != cases.EINTERNAL {
		b.Key, b.Params, b.Kinds = cases.ErrorKey(err)
	}
	for f, why := range b.Fields {
		if b.Reasons == nil {
			b.Reasons = map[string]reason{}
		}
		k, p := cases.ReasonKey(why)
		b.Reasons[f] = reason{k, p}
	}
	return b
}

var statusFor = map[string]int{
	cases.EINVALID:       http.StatusBadRequest,
	cases.EUNAUTHORIZED:  http.StatusUnauthorized,
	cases.EFORBIDDEN:     http.StatusForbidden,
	cases.ENOTFOUND:      http.StatusNotFound,
	cases.ECONFLICT:      http.StatusConflict,
	cases.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	cases.ERATELIMIT:     http.StatusTooManyRequests,
	cases.EINTERNAL:      http.StatusInternalServerError,
	"unsupported_media":  http.StatusUnsupportedMediaType,
	"too_large":          http.StatusRequestEntityTooLarge,
	"body_timeout":       http.StatusRequestTimeout,
	codeUnavailable:      http.StatusServiceUnavailable,

	// Material uploads (cases/materialcheck.go).
	cases.EMaterialEmpty:    http.StatusBadRequest,
	cases.EMaterialFilename: http.StatusBadRequest,
	cases.EMaterialTooLarge: http.StatusRequestEntityTooLarge,
	cases.ECaseFileFull:     http.StatusRequestEntityTooLarge,
	cases.EMaterialType:     http.StatusUnsupportedMediaType,
	cases.EMaterialBomb:     http.StatusUnprocessableEntity,
	cases.EAttachmentHidden: http.StatusUnprocessableEntity, // cases/attachments.go
}

// encode writes v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
	}
}

// fail answers with err as an error body; internal errors are logged and shown without detail.
func fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code := cases.ErrorCode(err)
	if code == cases.EINTERNAL && unavailable(err) && r.Context().Err() == nil {
		// The database (or Redis) does not answer: a clear "try again" (503), not an internal error.
		logger.Warn("request failed: store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		encode(w, http.StatusServiceUnavailable, apiError{errorBody{Code: codeUnavailable, Message: "the service is briefly unavailable; try again in a few seconds"}})
		return
	}
	status, ok := statusFor[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	if status >= 500 {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	encode(w, status, apiError{bodyOf(err)})
}

// validator is implemented by request types that check themselves.
type validator interface {
	Valid() map[string]string
}

// decode reads a JSON body of type T: it must be application/json, at most limit bytes, one JSON value with no
// unknown fields and no NUL characters; when T checks itself, its problems are returned as an EINVALID error.
func decode[T any](r *http.Request, limit int64) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return v, &cases.Error{Code: "unsupported_media", Message: "send the body as application/json"}
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if errors.Is(err, errSlowBody) {
		return v, &cases.Error{Code: "body_timeout", Message: "the request body arrived too slowly"}
	}
	if err != nil {
		return v, cases.Errorf(cases.EINVALID, "could not read the request body")
	}
	if int64(len(body)) > limit {
		return v, cases.Errorf("too_large", "the request body is larger than %d bytes", limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return v, cases.Errorf(cases.EINVALID, "the request body is empty: send a JSON object")
	}
	if bytes.Contains(body, []byte(`\u0000`)) || bytes.IndexByte(body, 0) >= 0 {
		return v, cases.Errorf(cases.EINVALID, "the request body contains a NUL character")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, cases.Errorf(cases.EINVALID, "the request body is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	if dec.More() {
		return v, cases.Errorf(cases.EINVALID, "the request body has data after the JSON value")
	}
	if val, ok := any(v).(validator); ok {
		if err := cases.Invalid(val.Valid()); err != nil {
			return v, err
		}
	}
	return v, nil
}

// jsonProblem describes a decoding error without echoing Go type names.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s must be %s, not %s", field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too early"
	}
	return "malformed"
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "ptr":
		return "a value"
	}
	return "a number"
}

// encodeTo writes v as indented JSON (for command output).
func encodeTo(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
