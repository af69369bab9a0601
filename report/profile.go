package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/waarborg/waarborg"
)

// A Profile is what management states about the service organisation and
// the scope of the system for one tenant (user entity). It is the input of
// the management's statement and of the parts of the description that the
// ledger cannot know. docs/report.md shows an example.
type Profile struct {
	ServiceOrganisation string   `json:"service_organisation"`
	Address             string   `json:"address,omitempty"`
	UserEntity          string   `json:"user_entity"` // the client, by name
	Services            []string `json:"services"`
	Sites               []Item   `json:"sites"`
	Systems             []Item   `json:"systems"`
	// ComplementaryUserEntityControls are the controls the user entity must
	// have for the control objectives to be achieved (CUECs).
	ComplementaryUserEntityControls []CUEC       `json:"complementary_user_entity_controls"`
	SubserviceOrganisations         []Subservice `json:"subservice_organisations"`
	// Signatory signs the management's statement.
	Signatory struct {
		Name  string `json:"name"`
		Title string `json:"title"`
	} `json:"signatory"`
}

// An Item is a named thing in scope with what it is.
type Item struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// A CUEC is a complementary user entity control.
type CUEC struct {
	Objective string `json:"objective"` // CO1..CO5
	Control   string `json:"control"`
}

// A Subservice organisation and how the report treats it.
type Subservice struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	// Method is "carve-out" (its controls are excluded; complementary
	// subservice organisation controls are listed) or "inclusive".
	Method string `json:"method"`
	// Controls are the complementary subservice organisation controls
	// (CSOCs) the service organisation expects it to have.
	Controls []string `json:"controls,omitempty"`
}

// ParseProfile reads a profile from JSON. Unknown fields are refused, so
// that a misspelt field does not silently drop a statement from the report;
// errors have kind waarborg.EINVALID and name the field.
func ParseProfile(b []byte) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, waarborg.Errorf(waarborg.EINVALID, "profile: %v", err)
	}
	var missing []string
	req := func(name, v string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	req("service_organisation", p.ServiceOrganisation)
	req("user_entity", p.UserEntity)
	req("signatory.name", p.Signatory.Name)
	req("signatory.title", p.Signatory.Title)
	if len(p.Services) == 0 {
		missing = append(missing, "services")
	}
	for i, s := range p.SubserviceOrganisations {
		req(fmt.Sprintf("subservice_organisations[%d].name", i), s.Name)
		if s.Method != "carve-out" && s.Method != "inclusive" {
			return nil, waarborg.Errorf(waarborg.EINVALID, "profile: subservice_organisations[%d].method is %q: carve-out or inclusive", i, s.Method)
		}
	}
	for i, c := range p.ComplementaryUserEntityControls {
		req(fmt.Sprintf("complementary_user_entity_controls[%d].control", i), c.Control)
	}
	if len(missing) > 0 {
		return nil, waarborg.Errorf(waarborg.EINVALID, "profile: required fields missing: %s", strings.Join(missing, ", "))
	}
	return &p, nil
}
