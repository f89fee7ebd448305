package api

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/brine-project/brine/pkg/events"
	"gopkg.in/yaml.v3"
)

// TestOpenAPIDescribesEveryRoute keeps docs/openapi.yaml and the server in
// step: every served route is described, nothing described is unserved, and
// every $ref resolves.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid YAML: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", doc.OpenAPI)
	}
	bus := events.New(nil)
	defer bus.Stop()
	srv, err := New(Config{Backend: newFake(), Bus: bus, AdminToken: "x"})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range srv.Routes() {
		path := strings.ReplaceAll(r.Path, "...}", "}")
		method := strings.ToLower(r.Method)
		served[method+" "+path] = true
		op, ok := doc.Paths[path][method]
		if !ok {
			t.Errorf("%s %s is served but not in docs/openapi.yaml", r.Method, path)
			continue
		}
		if _, ok := op["responses"]; !ok {
			t.Errorf("%s %s has no responses in docs/openapi.yaml", r.Method, path)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !served[method+" "+path] && slices.Contains([]string{"get", "post", "put", "delete", "patch"}, method) {
				t.Errorf("docs/openapi.yaml describes %s %s, which is not served", method, path)
			}
		}
	}

	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			for k, e := range v {
				if ref, ok := e.(string); ok && k == "$ref" {
					if !resolves(tree, ref) {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(tree)
}

func resolves(tree any, ref string) bool {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	n := tree
	for _, part := range strings.Split(path, "/") {
		m, ok := n.(map[string]any)
		if !ok {
			return false
		}
		if n, ok = m[part]; !ok {
			return false
		}
	}
	return true
}
