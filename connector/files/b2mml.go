package files

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/decimal"
	"github.com/waarborg/waarborg/connector/record"
)

// B2MML production performance (ISA-95 Part 2, B2MML V0401 to V0600, and
// the OperationsPerformance of V0700 and later with OperationsType
// Production): each ProductionResponse — anywhere in the document, so also
// inside a ShowProductionPerformance message — is one batch whose ID is
// the batch_id.
//
//   - batch.start at StartTime, when the response names its recipe
//     (ProductProductionRuleID, with Version as the recipe version);
//   - production.count for each produced material of each SegmentResponse
//     (MaterialProducedActual, or MaterialActual whose MaterialUse is a
//     kind of Produced), over ActualStartTime–ActualEndTime: product
//     MaterialDefinitionID, the Quantity's QuantityString and
//     UnitOfMeasure. A Quantity whose Key is Scrap, Reject or Rejected is
//     scrap, not production;
//   - batch.end at EndTime unless ResponseState says the batch still runs,
//     with the good and scrap quantities of the batch's product (the first
//     produced material) summed exactly.
//
// The line is the EquipmentID of the nearest HierarchyScope (segment,
// response, performance), else of the segment's first EquipmentActual,
// else Options.Line. Element names are matched without their namespace.
// Record ids are b2mml:RESPONSE:start, :end and :seg:SEGMENT:N.

// Limits that keep memory bounded by one response of sane size.
const (
	maxResponseNodes = 100_000
	maxText          = 64 << 10
)

var producedUses = map[string]bool{
	"produced": true, "materialproduced": true, "yieldproduced": true,
	"coproductproduced": true, "byproductproduced": true,
}

var runningStates = map[string]bool{
	"ready": true, "running": true, "holding": true, "held": true, "restarting": true,
	"pausing": true, "paused": true, "waiting": true, "pending": true, "dispatched": true,
	"suspended": true, "stopping": true, "aborting": true,
}

// A node is one element of a response, with the line its start tag ends on.
type node struct {
	name string
	line int
	text string
	kids []*node
}

func (n *node) child(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// path returns the text of the element at a /-separated path below n.
func (n *node) path(p string) string {
	for _, name := range strings.Split(p, "/") {
		if n = n.child(name); n == nil {
			return ""
		}
	}
	return strings.TrimSpace(n.text)
}

func (n *node) all(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

type b2mmlReader struct {
	d        *xml.Decoder
	opts     *Options
	emit     func(Item) error
	perfLine string // EquipmentID of the performance's HierarchyScope
	nodes    int
}

func readB2MML(ctx context.Context, r io.Reader, opts *Options, emit func(Item) error) error {
	d := xml.NewDecoder(r)
	d.CharsetReader = charsetReader
	br := &b2mmlReader{d: d, opts: opts, emit: emit}
	var stack []string
	responses := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if responses == 0 {
				line, _ := d.InputPos()
				return emit(refused(line, "ProductionResponse", waarborg.RuleRequired, "the document has no ProductionResponse or OperationsResponse"))
			}
			return nil
		}
		if err != nil {
			return br.syntax(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			switch {
			case name == "ProductionResponse" || name == "OperationsResponse":
				responses++
				br.nodes = 0
				n, err := br.collect(t)
				if err != nil {
					return br.syntax(err)
				}
				if err := br.response(n); err != nil {
					return err
				}
				continue
			case name == "HierarchyScope" && (parent == "ProductionPerformance" || parent == "OperationsPerformance"):
				br.nodes = 0
				n, err := br.collect(t)
				if err != nil {
					return br.syntax(err)
				}
				br.perfLine = n.path("EquipmentID")
				continue
			}
			stack = append(stack, name)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// syntax reports input that is no longer readable XML as a last refused
// item: what came before it stands, the rest of the file is not read.
func (br *b2mmlReader) syntax(err error) error {
	var se *xml.SyntaxError
	line, _ := br.d.InputPos()
	msg := err.Error()
	switch {
	case errors.As(err, &se):
		line, msg = se.Line, "XML syntax error: "+se.Msg
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "XML syntax error: unexpected EOF"
	case !errors.Is(err, errTooBig):
		return err // an I/O error, or an encoding not read
	}
	return br.emit(refused(line, "", waarborg.RuleFormat, "%s; the rest of the file is not read", msg))
}

var errTooBig = fmt.Errorf("a production response larger than %d elements or with a text longer than %d bytes", maxResponseNodes, maxText)

// collect reads the element that start opened, up to its end.
func (br *b2mmlReader) collect(start xml.StartElement) (*node, error) {
	line, _ := br.d.InputPos()
	n := &node{name: start.Name.Local, line: line}
	var text strings.Builder
	for {
		tok, err := br.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if br.nodes++; br.nodes > maxResponseNodes {
				return nil, errTooBig
			}
			k, err := br.collect(t)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		case xml.CharData:
			if text.Len()+len(t) > maxText {
				return nil, errTooBig
			}
			text.Write(t)
		case xml.EndElement:
			n.text = text.String()
			return n, nil
		}
	}
}

// quantity is one Quantity of a produced material.
type quantity struct {
	value, unit string
	scrap       bool
	line        int
}

func (br *b2mmlReader) response(resp *node) error {
	opts := br.opts
	id := resp.path("ID")
	if id == "" {
		return br.emit(refused(resp.line, resp.name+"/ID", waarborg.RuleRequired, "is required: it is the batch id"))
	}
	if ot := resp.path("OperationsType"); ot != "" && !strings.EqualFold(ot, "Production") {
		return nil // maintenance, quality or inventory operations
	}
	line := firstOf(resp.path("HierarchyScope/EquipmentID"), br.perfLine)

	type produced struct {
		seg, segLine, product, lot string
		segNode                    *node
		good, scrap                *quantity
		k                          int
		node                       *node
	}
	var all []produced
	// A segment's id names its records when it is unique in the response;
	// otherwise its position does (1.2: the second segment of the first).
	seen := map[string]int{}
	var count func(seg *node)
	count = func(seg *node) {
		seen[seg.path("ID")]++
		for _, sub := range seg.all("SegmentResponse") {
			count(sub)
		}
	}
	for _, seg := range resp.all("SegmentResponse") {
		count(seg)
	}
	var walk func(seg *node, parentLine string, path string)
	walk = func(seg *node, parentLine, path string) {
		segID := seg.path("ID")
		if segID == "" || seen[segID] > 1 {
			segID = path
		}
		segLine := firstOf(seg.path("HierarchyScope/EquipmentID"), parentLine)
		if segLine == "" {
			if eq := seg.child("EquipmentActual"); eq != nil {
				segLine = eq.path("EquipmentID")
			}
		}
		k := 0
		for _, m := range seg.kids {
			isProduced := m.name == "MaterialProducedActual" ||
				m.name == "MaterialActual" && producedUses[strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(m.path("MaterialUse")))]
			if !isProduced {
				continue
			}
			k++
			p := produced{seg: segID, segLine: segLine, product: m.path("MaterialDefinitionID"), lot: m.path("MaterialLotID"), segNode: seg, k: k, node: m}
			for _, q := range m.all("Quantity") {
				qq := &quantity{value: q.path("QuantityString"), unit: q.path("UnitOfMeasure"), line: q.line}
				switch strings.ToLower(q.path("Key")) {
				case "scrap", "reject", "rejected":
					qq.scrap = true
					if p.scrap == nil {
						p.scrap = qq
					}
				default:
					if p.good == nil {
						p.good = qq
					}
				}
			}
			all = append(all, p)
		}
		for i, sub := range seg.all("SegmentResponse") {
			walk(sub, segLine, path+"."+strconv.Itoa(i+1))
		}
	}
	for i, seg := range resp.all("SegmentResponse") {
		walk(seg, line, strconv.Itoa(i+1))
	}

	env := func(id, typ, t string) record.Envelope {
		return record.Envelope{ID: id, Tenant: opts.Tenant, Source: opts.Source, Type: typ, Time: t}
	}
	batchLine := firstOf(line, opts.Line)
	if batchLine == "" {
		for _, p := range all {
			if p.segLine != "" {
				batchLine = p.segLine
				break
			}
		}
	}
	mainProduct, mainUnit := "", ""
	if len(all) > 0 {
		mainProduct = all[0].product
		if all[0].good != nil {
			mainUnit = all[0].good.unit
		} else if all[0].scrap != nil {
			mainUnit = all[0].scrap.unit
		}
	}

	// batch.start
	if rule := resp.path("ProductProductionRuleID"); rule != "" {
		item := func() Item {
			n := resp.child("StartTime")
			if n == nil {
				return refused(resp.line, resp.name+"/StartTime", waarborg.RuleRequired, "is required for batch.start")
			}
			ts, _, err := parseTime(n.text, opts.Location)
			if err != nil {
				return refused(n.line, resp.name+"/StartTime", waarborg.RuleFormat, "%v", err)
			}
			if batchLine == "" {
				return refused(resp.line, resp.name+"/HierarchyScope/EquipmentID", waarborg.RuleRequired, "no equipment names the line (or give one: --line)")
			}
			if mainProduct == "" {
				return refused(resp.line, resp.name+"/SegmentResponse/MaterialActual/MaterialDefinitionID", waarborg.RuleRequired, "no produced material names the batch's product")
			}
			version := resp.path("Version")
			if version == "" {
				return refused(resp.line, resp.name+"/Version", waarborg.RuleRequired, "is required with ProductProductionRuleID: it is the recipe version")
			}
			rec, err := record.New(env(record.ID("b2mml", id, "start"), "batch.start", ts),
				record.String("batch_id", id), record.String("line", batchLine), record.String("product", mainProduct),
				record.String("recipe", rule), record.String("recipe_version", version))
			return built(n.line, rec, err)
		}()
		if err := br.emit(item); err != nil {
			return err
		}
	}

	// production.count
	good, scrap := decimal.Decimal{}, decimal.Decimal{}
	var endErr *Item
	for _, p := range all {
		if p.product == mainProduct && endErr == nil {
			for _, q := range []*quantity{p.good, p.scrap} {
				if q == nil {
					continue
				}
				d, err := b2mmlQuantity(q)
				switch {
				case err != nil:
					it := refused(q.line, "QuantityString", waarborg.RuleFormat, "%v", err)
					endErr = &it
				case q.unit != mainUnit:
					it := refused(q.line, "UnitOfMeasure", waarborg.RuleOrder, "%q differs from the batch's unit %q: quantities of one product must share a unit to be summed", q.unit, mainUnit)
					endErr = &it
				case q.scrap:
					scrap = decimal.Add(scrap, d)
				default:
					good = decimal.Add(good, d)
				}
			}
		}
		if p.good == nil {
			continue
		}
		if err := br.emit(br.count(id, p.seg, p.k, p.segNode, p.node, firstOf(p.segLine, batchLine), p.product, p.lot, p.good)); err != nil {
			return err
		}
	}

	// batch.end
	n := resp.child("EndTime")
	if n == nil || runningStates[strings.ToLower(resp.path("ResponseState"))] {
		return nil
	}
	item := func() Item {
		ts, _, err := parseTime(n.text, opts.Location)
		if err != nil {
			return refused(n.line, resp.name+"/EndTime", waarborg.RuleFormat, "%v", err)
		}
		if endErr != nil {
			return *endErr
		}
		if batchLine == "" {
			return refused(resp.line, resp.name+"/HierarchyScope/EquipmentID", waarborg.RuleRequired, "no equipment names the line (or give one: --line)")
		}
		if mainUnit == "" {
			return refused(n.line, resp.name+"/SegmentResponse/MaterialActual/Quantity/UnitOfMeasure", waarborg.RuleRequired, "no produced quantity gives the batch's unit for batch.end")
		}
		rec, err := record.New(env(record.ID("b2mml", id, "end"), "batch.end", ts),
			record.String("batch_id", id), record.String("line", batchLine),
			record.Number("quantity_good", good.String()), record.Number("quantity_scrap", scrap.String()),
			record.String("unit", mainUnit))
		return built(n.line, rec, err)
	}()
	return br.emit(item)
}

func (br *b2mmlReader) count(batch, seg string, k int, segNode, m *node, line, product, lot string, q *quantity) Item {
	opts := br.opts
	if product == "" {
		return refused(m.line, "MaterialDefinitionID", waarborg.RuleRequired, "is required: it is the product counted")
	}
	if line == "" {
		return refused(segNode.line, "EquipmentID", waarborg.RuleRequired, "no equipment names the line (or give one: --line)")
	}
	var times [2]string
	for i, name := range []string{"ActualStartTime", "ActualEndTime"} {
		n := segNode.child(name)
		if n == nil {
			return refused(segNode.line, "SegmentResponse/"+name, waarborg.RuleRequired, "is required for production.count")
		}
		ts, _, err := parseTime(n.text, opts.Location)
		if err != nil {
			return refused(n.line, "SegmentResponse/"+name, waarborg.RuleFormat, "%v", err)
		}
		times[i] = ts
	}
	qty, err := numberText(q.value, false, true)
	if err != nil {
		return refused(q.line, "QuantityString", waarborg.RuleFormat, "%v", err)
	}
	if q.unit == "" {
		return refused(q.line, "UnitOfMeasure", waarborg.RuleRequired, "is required")
	}
	rec, err := record.New(record.Envelope{
		ID:     record.ID("b2mml", batch, "seg", seg, strconv.Itoa(k)),
		Tenant: opts.Tenant, Source: opts.Source, Type: "production.count", Time: times[1],
	},
		record.String("line", line), record.String("batch_id", batch), record.String("product", product),
		record.Number("quantity", qty), record.String("unit", q.unit),
		record.String("start", times[0]), record.String("end", times[1]),
		record.String(ifSet(lot, "lot"), lot))
	return built(q.line, rec, err)
}

func b2mmlQuantity(q *quantity) (decimal.Decimal, error) {
	text, err := numberText(q.value, false, true)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return decimal.Parse(text)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// charsetReader reads the one legacy encoding besides UTF-8 that exports
// commonly declare: ISO-8859-1.
func charsetReader(label string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &latin1{r: r}, nil
	}
	return nil, fmt.Errorf("encoding %q is not read: export UTF-8", label)
}

type latin1 struct {
	r   io.Reader
	buf []byte
}

func (l *latin1) Read(p []byte) (int, error) {
	if len(p) < utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	if cap(l.buf) < len(p)/2 {
		l.buf = make([]byte, len(p)/2)
	}
	n, err := l.r.Read(l.buf[:len(p)/2])
	out := 0
	for _, c := range l.buf[:n] {
		out += utf8.EncodeRune(p[out:], rune(c))
	}
	return out, err
}
