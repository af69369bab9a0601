package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
)

// The pages are html/template files and the assets static files, both
// embedded: nothing is built or fetched at run time.
var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// assetVersion is a short hash of each static file, appended to its URL so
// that browsers may cache it for long and still see a new one at once.
var assetVersion = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := staticFS.ReadFile(p)
			sum := sha256.Sum256(b)
			m[path.Base(p)] = hex.EncodeToString(sum[:4])
		}
		return nil
	})
	return m
}()

var funcs = template.FuncMap{
	"asset": func(name string) string { return "/static/" + name + "?v=" + assetVersion[name] },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format(time.DateOnly)
	},
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join":  strings.Join,
	"esc":   url.PathEscape,
	"short": func(s string) string { return shortText(s, 16) },
	"num":   groupDigits,
	"add":   func(a, b int) int { return a + b },
	// plural writes a count with its noun: "1 exception", "2 exceptions".
	"plural": func(n int, noun string) string {
		if n == 1 {
			return "1 " + noun
		}
		return groupDigits(n) + " " + noun + "s"
	},
	"upper": strings.ToUpper,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	// subjectPath is the path of an exception page; a subject may hold "/".
	"subjectPath": func(tenant, control, subject string) string {
		parts := strings.Split(subject, "/")
		for i := range parts {
			parts[i] = url.PathEscape(parts[i])
		}
		return "/t/" + tenant + "/exceptions/" + url.PathEscape(control) + "/" + strings.Join(parts, "/")
	},
}

func shortText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// groupDigits writes an integer with thin spaces between thousands.
func groupDigits(v any) string {
	var s string
	switch n := v.(type) {
	case int:
		s = strconv.Itoa(n)
	case uint64:
		s = strconv.FormatUint(n, 10)
	case int64:
		s = strconv.FormatInt(n, 10)
	default:
		return fmt.Sprint(v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// parsePages parses each page with the layout around it.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	// Files named _*.html are parts that every page may use.
	shared := []string{"templates/layout.html", "templates/_*.html"}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, append(shared, n)...))
		pages[name] = t
	}
	return pages
}

// pageData is what the layout shows around every page.
type pageData struct {
	Title   string
	User    *waarborg.User
	Tenants []string
	Tenant  string // the tenant the page is about, if any
	Section string // which item of the navigation is current
	Admin   bool
	Refresh int // seconds until the page reloads itself (0: never)
	Scripts []string
	Body    any
}

// page returns the layout data of a signed-in person's page.
func (s *server) page(r *http.Request, c *call, title, section string) *pageData {
	pd := &pageData{Title: title, Section: section, Tenant: c.tenant.Name()}
	if c.view != nil {
		p := c.view.Principal()
		pd.User = p.User
		pd.Admin = p.May(access.Administer)
		pd.Tenants, _ = c.view.Tenants(r.Context())
	}
	return pd
}

// render writes a page. The page is rendered into a buffer first, so that a
// template error becomes a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, pd *pageData, body any) {
	t, ok := s.pages[name]
	if !ok {
		panic("web: no page template " + name)
	}
	pd.Body = body
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pd); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "render page", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show evidence: no shared cache may keep them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorData struct {
	Status  int
	Heading string
	Message string
}

// errorPage answers with err as a page. Without a session a GET goes to
// the sign-in page and comes back after it.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	code := errorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if code == waarborg.EUNAUTHORISED && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	msg := waarborg.ErrorMessage(err)
	if status >= 500 {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	heading := http.StatusText(status)
	switch status {
	case http.StatusNotFound:
		heading, msg = "Not found", "There is nothing here, or nothing you have been granted."
	case http.StatusForbidden:
		heading = "Not allowed"
	case http.StatusUnauthorized:
		heading = "Sign in first"
	}
	pd := &pageData{Title: heading}
	if u, _, err := s.session(r); err == nil {
		pd.User = u
	}
	s.render(w, r, status, "error", pd, &errorData{Status: status, Heading: heading, Message: msg})
}

// static serves the embedded assets.
func (s *server) static(w http.ResponseWriter, r *http.Request, _ *call) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == assetVersion[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// home sends a person to their tenant's overview, or lists their tenants.
func (s *server) home(w http.ResponseWriter, r *http.Request, c *call) {
	pd := s.page(r, c, "Tenants", "")
	if t := r.URL.Query().Get("t"); t != "" {
		http.Redirect(w, r, "/t/"+url.PathEscape(t)+"/", http.StatusSeeOther)
		return
	}
	if len(pd.Tenants) == 1 {
		http.Redirect(w, r, "/t/"+url.PathEscape(pd.Tenants[0])+"/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "home", pd, nil)
}

// page numbers: ?page= from 1.
func pageParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// A pager cuts a list of n items into pages of size.
type pager struct {
	Page, Pages, Size, Total int
	From, To                 int // 0-based half-open range of the current page
	Prev, Next               string
}

func newPager(r *http.Request, total, size int) pager {
	p := pager{Page: pageParam(r), Size: size, Total: total, Pages: max(1, (total+size-1)/size)}
	p.Page = min(p.Page, p.Pages)
	p.From = (p.Page - 1) * size
	p.To = min(total, p.From+size)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p
}
