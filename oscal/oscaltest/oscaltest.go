// Package oscaltest validates OSCAL documents in tests against the OSCAL
// 1.0.6 assessment-results JSON schema of the shared checkout.
package oscaltest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaPath is the schema beside the module checkout.
func SchemaPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../../../shared/schemas/oscal/oscal_assessment-results_schema.json")
}

// Compile compiles the schema; it skips the test when the shared checkout
// is absent.
//
// The OSCAL schema puts "$id" anchors beside "$ref" in its definitions,
// and draft-07 says every keyword beside "$ref" is ignored, so a strict
// validator never sees those anchors and fails with "anchor ... not found".
// liftRefs moves each such "$ref" into an "allOf", which keeps what the
// definition validates and lets the anchor exist; nothing else is changed.
func Compile(t testing.TB) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(SchemaPath())
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no OSCAL schema at %s (the shared checkout is absent)", SchemaPath())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	liftRefs(doc)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	const url = "file:///oscal_assessment-results_schema.json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile OSCAL schema: %v", err)
	}
	return sch
}

func liftRefs(v any) {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"]; ok && v["$id"] != nil {
			delete(v, "$ref")
			v["allOf"] = []any{map[string]any{"$ref": ref}}
		}
		for _, w := range v {
			liftRefs(w)
		}
	case []any:
		for _, w := range v {
			liftRefs(w)
		}
	}
}

// Validate validates doc against sch.
func Validate(sch *jsonschema.Schema, doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
