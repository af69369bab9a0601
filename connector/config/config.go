// Package config reads the connector configuration file — a JSON document
// that lists the connectors of a plant (kind, endpoint, credentials,
// counters, and what their readings become: tenant, source, line, product,
// unit, interval) — checks it, naming the field of every mistake, and
// builds the connectors. `waarborg serve --connectors FILE` and `waarborg
// edge` run what Load returns; other kinds of connector plug in through
// Options.Kinds, so this package need not know them.
//
//	{"connectors": [
//	  {"name": "press-1", "kind": "modbus", "endpoint": "10.0.1.5:502",
//	   "poll": "1s", "interval": "1m",
//	   "tenant": "vitafood", "source": "ede/line-1/plc", "line": "line-1", "unit": "pcs",
//	   "counters": [{"name": "good", "unit_id": 1, "register": "holding", "address": 100,
//	                 "bits": 32, "word_order": "low-first", "product": "choco-200g"}]},
//	  {"name": "filler-2", "kind": "opcua", "endpoint": "opc.tcp://10.0.2.7:4840",
//	   "security": {"policy": "Basic256Sha256", "mode": "SignAndEncrypt",
//	                "certificate": "pki/waarborg.der", "private_key": "pki/waarborg.key"},
//	   "username": "waarborg", "password_env": "FILLER2_PASSWORD",
//	   "interval": "1m", "tenant": "vitafood", "source": "ede/line-2/opcua", "line": "line-2",
//	   "counters": [{"name": "good", "node": "ns=2;s=Filler.GoodCount", "product": "choco-100g", "unit": "pcs"}]}
//	]}
//
// The mapping fields (tenant, source, line, product, unit, batch_id,
// factor) may be given on the connector, as defaults, and on each counter.
package config

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/counter"
	"github.com/waarborg/waarborg/connector/decimal"
	"github.com/waarborg/waarborg/connector/modbus"
	"github.com/waarborg/waarborg/connector/opcua"
)

// A Builder makes a connector of a kind this package does not know from
// its entry in the file. path names the entry in errors ("connectors[2]").
type Builder func(path string, entry json.RawMessage, opts Options) (connector.Connector, error)

// Options are what the file does not say.
type Options struct {
	// Dir is where relative file names (certificates, keys) are found;
	// Load sets it to the configuration file's directory.
	Dir string
	// Getenv reads the environment for password_env; nil refuses
	// password_env.
	Getenv func(string) string
	Logger *slog.Logger
	Now    func() time.Time
	// Kinds adds connector kinds by name (for example "sparkplug").
	Kinds map[string]Builder
}

// Load reads and builds the configuration file at path.
func Load(path string, opts Options) ([]connector.Connector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(path)
	}
	cs, err := Parse(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cs, nil
}

// durations reads the duration fields of an entry ("500ms", "1m",
// "1h30m"), each named in errors; an absent one is 0.
func durations(path string, errs *[]error, fields map[string]string) map[string]time.Duration {
	out := map[string]time.Duration{}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := fields[name]
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			*errs = append(*errs, fmt.Errorf(`%s.%s: %q is not a duration such as "1s" or "15m"`, path, name, s))
			continue
		}
		out[name] = d
	}
	return out
}

// Mapping is what readings become; counters inherit their connector's.
type Mapping struct {
	Tenant  string `json:"tenant"`
	Source  string `json:"source"`
	Line    string `json:"line"`
	Product string `json:"product"`
	Unit    string `json:"unit"`
	BatchID string `json:"batch_id"`
	Factor  string `json:"factor"`
}

func (m Mapping) over(def Mapping) Mapping {
	pick := func(a, b string) string {
		if a != "" {
			return a
		}
		return b
	}
	return Mapping{pick(m.Tenant, def.Tenant), pick(m.Source, def.Source), pick(m.Line, def.Line),
		pick(m.Product, def.Product), pick(m.Unit, def.Unit), pick(m.BatchID, def.BatchID), pick(m.Factor, def.Factor)}
}

// common is what every entry has.
type common struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type modbusEntry struct {
	common
	Mapping
	Endpoint string          `json:"endpoint"`
	Timeout  string          `json:"timeout"`
	Poll     string          `json:"poll"`
	Interval string          `json:"interval"`
	Counters json.RawMessage `json:"counters"`
}

type modbusCounter struct {
	Mapping
	Name      string `json:"name"`
	UnitID    *int   `json:"unit_id"`
	Register  string `json:"register"`
	Address   *int   `json:"address"`
	Bits      uint   `json:"bits"`
	WordOrder string `json:"word_order"` // high-first (default) or low-first
	ByteOrder string `json:"byte_order"` // big (default) or little
	MaxStep   uint64 `json:"max_step"`
}

type opcuaEntry struct {
	common
	Mapping
	Endpoint string `json:"endpoint"`
	Security struct {
		Policy            string `json:"policy"`
		Mode              string `json:"mode"`
		Certificate       string `json:"certificate"`
		PrivateKey        string `json:"private_key"`
		ServerCertificate string `json:"server_certificate"`
	} `json:"security"`
	Username    string          `json:"username"`
	Password    string          `json:"password"`
	PasswordEnv string          `json:"password_env"`
	Publish     string          `json:"publish"`
	Interval    string          `json:"interval"`
	Retry       string          `json:"retry"`
	MaxRetry    string          `json:"max_retry"`
	Counters    json.RawMessage `json:"counters"`
}

type opcuaCounter struct {
	Mapping
	Name    string `json:"name"`
	Node    string `json:"node"`
	Bits    uint   `json:"bits"`
	MaxStep uint64 `json:"max_step"`
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$`)

// Parse checks a configuration document and builds its connectors. The
// error lists every mistake found, each naming its field
// ("connectors[1].counters[0].unit: is required").
func Parse(data []byte, opts Options) ([]connector.Connector, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var doc struct {
		Connectors []json.RawMessage `json:"connectors"`
	}
	if err := strictDecode(data, &doc); err != nil {
		return nil, fieldError("", err)
	}
	if doc.Connectors == nil {
		return nil, errors.New("connectors: is required (a list)")
	}
	var (
		out   []connector.Connector
		errs  []error
		names = map[string]string{}
	)
	for i, raw := range doc.Connectors {
		path := fmt.Sprintf("connectors[%d]", i)
		var c common
		_ = json.Unmarshal(raw, &c) // strictly decoded below, per kind
		switch {
		case c.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: is required", path))
		case !namePattern.MatchString(c.Name):
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1-48 characters of A-Za-z0-9._- (it names the connector in record ids)", path, c.Name))
		case names[c.Name] != "":
			errs = append(errs, fmt.Errorf("%s.name: %q is also the name of %s", path, c.Name, names[c.Name]))
		default:
			names[c.Name] = path
		}
		var (
			conn connector.Connector
			err  error
		)
		switch c.Kind {
		case "modbus":
			conn, err = buildModbus(path, raw, opts)
		case "opcua":
			conn, err = buildOPCUA(path, raw, opts)
		case "":
			err = fmt.Errorf("%s.kind: is required (modbus, opcua%s)", path, extraKinds(opts))
		default:
			b, ok := opts.Kinds[c.Kind]
			if !ok {
				err = fmt.Errorf("%s.kind: %q is not a connector kind (modbus, opcua%s)", path, c.Kind, extraKinds(opts))
				break
			}
			conn, err = b(path, raw, opts)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, conn)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func extraKinds(opts Options) string {
	var s string
	for _, k := range slices.Sorted(maps.Keys(opts.Kinds)) {
		s += ", " + k
	}
	return s
}

// strictDecode decodes one JSON value, refusing fields v does not have.
func strictDecode(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// fieldError puts the path of the object being decoded in front of a
// decoding error, naming the field where encoding/json says which.
func fieldError(path string, err error) error {
	join := func(field string) string {
		switch {
		case path == "":
			return field
		case field == "":
			return path
		}
		return path + "." + field
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	msg := err.Error()
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("%s: must be a %s, not a %s", join(te.Field), te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("not JSON: %s (at byte %d)", se.Error(), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not JSON: the document ends early")
	case strings.HasPrefix(msg, "json: unknown field "):
		return fmt.Errorf("%s: is not a field here", join(strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)))
	}
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// mapping checks a counter's mapping, naming fields under path.
func mapping(path string, m Mapping, key string) (counter.Mapping, []error) {
	var errs []error
	for _, f := range []struct{ name, v string }{{"tenant", m.Tenant}, {"source", m.Source}, {"line", m.Line}, {"product", m.Product}, {"unit", m.Unit}} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s.%s: is required (on the counter or its connector)", path, f.name))
		}
	}
	if m.Tenant != "" && !waarborg.ValidTenant(m.Tenant) {
		errs = append(errs, fmt.Errorf("%s.tenant: %q must be 1-64 characters of a-z0-9-", path, m.Tenant))
	}
	if m.Factor != "" {
		if d, err := decimal.Parse(m.Factor); err != nil || d.Sign() < 0 {
			errs = append(errs, fmt.Errorf("%s.factor: %q must be a decimal number ≥ 0 written as a string, such as \"0.001\"", path, m.Factor))
		}
	}
	cm := counter.Mapping{Tenant: m.Tenant, Source: m.Source, Line: m.Line, Product: m.Product, Unit: m.Unit, BatchID: m.BatchID, Factor: m.Factor, Key: key}
	if len(errs) == 0 {
		if err := cm.Check(); err != nil {
			var re *waarborg.RecordError
			if errors.As(err, &re) {
				errs = append(errs, fmt.Errorf("%s.%s: %s", path, strings.TrimPrefix(re.Field, "data."), re.Msg))
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", path, err))
			}
		}
	}
	return cm, errs
}

// counters decodes an entry's counter list, checking names.
func counters[T any](path string, raw json.RawMessage, name func(*T) string) ([]T, []error) {
	var list []json.RawMessage
	if len(raw) == 0 {
		return nil, []error{fmt.Errorf("%s.counters: at least one counter is required", path)}
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, []error{fmt.Errorf("%s.counters: must be a list", path)}
	}
	if len(list) == 0 {
		return nil, []error{fmt.Errorf("%s.counters: at least one counter is required", path)}
	}
	var (
		out  []T
		errs []error
		seen = map[string]bool{}
	)
	for i, r := range list {
		p := fmt.Sprintf("%s.counters[%d]", path, i)
		var c T
		if err := strictDecode(r, &c); err != nil {
			errs = append(errs, fieldError(p, err))
			continue
		}
		n := name(&c)
		switch {
		case n == "":
			errs = append(errs, fmt.Errorf("%s.name: is required", p))
		case !namePattern.MatchString(n):
			errs = append(errs, fmt.Errorf("%s.name: %q must be 1-48 characters of A-Za-z0-9._-", p, n))
		case seen[n]:
			errs = append(errs, fmt.Errorf("%s.name: %q names another counter of this connector", p, n))
		}
		seen[n] = true
		out = append(out, c)
	}
	return out, errs
}

func buildModbus(path string, raw json.RawMessage, opts Options) (connector.Connector, error) {
	var e modbusEntry
	if err := strictDecode(raw, &e); err != nil {
		return nil, fieldError(path, err)
	}
	var errs []error
	d := durations(path, &errs, map[string]string{"timeout": e.Timeout, "poll": e.Poll, "interval": e.Interval})
	if e.Endpoint == "" {
		errs = append(errs, fmt.Errorf("%s.endpoint: is required (host:port)", path))
	}
	if e.Poll == "" {
		errs = append(errs, fmt.Errorf("%s.poll: is required (how often the registers are read, such as \"1s\")", path))
	}
	if e.Interval == "" {
		errs = append(errs, fmt.Errorf("%s.interval: is required (the production count interval, such as \"1m\")", path))
	}
	if d["poll"] > d["interval"] && d["interval"] > 0 {
		errs = append(errs, fmt.Errorf("%s.poll: must not exceed the interval", path))
	}
	list, cerrs := counters(path, e.Counters, func(c *modbusCounter) string { return c.Name })
	errs = append(errs, cerrs...)
	cfg := modbus.Config{Name: e.Name, Endpoint: e.Endpoint, Timeout: d["timeout"], Poll: d["poll"],
		Interval: d["interval"], Now: opts.Now, Logger: opts.Logger}
	for i, k := range list {
		p := fmt.Sprintf("%s.counters[%d]", path, i)
		m, merrs := mapping(p, k.Mapping.over(e.Mapping), e.Name+"."+k.Name)
		errs = append(errs, merrs...)
		mc := modbus.Counter{Name: k.Name, Kind: k.Register, Bits: k.Bits, MaxStep: k.MaxStep, Mapping: m}
		switch k.Register {
		case modbus.Holding, modbus.Input:
		case "":
			errs = append(errs, fmt.Errorf("%s.register: is required (holding or input)", p))
		default:
			errs = append(errs, fmt.Errorf("%s.register: %q must be holding or input", p, k.Register))
		}
		switch {
		case k.Address == nil:
			errs = append(errs, fmt.Errorf("%s.address: is required (the first register, 0-65535 as on the wire)", p))
		case *k.Address < 0 || *k.Address > 65535:
			errs = append(errs, fmt.Errorf("%s.address: %d must be 0-65535", p, *k.Address))
		default:
			mc.Address = uint16(*k.Address)
		}
		switch {
		case k.UnitID == nil:
			mc.UnitID = 1
		case *k.UnitID < 0 || *k.UnitID > 255:
			errs = append(errs, fmt.Errorf("%s.unit_id: %d must be 0-255", p, *k.UnitID))
		default:
			mc.UnitID = uint8(*k.UnitID)
		}
		if k.Bits != 16 && k.Bits != 32 && k.Bits != 64 {
			errs = append(errs, fmt.Errorf("%s.bits: is required: 16, 32 or 64", p))
		}
		switch k.WordOrder {
		case "", "high-first":
		case "low-first":
			mc.LowWordFirst = true
		default:
			errs = append(errs, fmt.Errorf("%s.word_order: %q must be high-first or low-first", p, k.WordOrder))
		}
		switch k.ByteOrder {
		case "", "big":
		case "little":
			mc.ByteSwap = true
		default:
			errs = append(errs, fmt.Errorf("%s.byte_order: %q must be big or little", p, k.ByteOrder))
		}
		cfg.Counters = append(cfg.Counters, mc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c, err := modbus.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", path, err)
	}
	return c, nil
}

func buildOPCUA(path string, raw json.RawMessage, opts Options) (connector.Connector, error) {
	var e opcuaEntry
	if err := strictDecode(raw, &e); err != nil {
		return nil, fieldError(path, err)
	}
	var errs []error
	d := durations(path, &errs, map[string]string{"publish": e.Publish, "interval": e.Interval, "retry": e.Retry, "max_retry": e.MaxRetry})
	if !strings.HasPrefix(e.Endpoint, "opc.tcp://") {
		errs = append(errs, fmt.Errorf("%s.endpoint: is required: an opc.tcp:// URL", path))
	}
	if e.Interval == "" {
		errs = append(errs, fmt.Errorf("%s.interval: is required (the production count interval, such as \"1m\")", path))
	}
	cfg := opcua.Config{Name: e.Name, Endpoint: e.Endpoint, Policy: e.Security.Policy, Mode: e.Security.Mode,
		Username: e.Username, Password: e.Password, Publish: d["publish"], Interval: d["interval"],
		Retry: d["retry"], MaxRetry: d["max_retry"], Now: opts.Now, Logger: opts.Logger}
	switch e.Security.Policy {
	case "", opcua.PolicyNone:
		if e.Security.Certificate != "" || e.Security.PrivateKey != "" {
			errs = append(errs, fmt.Errorf("%s.security.certificate: is not used with policy None: name the policy (Basic256Sha256)", path))
		}
	case opcua.PolicyBasic256Sha256:
		if e.Security.Certificate == "" {
			errs = append(errs, fmt.Errorf("%s.security.certificate: is required with Basic256Sha256 (a DER or PEM file)", path))
		} else if der, err := readCert(opts.Dir, e.Security.Certificate); err != nil {
			errs = append(errs, fmt.Errorf("%s.security.certificate: %w", path, err))
		} else {
			cfg.Certificate = der
		}
		if e.Security.PrivateKey == "" {
			errs = append(errs, fmt.Errorf("%s.security.private_key: is required with Basic256Sha256 (a PEM file)", path))
		} else if key, err := readKey(opts.Dir, e.Security.PrivateKey); err != nil {
			errs = append(errs, fmt.Errorf("%s.security.private_key: %w", path, err))
		} else {
			cfg.PrivateKey = key
		}
	default:
		errs = append(errs, fmt.Errorf("%s.security.policy: %q must be None or Basic256Sha256", path, e.Security.Policy))
	}
	switch e.Security.Mode {
	case "", "None", "Sign", "SignAndEncrypt":
	default:
		errs = append(errs, fmt.Errorf("%s.security.mode: %q must be None, Sign or SignAndEncrypt", path, e.Security.Mode))
	}
	if e.Security.ServerCertificate != "" {
		if der, err := readCert(opts.Dir, e.Security.ServerCertificate); err != nil {
			errs = append(errs, fmt.Errorf("%s.security.server_certificate: %w", path, err))
		} else {
			cfg.ServerCertificate = der
		}
	}
	switch {
	case e.Password != "" && e.PasswordEnv != "":
		errs = append(errs, fmt.Errorf("%s.password_env: give password or password_env, not both", path))
	case e.PasswordEnv != "" && opts.Getenv == nil:
		errs = append(errs, fmt.Errorf("%s.password_env: the environment is not available here", path))
	case e.PasswordEnv != "":
		if cfg.Password = opts.Getenv(e.PasswordEnv); cfg.Password == "" {
			errs = append(errs, fmt.Errorf("%s.password_env: $%s is empty or not set", path, e.PasswordEnv))
		}
	}
	if cfg.Password != "" && e.Username == "" {
		errs = append(errs, fmt.Errorf("%s.username: is required with a password", path))
	}
	list, cerrs := counters(path, e.Counters, func(c *opcuaCounter) string { return c.Name })
	errs = append(errs, cerrs...)
	for i, k := range list {
		p := fmt.Sprintf("%s.counters[%d]", path, i)
		m, merrs := mapping(p, k.Mapping.over(e.Mapping), e.Name+"."+k.Name)
		errs = append(errs, merrs...)
		if k.Node == "" {
			errs = append(errs, fmt.Errorf("%s.node: is required (a node id such as ns=2;s=Line1.GoodCount)", p))
		}
		if k.Bits != 0 && k.Bits != 16 && k.Bits != 32 && k.Bits != 64 {
			errs = append(errs, fmt.Errorf("%s.bits: must be 16, 32 or 64 (or absent: the node's data type says)", p))
		}
		cfg.Counters = append(cfg.Counters, opcua.Counter{Name: k.Name, NodeID: k.Node, Bits: k.Bits, MaxStep: k.MaxStep, Mapping: m})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c, err := opcua.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s.%w", path, err)
	}
	return c, nil
}

func resolve(dir, name string) string {
	if filepath.IsAbs(name) || dir == "" {
		return name
	}
	return filepath.Join(dir, name)
}

// readCert reads a certificate in DER or PEM.
func readCert(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(resolve(dir, name))
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParseCertificate(b); err != nil {
		return nil, fmt.Errorf("%s: not an X.509 certificate: %w", name, err)
	}
	return b, nil
}

// readKey reads an RSA private key in PEM (PKCS #1 or PKCS #8) or DER.
func readKey(dir, name string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(resolve(dir, name))
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key", name)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: an OPC UA application key must be RSA", name)
	}
	return rk, nil
}
