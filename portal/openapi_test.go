package portal

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversEveryRoute checks that every route registered under
// /api/v1 is in the OpenAPI document with its method, and that the document
// is served, is OpenAPI 3 and has no dangling $ref.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(t, "GET", "/api/v1/openapi.json", "", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("openapi.json without a token: %d", resp.StatusCode)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	param := regexp.MustCompile(`\{[^}]+\}|:[^/]+|\*`)
	norm := func(p string) string { return strings.TrimSuffix(param.ReplaceAllString(p, "{}"), "/") }
	documented := map[string]map[string]bool{}
	for p, ops := range doc.Paths {
		documented[norm(p)] = map[string]bool{}
		for m := range ops {
			documented[norm(p)][strings.ToUpper(m)] = true
		}
	}
	// Routes registered with Any (the tus handler) answer every method;
	// the document lists the ones that mean something.
	methods := map[string]int{}
	for _, r := range h.app.e.Routes() {
		methods[r.Path]++
	}
	checked := 0
	for _, r := range h.app.e.Routes() {
		p, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == "echo_route_not_found" {
			continue
		}
		checked++
		ops, ok := documented[norm(p)]
		switch {
		case !ok:
			t.Errorf("route %s %s is not in openapi.json", r.Method, r.Path)
		case methods[r.Path] < 9 && !ops[r.Method]:
			t.Errorf("route %s %s: method missing from openapi.json", r.Method, r.Path)
		}
	}
	if checked < 6 {
		t.Fatalf("only %d API routes found", checked)
	}
	refs := regexp.MustCompile(`"\$ref":\s*"#/([^"]+)"`).FindAllSubmatch(body, -1)
	var tree map[string]any
	json.Unmarshal(body, &tree)
	for _, m := range refs {
		var node any = tree
		for _, part := range strings.Split(string(m[1]), "/") {
			obj, _ := node.(map[string]any)
			node = obj[part]
		}
		if node == nil {
			t.Errorf("dangling $ref %s", m[1])
		}
	}
}
