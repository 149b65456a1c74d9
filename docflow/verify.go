package docflow

import (
	"context"
	"crypto/sha256"
	"errors"

	"github.com/parley-mediation/parley/cases"
	"github.com/parley-mediation/parley/signing"
)

// VerifyResult is the report on an uploaded PDF and whether Parley stores it.
type VerifyResult struct {
	Report   *signing.Report `json:"report"`
	Known    bool            `json:"known"` // the file is a version Parley stores
	Document string          `json:"document_id,omitempty"`
	Version  int             `json:"version,omitempty"`
	Latest   int             `json:"latest_version,omitempty"`
	// CourtDocument is set when the file is a court document Parley stores (a ruling, a mediation statement).
	CourtDocument *cases.CourtDocument `json:"court_document,omitempty"`
}

// Verify checks the signatures of a PDF against Parley's root and looks the file up among stored versions.
func (s *Service) Verify(ctx context.Context, data []byte) (*VerifyResult, error) {
	rep, err := signing.Verify(data, s.Keys.Roots(), s.Now())
	if err != nil {
		switch {
		case errors.Is(err, signing.ErrNotPDF):
			return nil, cases.Errorf(cases.EUNPROCESSABLE, "the file is not a PDF")
		case errors.Is(err, signing.ErrEncrypted):
			return nil, cases.Errorf(cases.EUNPROCESSABLE, "the PDF is encrypted; Parley's documents never are")
		}
		return nil, cases.Errorf(cases.EUNPROCESSABLE, "the PDF could not be read: %v", err)
	}
	out := &VerifyResult{Report: rep}
	sum := sha256.Sum256(data)
	if id, v, ok, err := s.Store.VersionBySHA256(ctx, sum[:]); err != nil {
		return nil, err
	} else if ok {
		out.Known, out.Document, out.Version = true, id, v
		if doc, err := s.Store.Document(ctx, id); err == nil {
			out.Latest = doc.CurrentVersion
		}
	} else if cd, ok, err := s.Store.CourtDocumentBySHA256(ctx, sum[:]); err != nil {
		return nil, err
	} else if ok {
		out.Known, out.Document, out.Version, out.Latest, out.CourtDocument = true, cd.ID, 1, 1, cd // made once: its only version
	}
	return out, nil
}
