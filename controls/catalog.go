// Package controls is waarborg's control engine: the built-in catalog of the
// 24 controls of controls.md, held as data, and their evaluation over every
// record of a tenant for a period.
//
// It does no I/O and imports only the domain package and jcs; the CLI, the
// HTTP API and the report package import it.
package controls

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
)

//go:embed catalog.json
var catalogJSON []byte

// An Objective is one of the five SOC 1 control objectives of controls.md,
// each a control area.
type Objective struct {
	ID   string // CO1 to CO5
	Name string // the area: "Access", "Processing", …
	Text string // the objective as controls.md states it
}

// Objectives are the control objectives, in order.
var Objectives = []Objective{
	{"CO1", "Access", "Logical access to recipes, OT configuration and batch data is limited to authorised people."},
	{"CO2", "Logging and monitoring", "Production data are recorded automatically and continuously, and the audit trail cannot be altered unnoticed."},
	{"CO3", "Processing", "Production quantities and machine hours are recorded completely, accurately and in time, from SCADA through MES to the ERP."},
	{"CO4", "Change", "Changes to recipes and OT configuration are requested, approved independently and deployed as approved."},
	{"CO5", "Incidents", "Alarms, downtime and deviations that affect output are registered, escalated and resolved per protocol."},
}

// A Catalog is a set of controls with their parameters. Default returns the
// built-in one; a tenant's overrides change only parameter values.
//
// A Catalog is not safe for concurrent mutation; Evaluate only reads it.
type Catalog struct {
	Version  int       `json:"version"`
	Controls []Control `json:"controls"` // sorted by ID
}

// A Control is one control of the catalog.
type Control struct {
	ID          string      `json:"id"`
	Objective   string      `json:"objective"` // the SOC 1 control objective, CO1 to CO5
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Population  string      `json:"population"` // what is tested, in the words of controls.md
	Frequency   string      `json:"frequency"`  // continuous, weekly or quarterly
	Automated   bool        `json:"automated"`
	Reasons     []string    `json:"reasons"` // the exception reasons it can report
	Parameters  []Parameter `json:"parameters,omitempty"`
	Mappings    Mappings    `json:"mappings"`
}

// A Parameter is a tunable threshold of a control. Value is what evaluation
// uses; it starts as Default and a tenant override replaces it.
type Parameter struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`    // KindDuration or KindPercent
	Default     string `json:"default"` // as text of its kind
	Value       string `json:"value,omitempty"`
	Description string `json:"description"`
}

// Parameter kinds. A duration is a Go duration string ("24h", "15m", "0s"),
// never negative. A percent is a plain decimal number of percent ("0.5"
// means 0.5 %), never negative, read exactly.
const (
	KindDuration = "duration"
	KindPercent  = "percent"
)

// Mappings relate a control to the frameworks auditors read it against.
// A list is empty where the framework has no matching clause.
type Mappings struct {
	SOC1     string   `json:"soc1"`                     // SOC 1 control objective
	IEC62443 []string `json:"iec62443_2_4,omitempty"`   // IEC 62443-2-4 requirements (SP.xx.yy)
	ISO27001 []string `json:"iso27001_2022,omitempty"`  // ISO/IEC 27001:2022 Annex A controls
	Part11   []string `json:"cfr21_part11,omitempty"`   // 21 CFR Part 11 sections (11.10(e))
	Annex11  []string `json:"eu_gmp_annex11,omitempty"` // EU GMP Annex 11 clauses
}

// Default returns the built-in catalog, a new copy on every call, so that
// overriding one tenant's parameters never touches another's.
func Default() *Catalog {
	var c Catalog
	dec := json.NewDecoder(bytes.NewReader(catalogJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		panic("controls: embedded catalog.json: " + err.Error()) // caught by TestCatalog
	}
	slices.SortFunc(c.Controls, func(a, b Control) int { return strings.Compare(a.ID, b.ID) })
	for i := range c.Controls {
		for j := range c.Controls[i].Parameters {
			p := &c.Controls[i].Parameters[j]
			p.Value = p.Default
		}
	}
	return &c
}

// Control returns the control with the given id.
func (c *Catalog) Control(id string) (*Control, bool) {
	for i := range c.Controls {
		if c.Controls[i].ID == id {
			return &c.Controls[i], true
		}
	}
	return nil, false
}

// Override sets parameter values from a JSON object of the form
//
//	{"AC-04": {"revocation_window": "48h"}, "PC-01": {"tolerance_percent": "0.25"}}
//
// Values are strings of the parameter's kind. An unknown control or
// parameter, or a value that does not parse, is an error of kind
// waarborg.EINVALID, and then no value is changed.
func (c *Catalog) Override(data []byte) error {
	var o map[string]map[string]string
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&o); err != nil {
		return waarborg.Errorf(waarborg.EINVALID, "control overrides: not a JSON object of objects of strings: %v", err)
	}
	type change struct {
		p     *Parameter
		value string
	}
	var changes []change
	for id, values := range o {
		ctl, ok := c.Control(id)
		if !ok {
			return waarborg.Errorf(waarborg.EINVALID, "control overrides: unknown control %q", id)
		}
		for name, v := range values {
			p := ctl.parameter(name)
			if p == nil {
				return waarborg.Errorf(waarborg.EINVALID, "control overrides: %s has no parameter %q", id, name)
			}
			if err := checkValue(p.Kind, v); err != nil {
				return waarborg.Errorf(waarborg.EINVALID, "control overrides: %s %s: %v", id, name, err)
			}
			changes = append(changes, change{p, v})
		}
	}
	for _, ch := range changes {
		ch.p.Value = ch.value
	}
	return nil
}

func (ctl *Control) parameter(name string) *Parameter {
	for i := range ctl.Parameters {
		if ctl.Parameters[i].Name == name {
			return &ctl.Parameters[i]
		}
	}
	return nil
}

func checkValue(kind, v string) error {
	switch kind {
	case KindDuration:
		_, err := parseDuration(v)
		return err
	case KindPercent:
		_, err := parsePercent(v)
		return err
	}
	return fmt.Errorf("unknown parameter kind %q", kind)
}

func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 24h or 15m", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// parsePercent reads a percentage as the exact fraction it stands for
// ("0.5" → 1/200).
func parsePercent(v string) (*big.Rat, error) {
	whole, frac, dot := strings.Cut(v, ".")
	if !allDigits(whole) || dot && !allDigits(frac) {
		return nil, fmt.Errorf("%q is not a decimal number of percent such as 0.5", v)
	}
	r, _ := new(big.Rat).SetString(v)
	return r.Quo(r, big.NewRat(100, 1)), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// params are the parameter values of a catalog, read once per evaluation.
type params struct {
	revocationWindow   time.Duration // AC-04
	accessReviewGrace  time.Duration // AC-05
	countTolerance     time.Duration // LM-01
	sampleInterval     time.Duration // LM-02
	monitorReviewGrace time.Duration // LM-04
	gapFollowUp        time.Duration // LM-05
	countMismatch      *big.Rat      // PC-01, as a fraction
	postingWindow      time.Duration // PC-03
	hoursMismatch      *big.Rat      // PC-07, as a fraction
	emergencyWindow    time.Duration // CM-01
	alarmWindow        time.Duration // IM-01
	downtimeMin        time.Duration // IM-02
	downtimeWindow     time.Duration // IM-02
	criticalWindow     time.Duration // IM-03
	highWindow         time.Duration // IM-03
	bookingWindow      time.Duration // IM-04
}

func (c *Catalog) params() (params, error) {
	var p params
	var err error
	dur := func(id, name string, dst *time.Duration) {
		if err != nil {
			return
		}
		var v string
		if v, err = c.value(id, name, KindDuration); err == nil {
			*dst, err = parseDuration(v)
		}
	}
	pct := func(id, name string, dst **big.Rat) {
		if err != nil {
			return
		}
		var v string
		if v, err = c.value(id, name, KindPercent); err == nil {
			*dst, err = parsePercent(v)
		}
	}
	dur("AC-04", "revocation_window", &p.revocationWindow)
	dur("AC-05", "signoff_grace", &p.accessReviewGrace)
	dur("LM-01", "tolerance", &p.countTolerance)
	dur("LM-02", "max_interval", &p.sampleInterval)
	dur("LM-04", "signoff_grace", &p.monitorReviewGrace)
	dur("LM-05", "followup_window", &p.gapFollowUp)
	pct("PC-01", "tolerance_percent", &p.countMismatch)
	dur("PC-03", "posting_window", &p.postingWindow)
	pct("PC-07", "tolerance_percent", &p.hoursMismatch)
	dur("CM-01", "emergency_window", &p.emergencyWindow)
	dur("IM-01", "incident_window", &p.alarmWindow)
	dur("IM-02", "min_duration", &p.downtimeMin)
	dur("IM-02", "incident_window", &p.downtimeWindow)
	dur("IM-03", "critical_window", &p.criticalWindow)
	dur("IM-03", "high_window", &p.highWindow)
	dur("IM-04", "booking_window", &p.bookingWindow)
	if err != nil {
		return p, waarborg.Errorf(waarborg.EINVALID, "control catalog: %v", err)
	}
	return p, nil
}

func (c *Catalog) value(id, name, kind string) (string, error) {
	ctl, ok := c.Control(id)
	if !ok {
		return "", fmt.Errorf("no control %s", id)
	}
	p := ctl.parameter(name)
	if p == nil || p.Kind != kind {
		return "", fmt.Errorf("%s has no %s parameter %q", id, kind, name)
	}
	if p.Value == "" {
		return p.Default, nil
	}
	return p.Value, nil
}
