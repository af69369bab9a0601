package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/auth"
)

// The admin pages: users and tokens. An admin manages the users all of
// whose tenants they hold, and the tokens of their tenants; only an admin
// of every tenant sees and makes metrics tokens and users of every tenant.

// covers reports whether an admin granted mine may manage what is granted
// theirs.
func covers(mine, theirs []string) bool {
	if slices.Contains(mine, waarborg.AllTenants) {
		return true
	}
	for _, t := range theirs {
		if t == waarborg.AllTenants || !slices.Contains(mine, t) {
			return false
		}
	}
	return true
}

type usersData struct {
	Users   []waarborg.User
	Roles   []string
	Tenants []string // the tenants this admin may grant
	Form    userForm
	Error   string
	Done    string
}

type userForm struct {
	Name, Role, Tenants string
	Disabled            bool
}

func (s *server) adminTenants(r *http.Request, c *call) []string {
	ts, _ := c.view.Tenants(r.Context())
	if slices.Contains(c.view.Principal().User.Tenants, waarborg.AllTenants) {
		ts = append([]string{waarborg.AllTenants}, ts...)
	}
	return ts
}

func (s *server) usersPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showUsers(w, r, c, http.StatusOK, userForm{Role: waarborg.RoleEngineer}, "")
}

func (s *server) showUsers(w http.ResponseWriter, r *http.Request, c *call, status int, form userForm, errMsg string) {
	all, err := s.users.ListUsers(r.Context())
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	me := c.view.Principal().User
	body := &usersData{Roles: waarborg.Roles(), Tenants: s.adminTenants(r, c), Form: form, Error: errMsg, Done: r.URL.Query().Get("done")}
	for _, u := range all {
		if covers(me.Tenants, u.Tenants) {
			u.Password = ""
			body.Users = append(body.Users, u)
		}
	}
	s.render(w, r, status, "users", s.page(r, c, "Users", "users"), body)
}

func splitTenants(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// addUser makes a user from the form; the admin sets the first password.
func (s *server) addUser(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	form := userForm{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role"),
		Tenants: strings.Join(append(r.PostForm["tenant"], splitTenants(r.PostFormValue("tenants"))...), ", ")}
	password := r.PostFormValue("password")
	fail := func(err error) {
		status := statusOf[errorCode(err)]
		if status == 0 || status >= 500 {
			s.errorPage(w, r, err)
			return
		}
		s.showUsers(w, r, c, status, form, waarborg.ErrorMessage(err))
	}
	if password != r.PostFormValue("password2") {
		fail(waarborg.Errorf(waarborg.EINVALID, "the two passwords differ"))
		return
	}
	u := &waarborg.User{Name: form.Name, Role: form.Role, Tenants: splitTenants(form.Tenants), Created: s.now().UTC()}
	if err := s.checkGrant(c, u.Tenants); err != nil {
		fail(err)
		return
	}
	if err := auth.CheckStrength(password); err != nil {
		fail(err)
		return
	}
	// Validated before the hash, which costs a tenth of a second and 46 MiB.
	u.Password = "-"
	if err := u.Validate(); err != nil {
		fail(err)
		return
	}
	hash, err := auth.HashPassword(password, auth.Default)
	if err != nil {
		fail(err)
		return
	}
	u.Password = hash
	if err := s.users.AddUser(r.Context(), u); err != nil {
		fail(err)
		return
	}
	s.log.Info("user added", "user", u.Name, "role", u.Role, "by", c.view.Principal().Name())
	http.Redirect(w, r, "/admin/users?done="+url.QueryEscape(u.Name), http.StatusSeeOther)
}

// checkGrant refuses tenants the admin does not hold.
func (s *server) checkGrant(c *call, tenants []string) error {
	ts, err := waarborg.NormalizeTenants(tenants)
	if err != nil {
		return err
	}
	if !covers(c.view.Principal().User.Tenants, ts) {
		return waarborg.Errorf(waarborg.EFORBIDDEN, "you may grant only tenants you hold yourself")
	}
	return nil
}

type userData struct {
	User    waarborg.User
	Roles   []string
	Tenants []string
	Form    userForm
	Self    bool
	Error   string
}

// managed returns the user of the path if the admin may manage them.
func (s *server) managed(r *http.Request, c *call) (*waarborg.User, error) {
	u, err := s.users.User(r.Context(), r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	if !covers(c.view.Principal().User.Tenants, u.Tenants) {
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "no such user")
	}
	return u, nil
}

func (s *server) userPage(w http.ResponseWriter, r *http.Request, c *call) {
	u, err := s.managed(r, c)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.showUser(w, r, c, http.StatusOK, u, userForm{Name: u.Name, Role: u.Role, Tenants: strings.Join(u.Tenants, ", "), Disabled: u.Disabled}, "")
}

func (s *server) showUser(w http.ResponseWriter, r *http.Request, c *call, status int, u *waarborg.User, form userForm, errMsg string) {
	u.Password = ""
	body := &userData{User: *u, Roles: waarborg.Roles(), Tenants: s.adminTenants(r, c), Form: form,
		Self: u.Name == c.view.Principal().Name(), Error: errMsg}
	s.render(w, r, status, "user", s.page(r, c, "User "+u.Name, "users"), body)
}

// updateUser changes a user's role, tenants, password or disabled flag. A
// new password or disabling ends the user's sessions. Admins cannot
// demote or disable themselves, so that someone can always administer.
func (s *server) updateUser(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	u, err := s.managed(r, c)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	form := userForm{Name: u.Name, Role: r.PostFormValue("role"),
		Tenants:  strings.Join(append(r.PostForm["tenant"], splitTenants(r.PostFormValue("tenants"))...), ", "),
		Disabled: r.PostFormValue("disabled") != ""}
	fail := func(err error) {
		status := statusOf[errorCode(err)]
		if status == 0 || status >= 500 {
			s.errorPage(w, r, err)
			return
		}
		s.showUser(w, r, c, status, u, form, waarborg.ErrorMessage(err))
	}
	next := *u
	next.Role, next.Tenants, next.Disabled = form.Role, splitTenants(form.Tenants), form.Disabled
	if u.Name == c.view.Principal().Name() && (next.Role != waarborg.RoleAdmin || next.Disabled) {
		fail(waarborg.Errorf(waarborg.EINVALID, "you cannot take away your own admin role or disable yourself"))
		return
	}
	if err := s.checkGrant(c, next.Tenants); err != nil {
		fail(err)
		return
	}
	newPassword := r.PostFormValue("password") != ""
	if newPassword {
		if r.PostFormValue("password") != r.PostFormValue("password2") {
			fail(waarborg.Errorf(waarborg.EINVALID, "the two passwords differ"))
			return
		}
		if err := auth.CheckStrength(r.PostFormValue("password")); err != nil {
			fail(err)
			return
		}
	}
	// Validated before a new password's hash, which is costly.
	if err := next.Validate(); err != nil {
		fail(err)
		return
	}
	if newPassword {
		if next.Password, err = auth.HashPassword(r.PostFormValue("password"), auth.Default); err != nil {
			fail(err)
			return
		}
	}
	if err := s.users.PutUser(r.Context(), &next); err != nil {
		fail(err)
		return
	}
	if newPassword || next.Disabled || !slices.Equal(next.Tenants, u.Tenants) || next.Role != u.Role {
		if err := s.endSessions(r.Context(), next.Name); err != nil {
			fail(err)
			return
		}
	}
	s.log.Info("user changed", "user", next.Name, "role", next.Role, "disabled", next.Disabled, "new_password", newPassword, "by", c.view.Principal().Name())
	http.Redirect(w, r, "/admin/users?done="+url.QueryEscape(next.Name), http.StatusSeeOther)
}

type tokensData struct {
	Tokens  []waarborg.Token
	Tenants []string
	Scopes  []string
	Form    tokenForm
	Secret  string // the new token's text, shown once
	NewID   string
	Error   string
}

type tokenForm struct {
	Name, Tenant, Scope string
}

func (s *server) tokenVisible(c *call, t *waarborg.Token) bool {
	mine := c.view.Principal().User.Tenants
	if t.Scope == waarborg.ScopeMetrics {
		return slices.Contains(mine, waarborg.AllTenants)
	}
	return covers(mine, []string{t.Tenant})
}

func (s *server) tokensPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showTokens(w, r, c, http.StatusOK, &tokensData{Form: tokenForm{Scope: waarborg.ScopeIngest}})
}

func (s *server) showTokens(w http.ResponseWriter, r *http.Request, c *call, status int, body *tokensData) {
	all, err := s.users.ListTokens(r.Context())
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	for _, t := range all {
		if s.tokenVisible(c, &t) {
			body.Tokens = append(body.Tokens, t)
		}
	}
	body.Tenants = s.adminTenants(r, c)
	body.Scopes = waarborg.Scopes()
	if !slices.Contains(c.view.Principal().User.Tenants, waarborg.AllTenants) {
		body.Scopes = body.Scopes[:2]
	}
	s.render(w, r, status, "tokens", s.page(r, c, "API tokens", "tokens"), body)
}

// addToken makes a token and shows its secret once.
func (s *server) addToken(w http.ResponseWriter, r *http.Request, c *call) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	form := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Tenant: r.PostFormValue("tenant"), Scope: r.PostFormValue("scope")}
	fail := func(err error) {
		status := statusOf[errorCode(err)]
		if status == 0 || status >= 500 {
			s.errorPage(w, r, err)
			return
		}
		s.showTokens(w, r, c, status, &tokensData{Form: form, Error: waarborg.ErrorMessage(err)})
	}
	text, id, digest, err := auth.NewToken()
	if err != nil {
		fail(err)
		return
	}
	t := &waarborg.Token{ID: id, Name: form.Name, Tenant: form.Tenant, Scope: form.Scope, Digest: digest,
		Created: s.now().UTC(), CreatedBy: c.view.Principal().Name()}
	if t.Scope == waarborg.ScopeMetrics {
		t.Tenant = ""
	}
	if err := t.Validate(); err != nil {
		fail(err)
		return
	}
	if !s.tokenVisible(c, t) {
		fail(waarborg.Errorf(waarborg.EFORBIDDEN, "you may make tokens only for tenants you hold yourself"))
		return
	}
	if err := s.users.AddToken(r.Context(), t); err != nil {
		fail(err)
		return
	}
	s.log.Info("token added", "token", t.ID, "scope", t.Scope, "tenant", t.Tenant, "by", t.CreatedBy)
	s.showTokens(w, r, c, http.StatusCreated, &tokensData{Form: tokenForm{Scope: form.Scope, Tenant: form.Tenant}, Secret: text, NewID: id})
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	all, err := s.users.ListTokens(r.Context())
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	for _, t := range all {
		if t.ID == id && s.tokenVisible(c, &t) {
			if err := s.users.DeleteToken(r.Context(), id); err != nil {
				s.errorPage(w, r, err)
				return
			}
			s.log.Info("token revoked", "token", id, "by", c.view.Principal().Name())
			http.Redirect(w, r, "/admin/tokens", http.StatusSeeOther)
			return
		}
	}
	s.errorPage(w, r, waarborg.Errorf(waarborg.ENOTFOUND, "no such token"))
}
