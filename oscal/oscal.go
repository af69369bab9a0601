// Package oscal renders a control evaluation as a NIST OSCAL 1.0.6
// assessment-results document, the machine-readable form of the results an
// auditor's tooling imports.
//
// It does no I/O and imports only the domain and the controls engine; the
// report package and the CLI import it.
//
// How waarborg's results map onto the OSCAL model:
//
//   - Control ids. The built-in catalog is not NIST SP 800-53, and OSCAL
//     control-id values are tokens that tools compare case-sensitively with
//     their catalog's lower-case ids. A waarborg id is lower-cased ("AC-01"
//     becomes "ac-01"); the original id is kept in a "control-id" property of
//     the waarborg namespace (NS) on every observation and finding.
//   - import-ap. waarborg has no separate OSCAL assessment plan: the plan is
//     the catalog in force. import-ap therefore points at a back-matter
//     resource ("#" + its uuid) that names the catalog version and carries
//     every parameter value as properties.
//   - The checkpoint. The signed checkpoint text is embedded, base64, in a
//     second back-matter resource; every relevant-evidence entry links to it,
//     since it is what proves the records belong to the tenant's ledger.
//   - Observations. One per control (method TEST when automated, EXAMINE
//     when manual) stating the population, and one per exception subject,
//     whose relevant-evidence names the records that show it.
//   - Findings. One per control with a conclusion, targeting the control's
//     objective ("ac-01_obj", type objective-id): state satisfied when the
//     result is effective, not-satisfied when it has exceptions. OSCAL's
//     status knows only those two states, and a control with an empty
//     population must not read as effective, so a not-occurring control has
//     no finding: its observation carries the property result=not-occurring
//     and says that no conclusion on operating effectiveness is drawn.
//   - UUIDs are version-5-shaped, taken from SHA-256 of what the object is
//     about (tenant, period, control, subject), so the same evaluation always
//     gives the same document.
package oscal

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/controls"
)

// OSCALVersion is the version of the OSCAL model the document conforms to.
const OSCALVersion = "1.0.6"

// NS is the namespace of waarborg's own properties: OSCAL reserves
// un-namespaced property names for its own vocabulary.
const NS = "https://github.com/waarborg/waarborg/ns/oscal"

// Input is one evaluation and its context.
type Input struct {
	Result     *controls.Result
	Catalog    *controls.Catalog // the catalog Result was evaluated against
	Tenant     string
	From, To   time.Time // the period [From, To)
	Checkpoint string    // the signed checkpoint read, as text
	Generated  time.Time // last-modified, and when the observations were collected
	Version    string    // the waarborg version producing the document
}

// AssessmentResults returns the OSCAL assessment-results document for in as
// indented JSON. Equal inputs give equal bytes.
//
// It fails with kind waarborg.EINVALID when a field is missing, when the
// result is for another tenant or period than in says, or when the result
// and the catalog do not hold the same controls.
func AssessmentResults(in Input) ([]byte, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	doc := document{AR: build(in)}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal assessment results: %w", err)
	}
	return append(b, '\n'), nil
}

func (in *Input) check() error {
	invalid := func(format string, args ...any) error {
		return waarborg.Errorf(waarborg.EINVALID, "oscal: "+format, args...)
	}
	switch {
	case in.Result == nil || in.Catalog == nil:
		return invalid("a result and its catalog are required")
	case !waarborg.ValidTenant(in.Tenant):
		return invalid("invalid tenant %q", in.Tenant)
	case in.From.IsZero() || !in.From.Before(in.To):
		return invalid("period [%s, %s) is empty", stamp(in.From), stamp(in.To))
	case in.Generated.IsZero():
		return invalid("a generation time is required")
	case !isString(in.Version):
		// OSCAL strings must not be empty nor start or end with a space.
		return invalid("invalid waarborg version %q", in.Version)
	case in.Result.Tenant != "" && in.Result.Tenant != in.Tenant:
		return invalid("the result is for tenant %q, not %q", in.Result.Tenant, in.Tenant)
	case !in.Result.From.IsZero() && (!in.Result.From.Equal(in.From) || !in.Result.To.Equal(in.To)):
		return invalid("the result is for another period than [%s, %s)", stamp(in.From), stamp(in.To))
	}
	for _, c := range in.Result.Controls {
		if _, ok := in.Catalog.Control(c.ID); !ok {
			return invalid("control %s of the result is not in the catalog", c.ID)
		}
		if !isToken(controlID(c.ID)) {
			return invalid("control id %q is not an OSCAL token", c.ID)
		}
	}
	for _, c := range in.Catalog.Controls {
		if !slices.ContainsFunc(in.Result.Controls, func(r controls.ControlResult) bool { return r.ID == c.ID }) {
			return invalid("control %s of the catalog has no result", c.ID)
		}
	}
	return nil
}

func isString(s string) bool {
	return s != "" && strings.TrimSpace(s) == s && !strings.ContainsAny(s, "\n\r")
}

// isToken mirrors the schema's TokenDatatype for the ASCII ids waarborg uses.
func isToken(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '.' || r == '-')) {
			return false
		}
	}
	return s != ""
}

func controlID(id string) string { return strings.ToLower(id) }

// stamp formats t the way OSCAL's date-time pattern accepts: UTC, with Z.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// uuidOf derives a version-5-shaped UUID from SHA-256 of parts. Parts are
// length-prefixed so that no two different lists hash alike.
func uuidOf(parts ...string) string {
	h := sha256.New()
	h.Write([]byte("waarborg oscal\n"))
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p)) + ":" + p + "\n"))
	}
	b := h.Sum(nil)[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func build(in Input) assessmentResults {
	from, to := stamp(in.From), stamp(in.To)
	id := func(kind string, parts ...string) string {
		return uuidOf(append([]string{kind, in.Tenant, from, to}, parts...)...)
	}
	planUUID, checkpointUUID := id("plan"), id("checkpoint")
	checkpointHash := sha256.Sum256([]byte(in.Checkpoint))
	prop := func(name, value string) property { return property{Name: name, NS: NS, Value: value} }

	res := result{
		UUID:        id("result"),
		Title:       fmt.Sprintf("Operating effectiveness of controls for %s, %s to %s", in.Tenant, from, to),
		Description: "waarborg evaluated every control of its catalog over every record of the tenant's ledger in the period, up to the checkpoint cited as evidence.",
		Start:       from,
		End:         to,
		Props:       []property{prop("tenant", in.Tenant)},
		Remarks:     "The period is half-open: end is its first instant after it.",
	}
	var selected []selectControl
	for _, ctl := range in.Catalog.Controls {
		selected = append(selected, selectControl{ControlID: controlID(ctl.ID)})
	}
	res.ReviewedControls = reviewedControls{
		ControlSelections: []controlSelection{{
			Props:           []property{prop("catalog-version", strconv.Itoa(in.Catalog.Version))},
			IncludeControls: selected,
			Remarks:         "The controls of waarborg's catalog, not NIST SP 800-53: each control-id is the waarborg control id in lower case (AC-01 is ac-01).",
		}},
	}

	inForce := in.Catalog.InForce()
	checkpointEvidence := evidence{
		Href:        "#" + checkpointUUID,
		Description: "The signed checkpoint of the tenant's ledger the evaluation read.",
		Props:       []property{prop("checkpoint-sha256", fmt.Sprintf("%x", checkpointHash))},
	}
	for _, c := range in.Result.Controls {
		ctl, _ := in.Catalog.Control(c.ID)
		cid := controlID(c.ID)
		method, how := "EXAMINE", "examined through the recorded sign-offs"
		if c.Automated {
			method, how = "TEST", "tested automatically over the whole population"
		}
		ctlProps := []property{
			prop("control-id", c.ID),
			prop("objective", c.Objective),
			prop("frequency", ctl.Frequency),
			prop("population", strconv.Itoa(c.Population)),
			prop("exceptions", strconv.Itoa(len(c.Exceptions))),
			prop("result", c.Result),
		}
		ctlProps = append(ctlProps, mappingProps(ctl.Mappings)...)
		for _, p := range ctl.Parameters {
			ctlProps = append(ctlProps, property{Name: "parameter", NS: NS, Class: p.Name, Value: inForce.Parameters[c.ID][p.Name]})
		}
		obs := observation{
			UUID:  id("observation", c.ID),
			Title: fmt.Sprintf("%s %s", c.ID, c.Title),
			Description: fmt.Sprintf("%s Population: %d %s, %s; %d exception(s).",
				ctl.Description, c.Population, ctl.Population, how, len(c.Exceptions)),
			Props:            ctlProps,
			Methods:          []string{method},
			Types:            []string{"control-objective"},
			RelevantEvidence: []evidence{checkpointEvidence},
			Collected:        stamp(in.Generated),
		}
		if c.Result == controls.NotOccurring {
			obs.Remarks = "Not occurring: the population is empty, so no conclusion on operating effectiveness is drawn and there is no finding."
		}
		res.Observations = append(res.Observations, obs)
		related := []relatedObservation{{obs.UUID}}

		for _, e := range c.Exceptions {
			ev := []evidence{checkpointEvidence}
			for _, r := range e.Records {
				ev = append(ev, evidence{
					Description: fmt.Sprintf("Record %s of the tenant's ledger, covered by the checkpoint.", r),
					Props:       []property{prop("record-id", r)},
					Links:       []link{{Href: "#" + checkpointUUID, Rel: "reference"}},
				})
			}
			props := []property{prop("control-id", c.ID), prop("subject", e.Subject)}
			for _, r := range e.Reasons {
				props = append(props, prop("reason", r))
			}
			desc := fmt.Sprintf("%s fails for %s.", e.Subject, strings.Join(e.Reasons, ", "))
			if e.Detail != "" {
				desc = fmt.Sprintf("%s fails for %s: %s", e.Subject, strings.Join(e.Reasons, ", "), e.Detail)
			}
			ex := observation{
				UUID:             id("exception", c.ID, e.Subject),
				Title:            fmt.Sprintf("%s exception: %s", c.ID, e.Subject),
				Description:      desc,
				Props:            props,
				Methods:          []string{method},
				Types:            []string{"finding"},
				RelevantEvidence: ev,
				Collected:        stamp(in.Generated),
			}
			res.Observations = append(res.Observations, ex)
			related = append(related, relatedObservation{ex.UUID})
		}

		var state, reason, conclusion string
		switch c.Result {
		case controls.Effective:
			state, reason, conclusion = "satisfied", "pass", "operated effectively: no exception"
		case controls.Exceptions:
			state, reason, conclusion = "not-satisfied", "fail", fmt.Sprintf("%d exception(s)", len(c.Exceptions))
		default:
			continue
		}
		res.Findings = append(res.Findings, finding{
			UUID:        id("finding", c.ID),
			Title:       fmt.Sprintf("%s %s", c.ID, c.Title),
			Description: fmt.Sprintf("%s over a population of %d: %s.", c.ID, c.Population, conclusion),
			Props:       []property{prop("control-id", c.ID), prop("result", c.Result)},
			Target: target{
				Type:     "objective-id",
				TargetID: cid + "_obj",
				Status:   status{State: state, Reason: reason},
			},
			RelatedObservations: related,
		})
	}

	return assessmentResults{
		// The document uuid also covers the checkpoint: evaluating the same
		// period over a longer ledger is another document.
		UUID: id("document", fmt.Sprintf("%x", checkpointHash)),
		Metadata: metadata{
			Title:        fmt.Sprintf("waarborg assessment results: %s, %s to %s", in.Tenant, from, to),
			LastModified: stamp(in.Generated),
			Version:      in.Version,
			OSCALVersion: OSCALVersion,
			Props:        []property{prop("waarborg-version", in.Version), prop("tenant", in.Tenant)},
		},
		ImportAP: importAP{
			Href:    "#" + planUUID,
			Remarks: "waarborg has no separate OSCAL assessment plan; the plan is the catalog in force, described in back-matter.",
		},
		Results: []result{res},
		BackMatter: backMatter{Resources: []resource{
			{
				UUID:        planUUID,
				Title:       fmt.Sprintf("waarborg control catalog, version %d", in.Catalog.Version),
				Description: "The assessment plan: every control of the catalog, tested with the parameter values in the properties.",
				Props:       planProps(in.Catalog),
			},
			{
				UUID:        checkpointUUID,
				Title:       "Signed checkpoint of the tenant's ledger",
				Description: "The checkpoint the evaluation read; every record cited as evidence is in the log it commits to.",
				Props:       []property{prop("checkpoint-sha256", fmt.Sprintf("%x", checkpointHash))},
				Base64: &base64Resource{
					Filename:  "checkpoint.txt",
					MediaType: "text/plain",
					Value:     base64.StdEncoding.EncodeToString([]byte(in.Checkpoint)),
				},
			},
		}},
	}
}

func mappingProps(m controls.Mappings) []property {
	var ps []property
	add := func(class string, values ...string) {
		for _, v := range values {
			if v != "" {
				ps = append(ps, property{Name: "mapping", NS: NS, Class: class, Value: v})
			}
		}
	}
	add("soc1", m.SOC1)
	add("iec62443-2-4", m.IEC62443...)
	add("iso27001-2022", m.ISO27001...)
	add("cfr21-part11", m.Part11...)
	add("eu-gmp-annex11", m.Annex11...)
	return ps
}

func planProps(cat *controls.Catalog) []property {
	ps := []property{{Name: "catalog-version", NS: NS, Value: strconv.Itoa(cat.Version)}}
	in := cat.InForce()
	for _, ctl := range cat.Controls {
		for _, p := range ctl.Parameters {
			ps = append(ps, property{
				Name: "parameter", NS: NS, Group: controlID(ctl.ID), Class: p.Name,
				Value: in.Parameters[ctl.ID][p.Name],
			})
		}
	}
	return ps
}
