package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-mediation/parley/cases"
)

// apiMessage is one error message (or field reason) the API can answer with: its stable code and the English
// template the dictionaries hold for it.
type apiMessage struct {
	key, template, at string
}

var (
	verbRE  = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z]`)
	digitRE = regexp.MustCompile(`[0-9]+`)
)

// numbered replaces each match of re in s by {1}, {2}, … in order.
func numbered(re *regexp.Regexp, s string) string {
	n := 0
	return re.ReplaceAllStringFunc(s, func(string) string {
		n++
		return "{" + strconv.Itoa(n) + "}"
	})
}

// apiMessages scans the Go code that answers API requests (cases, docflow and cmd/parley without its
// commands) for the error messages and field reasons it can send: cases.Errorf formats, Error literals'
// messages, rate-limit messages, and string literals stored into a fields map (f[…], fields[…], map literals
// given to Invalid or as Fields).
func apiMessages(t *testing.T) []apiMessage {
	t.Helper()
	var out []apiMessage
	fset := token.NewFileSet()
	skip := map[string]bool{"loadcmd.go": true, "signcmd.go": true, "run.go": true, "main.go": true, "config.go": true, "demo.go": true}
	for _, dir := range []string{"../../cases", "../../docflow", "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") || skip[filepath.Base(file)] && dir == "." {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			lit := func(e ast.Expr) (string, bool) {
				b, ok := e.(*ast.BasicLit)
				if !ok || b.Kind != token.STRING {
					return "", false
				}
				s, err := strconv.Unquote(b.Value)
				return s, err == nil
			}
			msg := func(format string, pos token.Pos) {
				out = append(out, apiMessage{cases.MessageKey(format), numbered(verbRE, format), fset.Position(pos).String()})
			}
			why := func(e ast.Expr) {
				if call, ok := e.(*ast.CallExpr); ok && isCall(call, "fmt", "Sprintf") && len(call.Args) > 0 {
					if s, ok := lit(call.Args[0]); ok {
						key, _ := cases.ReasonKey(verbRE.ReplaceAllString(s, "0"))
						out = append(out, apiMessage{key, numbered(digitRE, verbRE.ReplaceAllString(s, "0")), fset.Position(e.Pos()).String()})
					}
					return
				}
				// "no consent yet from: " + names: the words before the names make the code.
				if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
					for {
						x, ok := b.X.(*ast.BinaryExpr)
						if !ok || x.Op != token.ADD {
							break
						}
						b = x
					}
					if s, ok := lit(b.X); ok {
						key, _ := cases.ReasonKey(s)
						out = append(out, apiMessage{key, numbered(digitRE, s), fset.Position(e.Pos()).String()})
					}
					return
				}
				if s, ok := lit(e); ok {
					key, _ := cases.ReasonKey(s)
					out = append(out, apiMessage{key, numbered(digitRE, s), fset.Position(e.Pos()).String()})
				}
			}
			reasons := func(e ast.Expr) {
				if cl, ok := e.(*ast.CompositeLit); ok {
					for _, el := range cl.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							why(kv.Value)
						}
					}
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch {
					case (isCall(n, "cases", "Errorf") || isCall(n, "", "Errorf")) && len(n.Args) >= 2:
						if s, ok := lit(n.Args[1]); ok {
							msg(s, n.Pos())
						}
					case isCall(n, "", "rateLimited") && len(n.Args) >= 2:
						if s, ok := lit(n.Args[1]); ok {
							msg(s+": try again in %d seconds", n.Pos())
						}
					case (isCall(n, "cases", "Invalid") || isCall(n, "", "Invalid")) && len(n.Args) == 1:
						reasons(n.Args[0])
					}
				case *ast.CompositeLit:
					if isErrorType(n.Type) {
						for _, el := range n.Elts {
							kv, ok := el.(*ast.KeyValueExpr)
							if !ok {
								continue
							}
							switch k, _ := kv.Key.(*ast.Ident); {
							case k != nil && k.Name == "Message":
								if s, ok := lit(kv.Value); ok && s != "" {
									msg(s, kv.Pos())
								}
							case k != nil && k.Name == "Fields":
								reasons(kv.Value)
							}
						}
					}
				case *ast.AssignStmt:
					for i, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Fields" && i < len(n.Rhs) {
							reasons(n.Rhs[i])
						}
						ix, ok := l.(*ast.IndexExpr)
						if !ok || i >= len(n.Rhs) {
							continue
						}
						if id, ok := ix.X.(*ast.Ident); ok && (id.Name == "f" || id.Name == "fields") {
							why(n.Rhs[i])
						}
						if sel, ok := ix.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Fields" {
							why(n.Rhs[i])
						}
					}
				}
				return true
			})
		}
	}
	return out
}

func isCall(c *ast.CallExpr, pkg, name string) bool {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return pkg == "" && f.Name == name
	case *ast.SelectorExpr:
		x, ok := f.X.(*ast.Ident)
		return ok && x.Name == pkg && f.Sel.Name == name
	}
	return false
}

func isErrorType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "Error"
	case *ast.SelectorExpr:
		p, ok := x.X.(*ast.Ident)
		return ok && p.Name == "cases" && x.Sel.Name == "Error"
	}
	return false
}

// TestEveryAPIErrorIsTranslated fails on any error message or field reason the API can send that is not in both
// dictionaries, so the front end never shows a user the English message (PARLEY_DUMP_ERRKEYS=1 prints the
// missing keys with their English templates, ready for en.json).
func TestEveryAPIErrorIsTranslated(t *testing.T) {
	t.Parallel()
	msgs := apiMessages(t)
	if len(msgs) < 150 {
		t.Fatalf("found %d error messages in the code; want the scan to find them all (150 or more)", len(msgs))
	}
	byKey := map[string]apiMessage{}
	for _, m := range msgs {
		if prev, ok := byKey[m.key]; ok && squash(prev.template) != squash(m.template) {
			t.Errorf("%s and %s make the same code %s from different messages (%q, %q): reword one", prev.at, m.at, m.key, prev.template, m.template)
		}
		byKey[m.key] = m
	}
	dicts := map[string]map[string]string{"zh-CN": readDictionary(t, "zh-CN"), "en": readDictionary(t, "en")}
	missing := map[string]string{}
	for _, lang := range []string{"zh-CN", "en"} {
		for k, m := range byKey {
			if dicts[lang][k] == "" {
				missing[k] = m.template
				t.Errorf("%s.json has no %s (%q, %s)", lang, k, m.template, m.at)
			}
		}
	}
	if os.Getenv("PARLEY_DUMP_ERRKEYS") != "" && len(missing) > 0 {
		keys := make([]string, 0, len(missing))
		for k := range missing {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			kj, _ := json.Marshal(k)
			vj, _ := json.Marshal(missing[k])
			b.WriteString(" " + string(kj) + ": " + string(vj) + ",\n")
		}
		_ = os.WriteFile(filepath.Join(os.TempDir(), "parley-errkeys.txt"), []byte(b.String()), 0o644)
	}
}

// squash leaves out case and punctuation: "{1} not found" and "{1}: not found" say the same.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '{' || r == '}') }), " ")
}

var signalCode = regexp.MustCompile(`(?m)^\s+Code\w+\s+=\s+"([a-z_]+)"`)

// TestEveryRoomErrorIsTranslated fails on any error code of the signalling protocol (signaling/message.go) that
// the room page cannot say in both languages (roomerr.<code>).
func TestEveryRoomErrorIsTranslated(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../signaling/message.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := signalCode.FindAllStringSubmatch(string(src), -1)
	if len(codes) < 15 {
		t.Fatalf("found %d signalling error codes; want them all", len(codes))
	}
	for _, lang := range []string{"zh-CN", "en"} {
		d := readDictionary(t, lang)
		for _, m := range codes {
			if d["roomerr."+m[1]] == "" {
				t.Errorf("%s.json has no roomerr.%s", lang, m[1])
			}
		}
	}
}

// trailEvent finds the event types written to a case's trail (appendEvent's fifth argument, a literal).
var trailEvent = regexp.MustCompile(`appendEvent\(ctx, [^,]+, [^,]+, [^,]+, "([a-z_]+\.[a-z_]+)",`)

// TestEveryTrailEventIsNamed fails on any event of the case's trail that the trail would show by its raw type
// (service.withheld) instead of a label (event.<type>) in both languages; the service statuses' events are
// written as "service."+status.
func TestEveryTrailEventIsNamed(t *testing.T) {
	t.Parallel()
	types := map[string]string{}
	for _, dir := range []string{"../../cases", "../../docflow", "."} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range trailEvent.FindAllStringSubmatch(string(src), -1) {
				types[m[1]] = f
			}
		}
	}
	for _, s := range []string{cases.ServiceWithheld, cases.ServiceFailed, cases.ServiceSent} {
		types["service."+s] = "cases/service.go"
	}
	if len(types) < 25 {
		t.Fatalf("found %d event types; want the scan to find them all", len(types))
	}
	for _, lang := range []string{"zh-CN", "en"} {
		d := readDictionary(t, lang)
		for ty, at := range types {
			if d["event."+ty] == "" {
				t.Errorf("%s.json has no event.%s (written in %s)", lang, ty, at)
			}
		}
	}
}
