package files

import (
	"context"
	"io"
	"strings"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector/record"
)

// ERP goods-movement CSV: one posting (or posting item) a row.
//
//	document      document, documentno, materialdocument, doc, mblnr, belnr
//	item          item, position, documentitem, zeile, posnr (optional)
//	movement      movement, movementtype, mvt, bwart
//	batch         batch, batchid, lot, charg (optional)
//	material      material, materialnumber, matnr
//	quantity      quantity, qty, menge, erfmg
//	unit          unit, uom, unitofmeasure, meins, erfme
//	posting_time  postingtime, postingdate, posted, budat, time
//	incident      incident, incidentid (optional)
//	reverses      reverses, reverseddocument, referencedocument, smbln (optional)
//
// The movement is goods_receipt, scrap or reversal, or an SAP movement type
// that means one of them (101 goods receipt for an order, 102 its reversal,
// 551 scrap, 552 its reversal). The quantity keeps its digits. A posting
// date without a time is the start of that day in the export's time zone.
// The record id is erp:DOCUMENT[:ITEM], so a document is imported once.
var erpColumns = map[string][]string{
	"document":     {"document", "documentno", "documentnumber", "materialdocument", "doc", "mblnr", "belnr"},
	"item":         {"item", "position", "documentitem", "zeile", "posnr"},
	"movement":     {"movement", "movementtype", "mvt", "bwart"},
	"batch":        {"batch", "batchid", "lot", "charg"},
	"material":     {"material", "materialnumber", "matnr"},
	"quantity":     {"quantity", "qty", "menge", "erfmg"},
	"unit":         {"unit", "uom", "unitofmeasure", "meins", "erfme"},
	"posting_time": {"postingtime", "postingdate", "posted", "budat", "time"},
	"incident":     {"incident", "incidentid"},
	"reverses":     {"reverses", "reverseddocument", "referencedocument", "smbln"},
}

var movements = map[string]string{
	"goods_receipt": "goods_receipt", "goodsreceipt": "goods_receipt", "gr": "goods_receipt", "101": "goods_receipt",
	"scrap": "scrap", "551": "scrap",
	"reversal": "reversal", "102": "reversal", "552": "reversal",
}

func readERP(ctx context.Context, r io.Reader, opts *Options, emit func(Item) error) error {
	required := []string{"document", "movement", "material", "quantity", "unit", "posting_time"}
	return csvRows(ctx, r, erpColumns, required, opts, emit, func(line int, h *header, row []string) Item {
		for _, f := range []string{"document", "movement", "material", "unit"} {
			if h.get(row, f) == "" {
				return refused(line, f, waarborg.RuleRequired, "is empty")
			}
		}
		doc := h.get(row, "document")
		movement, ok := movements[strings.ReplaceAll(strings.ToLower(h.get(row, "movement")), " ", "")]
		if !ok {
			return refused(line, "movement", waarborg.RuleEnum, "%q is not goods_receipt, scrap, reversal or SAP movement type 101, 102, 551 or 552", h.get(row, "movement"))
		}
		qty, err := numberText(h.get(row, "quantity"), opts.DecimalComma, false)
		if err != nil {
			return refused(line, "quantity", waarborg.RuleFormat, "%v", err)
		}
		ts, _, err := parseTime(h.get(row, "posting_time"), opts.Location)
		if err != nil {
			return refused(line, "posting_time", waarborg.RuleFormat, "%v", err)
		}
		parts := []string{doc}
		if item := h.get(row, "item"); item != "" {
			parts = append(parts, item)
		}
		batch, incident, reverses := h.get(row, "batch"), h.get(row, "incident"), h.get(row, "reverses")
		rec, err := record.New(record.Envelope{
			ID: record.ID("erp", parts...), Tenant: opts.Tenant, Source: opts.Source, Type: "erp.posting", Time: ts,
		},
			record.String("document", doc),
			record.String("movement", movement),
			record.String(ifSet(batch, "batch_id"), batch),
			record.String(ifSet(incident, "incident_id"), incident),
			record.String("material", h.get(row, "material")),
			record.Number("quantity", qty),
			record.String("unit", h.get(row, "unit")),
			record.String(ifSet(reverses, "reverses"), reverses),
		)
		return built(line, rec, err)
	})
}
