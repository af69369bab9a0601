package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/access"
	"github.com/waarborg/waarborg/auth"
)

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// Session cookies: over TLS the __Host- prefix pins the cookie to this
// host, path / and Secure.
const (
	cookieSecure = "__Host-waarborg"
	cookiePlain  = "waarborg"
)

func (s *server) secureRequest(r *http.Request) bool { return s.secure || r.TLS != nil }

func (s *server) cookieName(r *http.Request) string {
	if s.secureRequest(r) {
		return cookieSecure
	}
	return cookiePlain
}

func unauthorised(format string, args ...any) error {
	return waarborg.Errorf(waarborg.EUNAUTHORISED, format, args...)
}

// authenticate returns who makes the request: the holder of the API token
// in an Authorization: Bearer header (API routes only), or of the session
// in the cookie. It returns EUNAUTHORISED when neither is valid.
func (s *server) authenticate(r *http.Request, asAPI bool) (access.Principal, error) {
	if s.users == nil {
		return access.Principal{}, unauthorised("sign-in is not configured on this server")
	}
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" && asAPI {
		secret, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(secret, auth.TokenPrefix) {
			return access.Principal{}, unauthorised("the Authorization header must be Bearer and a waarborg token")
		}
		t, err := s.users.TokenByDigest(ctx, auth.Digest(strings.TrimSpace(secret)))
		if waarborg.ErrorCode(err) == waarborg.ENOTFOUND {
			return access.Principal{}, unauthorised("unknown or revoked token")
		}
		if err != nil {
			return access.Principal{}, err
		}
		return access.Principal{Token: t}, nil
	}
	u, _, err := s.session(r)
	if err != nil {
		return access.Principal{}, err
	}
	return access.Principal{User: u}, nil
}

// session returns the signed-in user of the request's cookie and the
// session's digest.
func (s *server) session(r *http.Request) (*waarborg.User, [32]byte, error) {
	ctx := r.Context()
	ck, err := r.Cookie(s.cookieName(r))
	if err != nil || ck.Value == "" {
		return nil, [32]byte{}, unauthorised("sign in first")
	}
	d := auth.Digest(ck.Value)
	sess, err := s.users.Session(ctx, d)
	if waarborg.ErrorCode(err) == waarborg.ENOTFOUND {
		return nil, d, unauthorised("your session has ended; sign in again")
	}
	if err != nil {
		return nil, d, err
	}
	if !s.now().Before(sess.Expires) {
		s.users.DeleteSession(ctx, d)
		return nil, d, unauthorised("your session has expired; sign in again")
	}
	u, err := s.users.User(ctx, sess.User)
	if err != nil || u.Disabled {
		return nil, d, unauthorised("sign in again")
	}
	return u, d, nil
}

// clientIP is the address a login attempt comes from, for rate limiting.
// The server sits directly on the network or behind a proxy that owns
// the connection; forwarded headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type loginData struct {
	Next    string
	Name    string
	Message string
}

func (s *server) loginPage(w http.ResponseWriter, r *http.Request, _ *call) {
	if u, _, err := s.session(r); err == nil && u != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", &pageData{Title: "Sign in"}, &loginData{Next: r.URL.Query().Get("next")})
}

// login checks a name and password and starts a session. Failed and
// too-frequent attempts answer alike for unknown names and wrong
// passwords; the password is never logged or shown.
func (s *server) login(w http.ResponseWriter, r *http.Request, _ *call) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	again := func(status int, msg string) {
		s.render(w, r, status, "login", &pageData{Title: "Sign in"}, &loginData{Next: next, Name: name, Message: msg})
	}
	if s.users == nil {
		again(http.StatusServiceUnavailable, "Sign-in is not configured on this server.")
		return
	}
	if wait := s.limiter.allow(clientIP(r), name); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+1)))
		again(http.StatusTooManyRequests, "Too many sign-in attempts. Wait a minute and try again.")
		return
	}
	u, err := s.users.User(r.Context(), name)
	ok := false
	switch {
	case waarborg.ErrorCode(err) == waarborg.ENOTFOUND || err == nil && u.Disabled:
		auth.CheckNobody(password)
	case err != nil:
		s.errorPage(w, r, err)
		return
	default:
		ok = auth.CheckPassword(u.Password, password)
	}
	if !ok {
		s.limiter.failed(name)
		// The name is logged only when it is a user's: what someone typed
		// into the name field may be their password.
		who := "(unknown)"
		if u != nil {
			who = u.Name
		}
		s.log.Info("sign-in refused", "user", who, "remote", clientIP(r))
		again(http.StatusUnauthorized, "The name or the password is wrong.")
		return
	}
	s.limiter.succeeded(name)
	secret, digest, err := auth.NewSecret()
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	now := s.now()
	if err := s.users.AddSession(r.Context(), &waarborg.Session{Digest: digest, User: u.Name, Created: now, Expires: now.Add(SessionTTL)}); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.log.Info("signed in", "user", u.Name, "remote", clientIP(r))
	http.SetCookie(w, &http.Cookie{
		Name: s.cookieName(r), Value: secret, Path: "/", Expires: now.Add(SessionTTL), MaxAge: int(SessionTTL.Seconds()),
		Secure: s.secureRequest(r), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, _ *call) {
	if s.users != nil {
		if ck, err := r.Cookie(s.cookieName(r)); err == nil {
			s.users.DeleteSession(r.Context(), auth.Digest(ck.Value))
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		Secure: s.secureRequest(r), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// localPath returns p if it is a path on this server, "/" otherwise, so
// that ?next= cannot send anyone elsewhere.
func localPath(p string) string {
	u, err := url.Parse(p)
	if err != nil || p == "" || u.IsAbs() || u.Host != "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return p
}

// limiter bounds sign-in attempts: per client address a burst of
// ipBurst attempts refilled at one per ipEvery, and per user name a burst
// of nameBurst failures refilled at one per nameEvery. A success clears
// the name's failures.
type limiter struct {
	now func() time.Time

	mu    sync.Mutex
	ips   map[string]*bucket
	names map[string]*bucket
}

const (
	ipBurst   = 20
	ipEvery   = 3 * time.Second
	nameBurst = 5
	nameEvery = time.Minute
	maxKeys   = 10000 // beyond it, full buckets are forgotten
)

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, ips: make(map[string]*bucket), names: make(map[string]*bucket)}
}

// refill brings a bucket up to now and returns it.
func refill(m map[string]*bucket, key string, burst int, every time.Duration, now time.Time) *bucket {
	b := m[key]
	if b == nil {
		if len(m) >= maxKeys {
			for k, o := range m {
				if o.tokens+float64(now.Sub(o.at))/float64(every) >= float64(burst) {
					delete(m, k)
				}
			}
		}
		b = &bucket{tokens: float64(burst), at: now}
		m[key] = b
	}
	b.tokens = min(float64(burst), b.tokens+float64(now.Sub(b.at))/float64(every))
	b.at = now
	return b
}

// allow takes an attempt from the address's bucket and reports how long
// to wait when that or the name's failures are exhausted (0: go ahead).
func (l *limiter) allow(ip, name string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	nb := refill(l.names, strings.ToLower(name), nameBurst, nameEvery, now)
	if nb.tokens < 1 {
		return time.Duration((1 - nb.tokens) * float64(nameEvery))
	}
	ib := refill(l.ips, ip, ipBurst, ipEvery, now)
	if ib.tokens < 1 {
		return time.Duration((1 - ib.tokens) * float64(ipEvery))
	}
	ib.tokens--
	return 0
}

func (l *limiter) failed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	refill(l.names, strings.ToLower(name), nameBurst, nameEvery, l.now()).tokens--
}

func (l *limiter) succeeded(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.names, strings.ToLower(name))
}

// endSessions ends every session of a user (disabled, new password).
func (s *server) endSessions(ctx context.Context, user string) error {
	return s.users.DeleteSessions(ctx, user, s.now())
}
