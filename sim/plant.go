package sim

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// A person is a user account. Actors are taken only from the active ones,
// so nobody acts after leaving.
type person struct {
	name   string
	roles  []role
	shift  int64 // operators: 0, 1 or 2
	active bool
}

type role struct{ role, scope string }

// A target is a recipe or OT configuration item under change control.
type target struct {
	name      string // recipe/gouda-48plus, config/ede/line-1/plc
	idName    string // the name with / as ., for snapshot ids
	snapSrc   string
	deploySrc string
	site      *site
	base      string // content before any deploy
	deploys   []deployed
	next      int64 // when the next change may be planned
	mean      int64 // mean time between changes
}

type deployed struct {
	t       int64
	hash    string
	version int
}

// at returns what runs on the target at t: the latest deploy strictly
// before t (CM-03), and its recipe version.
func (t *target) at(ms int64) (string, int) {
	for i := len(t.deploys) - 1; i >= 0; i-- {
		if t.deploys[i].t < ms {
			return t.deploys[i].hash, t.deploys[i].version
		}
	}
	return t.base, 1
}

type product struct {
	name   string
	serial bool
	rate   float64 // fixed-point units per millisecond of run time
	recipe *target
}

var (
	kgProducts  = []string{"gouda-48plus", "edam-40plus", "maasdam-45plus", "mozzarella-block", "butter-bulk", "whey-concentrate"}
	pcsProducts = []string{"formula-800g", "yoghurt-500g", "choco-200g", "cookies-150g", "cereal-375g", "custard-1l"}
	kgTags      = [][2]tagSpec{
		{{"vat.temp", 32, 0.05, 0.02}, {"brine.temp", 12, 0.02, 0.02}},
		{{"press.pressure", 2.5, 0.004, 0.03}, {"cooler.temp", 4, 0.02, 0.02}},
	}
	pcsTags = [][2]tagSpec{
		{{"filler.speed", 120, 0.6, 0.05}, {"seal.temp", 185, 0.08, 0.02}},
		{{"oven.temp", 210, 0.3, 0.05}, {"checkweigher.mean", 803, 0.06, 0.02}},
	}
	kgAlarms  = []string{"vat.temp.high", "brine.level.low", "press.pressure.high", "door.open", "agitator.trip", "cip.flow.low"}
	pcsAlarms = []string{"filler.jam", "seal.temp.low", "metal.detected", "vacuum.low", "label.missing", "guard.open"}
	initials  = "abcdefghijklmnoprstvwy"
	surnames  = []string{"bakker", "visser", "smit", "meijer", "deboer", "mulder", "degroot", "bos", "vos", "peters",
		"hendriks", "vanleeuwen", "dekker", "brouwer", "dewit", "dijkstra", "smits", "degraaf", "vandermeer", "kok",
		"jacobs", "dehaan", "vermeulen", "vandenberg", "vandijk", "schouten", "willems", "janssens", "maes", "wouters",
		"peeters", "claes", "goossens", "lambrechts", "dejong", "kuipers", "verhoeven", "gerrits", "hermans", "vandamme",
		"martens", "aerts", "devries", "vanwijk", "prins", "huisman", "koster", "postma", "jansen", "timmermans"}
)

func newEngine(cfg Config) (*engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &engine{
		tenant: cfg.Tenant,
		from:   millis(cfg.From),
		to:     millis(cfg.To),
		rate:   cfg.ProblemRate,
		seed:   uint64(cfg.Seed),
		names:  map[string]bool{},
	}
	e.r = e.rng(0)
	for k := range e.quota {
		e.quota[k].first = 1 + e.r.IntN(firstWithin[k])
	}
	e.corp = newCorp(e)
	g := 0
	for i, name := range cfg.Sites {
		s := newSite(e, i, name)
		e.sites = append(e.sites, s)
		for n := 1; n <= cfg.LinesPerSite; n++ {
			l := newLine(e, s, n, g)
			s.lines = append(s.lines, l)
			e.lines = append(e.lines, l)
			g++
		}
		s.staff(cfg.LinesPerSite)
	}
	return e, nil
}

// person creates an account with a name not used before in the tenant.
func (e *engine) person(r *rand.Rand, prefix string) *person {
	for i := 0; ; i++ {
		name := prefix + string(initials[r.IntN(len(initials))]) + "." + pick(r, surnames)
		if i > 20 {
			name += strconv.Itoa(i)
		}
		if !e.names[name] {
			e.names[name] = true
			return &person{name: name, active: true}
		}
	}
}

func newSite(e *engine, i int, name string) *site {
	s := &site{
		e: e, idx: i, name: name, upper: strings.ToUpper(name),
		r:         e.rng(1<<32 | uint64(i)),
		next:      e.from,
		first:     true,
		srcOps:    name + "/ops/itsm",
		srcAD:     name + "/it/ad",
		srcExport: name + "/mes/export",
		srcHist:   name + "/historian",
	}
	s.leave = e.from + between(s.r, 3*day, 14*day)
	// Every other site runs its MES, SCADA and ticketing on local time.
	s.local = i%2 == 1
	s.newTarget("config/"+name+"/historian", s.srcHist, s.srcHist, 120*day)
	return s
}

func (s *site) newTarget(name, snapSrc, deploySrc string, mean int64) *target {
	t := &target{
		name: name, idName: strings.ReplaceAll(name, "/", "."),
		snapSrc: snapSrc, deploySrc: deploySrc, site: s,
		base: randHex(s.r), mean: mean,
		next: s.e.from + day + int64(s.r.ExpFloat64()*float64(mean)),
	}
	s.targets = append(s.targets, t)
	return t
}

// staff creates the site's people; their access is granted on the first day.
func (s *site) staff(lines int) {
	e, r := s.e, s.r
	for i := range 4 * lines {
		p := e.person(r, "")
		p.shift = int64(i % 3)
		s.ops = append(s.ops, p)
	}
	for range 2 {
		s.leads = append(s.leads, e.person(r, ""))
		s.qa = append(s.qa, e.person(r, ""))
		s.engs = append(s.engs, e.person(r, ""))
	}
}

func newLine(e *engine, s *site, n, g int) *line {
	r := e.rng(2<<32 | uint64(g))
	l := &line{
		e: e, s: s, r: r, n: n,
		name:     "line-" + strconv.Itoa(n),
		code:     s.name + ".l" + strconv.Itoa(n),
		bcode:    s.upper + "-L" + strconv.Itoa(n),
		srcScada: s.name + "/line-" + strconv.Itoa(n) + "/scada",
		srcMes:   s.name + "/line-" + strconv.Itoa(n) + "/mes",
		srcEdge:  s.name + "/line-" + strconv.Itoa(n) + "/edge",
		srcSer:   s.name + "/line-" + strconv.Itoa(n) + "/serialiser",
		srcPLC:   s.name + "/line-" + strconv.Itoa(n) + "/plc",
		srcEng:   s.name + "/line-" + strconv.Itoa(n) + "/eng",
	}
	// Even lines pack pieces and run a serialised variant now and then; odd
	// lines make bulk product in kg. The serialised variant is slow, so its
	// serials stay a modest share of the volume.
	var tags [2]tagSpec
	if g%2 == 0 {
		idx := g / 2
		name := pcsProducts[idx%len(pcsProducts)]
		if idx >= len(pcsProducts) {
			name += "-" + strconv.Itoa(idx/len(pcsProducts)+1)
		}
		l.unit, l.dec, l.dt = "pcs", 0, 5*minute
		l.products = []*product{
			{name: name, rate: float64(between(r, 1500, 2400)) / float64(hour)},
			{name: name + "-ser", serial: true, rate: float64(between(r, 36, 60)) / float64(hour)},
		}
		l.alarmTags = pcsAlarms
		tags = pcsTags[idx%len(pcsTags)]
	} else {
		idx := g / 2
		name := kgProducts[idx%len(kgProducts)]
		if idx >= len(kgProducts) {
			name += "-" + strconv.Itoa(idx/len(kgProducts)+1)
		}
		l.unit, l.dec, l.dt = "kg", 1, 15*minute
		l.products = []*product{{name: name, rate: float64(between(r, 7000, 10000)) / float64(hour)}}
		l.alarmTags = kgAlarms
		tags = kgTags[idx%len(kgTags)]
	}
	for _, p := range l.products {
		p.recipe = s.newTarget("recipe/"+p.name, l.srcMes, l.srcMes, 28*day)
	}
	l.plc = s.newTarget("config/"+s.name+"/"+l.name+"/plc", l.srcPLC, l.srcEng, 45*day)
	l.next = floorDiv(e.from, l.dt) * l.dt
	l.idleUntil = e.from + between(r, 0, 2*hour)
	l.dayNext = l.next
	for i, ts := range tags {
		e.tags = append(e.tags, newTag(e, s, l, ts, g*2+i))
	}
	return l
}
