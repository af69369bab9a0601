package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/monitor"
)

// The tenant pages: overview, control, exception, record, ledger, sources.

// indexBudget is how long a page waits for the background index before
// it shows what is ready.
const indexBudget = 150 * time.Millisecond

type controlRow struct {
	monitor.ControlSummary
	Pending int
}

type area struct {
	controls.Objective
	Controls                             []controlRow
	Effective, WithExceptions, NotOccurs int
	Pending                              int
}

type overviewData struct {
	Tenant     string
	Message    string
	Snapshot   *monitor.Snapshot
	Size       uint64
	Checkpoint *waarborg.Checkpoint
	Areas      []area
	Total      int
	Pending    int
	Chart      *barChart
	Unplaced   int
	Indexing   bool
}

func (s *server) overviewPage(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	name := c.tenant.Name()
	pd := s.page(r, c, name+" · overview", "overview")
	body := &overviewData{Tenant: name}
	store := c.view.Store()
	var err error
	if body.Size, err = store.Size(ctx, name); err != nil {
		s.errorPage(w, r, err)
		return
	}
	body.Checkpoint, _ = store.Checkpoint(ctx, name, 0)
	snap, err := c.view.Snapshot(c.tenant)
	if err != nil {
		body.Message = waarborg.ErrorMessage(err)
		if s.hasMonitor {
			pd.Refresh = 5
		}
		s.render(w, r, http.StatusOK, "overview", pd, body)
		return
	}
	body.Snapshot = snap
	pending := map[string]int{}
	var subjects []string
	for _, e := range snap.Exceptions {
		if controls.Pending(e.Status) {
			pending[e.Control]++
			body.Pending++
		}
		subjects = append(subjects, e.Subject)
	}
	body.Total = len(snap.Exceptions)
	for _, o := range controls.Objectives {
		a := area{Objective: o}
		for _, cs := range snap.Controls {
			if cs.Objective != o.ID {
				continue
			}
			a.Controls = append(a.Controls, controlRow{ControlSummary: cs, Pending: pending[cs.ID]})
			a.Pending += pending[cs.ID]
			switch cs.Result {
			case controls.Effective:
				a.Effective++
			case controls.Exceptions:
				a.WithExceptions++
			default:
				a.NotOccurs++
			}
		}
		body.Areas = append(body.Areas, a)
	}
	ix, err := s.index.get(ctx, store, name, subjects, indexBudget, false)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	body.Chart, body.Unplaced = exceptionsOverTime(snap, ix.Times)
	if body.Unplaced > 0 && len(ix.Times) < len(subjects) {
		body.Indexing = true
		pd.Refresh = 5
	}
	s.render(w, r, http.StatusOK, "overview", pd, body)
}

// exceptionsOverTime counts the snapshot's exceptions by the time of their
// subject, a bar a day (periods up to 62 days) or a week (from Monday),
// stacked by control area. Unplaced counts those without a known time.
func exceptionsOverTime(snap *monitor.Snapshot, times map[string]time.Time) (*barChart, int) {
	from, to := snap.From.UTC(), snap.To.UTC()
	// The chart starts at the first exception's day, not at the start of a
	// period that may have months without records.
	first := to
	for _, e := range snap.Exceptions {
		if t, ok := times[e.Subject]; ok && !t.Before(from) && t.Before(first) {
			first = t
		}
	}
	if first.Equal(to) {
		first = from
	}
	start := first.Truncate(24 * time.Hour)
	step, label := 24*time.Hour, "01-02"
	if to.Sub(start) > 62*24*time.Hour {
		step = 7 * 24 * time.Hour
		start = start.AddDate(0, 0, -((int(start.Weekday()) + 6) % 7)) // back to Monday
	}
	n := int((to.Sub(start) + step - 1) / step)
	n = max(1, min(n, 400))
	ch := &barChart{ID: "exceptions-over-time", Title: "Exceptions over time, by control area",
		Labels: make([]string, n), Values: make([][]int, n)}
	unit := "day"
	if step > 24*time.Hour {
		unit = "week (from Monday)"
	}
	ch.Desc = "Current exceptions of the monitored period per " + unit + " of their subject record's time, stacked by control area, from the first one on."
	for _, o := range controls.Objectives {
		ch.Series = append(ch.Series, o.ID+" "+o.Name)
	}
	for i := range n {
		ch.Labels[i] = start.Add(time.Duration(i) * step).Format(label)
		ch.Values[i] = make([]int, len(controls.Objectives))
	}
	area := map[string]int{}
	for i, o := range controls.Objectives {
		area[o.ID] = i
	}
	objOf := map[string]int{}
	for _, cs := range snap.Controls {
		objOf[cs.ID] = area[cs.Objective]
	}
	unplaced := 0
	for _, e := range snap.Exceptions {
		t, ok := times[e.Subject]
		if !ok || t.IsZero() || t.Before(start) || !t.Before(to) {
			unplaced++
			continue
		}
		i := int(t.Sub(start) / step)
		if i >= n {
			unplaced++
			continue
		}
		ch.Values[i][objOf[e.Control]]++
	}
	return ch, unplaced
}

type paramRow struct {
	Name, Value, Default, Description string
}

type mappingRow struct {
	Framework string
	Clauses   []string
}

type exceptionFilter struct {
	Status, Reason, Q string
}

type controlData struct {
	Tenant   string
	Control  *controls.Control
	Summary  *monitor.ControlSummary
	Params   []paramRow
	Mappings []mappingRow
	Filter   exceptionFilter
	Statuses []string
	Reasons  []string
	Rows     []monitor.Exception
	Pager    pager
	Matched  int
	Message  string
}

// exceptionsPerPage is the page size of a control's exceptions.
const exceptionsPerPage = 50

func (s *server) controlPage(w http.ResponseWriter, r *http.Request, c *call) {
	name := c.tenant.Name()
	ctl, ok := s.catalog.Control(r.PathValue("control"))
	if !ok {
		s.errorPage(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no such control"))
		return
	}
	pd := s.page(r, c, ctl.ID+" · "+name, "overview")
	q := r.URL.Query()
	body := &controlData{Tenant: name, Control: ctl, Reasons: ctl.Reasons,
		Statuses: []string{"pending", controls.StatusOpen, controls.StatusExplained, controls.StatusRemediated, controls.StatusAccepted},
		Filter:   exceptionFilter{Status: q.Get("status"), Reason: q.Get("reason"), Q: strings.TrimSpace(q.Get("q"))},
	}
	for _, p := range ctl.Parameters {
		body.Params = append(body.Params, paramRow{p.Name, p.Value, p.Default, p.Description})
	}
	m := ctl.Mappings
	for _, row := range []mappingRow{
		{"SOC 1 control objective", []string{m.SOC1}},
		{"IEC 62443-2-4", m.IEC62443},
		{"ISO/IEC 27001:2022 Annex A", m.ISO27001},
		{"21 CFR Part 11", m.Part11},
		{"EU GMP Annex 11", m.Annex11},
	} {
		if len(row.Clauses) > 0 && row.Clauses[0] != "" {
			body.Mappings = append(body.Mappings, row)
		}
	}
	snap, err := c.view.Snapshot(c.tenant)
	if err != nil {
		body.Message = waarborg.ErrorMessage(err)
		body.Pager = newPager(r, 0, exceptionsPerPage)
		s.render(w, r, http.StatusOK, "control", pd, body)
		return
	}
	for i := range snap.Controls {
		if snap.Controls[i].ID == ctl.ID {
			body.Summary = &snap.Controls[i]
		}
	}
	var matched []monitor.Exception
	f := body.Filter
	for _, e := range snap.Exceptions {
		switch {
		case e.Control != ctl.ID:
		case f.Status == "pending" && !controls.Pending(e.Status):
		case f.Status != "" && f.Status != "pending" && e.Status != f.Status:
		case f.Reason != "" && !slices.Contains(e.Reasons, f.Reason):
		case f.Q != "" && !strings.Contains(strings.ToLower(e.Subject+" "+e.Detail), strings.ToLower(f.Q)):
		default:
			matched = append(matched, e)
		}
	}
	body.Matched = len(matched)
	body.Pager = newPager(r, len(matched), exceptionsPerPage)
	body.Rows = matched[body.Pager.From:body.Pager.To]
	s.render(w, r, http.StatusOK, "control", pd, body)
}

// A recordProof is a record with its inclusion proof, as a page shows it
// and as the browser's verifier reads it (docs/proofs.md).
type recordProof struct {
	Tenant      string
	Key         string // the verifier key the browser checks the checkpoint with
	ID          string
	Missing     bool
	Type        string
	Source      string
	Time        string
	Actor       string
	Pretty      string // indented, for reading
	Canonical   string // the exact bytes the content hash is of
	ReceivedAt  string
	Leaf        string
	LeafIndex   uint64
	TreeSize    uint64
	RootHash    string   // base64
	Proof       string   // JSON array of base64 hashes
	Hashes      []string // the same, for reading
	Checkpoint  string
	Corrections []string
}

func (s *server) proofView(t access.Tenant, id string, p *ledger.InclusionProof) recordProof {
	if p == nil {
		return recordProof{Tenant: t.Name(), ID: id, Missing: true}
	}
	rp := recordProof{Tenant: t.Name(), Key: s.verifierKey, ID: p.ID, Canonical: string(p.Record), ReceivedAt: p.ReceivedAt, Leaf: p.Leaf,
		LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, RootHash: base64.StdEncoding.EncodeToString(p.RootHash),
		Checkpoint: p.Checkpoint, Corrections: p.Corrections}
	var pretty bytes.Buffer
	if json.Indent(&pretty, p.Record, "", "  ") == nil {
		rp.Pretty = pretty.String()
	}
	var env struct{ Type, Source, Time, Actor string }
	json.Unmarshal(p.Record, &env)
	rp.Type, rp.Source, rp.Time, rp.Actor = env.Type, env.Source, env.Time, env.Actor
	hashes := make([]string, len(p.Proof))
	for i, h := range p.Proof {
		hashes[i] = base64.StdEncoding.EncodeToString(h)
	}
	b, _ := json.Marshal(hashes)
	rp.Proof, rp.Hashes = string(b), hashes
	return rp
}

type actionOption struct {
	Value, Label string
}

type exceptionData struct {
	Tenant      string
	Control     *controls.Control
	Exception   *monitor.Exception
	Records     []recordProof
	More        int
	Actions     []actionOption
	Action      string
	Text        string
	Error       string
	Done        string
	VerifierKey string
	Path        string
}

// maxProofs bounds the records an exception page proves at once.
const maxProofs = 50

// findException returns the current exception of control about subject.
func findException(snap *monitor.Snapshot, control, subject string) *monitor.Exception {
	for i := range snap.Exceptions {
		if e := &snap.Exceptions[i]; e.Control == control && e.Subject == subject {
			return e
		}
	}
	return nil
}

func (s *server) exceptionPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showException(w, r, c, http.StatusOK, "", "", "")
}

// showException renders an exception page; a failed action comes back to
// it with the status, the error and what the person wrote.
func (s *server) showException(w http.ResponseWriter, r *http.Request, c *call, status int, action, text, errMsg string) {
	ctx := r.Context()
	name := c.tenant.Name()
	ctl, ok := s.catalog.Control(r.PathValue("control"))
	if !ok {
		s.errorPage(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no such control"))
		return
	}
	snap, err := c.view.Snapshot(c.tenant)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	subject := r.PathValue("subject")
	e := findException(snap, ctl.ID, subject)
	if e == nil {
		s.errorPage(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no current exception"))
		return
	}
	pd := s.page(r, c, ctl.ID+" "+subject+" · "+name, "overview")
	pd.Scripts = []string{"verify.js"}
	body := &exceptionData{Tenant: name, Control: ctl, Exception: e, Action: action, Text: text, Error: errMsg,
		Done: r.URL.Query().Get("done"), VerifierKey: s.verifierKey, Path: r.URL.Path}
	ids := e.Records
	if len(ids) > maxProofs {
		body.More = len(ids) - maxProofs
		ids = ids[:maxProofs]
	}
	proofs, err := c.view.Proofs(ctx, c.tenant, "exception/"+ctl.ID+"/"+subject, ids)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	for i, p := range proofs {
		body.Records = append(body.Records, s.proofView(c.tenant, ids[i], p))
	}
	v := c.view
	if v.May(access.Explain) && v.Principal().Person() {
		body.Actions = append(body.Actions, actionOption{"explain", "Explain: why it arose"}, actionOption{"remediate", "Remediate: what was done about it"})
	}
	if v.May(access.Accept) && v.Principal().Person() {
		body.Actions = append(body.Actions, actionOption{"accept", "Accept: management's response, accepting it as a deviation"})
	}
	s.render(w, r, status, "exception", pd, body)
}

// exceptionAction takes a person's action on an exception from the form.
func (s *server) exceptionAction(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, maxActionBody)
	action, text := r.PostFormValue("action"), r.PostFormValue("text")
	rec, err := c.view.Act(r.Context(), c.tenant, r.PathValue("control"), r.PathValue("subject"), action, text)
	if err != nil {
		status, ok := statusOf[errorCode(err)]
		if !ok || status >= 500 {
			s.errorPage(w, r, err)
			return
		}
		s.showException(w, r, c, status, action, text, waarborg.ErrorMessage(err))
		return
	}
	http.Redirect(w, r, r.URL.Path+"?done="+url.QueryEscape(rec.ID)+"#lifecycle", http.StatusSeeOther)
}

type recordData struct {
	Tenant      string
	Record      recordProof
	VerifierKey string
}

// inclusion reads the proof of the record of the path, or answers with
// the error page.
func (s *server) inclusion(w http.ResponseWriter, r *http.Request, c *call) (string, *ledger.InclusionProof, bool) {
	id := r.PathValue("id")
	if !waarborg.ValidID(id) {
		s.errorPage(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no such record"))
		return id, nil, false
	}
	p, err := c.view.Inclusion(r.Context(), c.tenant, id, 0)
	if err != nil {
		s.errorPage(w, r, err)
		return id, nil, false
	}
	return id, p, true
}

func (s *server) recordPage(w http.ResponseWriter, r *http.Request, c *call) {
	id, p, ok := s.inclusion(w, r, c)
	if !ok {
		return
	}
	pd := s.page(r, c, "Record "+id+" · "+c.tenant.Name(), "ledger")
	pd.Scripts = []string{"verify.js"}
	s.render(w, r, http.StatusOK, "record", pd, &recordData{Tenant: c.tenant.Name(), Record: s.proofView(c.tenant, id, p), VerifierKey: s.verifierKey})
}

type verifyData struct {
	Tenant      string
	Record      recordProof
	OK          bool
	Problem     string
	VerifierKey string
	Origin      string
}

// verifyPage checks a record's inclusion proof on the server, with the
// verifier key: for browsers that cannot (no WebCrypto outside a secure
// context) or people who prefer it.
func (s *server) verifyPage(w http.ResponseWriter, r *http.Request, c *call) {
	id, p, ok := s.inclusion(w, r, c)
	if !ok {
		return
	}
	body := &verifyData{Tenant: c.tenant.Name(), Record: s.proofView(c.tenant, id, p), VerifierKey: s.verifierKey}
	if s.verifier == nil {
		body.Problem = "this server has no verifier key to check with"
	} else if err := ledger.CheckInclusion(p, s.verifier); err != nil {
		body.Problem = err.Error()
	} else {
		body.OK = true
		body.Origin, _, _, _ = ledger.OpenCheckpoint([]byte(p.Checkpoint), s.verifier)
	}
	pd := s.page(r, c, "Verify "+id+" · "+c.tenant.Name(), "ledger")
	s.render(w, r, http.StatusOK, "verify", pd, body)
}

type checkpointRow struct {
	Size     uint64
	Root     string
	SignedAt time.Time
}

type consistencyView struct {
	From, To uint64
	OK       bool
	Problem  string
	Proof    []string
	Old, New string // the checkpoints' notes
}

type ledgerData struct {
	Tenant      string
	Size        uint64
	Latest      *waarborg.Checkpoint
	Rows        []checkpointRow
	Older       string // the next page of older checkpoints, if any
	Newest      string // the first page, when this is not it
	VerifierKey string
	LookupID    string
	LookupError string
	From, To    string
	Consistency *consistencyView
	FormError   string
}

const checkpointsPerPage = 25

func (s *server) ledgerPage(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	name := c.tenant.Name()
	store := c.view.Store()
	q := r.URL.Query()
	body := &ledgerData{Tenant: name, VerifierKey: s.verifierKey, LookupID: strings.TrimSpace(q.Get("id")), From: q.Get("from"), To: q.Get("to")}
	if id := body.LookupID; id != "" {
		_, err := store.Record(ctx, name, id)
		switch {
		case !waarborg.ValidID(id):
			body.LookupError = "A record id is 1-128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'."
		case waarborg.ErrorCode(err) == waarborg.ENOTFOUND:
			body.LookupError = fmt.Sprintf("The ledger of %s holds no record %q.", name, id)
		case err != nil:
			s.errorPage(w, r, err)
			return
		default:
			http.Redirect(w, r, "/t/"+name+"/records/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
	}
	var err error
	if body.Size, err = store.Size(ctx, name); err != nil {
		s.errorPage(w, r, err)
		return
	}
	// The view's store lists checkpoints a page at a time, by size: a live
	// log signs one a second.
	before, _, err := queryUint(r, "before")
	if err != nil {
		before = 0
	}
	cps, err := store.(waarborg.CheckpointPages).CheckpointsBefore(ctx, name, before, checkpointsPerPage+1)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if before == 0 && len(cps) > 0 {
		body.Latest = &cps[0]
	}
	if len(cps) > checkpointsPerPage {
		cps = cps[:checkpointsPerPage]
		body.Older = fmt.Sprintf("/t/%s/ledger?before=%d", name, cps[len(cps)-1].Size)
	}
	if before != 0 {
		body.Newest = "/t/" + name + "/ledger"
	}
	for _, cp := range cps {
		body.Rows = append(body.Rows, checkpointRow{cp.Size, fmt.Sprintf("%x", cp.Root), cp.SignedAt})
	}
	if body.From != "" || body.To != "" {
		from, err1 := strconv.ParseUint(body.From, 10, 64)
		to, err2 := strconv.ParseUint(body.To, 10, 64)
		if err1 != nil || err2 != nil {
			body.FormError = "Give the sizes of two checkpoints, the older first."
		} else if p, err := c.view.Consistency(ctx, c.tenant, from, to); err != nil {
			body.FormError = waarborg.ErrorMessage(err)
		} else {
			cv := &consistencyView{From: from, To: to, Old: p.Old.Checkpoint, New: p.New.Checkpoint}
			for _, h := range p.Proof {
				cv.Proof = append(cv.Proof, base64.StdEncoding.EncodeToString(h))
			}
			if s.verifier == nil {
				cv.Problem = "this server has no verifier key to check with"
			} else if err := ledger.CheckConsistency(p, s.verifier); err != nil {
				cv.Problem = err.Error()
			} else {
				cv.OK = true
			}
			body.Consistency = cv
		}
	}
	pd := s.page(r, c, "Ledger · "+name, "ledger")
	s.render(w, r, http.StatusOK, "ledger", pd, body)
}

type sourceRow struct {
	sourceStats
	Recent     int
	Spark      template.HTML
	SilentDays int64
}

type sourcesData struct {
	Tenant     string
	Rows       []sourceRow
	Read, Size uint64
	Complete   bool
	WindowFrom time.Time
	WindowTo   time.Time
	Err        string
}

// sparkDays is how many days of volume the sources page draws.
const sparkDays = 30

func (s *server) sourcesPage(w http.ResponseWriter, r *http.Request, c *call) {
	name := c.tenant.Name()
	ix, err := s.index.get(r.Context(), c.view.Store(), name, nil, indexBudget, true)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	pd := s.page(r, c, "Sources · "+name, "sources")
	body := &sourcesData{Tenant: name, Read: ix.Read, Size: ix.Size, Complete: ix.Complete()}
	if ix.Err != nil {
		body.Err = waarborg.ErrorMessage(ix.Err)
	}
	if !body.Complete {
		pd.Refresh = 3
	}
	// The window ends on the day of the latest record of any source: for
	// a live plant today, for an imported history its last day.
	var last int64
	for _, st := range ix.Sources {
		if !st.Latest.IsZero() {
			last = max(last, unixDay(st.Latest))
		}
	}
	first := last - sparkDays + 1
	body.WindowFrom, body.WindowTo = time.Unix(first*86400, 0).UTC(), time.Unix(last*86400, 0).UTC()
	labels := make([]string, sparkDays)
	for i := range labels {
		labels[i] = time.Unix((first+int64(i))*86400, 0).UTC().Format(time.DateOnly)
	}
	for _, st := range ix.Sources {
		row := sourceRow{sourceStats: st}
		vals := make([]int, sparkDays)
		for i := range vals {
			vals[i] = st.Days[first+int64(i)]
			row.Recent += vals[i]
		}
		row.Spark = sparkline("Records per day of "+st.Source+", the last 30 days", labels, vals)
		if !st.First.IsZero() {
			row.SilentDays = unixDay(st.Latest) - unixDay(st.First) + 1 - int64(len(st.Days))
		}
		body.Rows = append(body.Rows, row)
	}
	s.render(w, r, http.StatusOK, "sources", pd, body)
}
