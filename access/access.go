// Package access decides what a signed-in person or a machine's API token
// may reach, and is the only way the HTTP layer reaches tenants' evidence.
//
// A View holds one caller's grants. Everything it hands out is limited to
// them: a read-only store whose every query refuses another tenant, proofs,
// evaluations, exceptions and actions. A tenant that is not granted is
// indistinguishable from one that does not exist (ENOTFOUND). A Tenant value
// can only come from View.Tenant, so code that takes one (the web's report
// files, for instance) cannot be reached for a tenant the caller lacks.
//
// Every view or download of evidence by a person (records, proofs, bundles,
// reports) is appended to the tenant's own log as an evidence.access record
// (docs/access.md) before the evidence is handed out: if it cannot be
// recorded, it is not shown.
//
// It does no I/O but through waarborg.Store and the ledger; web uses it.
package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/assess"
	"github.com/waarborg/waarborg/controls"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/monitor"
)

// A Principal is who makes a request: a person or a machine.
type Principal struct {
	User  *waarborg.User  // a signed-in person, or nil
	Token *waarborg.Token // a machine's API token, or nil
}

// Person reports whether the principal is a signed-in person.
func (p Principal) Person() bool { return p.User != nil }

// Name is the principal's name: the user's, or "token:<id>".
func (p Principal) Name() string {
	switch {
	case p.User != nil:
		return p.User.Name
	case p.Token != nil:
		return "token:" + p.Token.ID
	}
	return ""
}

// Grants reports whether the principal may see tenant.
func (p Principal) Grants(tenant string) bool {
	switch {
	case p.User != nil:
		return !p.User.Disabled && p.User.Grants(tenant)
	case p.Token != nil:
		return p.Token.Grants(tenant)
	}
	return false
}

// An Action is something a principal may be allowed to do.
type Action int

// The actions. Every role reads; they differ in what they change.
const (
	Read       Action = iota + 1 // read evidence, proofs, results and exceptions
	Ingest                       // append records (ingest tokens only)
	Explain                      // explain and remediate exceptions
	Accept                       // accept an exception: management's response
	Report                       // generate reports and bundles
	Administer                   // manage users and tokens
	Metrics                      // read /metrics, which names every tenant: admins of every tenant
)

var actionNames = map[Action]string{
	Read: "read", Ingest: "ingest", Explain: "explain or remediate exceptions", Accept: "accept exceptions",
	Report: "generate reports", Administer: "manage users and tokens", Metrics: "read metrics",
}

func (a Action) String() string { return actionNames[a] }

// roleActions is what each role may do (docs/access.md).
var roleActions = map[string][]Action{
	waarborg.RoleAdmin:      {Read, Explain, Accept, Report, Administer, Metrics},
	waarborg.RoleCompliance: {Read, Explain, Accept, Report},
	waarborg.RoleEngineer:   {Read, Explain},
	waarborg.RoleAuditor:    {Read},
}

var scopeActions = map[string][]Action{
	waarborg.ScopeIngest:  {Ingest},
	waarborg.ScopeRead:    {Read},
	waarborg.ScopeMetrics: {Metrics},
}

// May reports whether the principal may do a at all (on its tenants).
func (p Principal) May(a Action) bool {
	switch {
	case p.User != nil:
		if a == Metrics && !slices.Contains(p.User.Tenants, waarborg.AllTenants) {
			return false // metrics name every tenant
		}
		return !p.User.Disabled && slices.Contains(roleActions[p.User.Role], a)
	case p.Token != nil:
		return slices.Contains(scopeActions[p.Token.Scope], a)
	}
	return false
}

// Backend is what views are views of. Monitor may be nil (no continuous
// evaluation); Now nil means time.Now.
type Backend struct {
	Store   waarborg.Store
	Ledger  *ledger.Ledger
	Monitor *monitor.Service
	Log     assess.Log // for evaluations: Store and Ledger as above, with the verifier
	Now     func() time.Time
}

// View returns p's view of the backend.
func (b *Backend) View(p Principal) *View {
	v := &View{b: b, p: p}
	v.store = &restricted{s: b.Store, grants: p.Grants}
	return v
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// A View is one principal's view of the backend. It is safe for
// concurrent use.
type View struct {
	b     *Backend
	p     Principal
	store waarborg.Store
}

// A Tenant is a tenant a View's principal is granted. Only View.Tenant
// makes one; the zero Tenant names none.
type Tenant struct{ name string }

// Name returns the tenant's name.
func (t Tenant) Name() string { return t.name }

func (t Tenant) String() string { return t.name }

// Principal returns who the view is for.
func (v *View) Principal() Principal { return v.p }

// May reports whether the principal may do a.
func (v *View) May(a Action) bool { return v.p.May(a) }

// Require returns EFORBIDDEN unless the principal may do a.
func (v *View) Require(a Action) error {
	if !v.p.May(a) {
		return waarborg.Errorf(waarborg.EFORBIDDEN, "%s may not %s", describe(v.p), a)
	}
	return nil
}

func describe(p Principal) string {
	switch {
	case p.User != nil:
		return "a user with role " + p.User.Role
	case p.Token != nil:
		return "a token with scope " + p.Token.Scope
	}
	return "an anonymous caller"
}

// Tenant returns name as a Tenant if the principal is granted it; the
// tenant need not have a log yet. Otherwise it returns ENOTFOUND, as for a
// tenant that does not exist, or EINVALID for a malformed name.
func (v *View) Tenant(name string) (Tenant, error) {
	if !waarborg.ValidTenant(name) {
		return Tenant{}, waarborg.Errorf(waarborg.EINVALID, "tenant must be 1-64 characters of a-z0-9-")
	}
	if !v.p.Grants(name) {
		return Tenant{}, waarborg.Errorf(waarborg.ENOTFOUND, "no such tenant")
	}
	return Tenant{name}, nil
}

// Tenants returns the tenants the principal is granted, by name: those
// named in its grants, and with a grant of every tenant those with a log.
func (v *View) Tenants(ctx context.Context) ([]string, error) {
	var named []string
	switch {
	case v.p.User != nil && !v.p.User.Disabled:
		named = v.p.User.Tenants
	case v.p.Token != nil && v.p.Token.Tenant != "":
		named = []string{v.p.Token.Tenant}
	}
	if !slices.Contains(named, waarborg.AllTenants) {
		return slices.Clone(named), nil
	}
	return v.b.Store.Tenants(ctx)
}

// Store returns the principal's read-only view of the store: a query for
// a tenant it is not granted fails with ENOTFOUND, Tenants lists only its
// tenants, and Update fails with EFORBIDDEN.
func (v *View) Store() waarborg.Store { return v.store }

// Inclusion returns the proof that record id is in the checkpoint of size
// (0: the latest). A person's look at it is recorded first.
func (v *View) Inclusion(ctx context.Context, t Tenant, id string, size uint64) (*ledger.InclusionProof, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	// The record must exist before its viewing is recorded: a lookup of
	// an id that is not there shows no evidence.
	if _, err := v.store.Record(ctx, t.name, id); err != nil {
		return nil, err
	}
	if err := v.Accessed(ctx, t, "view", "record/"+id, []string{id}); err != nil {
		return nil, err
	}
	return v.b.Ledger.Inclusion(ctx, t.name, id, size)
}

// Proofs returns the inclusion proofs of the records ids in the latest
// checkpoint, nil for an id the tenant does not hold; object names what
// they are shown as (e.g. "exception/PC-02/b-1") in the one access record
// of a person's look at them.
func (v *View) Proofs(ctx context.Context, t Tenant, object string, ids []string) ([]*ledger.InclusionProof, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	var held []string
	for _, id := range ids {
		if _, err := v.store.Record(ctx, t.name, id); err == nil {
			held = append(held, id)
		} else if waarborg.ErrorCode(err) != waarborg.ENOTFOUND {
			return nil, err
		}
	}
	if len(held) > 0 {
		if err := v.Accessed(ctx, t, "view", object, held); err != nil {
			return nil, err
		}
	}
	out := make([]*ledger.InclusionProof, len(ids))
	for i, id := range ids {
		if !slices.Contains(held, id) {
			continue
		}
		p, err := v.b.Ledger.Inclusion(ctx, t.name, id, 0)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// Consistency returns the proof that the checkpoint of size to extends
// the one of size from. It holds no evidence but hashes; a person's look
// at it is recorded all the same, as a look at a proof.
func (v *View) Consistency(ctx context.Context, t Tenant, from, to uint64) (*ledger.ConsistencyProof, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	p, err := v.b.Ledger.Consistency(ctx, t.name, from, to)
	if err != nil {
		return nil, err
	}
	if err := v.Accessed(ctx, t, "view", fmt.Sprintf("consistency/%d/%d", from, to), nil); err != nil {
		return nil, err
	}
	return p, nil
}

// Assess evaluates cat over the tenant's log for [from, to): a full
// re-check, as `waarborg controls` does. Results name records but hold no
// evidence; nothing is recorded.
func (v *View) Assess(ctx context.Context, t Tenant, cat *controls.Catalog, from, to time.Time) (*controls.Result, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	l := v.b.Log
	l.Store = v.store
	return assess.Run(ctx, l, cat, t.name, from, to)
}

// Snapshot returns the tenant's current exceptions from continuous
// monitoring: ENOTFOUND when monitoring is off or has not read the log yet.
func (v *View) Snapshot(t Tenant) (*monitor.Snapshot, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	if v.b.Monitor == nil {
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "continuous monitoring is off on this server")
	}
	snap := v.b.Monitor.Snapshot(t.name)
	if snap == nil {
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "continuous monitoring has not read this tenant's log yet")
	}
	return snap, nil
}

// Act appends a person's action on control's exception about subject —
// explain, remediate, or accept (management's response) — with the person
// as actor, and returns the record once it is durable and monitoring has
// read it. Explaining and remediating need Explain, accepting Accept.
func (v *View) Act(ctx context.Context, t Tenant, control, subject, action, text string) (*waarborg.Record, error) {
	if err := v.readable(t); err != nil {
		return nil, err
	}
	need := Explain
	if action == "accept" {
		need = Accept
	}
	if err := v.Require(need); err != nil {
		return nil, err
	}
	if !v.p.Person() {
		return nil, waarborg.Errorf(waarborg.EFORBIDDEN, "only a signed-in person acts on exceptions")
	}
	if v.b.Monitor == nil {
		return nil, waarborg.Errorf(waarborg.ENOTFOUND, "continuous monitoring is off on this server")
	}
	rec, err := v.b.Monitor.Act(ctx, v.b.Ledger, t.name, control, subject, monitor.Action{Action: action, Text: text, Actor: v.p.User.Name})
	if err != nil {
		return nil, err
	}
	// So that the page the person returns to shows the action. A failure
	// here only delays it to the next poll.
	_ = v.b.Monitor.Tick(ctx)
	return rec, nil
}

// Append appends records with the ledger and returns each one's outcome.
// It needs Ingest, and every record's tenant must be granted: otherwise
// the whole batch is refused (EFORBIDDEN) and nothing is appended.
func (v *View) Append(ctx context.Context, recs []*waarborg.Record) ([]ledger.Result, error) {
	if err := v.Require(Ingest); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if !v.p.Grants(r.Tenant) {
			return nil, waarborg.Errorf(waarborg.EFORBIDDEN, "this token may not append records of that tenant; nothing of the batch was appended")
		}
	}
	return v.b.Ledger.Append(ctx, recs)
}

// readable checks that the principal may read t's evidence.
func (v *View) readable(t Tenant) error {
	if t.name == "" || !v.p.Grants(t.name) {
		return waarborg.Errorf(waarborg.ENOTFOUND, "no such tenant")
	}
	return v.Require(Read)
}

// Source is the source of the evidence.access records that views write.
const Source = "waarborg/web"

// maxListed bounds the record ids one access record lists.
const maxListed = 1000

// Accessed records that the principal, if a person, views or downloads
// (action "view" or "download") evidence of t: object names what (e.g.
// "bundle/2026-01-01/2027-01-01") and records the ids of the records it
// shows. It returns once the record is durable. Machines' reads are not
// recorded. Callers that hand out evidence themselves (files of reports
// and bundles) call it first and hand out nothing if it fails.
func (v *View) Accessed(ctx context.Context, t Tenant, action, object string, records []string) error {
	if err := v.readable(t); err != nil {
		return err
	}
	if !v.p.Person() {
		return nil
	}
	data := map[string]any{"action": action, "object": object}
	if len(records) > maxListed {
		records = records[:maxListed]
		data["records_listed"] = maxListed // beyond records.md's fields: kept as sent
	}
	if len(records) > 0 {
		data["records"] = records
	}
	at := v.b.now().UTC()
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("access record id: %w", err)
	}
	id := "access." + strconv.FormatInt(at.UnixMilli(), 10) + "." + hex.EncodeToString(rnd[:])
	line, err := json.Marshal(map[string]any{
		"id": id, "tenant": t.name, "source": Source, "type": "evidence.access",
		"time": at.Format("2006-01-02T15:04:05.000Z07:00"), "actor": v.p.User.Name, "data": data,
	})
	if err != nil {
		return fmt.Errorf("encode access record: %w", err)
	}
	rec, err := waarborg.ParseRecord(line)
	if err != nil {
		return fmt.Errorf("access record: %w", err)
	}
	res, err := v.b.Ledger.Append(ctx, []*waarborg.Record{rec})
	if err != nil {
		return fmt.Errorf("record access to evidence: %w", err)
	}
	if res[0].Outcome != ledger.Accepted {
		return fmt.Errorf("record access to evidence: %s %s", id, res[0].Outcome)
	}
	return nil
}
