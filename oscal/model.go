package oscal

// The subset of the OSCAL 1.0.6 assessment-results model waarborg writes.
// Field order follows the schema so the document reads in the usual order.

type document struct {
	AR assessmentResults `json:"assessment-results"`
}

type assessmentResults struct {
	UUID       string     `json:"uuid"`
	Metadata   metadata   `json:"metadata"`
	ImportAP   importAP   `json:"import-ap"`
	Results    []result   `json:"results"`
	BackMatter backMatter `json:"back-matter"`
}

type metadata struct {
	Title        string     `json:"title"`
	LastModified string     `json:"last-modified"`
	Version      string     `json:"version"`
	OSCALVersion string     `json:"oscal-version"`
	Props        []property `json:"props,omitempty"`
}

type importAP struct {
	Href    string `json:"href"`
	Remarks string `json:"remarks,omitempty"`
}

type result struct {
	UUID             string           `json:"uuid"`
	Title            string           `json:"title"`
	Description      string           `json:"description"`
	Start            string           `json:"start"`
	End              string           `json:"end"`
	Props            []property       `json:"props,omitempty"`
	ReviewedControls reviewedControls `json:"reviewed-controls"`
	Observations     []observation    `json:"observations,omitempty"`
	Findings         []finding        `json:"findings,omitempty"`
	Remarks          string           `json:"remarks,omitempty"`
}

type reviewedControls struct {
	ControlSelections []controlSelection `json:"control-selections"`
}

type controlSelection struct {
	Props           []property      `json:"props,omitempty"`
	IncludeControls []selectControl `json:"include-controls,omitempty"`
	Remarks         string          `json:"remarks,omitempty"`
}

type selectControl struct {
	ControlID string `json:"control-id"`
}

type observation struct {
	UUID             string     `json:"uuid"`
	Title            string     `json:"title"`
	Description      string     `json:"description"`
	Props            []property `json:"props,omitempty"`
	Methods          []string   `json:"methods"`
	Types            []string   `json:"types,omitempty"`
	RelevantEvidence []evidence `json:"relevant-evidence,omitempty"`
	Collected        string     `json:"collected"`
	Remarks          string     `json:"remarks,omitempty"`
}

type evidence struct {
	Href        string     `json:"href,omitempty"`
	Description string     `json:"description"`
	Props       []property `json:"props,omitempty"`
	Links       []link     `json:"links,omitempty"`
}

type finding struct {
	UUID                string               `json:"uuid"`
	Title               string               `json:"title"`
	Description         string               `json:"description"`
	Props               []property           `json:"props,omitempty"`
	Target              target               `json:"target"`
	RelatedObservations []relatedObservation `json:"related-observations,omitempty"`
}

type target struct {
	Type     string `json:"type"`
	TargetID string `json:"target-id"`
	Status   status `json:"status"`
}

type status struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

type relatedObservation struct {
	ObservationUUID string `json:"observation-uuid"`
}

type property struct {
	Name  string `json:"name"`
	NS    string `json:"ns,omitempty"`
	Value string `json:"value"`
	Class string `json:"class,omitempty"`
	Group string `json:"group,omitempty"`
}

type link struct {
	Href string `json:"href"`
	Rel  string `json:"rel,omitempty"`
}

type backMatter struct {
	Resources []resource `json:"resources"`
}

type resource struct {
	UUID        string          `json:"uuid"`
	Title       string          `json:"title,omitempty"`
	Description string          `json:"description,omitempty"`
	Props       []property      `json:"props,omitempty"`
	Base64      *base64Resource `json:"base64,omitempty"`
}

type base64Resource struct {
	Filename  string `json:"filename,omitempty"`
	MediaType string `json:"media-type,omitempty"`
	Value     string `json:"value"`
}
