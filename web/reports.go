package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
)

// A Reporter writes the report that req asks for into dir, an empty
// directory of its own: the report's HTML and PDF, its results and its
// evidence bundle (bundle.zip), whatever the reporter makes. Every regular
// file it leaves in dir is offered for download. cmd/waarborg wires it.
type Reporter func(ctx context.Context, req ReportRequest, dir string) error

// A ReportRequest asks for a report of one tenant.
type ReportRequest struct {
	Tenant string
	Type   string    // "1": design as of AsOf; "2": operating effectiveness over [From, To)
	From   time.Time // type 2
	To     time.Time // type 2
	AsOf   time.Time // type 1
	By     string    // the person who asked for it
}

// reportTimeout bounds one report's generation.
const reportTimeout = time.Hour

// reports keeps generated reports in dir/<tenant>/<id>/, each with a
// report.json saying what it is and how its generation went. Every method
// takes an access.Tenant: only a view's check makes one.
type reports struct {
	dir string
	run Reporter
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	running map[string]bool // tenant/id
}

func newReports(dir string, run Reporter, now func() time.Time, log *slog.Logger) *reports {
	return &reports{dir: dir, run: run, now: now, log: log, running: make(map[string]bool)}
}

func (rs *reports) enabled() bool { return rs.dir != "" && rs.run != nil }

// A report is what report.json holds.
type report struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	AsOf     time.Time `json:"as_of,omitzero"`
	By       string    `json:"by"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Error    string    `json:"error,omitempty"`
	Files    []string  `json:"files,omitempty"`

	Running bool `json:"-"`
}

// Status is how the report's generation stands.
func (r *report) Status() string {
	switch {
	case r.Running:
		return "generating"
	case r.Error != "":
		return "failed"
	case r.Finished.IsZero():
		return "interrupted"
	}
	return "ready"
}

// Period describes what the report covers.
func (r *report) Period() string {
	if r.Type == "1" {
		return "as of " + r.AsOf.UTC().Format(time.DateOnly)
	}
	return r.From.UTC().Format(time.DateOnly) + " to " + r.To.UTC().Format(time.DateOnly) + " (exclusive)"
}

const metaFile = "report.json"

func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 128 || strings.HasPrefix(s, ".") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (rs *reports) tenantDir(t access.Tenant) string { return filepath.Join(rs.dir, t.Name()) }

// list returns the tenant's reports, newest first.
func (rs *reports) list(t access.Tenant) ([]report, error) {
	if !rs.enabled() {
		return nil, nil
	}
	entries, err := os.ReadDir(rs.tenantDir(t))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	var out []report
	for _, e := range entries {
		if !e.IsDir() || !validName(e.Name()) {
			continue
		}
		rep, err := rs.read(t, e.Name())
		if err != nil {
			continue
		}
		out = append(out, *rep)
	}
	slices.SortFunc(out, func(a, b report) int { return b.Started.Compare(a.Started) })
	return out, nil
}

func (rs *reports) read(t access.Tenant, id string) (*report, error) {
	b, err := os.ReadFile(filepath.Join(rs.tenantDir(t), id, metaFile))
	if err != nil {
		return nil, err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	rs.mu.Lock()
	rep.Running = rs.running[t.Name()+"/"+id]
	rs.mu.Unlock()
	return &rep, nil
}

func writeMeta(dir string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+metaFile)
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, metaFile))
}

// start begins generating a report in the background and returns its id.
func (rs *reports) start(t access.Tenant, req ReportRequest) (string, error) {
	if !rs.enabled() {
		return "", waarborg.Errorf(waarborg.ENOTFOUND, "this server does not generate reports")
	}
	req.Tenant = t.Name()
	now := rs.now().UTC()
	id := "type" + req.Type + "-"
	if req.Type == "1" {
		id += req.AsOf.UTC().Format("20060102")
	} else {
		id += req.From.UTC().Format("20060102") + "-" + req.To.UTC().Format("20060102")
	}
	id += "-" + strconv.FormatInt(now.UnixMilli(), 10)
	dir := filepath.Join(rs.tenantDir(t), id)
	if err := os.MkdirAll(filepath.Join(dir, "out"), 0o700); err != nil {
		return "", fmt.Errorf("report directory: %w", err)
	}
	rep := &report{ID: id, Type: req.Type, From: req.From, To: req.To, AsOf: req.AsOf, By: req.By, Started: now}
	if err := writeMeta(dir, rep); err != nil {
		return "", fmt.Errorf("report directory: %w", err)
	}
	key := t.Name() + "/" + id
	rs.mu.Lock()
	rs.running[key] = true
	rs.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
		defer cancel()
		out := filepath.Join(dir, "out")
		err := rs.run(ctx, req, out)
		rep.Finished = rs.now().UTC()
		if err != nil {
			rep.Error = waarborg.ErrorMessage(err)
			rs.log.Error("report failed", "tenant", t.Name(), "report", id, "err", err)
		} else if entries, err := os.ReadDir(out); err == nil {
			for _, e := range entries {
				if e.Type().IsRegular() && validName(e.Name()) {
					rep.Files = append(rep.Files, e.Name())
				}
			}
		}
		if err := writeMeta(dir, rep); err != nil {
			rs.log.Error("report metadata", "tenant", t.Name(), "report", id, "err", err)
		}
		rs.mu.Lock()
		delete(rs.running, key)
		rs.mu.Unlock()
	}()
	return id, nil
}

// open opens one finished file of a report.
func (rs *reports) open(t access.Tenant, id, file string) (*os.File, error) {
	nf := waarborg.Errorf(waarborg.ENOTFOUND, "no such report file")
	if !rs.enabled() || !validName(id) || !validName(file) {
		return nil, nf
	}
	rep, err := rs.read(t, id)
	if err != nil || !slices.Contains(rep.Files, file) {
		return nil, nf
	}
	return os.Open(filepath.Join(rs.tenantDir(t), id, "out", file))
}

type reportsData struct {
	Tenant      string
	Enabled     bool
	CanGenerate bool
	Reports     []report
	Error       string
	Started     string
	Form        reportForm
}

type reportForm struct {
	Type, From, To, AsOf string
}

func (s *server) reportsPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showReports(w, r, c, http.StatusOK, reportForm{}, "")
}

func (s *server) showReports(w http.ResponseWriter, r *http.Request, c *call, status int, form reportForm, errMsg string) {
	list, err := s.reports.list(c.tenant)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	pd := s.page(r, c, "Reports · "+c.tenant.Name(), "reports")
	body := &reportsData{Tenant: c.tenant.Name(), Enabled: s.reports.enabled(), CanGenerate: c.view.May(access.Report),
		Reports: list, Error: errMsg, Started: r.URL.Query().Get("started"), Form: form}
	if form.Type == "" {
		now := s.now().UTC()
		body.Form = reportForm{Type: "2", From: time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
			To: now.AddDate(0, 0, 1).Format(time.DateOnly), AsOf: now.Format(time.DateOnly)}
	}
	for _, rep := range list {
		if rep.Running {
			pd.Refresh = 3
		}
	}
	s.render(w, r, status, "reports", pd, body)
}

// generateReport starts a report from the form and returns to the list.
func (s *server) generateReport(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	form := reportForm{Type: r.PostFormValue("type"), From: r.PostFormValue("from"), To: r.PostFormValue("to"), AsOf: r.PostFormValue("as_of")}
	req := ReportRequest{Type: form.Type, By: c.view.Principal().Name()}
	var err error
	date := func(name, v string) time.Time {
		t, e := time.Parse(time.DateOnly, v)
		if e != nil && err == nil {
			err = waarborg.Errorf(waarborg.EINVALID, "%s must be a date, YYYY-MM-DD", name)
		}
		return t
	}
	switch form.Type {
	case "1":
		req.AsOf = date("the date", form.AsOf)
	case "2":
		req.From, req.To = date("the first day", form.From), date("the end", form.To)
		if err == nil && !req.From.Before(req.To) {
			err = waarborg.Errorf(waarborg.EINVALID, "the period must end after it starts")
		}
	default:
		err = waarborg.Errorf(waarborg.EINVALID, "choose a Type I or a Type II report")
	}
	if err != nil {
		s.showReports(w, r, c, http.StatusBadRequest, form, waarborg.ErrorMessage(err))
		return
	}
	id, err := s.reports.start(c.tenant, req)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	http.Redirect(w, r, "/t/"+c.tenant.Name()+"/reports?started="+id, http.StatusSeeOther)
}

// downloadReport sends one file of a report, once the download is in the
// tenant's log.
func (s *server) downloadReport(w http.ResponseWriter, r *http.Request, c *call) {
	id, file := r.PathValue("report"), r.PathValue("file")
	f, err := s.reports.open(c.tenant, id, file)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if err := c.view.Accessed(r.Context(), c.tenant, "download", "report/"+id+"/"+file, nil); err != nil {
		s.errorPage(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", c.tenant.Name()+"-"+id+"-"+file))
	w.Header().Set("Cache-Control", "no-store")
	http.ServeContent(w, r, file, fi.ModTime(), f)
}
