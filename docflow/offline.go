package docflow

import (
	"context"
	"encoding/base64"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// OfflineRequest uploads an agreement signed on paper: the scan as a PDF and its terms, typed, as the mediator
// transcribes them (the rules read what an agreement says, CPLI Art. 355).
type OfflineRequest struct {
	Lang     string       `json:"lang"`
	PDF      string       `json:"pdf"`                 // base64 of the scanned agreement (a PDF)
	Terms    []cases.Term `json:"terms"`               // the agreed terms, typed
	SignedOn string       `json:"signed_on,omitempty"` // YYYY-MM-DD, when the parties signed on paper
}

// Valid reports problems with the request, by field.
func (r OfflineRequest) Valid() map[string]string {
	f := map[string]string{}
	validLang(f, r.Lang)
	if r.PDF == "" {
		f["pdf"] = "is required: the scan of the signed agreement, as a PDF"
	} else if _, err := base64.StdEncoding.DecodeString(r.PDF); err != nil {
		f["pdf"] = "must be base64"
	}
	cases.ValidTerms(f, "terms", r.Terms, true)
	if r.SignedOn != "" {
		if _, err := time.Parse("2006-01-02", r.SignedOn); err != nil || utf8.RuneCountInString(r.SignedOn) != 10 {
			f["signed_on"] = "must be a date YYYY-MM-DD"
		}
	}
	return f
}

// CreateOffline stores the scan of an agreement signed on paper and the confirmation sheet that names its SHA-256,
// for each party (and the mediator, and the seal where an organisation mediates) to sign online. The agreement
// takes effect when the last party signs the sheet, as for an agreement drafted on Parley.
func (s *Service) CreateOffline(ctx context.Context, p cases.Principal, c *cases.Case, in OfflineRequest, maxBytes int64) (*cases.Document, error) {
	if err := cases.CheckDraft(p, c); err != nil {
		return nil, err
	}
	if err := cases.Invalid(in.Valid()); err != nil {
		return nil, err
	}
	scan, _ := base64.StdEncoding.DecodeString(in.PDF)
	if int64(len(scan)) > maxBytes {
		return nil, &cases.Error{Code: "too_large", Message: "the scan is larger than the largest PDF accepted", Fields: map[string]string{"pdf": "too large"}}
	}
	pages, err := signing.PageCount(scan)
	if err != nil {
		msg := "could not be read as a PDF"
		if errors.Is(err, signing.ErrNotPDF) {
			msg = "is not a PDF"
		}
		return nil, cases.Invalid(map[string]string{"pdf": msg})
	}
	lang := in.Lang
	if lang == "" {
		lang = "zh"
	}
	scanID := cases.NewID()
	sum := SHA256Hex(scan)
	sheet := &signing.ConfirmationSheet{Meta: s.meta(c, cases.NewID(), lang), Organisation: c.OrganisationName, Parties: signingParties(c),
		ScanSHA256: sum, ScanPages: pages, ScanDocument: scanID, SignedOn: in.SignedOn, Terms: termTexts(in.Terms)}
	for _, m := range acceptedMediators(c) {
		sheet.Mediators = append(sheet.Mediators, m.Name)
	}
	doc, err := (&signing.Generator{Font: s.Font}).ConfirmationSheet(sheet)
	if err != nil {
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the confirmation sheet could not be laid out: %v", err)
	}
	signers, err := agreementSigners(c, doc.Fields)
	if err != nil {
		return nil, err
	}
	titles := map[string][2]string{"zh": {"调解协议（线下签署扫描件）", "线下调解协议确认书"}, "en": {"Mediation agreement (scan of the paper original)", "Confirmation of an Agreement Signed Offline"}}[lang]
	content := map[string]any{"terms": in.Terms, "scan_sha256": sum, "scan_document_id": scanID, "signed_on": in.SignedOn}
	return s.Store.CreateDocument(ctx, p, cases.NewDocument{ID: sheet.DocumentID, CaseID: c.ID, ParentID: scanID, Kind: cases.DocConfirmationSheet,
		Title: titles[1], Lang: lang, Content: content, Signers: signers, Pages: doc.Pages, PDF: doc.PDF,
		Attachment: &cases.NewDocument{ID: scanID, CaseID: c.ID, Kind: cases.DocAgreementScan, Title: titles[0], Lang: lang, Status: cases.DocComplete,
			Content: map[string]any{"sha256": sum, "signed_on": in.SignedOn}, Signers: []cases.DocSigner{}, Pages: pages, PDF: scan}})
}
