package controls_test

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/jcs"
)

// plant generates the records of a plant of the given sites, one line
// each, over days from start: about 2,700 records a site and day, in the
// mix of the conformance scenario (historian samples and production counts
// first), with some exceptions and corrections. It builds records directly,
// not through ParseRecord, so that a year can be generated on the fly.
func plant(sites []string, start time.Time, days int) iter.Seq[*waarborg.Record] {
	return func(yield func(*waarborg.Record) bool) {
		g := &generator{yield: yield, rnd: rand.New(rand.NewPCG(1, 2))}
		for _, site := range sites {
			g.emit("ag."+site, "corp/it/iam", "access.grant", start.Add(-time.Hour), "adm",
				str("user", "eng."+site), str("role", "engineer"), str("scope", site), str("approved_by", "boss"))
		}
		for day := range days {
			for _, site := range sites {
				if !g.day(site, start.AddDate(0, 0, day), day) {
					return
				}
			}
		}
	}
}

type generator struct {
	yield func(*waarborg.Record) bool
	rnd   *rand.Rand
	stop  bool
	seq   int
}

func (g *generator) emit(id, source, typ string, t time.Time, actor string, data ...jcs.Member) {
	if g.stop {
		return
	}
	r := &waarborg.Record{ID: id, Tenant: "bench", Source: source, Type: typ, Time: t.UTC(), Actor: actor,
		Data: jcs.Value{Kind: jcs.Object, Members: data}}
	g.stop = !g.yield(r)
}

func str(k, v string) jcs.Member {
	return jcs.Member{Key: k, Value: jcs.Value{Kind: jcs.String, Str: v}}
}
func num(k, v string) jcs.Member {
	return jcs.Member{Key: k, Value: jcs.Value{Kind: jcs.Number, Str: v}}
}
func ts(k string, t time.Time) jcs.Member {
	return str(k, t.UTC().Format(time.RFC3339Nano))
}

func (g *generator) day(site string, day time.Time, n int) bool {
	line := site + "/line-1"
	const batches = 3
	for b := range batches {
		bid := fmt.Sprintf("B%s-%05d", site, n*batches+b)
		bstart := day.Add(time.Duration(b) * 8 * time.Hour)
		bend := bstart.Add(8 * time.Hour)
		g.emit("bs."+bid, line+"/mes", "batch.start", bstart, "op",
			str("batch_id", bid), str("line", "line-1"), str("product", "p"), str("recipe", "recipe/p"), str("recipe_version", "v1"))
		total := 0
		for q := range 32 { // a count every 15 minutes
			s := bstart.Add(time.Duration(q) * 15 * time.Minute)
			qty := 100 + g.rnd.IntN(50)
			total += qty
			g.emit(fmt.Sprintf("pc.%s.%07d", site, g.next()), line+"/scada", "production.count", s.Add(15*time.Minute), "",
				str("line", "line-1"), str("batch_id", bid), str("product", "p"), num("quantity", strconv.Itoa(qty)+".5"),
				str("unit", "kg"), ts("start", s), ts("end", s.Add(15*time.Minute)))
		}
		good := fmt.Sprintf("%d", total)
		g.emit("be."+bid, line+"/mes", "batch.end", bend, "op",
			str("batch_id", bid), str("line", "line-1"), num("quantity_good", good), num("quantity_scrap", "16"),
			str("unit", "kg"), str("signed_by", "qa"))
		if g.rnd.IntN(50) == 0 {
			g.emit("co."+bid, line+"/mes", "correction", bend.Add(time.Hour), "qa",
				str("corrects", "be."+bid), str("type", "batch.end"), str("reason", "mis-keyed"),
				jcs.Member{Key: "data", Value: jcs.Value{Kind: jcs.Object, Members: []jcs.Member{
					str("batch_id", bid), str("line", "line-1"), num("quantity_good", good), num("quantity_scrap", "16"), str("unit", "kg")}}})
		}
		for k := range 2 {
			g.emit(fmt.Sprintf("gr.%s.%d", bid, k), site+"/erp/sap", "erp.posting", bend.Add(time.Duration(k+1)*time.Hour), "svc",
				str("document", fmt.Sprintf("49%s%d", bid, k)), str("movement", "goods_receipt"), str("batch_id", bid),
				str("material", "p"), num("quantity", strconv.Itoa(total/2+k*(total%2))), str("unit", "kg"))
			g.emit(fmt.Sprintf("mr.%s.%d", bid, k), line+"/edge", "machine.runtime", bstart.Add(time.Duration(k+1)*4*time.Hour), "",
				str("line", "line-1"), str("batch_id", bid), ts("start", bstart.Add(time.Duration(k)*4*time.Hour)),
				ts("end", bstart.Add(time.Duration(k+1)*4*time.Hour)), num("run_seconds", "12600"))
			g.emit(fmt.Sprintf("cf.%s.%d", bid, k), site+"/erp/sap", "erp.confirmation", bend.Add(2*time.Hour), "svc",
				str("document", fmt.Sprintf("20%s%d", bid, k)), str("batch_id", bid), str("activity", "machine_hours"),
				num("quantity", "3.5"), str("unit", "h"))
		}
		for k := range 30 {
			g.emit(fmt.Sprintf("sn.%s.%03d", bid, k), line+"/serialiser", "unit.serial", bstart.Add(time.Duration(k)*time.Minute), "",
				str("serial", fmt.Sprintf("SN%s%03d", bid, k)), str("batch_id", bid))
		}
	}
	for tag := range 8 { // a sample every 5 minutes, a gap now and then
		name := fmt.Sprintf("%s.tag%d", site, tag)
		for m := 0; m < 24*60; m += 5 {
			if g.rnd.IntN(2000) == 0 {
				m += 5
			}
			g.emit(fmt.Sprintf("hs.%s.%08d", site, g.next()), line+"/historian", "historian.sample", day.Add(time.Duration(m)*time.Minute), "",
				str("tag", name), num("value", "11.5"))
		}
	}
	for a := range 10 {
		at := day.Add(time.Duration(a)*2*time.Hour + 17*time.Minute)
		aid := fmt.Sprintf("AL-%s-%d-%d", site, n, a)
		prio := []string{"low", "medium", "high", "critical"}[a%4]
		g.emit("al."+aid, line+"/scada", "alarm", at, "", str("alarm_id", aid), str("tag", "t"), str("priority", prio), str("state", "active"))
		if a%4 >= 2 {
			inc := "INC-" + aid
			g.emit("io."+inc, site+"/ops/itsm", "incident.open", at.Add(10*time.Minute), "op",
				str("incident_id", inc), str("severity", prio), jcs.Member{Key: "refs", Value: jcs.Value{Kind: jcs.Array, Items: []jcs.Value{{Kind: jcs.String, Str: aid}}}})
			g.emit("ie."+inc, site+"/ops/itsm", "incident.escalate", at.Add(30*time.Minute), "op",
				str("incident_id", inc), num("level", "2"), str("to", "lead"))
			g.emit("ic."+inc, site+"/ops/itsm", "incident.close", at.Add(90*time.Minute), "op",
				str("incident_id", inc), str("root_cause", "wear"), num("loss_quantity", "0"))
		}
	}
	dt := fmt.Sprintf("DT-%s-%d", site, n)
	g.emit("dt."+dt, line+"/mes", "downtime", day.Add(13*time.Hour), "", str("downtime_id", dt), str("line", "line-1"),
		ts("start", day.Add(12*time.Hour)), ts("end", day.Add(13*time.Hour)))
	for k := range 4 {
		g.emit(fmt.Sprintf("cs.%s.%d.%d", site, n, k), site+"/historian/server", "config.snapshot", day.Add(time.Duration(k)*6*time.Hour), "",
			str("target", "config/"+site), str("content_sha256", "aa"))
	}
	for k := range 5 {
		g.emit(fmt.Sprintf("li.%s.%d.%d", site, n, k), site+"/it/ad", "access.login", day.Add(time.Duration(k)*time.Hour), "eng."+site,
			str("user", "eng."+site), jcs.Member{Key: "success", Value: jcs.Value{Kind: jcs.Bool, Bool: true}})
	}
	if n%7 == 0 {
		chg := fmt.Sprintf("CHG-%s-%d", site, n)
		g.emit("cr."+chg, "corp/itsm/change", "change.request", day.Add(time.Hour), "req",
			str("change_id", chg), str("target", "config/"+site), str("content_sha256", "aa"))
		g.emit("ca."+chg, "corp/itsm/change", "change.approve", day.Add(2*time.Hour), "cab", str("change_id", chg))
		g.emit("cd."+chg, line+"/eng", "change.deploy", day.Add(3*time.Hour), "eng."+site,
			str("target", "config/"+site), str("content_sha256", "aa"), str("change_id", chg))
	}
	return !g.stop
}

func (g *generator) next() int { g.seq++; return g.seq }
