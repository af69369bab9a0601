package controls

import (
	"fmt"
	"math/big"
	"slices"
)

// CO3 Processing.

// pc01: the production counts of a batch add up to its good + scrap, in
// its unit.
func (e *engine) pc01(c *check) {
	type total struct {
		sum    sum
		units  []uint32 // distinct
		ids    int
		counts []*count
	}
	totals := make(map[uint32]*total)
	for _, counts := range e.counts {
		for i := range counts {
			x := &counts[i]
			if x.batch == 0 {
				continue
			}
			t := totals[x.batch]
			if t == nil {
				t = new(total)
				totals[x.batch] = t
			}
			t.sum.add(e.names.str(x.qty))
			if !slices.Contains(t.units, x.unit) {
				t.units = append(t.units, x.unit)
			}
			t.ids++
			t.counts = append(t.counts, x)
		}
	}
	for i := range e.ends {
		b := &e.ends[i]
		if !e.inPeriod(b.time) {
			continue
		}
		c.add(b.id)
		c.totals.add("batch.end good + scrap", b.unit, b.good)
		c.totals.add("batch.end good + scrap", b.unit, b.scrap)
		want := new(big.Rat).Add(ratOf(b.good), ratOf(b.scrap))
		got, n := new(big.Rat), 0
		var t *total
		if id, ok := e.names.lookup(b.batch); ok && id != 0 {
			t = totals[id]
		}
		if t != nil {
			got, n = t.sum.rat(), t.ids
			for _, x := range t.counts {
				c.totals.add("production.count of those batches", e.names.str(x.unit), e.names.str(x.qty))
			}
		}
		if beyond(got, want, e.p.countMismatch, want) {
			c.fail(b.id, "count-mismatch", fmt.Sprintf("batch %s: good + scrap %s %s, %d counts sum to %s",
				b.batch, want.FloatString(3), b.unit, n, got.FloatString(3)), b.id)
		}
		if t != nil {
			for _, u := range t.units {
				if e.names.str(u) != b.unit {
					c.fail(b.id, "unit-mismatch", fmt.Sprintf("batch %s in %s has counts in %s", b.batch, b.unit, e.names.str(u)), b.id)
					break
				}
			}
		}
	}
}

// pc02: a batch with good output reaches the ERP as goods receipts whose
// net quantity is its good quantity, in its unit. A reversal leaves out
// every receipt with the document it reverses, even when that reversal is
// itself reversed: controls.md says "any reversal of the tenant".
func (e *engine) pc02(c *check) {
	for i := range e.ends {
		b := &e.ends[i]
		if !e.inPeriod(b.time) || !positive(b.good) {
			continue
		}
		c.add(b.id)
		c.totals.add("batch.end good", b.unit, b.good)
		receipts := e.ix.receiptsOf[b.batch]
		if len(receipts) == 0 {
			c.fail(b.id, "missing-posting", fmt.Sprintf("batch %s: good %s %s, no goods receipt", b.batch, b.good, b.unit), b.id)
			continue
		}
		var net sum
		ids := []string{b.id}
		unitOff := ""
		for _, p := range receipts {
			ids = append(ids, p.id)
			if !e.ix.reversed[p.document] {
				net.add(p.qty)
				c.totals.add("goods receipts, net of reversals", p.unit, p.qty)
			}
			if p.unit != b.unit && unitOff == "" {
				unitOff = p.unit
			}
		}
		if net.rat().Cmp(ratOf(b.good)) != 0 {
			c.fail(b.id, "quantity-mismatch", fmt.Sprintf("batch %s: good %s %s, ERP net %s",
				b.batch, b.good, b.unit, net.rat().FloatString(3)), ids...)
		}
		if unitOff != "" {
			c.fail(b.id, "unit-mismatch", fmt.Sprintf("batch %s in %s has a goods receipt in %s", b.batch, b.unit, unitOff), ids...)
		}
	}
}

// pc03: the first goods receipt of a batch, reversed or not, follows its
// end in time.
func (e *engine) pc03(c *check) {
	for i := range e.ends {
		b := &e.ends[i]
		receipts := e.ix.receiptsOf[b.batch]
		if !e.inPeriod(b.time) || !positive(b.good) || len(receipts) == 0 {
			continue
		}
		c.add(b.id)
		if first := receipts[0]; first.time.After(b.time.Add(e.p.postingWindow)) {
			c.fail(b.id, "late-posting", fmt.Sprintf("batch %s ended %s, first goods receipt %s",
				b.batch, stamp(b.time), stamp(first.time)), b.id, first.id)
		}
	}
}

// pc04: every goods receipt belongs to a batch that had ended when it was
// posted.
func (e *engine) pc04(c *check) {
	for i := range e.postings {
		p := &e.postings[i]
		if p.movement != "goods_receipt" || !e.inPeriod(p.time) {
			continue
		}
		c.add(p.id)
		if p.batch == "" {
			c.fail(p.id, "no-batch", fmt.Sprintf("goods receipt %s names no batch", p.document), p.id)
			continue
		}
		end := e.ix.endOf[p.batch]
		switch {
		case end == nil:
			c.fail(p.id, "no-batch", fmt.Sprintf("goods receipt %s: batch %s has no batch end", p.document, p.batch), p.id)
		case p.time.Before(end.time):
			c.fail(p.id, "posted-before-end", fmt.Sprintf("goods receipt %s posted %s, batch %s ended %s",
				p.document, stamp(p.time), p.batch, stamp(end.time)), p.id, end.id)
		}
	}
}

// pc05: a serialised batch has as many distinct serials as good units, and
// none of them is used twice in the tenant.
func (e *engine) pc05(c *check) {
	for i := range e.ends {
		b := &e.ends[i]
		serials := e.ix.serialsOf[b.batch]
		if !e.inPeriod(b.time) || len(serials) == 0 {
			continue
		}
		c.add(b.id)
		distinct := make(map[string]bool, len(serials))
		var dup []string
		for _, s := range serials {
			if !distinct[s.serial] && e.ix.serialUses[s.serial] > 1 {
				dup = append(dup, s.serial)
			}
			distinct[s.serial] = true
		}
		if ratInt(int64(len(distinct))).Cmp(ratOf(b.good)) != 0 {
			c.fail(b.id, "serial-count-mismatch", fmt.Sprintf("batch %s: good %s, %d distinct serials",
				b.batch, b.good, len(distinct)), b.id)
		}
		if len(dup) > 0 {
			c.fail(b.id, "duplicate-serial", fmt.Sprintf("batch %s: serial %s used more than once", b.batch, dup[0]), b.id)
		}
	}
}

// pc06: a batch end has a batch start on the same line (the data's line)
// at or before it, and is signed.
func (e *engine) pc06(c *check) {
	for i := range e.ends {
		b := &e.ends[i]
		if !e.inPeriod(b.time) {
			continue
		}
		c.add(b.id)
		started := slices.ContainsFunc(e.ix.startsOf[b.batch], func(s *batchStart) bool {
			return s.line == b.line && !s.time.After(b.time)
		})
		if !started {
			c.fail(b.id, "no-start", fmt.Sprintf("batch %s on %s has no batch start on that line before its end", b.batch, b.line), b.id)
		}
		if b.signedBy == "" {
			c.fail(b.id, "unsigned", fmt.Sprintf("batch %s is released without e-signature", b.batch), b.id)
		}
	}
}

// pc07: the machine hours confirmed to the ERP for a batch match its
// measured run time: |C × 3600 − R| ≤ tolerance × R, exactly.
func (e *engine) pc07(c *check) {
	for i := range e.ends {
		b := &e.ends[i]
		run := e.ix.runSeconds[b.batch]
		if !e.inPeriod(b.time) || run == nil {
			continue
		}
		c.add(b.id)
		hours := e.ix.hoursOf[b.batch]
		ids := append([]string{b.id}, e.ix.confirmsOf[b.batch]...)
		if hours == nil {
			c.fail(b.id, "missing-confirmation", fmt.Sprintf("batch %s: no machine hours confirmed", b.batch), ids...)
			continue
		}
		r := run.rat()
		c.totals.add("machine.runtime run_seconds", "s", decimalString(r))
		c.totals.add("erp.confirmation machine_hours", "h", decimalString(hours.rat()))
		secs := new(big.Rat).Mul(hours.rat(), ratInt(3600))
		if beyond(secs, r, e.p.hoursMismatch, r) {
			c.fail(b.id, "hours-mismatch", fmt.Sprintf("batch %s: %s h confirmed, %s s run (%s h)",
				b.batch, hours.rat().FloatString(4), r.FloatString(3), new(big.Rat).Quo(r, ratInt(3600)).FloatString(4)),
				append(ids, e.ix.runtimesOf[b.batch]...)...)
		}
	}
}
