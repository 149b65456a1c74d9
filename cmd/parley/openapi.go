package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/parley-mediation/parley/cases"
)

// The OpenAPI document is generated from the route table and the Go types the handlers decode and encode, so
// it cannot drift from the code; the API tests also check every answer they get against it.

// enums lists the values of string types that take a fixed set.
var enums = map[reflect.Type][]string{}

func init() {
	add := func(t any, vals ...string) { enums[reflect.TypeOf(t)] = vals }
	strs := func(vs any) []string {
		v := reflect.ValueOf(vs)
		out := make([]string, v.Len())
		for i := range out {
			out[i] = v.Index(i).String()
		}
		return out
	}
	add(cases.State(""), strs(cases.States)...)
	add(cases.EndGround(""), append([]string{""}, strs(cases.EndGrounds)...)...)
	add(cases.Role(""), append([]string{""}, strs(cases.Roles)...)...)
	add(cases.DisputeType(""), strs(cases.DisputeTypes)...)
	add(cases.Source(""), string(cases.SourceDelegated), string(cases.SourceEntrustedOrdinary), string(cases.SourceEntrustedSimplified), string(cases.SourceDirect))
	add(cases.Side(""), "", string(cases.Applicant), string(cases.Respondent))
	add(cases.PartyKind(""), string(cases.PartyPerson), string(cases.PartyCompany))
	add(cases.OrgKind(""), "", string(cases.OrgCourt), string(cases.OrgIPOffice), string(cases.OrgMediation), string(cases.OrgPlatform))
	add(cases.MediationKind(""), "", string(cases.MedPeople), string(cases.MedAdministrative), string(cases.MedIndustry), string(cases.MedCommercial), string(cases.MedLawyer), string(cases.MedIPCentre))
	add(cases.RosterStatus(""), string(cases.RosterRecommended), string(cases.RosterConfirmed), string(cases.RosterRemoved))
	add(cases.PrincipalKind(""), string(cases.KindAccount), string(cases.KindParty), string(cases.KindAgent), string(cases.KindSystem))
	var acts []string
	for _, t := range cases.Transitions {
		acts = append(acts, string(t.Action))
	}
	add(cases.Action(""), acts...)
}

type schemaGen struct {
	defs map[string]any
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawJSONType = reflect.TypeOf(json.RawMessage{})
)

// schema returns the JSON Schema of t, registering named structs under components/schemas.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	if t == rawJSONType {
		return map[string]any{"description": "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := g.schema(t.Elem())
		s = copyMap(s)
		s["nullable"] = true
		return s
	case reflect.String:
		s := map[string]any{"type": "string"}
		if vals, ok := enums[t]; ok {
			s["enum"] = vals
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem()), "nullable": true}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.structSchema(t)
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = nil // break recursion
			g.defs[name] = g.structSchema(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func schemaName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	n := t.Name()
	n = strings.ToUpper(n[:1]) + n[1:]
	pkg := t.PkgPath()
	if base := pkg[strings.LastIndexByte(pkg, '/')+1:]; base != "main" && base != "cases" && base != "" {
		return strings.ToUpper(base[:1]) + base[1:] + n
	}
	return n
}

// structSchema describes a struct's JSON form: exported fields by their json names, embedded structs flattened,
// fields without omitempty required.
func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if name == "" {
				name = f.Name
			}
			props[name] = g.schema(f.Type)
			if !strings.Contains(opts, "omitempty") {
				required = append(required, name)
			}
		}
	}
	walk(t)
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPI builds the document for the routes.
func openAPI(rs []route, baseURL string) map[string]any {
	g := &schemaGen{defs: map[string]any{}}
	errSchema := g.schema(reflect.TypeOf(apiError{}))
	paths := map[string]any{}
	for _, rt := range rs {
		op := map[string]any{"summary": rt.Summary, "tags": []string{rt.Tag}, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": false, "description": q.Description, "schema": map[string]any{"type": q.Type}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": content(g, rt.Body)}
		}
		resp := map[string]any{"description": http.StatusText(rt.Status)}
		if rt.Resp != nil {
			resp["content"] = content(g, rt.Resp)
		}
		op["responses"] = map[string]any{
			itoa3(rt.Status): resp,
			"default":        map[string]any{"description": "an error", "content": map[string]any{"application/json": map[string]any{"schema": errSchema}}},
		}
		switch rt.Access {
		case public:
			op["security"] = []any{}
		case staff:
			op["description"] = "Staff accounts only (session cookie or API token)."
		}
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Parley API", "version": "1",
			"description": "Online mediation of IP disputes. Errors are {\"error\": {\"code\", \"message\", \"fields\"}}. Cookie sessions must send X-CSRF-Token on unsafe methods; API tokens go in Authorization: Bearer."},
		"servers":        []any{map[string]any{"url": baseURL}},
		"paths":          paths,
		"x-webhooks":     webhookDoc(g),
		"x-sms-provider": smsProviderDoc(g), // what Parley POSTs to PARLEY_SMS_HTTP_URL
		"components":     map[string]any{"schemas": g.defs, "securitySchemes": map[string]any{"session": map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie}, "token": map[string]any{"type": "http", "scheme": "bearer"}}},
		"security":       []any{map[string]any{"session": []any{}}, map[string]any{"token": []any{}}},
	}
}

// content describes a body: JSON with the schema of v's type, or the raw media type v names.
func content(g *schemaGen, v any) map[string]any {
	if raw, ok := v.(rawBody); ok {
		return map[string]any{string(raw): map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
	}
	return map[string]any{"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(v))}}
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func operationID(rt route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, seg := range strings.Split(strings.TrimPrefix(rt.Path, "/api/v1"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.Trim(seg, "{}")
		seg = strings.NewReplacer(".", "_", "-", "_").Replace(seg)
		parts = append(parts, seg)
	}
	return strings.Join(parts, "_")
}

func handleOpenAPI(a *app) http.Handler {
	var once sync.Once
	var doc []byte
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { doc, _ = json.MarshalIndent(openAPI(a.routes(), a.cfg.BaseURL), "", "  ") })
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
}
